"""The audit log is for an auditor: actions, fields and values as people know them, filters, the Excel
export, and only the auditor's own township (issue 6 §6)."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import grant_create, token_create, user_create
from qiangcun.core import audit
from qiangcun.core.audit import ChangeRecord
from qiangcun.ledger.importing.ledger import ParsedRow
from qiangcun.ledger.models import Category, DevelopmentPath
from qiangcun.ledger.services import entries_import, entry_update

from ..conftest import _clerk_for, _user

AUDIT = "/audit/"
EXPORT = "/audit/export.xlsx"


def _text(response) -> str:
    """The page's visible text, tags removed, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<option\b.*?</option>", " ", html, flags=re.S)  # filter choices are not log lines
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("： ", "：")


def _log(client, user, query: str = "") -> str:
    client.force_login(user)
    response = client.get(AUDIT + query)
    assert response.status_code == 200
    return _text(response)


def _sheet(client, user, query: str = "") -> list[tuple]:
    client.force_login(user)
    response = client.get(EXPORT + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def _far_auditor(other) -> User:
    return _user("far-auditor", Role.AUDITOR, other.township)


# --- scope: an auditor sees their own township only ----------------------------------------------------


def test_records_without_a_unit_belong_to_the_township_of_the_user_concerned(
    client, personas, other_township
):
    auditor, far_auditor = personas["auditor"], _far_auditor(other_township)
    far_admin = User.objects.get(username="other-admin")
    token_create(actor=far_admin, user=other_township.clerk, name="far-token")
    token_create(actor=personas["township_admin"], user=personas["village_clerk"], name="near-token")
    # No grant yet: the township of whoever created them; created by nobody known: hidden.
    user_create(actor=far_admin, username="far-newcomer", password=None)
    user_create(actor=personas["township_admin"], username="near-newcomer", password=None)
    user_create(actor=None, username="orphan", password=None)

    near = _log(client, auditor, "?action=user.create") + _log(client, auditor, "?action=apitoken.create")
    far = _log(client, far_auditor, "?action=user.create") + _log(
        client, far_auditor, "?action=apitoken.create"
    )
    for name in ("far-clerk", "far-newcomer", "far-auditor", "other-admin"):
        assert name in far
        assert name not in near, f"{name} of 杜集镇 shown to 相衙镇's auditor"
    for name in ("clerk", "near-newcomer", "auditor", "sysadmin"):
        assert re.search(rf"(?<![-\w]){name}(?![-\w])", near), name
        assert not re.search(rf"(?<![-\w]){name}(?![-\w])", far), (
            f"{name} of 相衙镇 shown to 杜集镇's auditor"
        )
    assert "orphan" not in near + far
    tokens = _log(client, auditor, "?action=apitoken.create")
    assert "共 1 条" in tokens and "clerk" in tokens and "far-clerk" not in tokens


def test_records_with_a_unit_stay_in_their_township(client, personas, tree, other_township, make_entry):
    make_entry(tree.sunzhuang, "1111.00")
    make_entry(other_township.village, "2222.00", clerk=other_township.clerk)
    near = _log(client, personas["auditor"])
    far = _log(client, _far_auditor(other_township))
    assert "孙庄村" in near and "1,111.00" in near and "杜集村" not in near and "2,222.00" not in near
    assert "杜集村" in far and "2,222.00" in far and "孙庄村" not in far and "1,111.00" not in far
    rows = _sheet(client, personas["auditor"])
    assert "杜集村" not in repr(rows) and "孙庄村" in repr(rows)


def test_only_the_auditor_reads_the_log_and_its_export(client, personas):
    for persona in ("township_admin", "leader", "system_admin", "village_clerk", "no_role"):
        client.force_login(personas[persona])
        assert client.get(AUDIT).status_code == 403, persona
        assert client.get(EXPORT).status_code == 403, persona
    client.logout()
    assert client.get(EXPORT)["Location"].startswith("/login/?next=/audit/export.xlsx")


# --- as people know them -------------------------------------------------------------------------------


def test_actions_fields_and_values_in_chinese_with_names_not_ids(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, "12345.60", status="verified")
    text = _log(client, personas["auditor"])
    # The defects quoted in the issue: codes, ids and Python values.
    assert "ledger.verify" not in text and "ledger.create" not in text
    assert not re.search(r"village\s*[:：]", text) and not re.search(r"category\s*[:：]", text)
    assert f"村：{tree.sunzhuang.pk}" not in text and "False" not in text and "True" not in text
    # Actions, fields and values as people know them.
    for label in ("录入台账", "提交审核", "审核通过", "设立年度任务", "修改村目标", "新建账号", "授予角色"):
        assert label in text, label
    for words in ("村：孙庄村", "收入类别：经营收入", "增收路子：现代农业", "金额（元）：12,345.60"):
        assert words in text, words
    assert "状态：待审核 → 已审核" in text
    assert "状态：草稿 → 待审核" in text
    # Who did it: names, not ids; the unit by its name.
    assert "clerk-371422105201" in text and "admin" in text
    assert "角色：村报账员" in text and "组织单位：孙庄村" in text
    assert entry.pk  # the row exists; its id is not what the log shows


def test_an_update_shows_old_and_new_names(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, "1000.00")
    entry_update(
        actor=User.objects.get(username="clerk-371422105201"),
        entry=entry,
        date=datetime.date(2020, 3, 2),
        amount=Decimal("2000.50"),
        category=Category.objects.get(name="补助收入"),
        path=DevelopmentPath.objects.get(name="光伏发电"),
        summary="测试收入",
        counterparty="测试单位",
    )
    text = _log(client, personas["auditor"], "?action=ledger.update")
    assert "修改台账" in text
    assert "金额（元）：1,000.00 → 2,000.50" in text
    assert "收入类别：经营收入 → 补助收入" in text
    assert "增收路子：现代农业 → 光伏发电" in text
    assert "收入日期：2020-03-01 → 2020-03-02" in text
    assert "摘要" not in text.split("修改台账", 1)[1]  # unchanged fields are not listed


def test_booleans_and_money_settings(client, personas, tree):
    text = _log(client, personas["auditor"])
    assert "演示虚构：否" in text  # orgunit.create's illustrative flag
    assert "层级：行政村" in text and "上级：第一管区" in text
    assert "基础线（元）：30,000.00" in text and "强村线（元）：100,000.00" in text
    assert "目标（元）：30,000.00 → 100,000.00" in text  # 孙庄村's target raised from the baseline


def test_an_import_shows_its_villages_as_a_table(client, personas, tree, category, path):
    rows = [
        ParsedRow(2, tree.sunzhuang, datetime.date(2020, 3, 1), Decimal("1234.56"), category, path, "甲", ""),
        ParsedRow(3, tree.sunzhuang, datetime.date(2020, 3, 2), Decimal("100.00"), category, path, "乙", ""),
        ParsedRow(4, tree.liudao, datetime.date(2020, 3, 3), Decimal("88.00"), category, path, "丙", ""),
    ]
    entries_import(actor=personas["township_admin"], rows=rows, file_name="台账.xlsx", sha256="ab" * 32)
    client.force_login(personas["auditor"])
    html = client.get(AUDIT + "?action=ledger.import").content.decode()
    text = _text(client.get(AUDIT + "?action=ledger.import"))
    assert "导入台账" in text and "台账.xlsx" in text
    assert "按已审核导入：否" in text and "导入行数：3" in text
    assert "{" not in text and "[" not in text  # no Python dict or list
    table = re.search(r'<table class="villages">.*?</table>', html, flags=re.S)
    assert table, "the import's villages are a table"
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", table.group(0))
    ]
    assert cells[:3] == ["村", "条数", "金额（元）"]
    assert ["刘道村", "1", "88.00"] in [cells[i : i + 3] for i in range(3, len(cells), 3)]
    assert ["孙庄村", "2", "1,334.56"] in [cells[i : i + 3] for i in range(3, len(cells), 3)]
    sheet = repr(_sheet(client, personas["auditor"], "?action=ledger.import"))
    assert "孙庄村 2 条 1,334.56 元" in sheet and "{" not in sheet


def test_fen_and_string_amounts_both_read_as_yuan(client, personas, tree):
    """Stored values may be strings ("12000.00") or, in older records, integer fen."""
    clerk = personas["village_clerk"]
    for after in ({"amount": "12000.00"}, {"amount": 1200050}):
        ChangeRecord.objects.create(
            actor=clerk,
            action="target.update",
            model="targets.villagetarget",
            object_pk="1",
            unit_path=tree.sunzhuang.path,
            after={"village": tree.sunzhuang.code, **after},
        )
    text = _log(client, personas["auditor"], "?action=target.update")
    assert "目标（元）：12,000.00" in text and "目标（元）：12,000.50" in text
    assert "1200050" not in text


# --- filters, pages, export ----------------------------------------------------------------------------


def test_filter_by_person_unit_action_and_date(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, "1111.00")
    make_entry(tree.yanglaotou, "3333.00")
    # a record of 17 April (records are append-only: written with that time, not moved to it)
    day = timezone.make_aware(datetime.datetime(2020, 4, 17, 9, 0))
    clerk = _clerk_for(tree.liudao)
    with mock.patch("django.utils.timezone.now", return_value=day):
        make_entry(tree.liudao, "2222.00", clerk=clerk)
    auditor = personas["auditor"]
    clerk = User.objects.get(username=f"clerk-{tree.sunzhuang.code}")
    text = _log(client, auditor, f"?actor={clerk.pk}")
    assert "1,111.00" in text and "2,222.00" not in text and "3,333.00" not in text
    text = _log(client, auditor, f"?unit={tree.district1.code}&action=ledger.create")
    assert "1,111.00" in text and "2,222.00" in text and "3,333.00" not in text
    assert "设立年度任务" not in text
    text = _log(client, auditor, "?from=2020-04-17&to=2020-04-17")
    assert "2,222.00" in text and "1,111.00" not in text and "新建账号" not in text
    text = _log(client, auditor, "?to=2020-04-16")
    assert "没有记录" in text
    rows = _sheet(client, auditor, f"?unit={tree.district1.code}&action=ledger.create")
    body = repr(rows)
    assert "1,111.00" in body and "2,222.00" in body and "3,333.00" not in body


@pytest.mark.parametrize(
    "query",
    ["?from=2020-13-01", "?to=yesterday", "?action=ledger.nope", "?unit=NOPE", "?actor=abc", "?page=x"],
)
def test_bad_filters_are_refused_in_chinese(client, personas, query):
    client.force_login(personas["auditor"])
    response = client.get(AUDIT + query)
    if query == "?page=x":  # a page number out of range shows the last page, as every list does
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert "不对" in response.content.decode() or "不认识" in response.content.decode()


def test_a_unit_of_another_township_cannot_be_chosen(client, personas, other_township):
    client.force_login(personas["auditor"])
    assert client.get(AUDIT + f"?unit={other_township.village.code}").status_code == 400


def test_fifty_a_page_and_filters_stay_on_the_next_page(client, personas, tree):
    clerk = personas["village_clerk"]
    ChangeRecord.objects.bulk_create(
        ChangeRecord(
            actor=clerk,
            action="ledger.submit",
            model="ledger.entry",
            object_pk=str(1000 + i),
            unit_path=tree.sunzhuang.path,
            before={"status": "draft"},
            after={"status": "submitted"},
        )
        for i in range(60)
    )
    client.force_login(personas["auditor"])
    response = client.get(AUDIT + "?action=ledger.submit")
    text = _text(response)
    assert "共 60 条" in text and text.count("提交审核") == 50
    assert "第 1 / 2 页" in text
    assert 'href="?action=ledger.submit&amp;page=2"' in response.content.decode()
    text = _text(client.get(AUDIT + "?action=ledger.submit&page=2"))
    assert text.count("提交审核") == 10


def test_export_contents(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, "1234.50", status="verified")
    rows = _sheet(client, personas["auditor"], "?action=ledger.verify")
    assert rows[0][0] == "相衙镇审计日志"
    header = rows[2]
    assert header == (
        "时间",
        "操作人",
        "动作",
        "单位",
        "对象",
        "变更内容",
        "说明",
        "来源地址",
        "渠道",
        "结果",
    )
    (line,) = rows[3:]
    assert line[1] == "admin" and line[2] == "审核通过" and line[3] == "孙庄村"
    assert "状态：待审核 → 已审核" in line[5]
    assert "孙庄村" in line[4] and "1,234.50" in line[4]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line[0])
    rows = _sheet(client, personas["auditor"], f"?action=ledger.create&unit={tree.sunzhuang.code}")
    assert rows[1][0] == "单位：孙庄村，动作：录入台账" and len(rows) == 4
    assert rows[3][5].splitlines()[:3] == ["村：孙庄村", "收入日期：2020-03-01", "金额（元）：1,234.50"]


# --- a fixed number of queries -------------------------------------------------------------------------


def test_queries_do_not_grow_with_the_page(client, personas, tree, make_entry, django_assert_max_num_queries):
    auditor = personas["auditor"]
    client.force_login(auditor)
    make_entry(tree.sunzhuang, "100.00", status="verified")
    client.get(AUDIT)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(16) as small:
        assert client.get(AUDIT).status_code == 200
    for village in tree.villages:
        for n in range(4):
            make_entry(village, f"{100 + n}.00", status="verified")
    assert ChangeRecord.objects.count() > 60
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(AUDIT).status_code == 200
    with CaptureQueriesContext(connection) as one_record:  # the export records itself: a fixed cost
        audit.event(actor=auditor, action="audit.export", model="core.changerecord")
    with django_assert_max_num_queries(len(small.captured_queries) + 2 + len(one_record.captured_queries)):
        assert client.get(EXPORT).status_code == 200


def test_grant_of_a_user_made_later_moves_them_to_the_grant(client, personas, other_township):
    """A user created by 相衙镇's admin and then granted a role in 杜集镇 belongs to 杜集镇."""
    mover = user_create(actor=personas["township_admin"], username="mover", password=None)
    grant_create(actor=None, user=mover, role=Role.VILLAGE_CLERK, unit=other_township.village)
    assert "mover" not in _log(client, personas["auditor"], "?action=user.create")
    assert "mover" in _log(client, _far_auditor(other_township), "?action=user.create")


def test_every_action_a_service_writes_has_a_chinese_name():
    """A new ``audit.record(action=...)`` without a name in the log would show its code again."""
    from pathlib import Path

    import qiangcun
    from qiangcun.web.audit import ACTION_LABELS

    root = Path(qiangcun.__file__).parent
    written = set()
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for call in re.finditer(r"audit\.record\((.*?)\n\s*\)|audit\.record\((.*?)\)\n", text, flags=re.S):
            written |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', call.group(0)))
    assert len(written) >= 18, written
    assert written <= set(ACTION_LABELS), sorted(written - set(ACTION_LABELS))
