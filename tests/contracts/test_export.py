"""The arrears export and the contract list export: they open in openpyxl, their figures are the selectors'
to the fen, ID numbers are never written in full (the arrears leave them out), and each reader gets only
the contracts in their scope."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from qiangcun.contracts.exporting import arrears_workbook, contract_positions, contracts_workbook
from qiangcun.contracts.selectors import AGE_BANDS, position, summary
from qiangcun.contracts.services import payment_record
from qiangcun.core.money import FEN
from qiangcun.core.pii import check_char, mask_id_number, mask_phone
from qiangcun.ledger.services import entry_return
from tests.conftest import _clerk_for

D = datetime.date
AS_OF = D(2020, 12, 31)
ID = "37142219800101123" + check_char("37142219800101123")


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(FEN)


def day(value: Any) -> Any:
    return value.date() if isinstance(value, datetime.datetime) else value


def sheet_rows(body: bytes, name: str) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(body))
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


@pytest.fixture
def contracts(make_contract, clerk, tree, personas):
    admin = personas["township_admin"]
    c1 = make_contract(party_id_number=ID, party_phone="13812345678")
    payment_record(actor=clerk, contract=c1, date=D(2020, 1, 10), amount=Decimal("10000.00"))
    c2 = make_contract(
        code="XZ-2020-002",
        title="村西大棚租赁",
        kind="lease",
        price_mode="per_year",
        price=Decimal("9000.00"),
        schedule="half_yearly",
        start=D(2020, 3, 5),
        end=D(2023, 3, 4),
    )
    # The first half-year and part of the second.
    payment_record(actor=clerk, contract=c2, date=D(2020, 3, 10), amount=Decimal("6000.00"))
    far = _clerk_for(tree.bianxiyang)
    c3 = make_contract(village=tree.bianxiyang, actor=far, code="BXY-1")
    returned = payment_record(actor=far, contract=c3, date=D(2020, 2, 1), amount=Decimal("20400.00"))
    entry_return(actor=admin, entries=[returned.entry], reason="金额与收据不符")  # not received
    return c1, c2, c3


def test_the_batched_positions_are_the_selectors(contracts, personas, tree):
    def facts(p):
        lines = [(ln.receivable.pk, ln.paid, ln.paid_by, ln.overdue_workdays, ln.age_days) for ln in p.lines]
        return (p.due, p.received, p.advance, p.overdue_amount, lines)

    for as_of in (D(2020, 3, 15), AS_OF, D(2023, 6, 30)):
        pairs = contract_positions(personas["township_admin"], tree.township, as_of)
        assert [c.pk for c, _ in pairs] == [c.pk for c in contracts]
        for c, p in pairs:
            assert facts(p) == facts(position(c, as_of)), (c.code, as_of)


def test_the_arrears_export_has_the_summarys_figures(contracts, personas, tree):
    admin = personas["township_admin"]
    s = summary(user=admin, unit=tree.township, year=2020, as_of=AS_OF)
    assert len(s.arrears) == 3  # c1: the rest of its first year; c2: its second half; c3: its first year
    body = arrears_workbook(admin, tree.township, 2020, AS_OF)
    rows = sheet_rows(body, "欠款明细")
    assert rows[0][0] == "相衙镇2020年合同欠款明细" and "2020年12月31日" in rows[1][0]
    assert rows[2] == [
        "村",
        "合同编号",
        "合同名称",
        "承租方",
        "所属期",
        "应收日期",
        "应收金额（元）",
        "未收金额（元）",
        "逾期工作日",
        "账龄（天）",
        "账龄段",
    ]
    body_rows, totals = rows[3:-1], rows[-1]
    assert len(body_rows) == len(s.arrears)
    for got, a in zip(body_rows, s.arrears, strict=True):
        r = a.line.receivable
        assert got[:4] == [a.contract.village.name, a.contract.code, a.contract.title, a.contract.party_name]
        assert got[4] == f"{r.period_start:%Y-%m-%d} 至 {r.period_end:%Y-%m-%d}"
        assert day(got[5]) == r.due_date
        assert (money(got[6]), money(got[7])) == (r.amount, a.line.outstanding)
        assert (got[8], got[9], got[10]) == (a.line.overdue_workdays, a.line.age_days, a.line.band)
    assert totals[0] == "合计" and money(totals[7]) == s.overdue_amount
    assert money(totals[6]) == sum(a.line.receivable.amount for a in s.arrears)
    # c1 paid 10,000 of its first 20,400: 10,400 left.
    c1_first = next(r for r in body_rows if r[1] == "XZ-2020-001" and day(r[5]) == D(2020, 1, 31))
    assert money(c1_first[7]) == Decimal("10400.00")
    ageing = sheet_rows(body, "账龄汇总")
    bands = {r[0]: (r[1], money(r[2])) for r in ageing[3:-1]}
    assert list(bands) == [label for label, _, _ in AGE_BANDS]
    for label, amount in s.ageing.items():
        assert bands[label] == (sum(1 for a in s.arrears if a.line.band == label), amount)
    assert money(ageing[-1][2]) == s.overdue_amount
    # No ID number anywhere.
    everything = " ".join(str(v) for wb_rows in (rows, ageing) for r in wb_rows for v in r if v is not None)
    assert ID not in everything and "证件" not in everything


def test_the_contract_list_has_each_position_and_masks_id_numbers(contracts, personas, tree):
    admin = personas["township_admin"]
    rows = sheet_rows(contracts_workbook(admin, tree.township, AS_OF), "合同台账")
    header = rows[2]
    at = {h: header.index(h) for h in header}
    body_rows, totals = rows[3:-1], rows[-1]
    assert [r[at["合同编号"]] for r in body_rows] == ["XZ-2020-001", "XZ-2020-002", "BXY-1"]
    for got, c in zip(body_rows, contracts, strict=True):
        p = position(c, AS_OF)
        assert money(got[at["应收至今（元）"]]) == p.due
        assert money(got[at["已收至今（元）"]]) == p.received
        assert money(got[at["其中逾期（元）"]]) == p.overdue_amount
        assert money(got[at["未收（元）"]]) == sum(
            ln.outstanding for ln in p.lines if ln.receivable.due_date <= AS_OF
        )
        assert money(got[at["单价或总价（元）"]]) == c.price and day(got[at["终止日期"]]) == c.end
    first = body_rows[0]
    assert first[at["证件号码"]] == mask_id_number(ID) != ID
    assert first[at["联系电话"]] == mask_phone("13812345678")
    assert (first[at["合同类型"]], first[at["计价方式"]]) == ("有偿转让（经营权流转）", "按亩每年")
    assert money(totals[at["已收至今（元）"]]) == Decimal("16000.00")  # c3's returned payment not counted
    assert money(totals[at["应收至今（元）"]]) == sum(position(c, AS_OF).due for c in contracts)
    assert ID not in " ".join(str(v) for r in rows for v in r if v is not None)


def test_each_reader_gets_their_own_villages_contracts(client, contracts, personas, tree):
    client.force_login(personas["other_clerk"])
    answer = client.get(reverse("contracts_export") + "?as_of=2020-12-31")
    assert answer.status_code == 200
    rows = sheet_rows(answer.content, "合同台账")
    assert [r[1] for r in rows[3:-1]] == ["BXY-1"]
    answer = client.get(reverse("contracts_arrears_export") + "?year=2020&as_of=2020-12-31")
    assert [r[1] for r in sheet_rows(answer.content, "欠款明细")[3:-1]] == ["BXY-1"]
    # Someone else's village: refused.
    for route in ("contracts_export", "contracts_arrears_export"):
        assert client.get(reverse(route) + f"?unit={tree.sunzhuang.code}").status_code == 403


def test_the_arrears_download(client, contracts, personas, tree):
    client.force_login(personas["station_head"])
    url = reverse("contracts_arrears_export") + f"?unit={tree.station1.code}&year=2020&as_of=2020-12-31"
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer["Content-Disposition"]
    codes = {r[1] for r in sheet_rows(answer.content, "欠款明细")[3:-1]}
    assert codes == {"XZ-2020-001", "XZ-2020-002"}  # station 1: 孙庄村, not 编席杨村
    bad = client.get(reverse("contracts_arrears_export") + "?year=2020&as_of=2021-01-05")
    assert bad.status_code == 400
    # Who took which file is recorded; the refused one is not.
    from qiangcun.core.audit import ChangeRecord

    (taken,) = ChangeRecord.objects.filter(action="contracts.arrears_export")
    assert taken.actor_id == personas["station_head"].pk and taken.object_pk == str(tree.station1.pk)
    assert "合同欠款（截至2020-12-31）" in taken.note


@pytest.mark.parametrize("persona", ["system_admin", "auditor", "no_role"])
def test_those_who_read_no_contracts_get_no_export(client, contracts, personas, persona):
    client.force_login(personas[persona])
    for route in ("contracts_export", "contracts_arrears_export"):
        assert client.get(reverse(route)).status_code == 403
