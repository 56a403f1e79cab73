"""The contract pages and the summary API as each kind of user meets them."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from qiangcun.contracts.models import Contract, Payment
from qiangcun.contracts.services import payment_record
from qiangcun.core.models import ChangeRecord
from qiangcun.ledger.models import Entry, Source, Status

D = datetime.date


@pytest.fixture(autouse=True)
def _stand_in_2020(settings, tmp_path):
    """The tests' campaign is 2020: stand on its last day, so 2020 is the year open for entry (as the web
    tests do); uploads go to a scratch folder."""
    settings.TODAY = D(2020, 12, 31)
    settings.MEDIA_ROOT = tmp_path / "media"


ID = "371422199001011234"  # a valid 居民身份证号码 (check digit 4)


def _form(tree, **overrides):
    data = {
        "village": str(tree.sunzhuang.pk),
        "code": "HT-001",
        "title": "村东耕地流转",
        "kind": "transfer",
        "method": "tender",
        "land_class": "耕地",
        "area_mu": "25.5",
        "party_kind": "person",
        "party_name": "张三",
        "party_id_number": ID,
        "party_phone": "13812345678",
        "start": "2020-03-01",
        "end": "2023-02-28",
        "price_mode": "per_mu_year",
        "price": "800",
        "schedule": "annual",
        "due_days": "30",
        "deposit": "2000",
        "action": "save",
    }
    data.update(overrides)
    return data


def test_record_a_contract_with_a_preview_first(client, tree, clerk):
    client.force_login(clerk)
    page = client.post(reverse("contract_new"), _form(tree, action="preview"))
    assert page.status_code == 200 and not Contract.objects.exists()
    text = page.content.decode()
    assert "将生成的应收（共 3 期，61,200.00 元）" in text and "2020-03-31" in text
    done = client.post(reverse("contract_new"), _form(tree))
    c = Contract.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("contract", args=[c.pk])
    assert c.receivables.count() == 3 and c.deposit == Decimal("2000.00")


def test_bad_input_names_the_field_and_saves_nothing(client, tree, clerk):
    client.force_login(clerk)
    for change, message in [
        ({"price": "八百"}, "单价或总价"),
        ({"end": "2019-01-01"}, "终止日期早于起始日期"),
        ({"party_id_number": "371422199001011235"}, "身份证号有误"),
        ({"area_mu": ""}, "必须填写面积"),
        ({"start": "2020/03/01"}, "起始日期"),
    ]:
        page = client.post(reverse("contract_new"), _form(tree, **change))
        assert page.status_code == 400, change
        assert message in page.content.decode(), change
    assert not Contract.objects.exists()


def test_pay_refund_cancel_and_reverse_through_the_page(client, tree, clerk, make_contract, personas):
    c = make_contract(party_id_number=ID)
    client.force_login(clerk)
    client.post(reverse("contract_payment", args=[c.pk]), {"date": "2020-01-20", "amount": "20,400.00"})
    p = Payment.objects.get()
    assert p.amount == Decimal("20400.00") and p.entry.source == Source.CONTRACT
    # A bad amount: a message, nothing recorded.
    client.post(reverse("contract_payment", args=[c.pk]), {"date": "2020-01-21", "amount": "-5"})
    assert Payment.objects.count() == 1
    client.post(
        reverse("contract_payment", args=[c.pk]),
        {"kind": "refund", "date": "2020-01-22", "amount": "400", "note": "多收退还"},
    )
    refund = Payment.objects.get(amount__lt=Decimal("0"))
    assert refund.entry.amount == Decimal("-400.00")
    # The station returns the refund's row; the village cancels it.
    from qiangcun.ledger.services import entry_return, entry_verify

    entry_return(actor=personas["township_admin"], entries=[refund.entry], reason="无退款凭证")
    client.post(reverse("contract_payment_cancel", args=[refund.pk]))
    assert not Payment.objects.filter(pk=refund.pk).exists()
    entry_verify(actor=personas["township_admin"], entries=[p.entry])
    client.post(reverse("contract_payment_reverse", args=[p.pk]), {"reason": "收款登记错合同"})
    reversal = Entry.objects.get(reverses=p.entry)
    assert reversal.status == Status.SUBMITTED and reversal.amount == Decimal("-20400.00")
    page = client.get(reverse("contract", args=[c.pk])).content.decode()
    assert "已冲销" in page


def test_the_contract_page_folds_the_later_instalments_away(client, tree, clerk, make_contract):
    c = make_contract(end=datetime.date(2024, 12, 31))  # five yearly instalments of 20,400.00
    client.force_login(clerk)
    answer = client.get(reverse("contract", args=[c.pk]), {"as_of": "2020-04-17"})
    # Due so far (2020) and the next one (2021) in the open; 2022–2024 folded, with their sum.
    assert [ln.receivable.seq for ln in answer.context["lines_now"]] == [1, 2]
    assert [ln.receivable.seq for ln in answer.context["lines_later"]] == [3, 4, 5]
    page = answer.content.decode()
    assert "以后各期：3 期，共 61,200.00 元" in page
    assert all(f"第 {n} 期" in page for n in range(1, 6)) and "2024-12-31" in page
    assert 'href="#pay"' in page and 'id="pay"' in page


def test_id_numbers_are_masked_and_a_full_look_is_recorded(client, tree, clerk, make_contract, personas):
    c = make_contract(party_id_number=ID, party_phone="13812345678")
    for who in ("township_admin", "station_head", "leader", "village_clerk"):
        client.force_login(personas[who] if who != "village_clerk" else clerk)
        text = client.get(reverse("contract", args=[c.pk])).content.decode()
        assert ID not in text and "13812345678" not in text, who
        assert "371***********1234" in text and "138****5678" in text
    client.force_login(clerk)
    shown = client.post(reverse("contract_reveal", args=[c.pk])).content.decode()
    assert ID in shown and "13812345678" in shown
    rec = ChangeRecord.objects.get(action="contracts.reveal_party")
    assert rec.object_pk == str(c.pk) and ID not in rec.note
    client.force_login(personas["station_head"])
    assert client.post(reverse("contract_reveal", args=[c.pk])).status_code == 403


def test_the_overview_by_unit_and_scope(client, tree, clerk, make_contract, personas):
    c = make_contract()
    payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("15000.00"))
    client.force_login(personas["township_admin"])
    page = client.get(reverse("contracts") + f"?unit={tree.township.code}&year=2020&as_of=2020-04-17")
    text = page.content.decode()
    assert page.status_code == 200
    assert "孙庄村" in text and "5,400.00" in text and "15,000.00" in text
    assert "村东耕地流转" in text  # in the arrears list
    village = client.get(reverse("contracts") + f"?unit={tree.sunzhuang.code}&year=2020&as_of=2020-04-17")
    assert "合同清单" in village.content.decode()
    client.force_login(personas["other_clerk"])
    assert client.get(reverse("contracts") + f"?unit={tree.sunzhuang.code}").status_code == 403
    own = client.get(reverse("contracts")).content.decode()
    assert "村东耕地流转" not in own
    assert client.get(reverse("contract", args=[c.pk])).status_code == 404


def test_the_summary_api(client, tree, clerk, make_contract, personas):
    c = make_contract()
    payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("15000.00"))
    client.force_login(personas["leader"])
    answer = client.get(f"/api/v1/contracts/summary?year=2020&as_of=2020-04-17&unit={tree.township.code}")
    assert answer.status_code == 200
    doc = json.loads(answer.content)
    assert doc["receivable"] == "20400.00" and doc["received"] == "15000.00"
    assert doc["overdue"] == {"amount": "5400.00", "contracts": 1}
    assert doc["idle_area_mu"] == "0.00" and doc["expiring_90d"] == 0
    assert doc["contracts"] == 1 and doc["villages"] == 1
    for key in ("receivable", "received"):
        assert re.fullmatch(r"-?\d+\.\d{2}", doc[key])
    bad = client.get(f"/api/v1/contracts/summary?year=2020&as_of=2021-01-01&unit={tree.township.code}")
    assert bad.status_code == 400 and "不在 2020 年内" in json.loads(bad.content)["detail"]
    client.force_login(personas["other_clerk"])
    assert client.get(f"/api/v1/contracts/summary?unit={tree.sunzhuang.code}").status_code == 403


def test_the_ledger_shows_where_a_row_came_from_and_its_yearly_shares(
    client, tree, clerk, make_contract, personas
):
    from qiangcun.ledger.services import entry_return

    c = make_contract(
        code="XZ-5",
        price_mode="per_year",
        price=Decimal("12000.00"),
        area_mu=Decimal("20"),
        schedule="upfront",
        start=D(2020, 1, 1),
        end=D(2024, 12, 31),
    )
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 15), amount=Decimal("60000.00"))
    client.force_login(personas["station_head"])
    queue = client.get(reverse("review")).content.decode()
    assert "合同收款" in queue and "分年计入目标：2020年 12,000.00；2021年 12,000.00" in queue
    entry_return(actor=personas["station_head"], entries=[p.entry], reason="缺少收据")
    client.force_login(clerk)
    page = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020").content.decode()
    assert reverse("contract", args=[c.pk]) in page and "到合同页面撤回" in page
    assert reverse("entry_edit", args=[p.entry_id]) not in page


def test_a_payment_is_refused_in_a_year_not_open_for_entry(client, tree, clerk, make_contract):
    c = make_contract(start=D(2019, 1, 1))
    client.force_login(clerk)
    page = client.post(
        reverse("contract_payment", args=[c.pk]), {"date": "2019-02-01", "amount": "100"}, follow=True
    )
    assert not Payment.objects.exists() and not Entry.objects.exists()
    assert "2019" in page.content.decode()


def test_a_county_reads_its_townships_contracts(client, tree, clerk, make_contract, personas):
    from qiangcun.accounts.models import Role
    from tests.conftest import _user

    make_contract()
    county_leader = _user("county-leader", Role.LEADER, tree.county)
    client.force_login(county_leader)
    page = client.get(reverse("contracts") + f"?unit={tree.county.code}&year=2020&as_of=2020-04-17")
    assert page.status_code == 200 and "孙庄村" in page.content.decode()
    doc = json.loads(
        client.get(f"/api/v1/contracts/summary?unit={tree.county.code}&year=2020&as_of=2020-04-17").content
    )
    assert doc["contracts"] == 1 and doc["overdue"]["amount"] == "20400.00"


def test_my_work_lists_overdue_rent_within_scope(client, tree, clerk, make_contract, personas, settings):
    settings.TODAY = D(2020, 4, 17)
    make_contract(party_name="王建国")  # 20,400.00 due 31 January, unpaid
    client.force_login(clerk)
    home = client.get(reverse("home")).content.decode()
    assert "逾期未收的合同租金" in home and "王建国" in home and "20,400.00" in home
    client.force_login(personas["other_clerk"])
    home = client.get(reverse("home")).content.decode()
    assert "逾期未收的合同租金" in home and "王建国" not in home


def test_a_scan_must_be_a_pdf_or_a_photo(client, tree, clerk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(clerk)
    html = SimpleUploadedFile(
        "合同.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf"
    )
    page = client.post(reverse("contract_new"), {**_form(tree), "scan": html})
    assert page.status_code == 400 and "只能是 PDF 或照片" in page.content.decode()
    assert not Contract.objects.exists()
    pdf = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 signed contract", content_type="application/pdf")
    client.post(reverse("contract_new"), {**_form(tree), "scan": pdf})
    c = Contract.objects.get()
    answer = client.get(reverse("contract_scan", args=[c.pk]))
    assert answer["Content-Type"] == "application/pdf" and b"".join(answer.streaming_content).startswith(
        b"%PDF"
    )


def test_a_reversed_payment_shows_in_the_ledger_lists(client, tree, clerk, make_contract, personas):
    from qiangcun.contracts.services import payment_reverse
    from qiangcun.ledger.services import entry_verify

    c = make_contract()
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("20400.00"))
    entry_verify(actor=personas["township_admin"], entries=[p.entry])
    payment_reverse(actor=clerk, payment=p, reason="登记错合同")
    for who, url in (
        (clerk, reverse("village", args=[tree.sunzhuang.code]) + "?year=2020"),
        (personas["station_head"], reverse("review")),
    ):
        client.force_login(who)
        page = client.get(url)
        assert page.status_code == 200 and "合同收款冲销" in page.content.decode()
