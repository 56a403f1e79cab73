"""The year's visits export (督查记录): one row a visit, within the reader's scope."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from qiangcun.supervision.services import FindingInput, inspection_record
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _visit(personas, village, by, day):
    return inspection_record(
        actor=personas[by],
        village=village,
        visited_on=day,
        met="村书记",
        findings=[FindingInput(text="凭证不全", owner=None), "公开栏未更新"],
        score=88,
        at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(16))),
    )


def _rows(user, query: str) -> list[tuple]:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    answer = client.get("/inspections/export.xlsx" + query)
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    return [r for r in sheet.iter_rows(values_only=True) if r and r[0] in ("孙庄村", "编席杨村")]


def test_visits_export_by_year_and_scope(tree, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _visit(personas, tree.sunzhuang, "instructor", datetime.date(2020, 4, 1))
    _visit(personas, tree.bianxiyang, "township_admin", datetime.date(2020, 4, 2))
    _visit(personas, tree.sunzhuang, "station_head", datetime.date(2019, 12, 2))
    code = tree.township.code
    rows = _rows(personas["township_admin"], f"?unit={code}&year=2020")
    assert [(r[0], r[5], r[6]) for r in rows] == [
        ("孙庄村", 88, "凭证不全；公开栏未更新"),
        ("编席杨村", 88, "凭证不全；公开栏未更新"),
    ]
    assert [r[0] for r in _rows(personas["station_head"], f"?unit={code}&year=2020")] == ["孙庄村"]
    assert [r[0] for r in _rows(personas["other_clerk"], f"?unit={code}&year=2020")] == ["编席杨村"]
    assert len(_rows(personas["township_admin"], f"?unit={code}&year=2019")) == 1
