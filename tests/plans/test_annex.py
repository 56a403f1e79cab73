"""The weekly bulletin's annex lists the 一村一策 measures overdue at the end of its week, frozen at issue."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.ledger.models import DevelopmentPath
from qiangcun.plans.services import PathInput, measure_create, measure_status_set, plan_save
from qiangcun.reports.official import to_html
from qiangcun.supervision import documents, services
from qiangcun.supervision.weeks import parse_week

pytestmark = pytest.mark.usefixtures("fast_hashing")
D = datetime.date


def _measures(tree, personas):
    admin, clerk = personas["township_admin"], personas["village_clerk"]
    plan = plan_save(
        actor=admin,
        village=tree.sunzhuang,
        year=2020,
        resources=[],
        paths=[PathInput(path=DevelopmentPath.objects.get(name="土地流转"), expected=Decimal("1.00"))],
    )
    made = {}
    for title, deadline in (
        ("发包机动地", D(2020, 4, 30)),
        ("清理坑塘", D(2020, 5, 8)),
        ("远期", D(2020, 9, 1)),
    ):
        made[title] = measure_create(
            actor=admin, plan=plan, title=title, owner=clerk, deadline=deadline, expected=Decimal("1.00")
        )
    return made


def _section(bulletin):
    return next(s for s in bulletin.snapshot["overdue"] if s["key"] == "measures")


def test_the_annex_lists_overdue_measures_and_keeps_them(tree, personas):
    made = _measures(tree, personas)
    clerk, admin = personas["village_clerk"], personas["township_admin"]
    # Finished on 12 May: after week 19 (ends Sunday 10 May), so that week it was still overdue.
    measure_status_set(actor=clerk, measure=made["发包机动地"], status="active", on=D(2020, 4, 1))
    measure_status_set(actor=clerk, measure=made["发包机动地"], status="done", on=D(2020, 5, 12))
    bulletin, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W19"))
    # 30 April (Thu) → overdue on 6, 7, 8, 9 (调休 Saturday) May = 4; 8 May (Fri) → 9 May = 1.
    assert _section(bulletin)["rows"] == [
        ["孙庄村", "发包机动地", "clerk", "2020-04-30", "推进中", 4],
        ["孙庄村", "清理坑塘", "clerk", "2020-05-08", "未开始", 1],
    ]
    html = to_html(documents.document(bulletin.snapshot, bulletin.summary))
    assert "逾期未完成的一村一策措施" in html and "清理坑塘" in html
    # The next week's lists only the one still open; the issued one is unchanged.
    later, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W20"))
    assert [r[1] for r in _section(later)["rows"]] == ["清理坑塘"]
    bulletin.refresh_from_db()
    assert len(_section(bulletin)["rows"]) == 2
