"""Control characters and lone surrogates: refused at every entry point with the field (and row) named;
text already stored never breaks an export or a page. Query parameters out of range: 4xx, not 500."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook

from qiangcun.ledger import services
from qiangcun.ledger.models import Entry

from .conftest import api_entry, clerk_of, entry_form


def _client(client, user):
    client.force_login(user)
    return client


def test_entry_form_refuses_a_control_character_naming_the_field(client, tree, personas):
    c = _client(client, personas["village_clerk"])
    before = Entry.objects.count()
    response = c.post("/ledger/new/", entry_form(tree.sunzhuang, summary="三月\x01承包费"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["summary"] and "不可见的控制字符 U+0001" in errors["summary"][0]
    response = c.post("/ledger/new/", entry_form(tree.sunzhuang, counterparty="合作社\x7f"))
    assert "U+007F" in response.context["form"].errors["counterparty"][0]
    assert Entry.objects.count() == before


def test_edit_form_refuses_a_control_character(client, tree, personas, make_entry):
    entry = make_entry(tree.sunzhuang, status="draft")
    c = _client(client, personas["village_clerk"])
    response = c.post(f"/ledger/{entry.pk}/edit/", entry_form(tree.sunzhuang, summary="改\x1b过"))
    assert response.status_code == 200 and "summary" in response.context["form"].errors
    entry.refresh_from_db()
    assert "\x1b" not in entry.summary


def test_reverse_and_return_reasons_refuse_control_characters(client, tree, personas, make_entry):
    verified = make_entry(tree.sunzhuang, status="verified")
    c = _client(client, personas["village_clerk"])
    response = c.post(f"/ledger/{verified.pk}/reverse/", {"reason": "录\x01错"}, follow=True)
    assert Entry.objects.filter(reverses=verified).count() == 0
    assert "冲销原因：第 2 个字是不可见的控制字符" in response.content.decode()
    submitted = make_entry(tree.sunzhuang, status="submitted")
    c = _client(client, personas["station_head"])
    response = c.post(
        "/review/", {"action": "return", "ids": [submitted.pk], "reason": "\x08金额不符"}, follow=True
    )
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    assert "退回原因：第 1 个字是不可见的控制字符 U+0008" in response.content.decode()


@pytest.mark.parametrize("field", ["summary", "counterparty", "village", "category", "path", "amount"])
@pytest.mark.parametrize("raw", ['"\\u0001"', '"\\ud800"', '"\\u0000"'])
def test_api_refuses_control_characters_and_lone_surrogates(client, tree, personas, field, raw):
    c = _client(client, personas["village_clerk"])
    body = json.dumps(api_entry(tree.sunzhuang)).replace(
        json.dumps(api_entry(tree.sunzhuang)[field]), raw.replace('"', '"三月', 1), 1
    )
    before = Entry.objects.count()
    response = c.post("/api/v1/ledger", body, content_type="application/json")
    assert response.status_code == 422, response.content
    error = response.json()["errors"][0]
    assert error["field"] == field and "第 3 个字是" in error["reason"]
    assert Entry.objects.count() == before


def test_api_reason_refuses_a_lone_surrogate(client, tree, personas, make_entry):
    entry = make_entry(tree.sunzhuang, status="verified")
    c = _client(client, personas["village_clerk"])
    response = c.post(
        f"/api/v1/ledger/{entry.pk}/reverse", '{"reason": "\\udc00"}', content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"
    assert Entry.objects.filter(reverses=entry).count() == 0


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/api/v1/ledger?year=99999", 422, "year：不能大于 2100"),
        ("/api/v1/ledger?year=-1", 422, "year：不能小于 2000"),
        ("/api/v1/ledger?offset=-5", 422, "offset：不能小于 0"),
        ("/api/v1/ledger?village=%00", 400, "村代码含有不可见的控制字符"),
        ("/api/v1/progress?year=99999", 400, "应为 2000 至 2100 之间的四位年份"),
        ("/ledger/export.xlsx?year=99999", 400, "应为 2000 至 2100 之间的四位年份"),
        ("/ledger/export.xlsx?year=0", 400, "应为 2000 至 2100 之间的四位年份"),
        ("/ledger/export.xlsx?as_of=2020-13-01", 400, "截止日期"),
        ("/ledger/export.xlsx?status=nope", 400, "状态“nope”不认识"),
    ],
)
def test_out_of_range_query_parameters_are_refused_in_chinese(client, tree, personas, url, status, says):
    c = _client(client, personas["township_admin"])
    response = c.get(url)
    assert response.status_code == status
    text = response.content.decode()
    assert says in (response.json()["detail"] if url.startswith("/api/") else text)


def test_audit_log_refuses_an_unknown_action(client, tree, personas):
    c = _client(client, personas["auditor"])
    assert c.get("/audit/?action=ledger.verify").status_code == 200
    response = c.get("/audit/?action=%00")
    assert response.status_code == 400 and "动作" in response.content.decode()


def test_review_ignores_ids_that_are_not_row_numbers(client, tree, personas, make_entry):
    entry = make_entry(tree.sunzhuang, status="submitted")
    c = _client(client, personas["station_head"])
    ids = [entry.pk, "9" * 5000, "9" * 20, "²"]
    response = c.post("/review/", {"action": "verify", "ids": ids}, follow=True)
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.status == "verified"  # the ids that are no row numbers are ignored, not a 500


# --- text already stored ----------------------------------------------------------------------------


def _store_summary(entry: Entry, text: str) -> None:
    """Write the summary behind the services' back, as an old version or a hand in the database did."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_entry SET summary = %s WHERE id = %s", [text, entry.pk])


def test_exports_and_pages_survive_control_characters_already_stored(client, tree, personas, make_entry):
    """One ``\\x01`` in a verified summary once made every export covering the village a 500, for good.
    (A lone surrogate cannot be stored at all — both databases refuse it — but the renderer replaces it
    too, see the last assertion.)"""
    entry = make_entry(tree.sunzhuang, status="draft")
    stored = "三月\x01承包\x1b费\x7f" + ("\x00" if connection.vendor == "sqlite" else "")
    _store_summary(entry, stored)
    services.entry_submit(actor=clerk_of(tree.sunzhuang), entry=Entry.objects.get(pk=entry.pk))
    services.entry_verify(actor=personas["station_head"], entries=[Entry.objects.get(pk=entry.pk)])
    assert Entry.objects.get(pk=entry.pk).summary == stored
    c = _client(client, personas["township_admin"])

    response = c.get(f"/ledger/export.xlsx?village={tree.sunzhuang.code}&year=2020")
    assert response.status_code == 200
    cells = [c.value for row in load_workbook(io.BytesIO(response.content)).active.iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith("三月\ufffd承包\ufffd费") for v in cells)

    response = c.get("/progress/export.xlsx?year=2020")
    assert response.status_code == 200
    assert c.get(f"/villages/{tree.sunzhuang.code}/?year=2020").status_code == 200
    assert c.get(f"/api/v1/ledger/{entry.pk}").status_code == 200

    from qiangcun.reports.xlsx import Column, write_table

    body = write_table(title="t\ud800", columns=[Column("摘要")], rows=[["承\udc00包\x01"]])
    assert load_workbook(io.BytesIO(body)).active["A4"].value == "承\ufffd包\ufffd"


# --- imports: a cell with a control character is a row error ---------------------------------------


def _book(path, rows):
    """``_x0001_`` is how an .xlsx stores U+0001; the reader turns it back into the character."""
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_ledger_import_row_with_a_control_character_is_a_row_error(tree, tmp_path):
    from qiangcun.ledger.importing.ledger import parse_ledger_file

    path = _book(
        tmp_path / "台账.xlsx",
        [
            ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"],
            ["孙庄村", "2020-03-05", "1234.56", "经营收入", "现代农业", "好的一行"],
            ["孙庄村", "2020-03-06", "1234.56", "经营收入", "现代农业", "坏_x0001_的一行"],
        ],
    )
    parsed = parse_ledger_file(path, name=path.name, year=2020, villages=tree.villages)
    assert len(parsed.rows) == 1
    (error,) = parsed.errors
    assert (error.row, error.column, error.header) == (3, "F", "摘要")
    assert "第 2 个字是不可见的控制字符 U+0001" in error.reason


def test_units_and_targets_imports_refuse_control_characters(tree, tmp_path):
    from qiangcun.orgs.importing import parse_units_file
    from qiangcun.targets.importing import parse_targets_file

    path = _book(
        tmp_path / "units.xlsx",
        [
            ["网格站", "管区", "村名"],
            ["三号网格站", "第四管区", "王_x001F_庄村"],
            ["三号网格站", "第四管区", "李庄村"],
        ],
    )
    parsed = parse_units_file(path, name=path.name)
    assert [(e.row, e.header) for e in parsed.errors] == [(2, "村名")]
    assert "U+001F" in parsed.errors[0].reason
    path = _book(tmp_path / "targets.xlsx", [["村名", "年度目标"], ["刘道村_x0002_", 50000]])
    parsed = parse_targets_file(path, name=path.name, township=tree.township, baseline=tree.campaign.baseline)
    assert [(e.row, e.header) for e in parsed.errors] == [(2, "村名")]
    assert "U+0002" in parsed.errors[0].reason
