"""Contracts post their income: a payment posts exactly one ledger row, reversing it reverses that row,
a five-year rent paid up front counts one fifth a year, overdue follows the working calendar, partial
payments, advances and refunds add up — and only the village's own people write."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.contracts.models import ContractSettings, Payment, Receivable
from qiangcun.contracts.selectors import position, settings_for, summary, summary_document
from qiangcun.contracts.services import (
    contract_terminate,
    payment_cancel,
    payment_record,
    payment_reverse,
    refund_record,
    settings_save,
)
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.models import ChangeRecord
from qiangcun.ledger import rollup
from qiangcun.ledger.models import Entry, Source, Status
from qiangcun.ledger.services import entry_return, entry_verify
from qiangcun.targets.selectors import progress
from qiangcun.targets.services import campaign_create
from tests.conftest import _user

D = datetime.date


def income(tree, user, year, as_of):
    p = progress(user=user, unit=tree.township, year=year, as_of=as_of)
    return next(v.income for v in p.villages if v.id == tree.sunzhuang.pk)


def test_receivables_are_made_with_the_contract_and_recorded(make_contract, tree):
    c = make_contract()
    assert list(c.receivables.values_list("seq", "due_date", "amount")) == [
        (1, D(2020, 1, 31), Decimal("20400.00")),
        (2, D(2021, 1, 31), Decimal("20400.00")),
        (3, D(2022, 1, 31), Decimal("20400.00")),
    ]
    rec = ChangeRecord.objects.get(action="contracts.create")
    assert rec.unit_path == tree.sunzhuang.path and "61,200.00" in rec.note


def test_a_payment_posts_exactly_one_ledger_row(make_contract, clerk, tree, personas):
    c = make_contract()
    before = Entry.objects.count()
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("20400.00"))
    assert Entry.objects.count() == before + 1
    e = p.entry
    assert (e.amount, e.date, e.source, e.status, e.village_id) == (
        Decimal("20400.00"),
        D(2020, 1, 20),
        Source.CONTRACT,
        Status.SUBMITTED,
        tree.sunzhuang.pk,
    )
    assert (e.category.name, e.path.name, e.counterparty) == ("发包及上交收入", "土地流转", "张三")
    assert "XZ-2020-001" in e.summary and not e.spread
    # Counted once verified — by someone else.
    entry_verify(actor=personas["township_admin"], entries=[e])
    assert income(tree, personas["township_admin"], 2020, D(2020, 12, 31)) == Decimal("20400.00")
    assert ChangeRecord.objects.filter(action="contracts.payment").count() == 1


def test_reversing_a_payment_reverses_its_entry(make_contract, clerk, tree, personas):
    admin = personas["township_admin"]
    c = make_contract()
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("20400.00"))
    with pytest.raises(ServiceError, match="已审核"):
        payment_reverse(actor=clerk, payment=p, reason="收错")
    entry_verify(actor=admin, entries=[p.entry])
    reversal = payment_reverse(actor=clerk, payment=p, reason="承租方退租，款项原路退回")
    assert reversal.reverses_id == p.entry_id and reversal.amount == Decimal("-20400.00")
    assert reversal.source == Source.CONTRACT
    # The payment no longer counts as received; income falls once the reversal is verified.
    pos = position(c, D(2020, 12, 31))
    assert pos.received == 0 and pos.lines[0].outstanding == Decimal("20400.00")
    assert income(tree, admin, 2020, D(2020, 12, 31)) == Decimal("20400.00")
    entry_verify(actor=admin, entries=[reversal])
    assert income(tree, admin, 2020, D(2020, 12, 31)) == 0
    assert rollup.check() == []


def test_a_five_year_rent_paid_up_front_counts_one_fifth_each_year(make_contract, clerk, tree, personas):
    admin = personas["township_admin"]
    for year in range(2021, 2025):
        campaign_create(
            actor=admin,
            township=tree.township,
            year=year,
            baseline=Decimal("30000.00"),
            top_tier=Decimal("100000.00"),
            goal_top_tier_villages=1,
        )
    c = make_contract(
        code="XZ-5",
        price_mode="per_year",
        price=Decimal("12000.00"),
        area_mu=Decimal("20"),
        schedule="upfront",
        start=D(2020, 1, 1),
        end=D(2024, 12, 31),
    )
    assert list(c.receivables.values_list("amount", flat=True)) == [Decimal("60000.00")]
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 15), amount=Decimal("60000.00"))
    assert p.entry.spread and p.entry.amount == Decimal("60000.00")
    entry_verify(actor=admin, entries=[p.entry])
    for year in range(2020, 2025):
        assert income(tree, admin, year, D(year, 12, 31)) == Decimal("12000.00")
    # The township can choose to count the receipt when it arrives.
    settings_save(
        actor=admin,
        township=tree.township,
        spread_lump_sums=False,
        category=p.entry.category,
        path=p.entry.path,
        low_rent_ratio=Decimal("0.6"),
    )
    c2 = make_contract(
        code="XZ-6",
        price_mode="per_year",
        price=Decimal("1000.00"),
        area_mu=Decimal("2"),
        schedule="upfront",
        start=D(2020, 1, 1),
        end=D(2024, 12, 31),
    )
    p2 = payment_record(actor=clerk, contract=c2, date=D(2020, 2, 1), amount=Decimal("5000.00"))
    assert not p2.entry.spread


def test_a_year_of_rent_across_new_year_is_not_spread(make_contract, clerk):
    c = make_contract(start=D(2020, 3, 1), end=D(2022, 2, 28))
    p = payment_record(actor=clerk, contract=c, date=D(2020, 3, 5), amount=Decimal("20400.00"))
    assert not p.entry.spread


def test_partial_payments_advance_and_refund(make_contract, clerk):
    c = make_contract()
    payment_record(actor=clerk, contract=c, date=D(2020, 1, 10), amount=Decimal("10000.00"))
    pos = position(c, D(2020, 2, 10))
    assert pos.lines[0].paid == Decimal("10000.00") and pos.lines[0].outstanding == Decimal("10400.00")
    assert pos.overdue_amount == Decimal("10400.00")
    # 30,000 more: pays the rest of 2020 and 19,600 of 2021 ahead of time.
    payment_record(actor=clerk, contract=c, date=D(2020, 3, 1), amount=Decimal("30000.00"))
    pos = position(c, D(2020, 3, 2))
    assert [ln.paid for ln in pos.lines] == [Decimal("20400.00"), Decimal("19600.00"), Decimal("0.00")]
    assert pos.overdue == [] and pos.received == Decimal("40000.00")
    # More than everything owed: held in advance; a refund takes the advance back first.
    payment_record(actor=clerk, contract=c, date=D(2020, 3, 2), amount=Decimal("25000.00"))
    pos = position(c, D(2020, 3, 3))
    assert pos.advance == Decimal("3800.00")
    refund = refund_record(
        actor=clerk, contract=c, date=D(2020, 3, 3), amount=Decimal("5000.00"), note="多收租金退还"
    )
    assert refund.amount == Decimal("-5000.00") and refund.entry.amount == Decimal("-5000.00")
    pos = position(c, D(2020, 3, 4))
    assert pos.advance == 0 and [ln.paid for ln in pos.lines][-1] == Decimal("19200.00")
    with pytest.raises(ServiceError, match="超过"):
        refund_record(actor=clerk, contract=c, date=D(2020, 3, 4), amount=Decimal("70000.00"), note="x")
    with pytest.raises(ServiceError, match="原因"):
        refund_record(actor=clerk, contract=c, date=D(2020, 3, 4), amount=Decimal("1.00"), note="")


def test_overdue_is_counted_on_the_working_calendar(make_contract, clerk):
    # Due Saturday 4 April 2020, the first day of the Qingming holiday (4–6 April): met on Tuesday the 7th.
    c = make_contract(start=D(2020, 3, 5), end=D(2021, 3, 4), due_days=30)
    [r] = c.receivables.all()
    assert r.due_date == D(2020, 4, 4)
    assert position(c, D(2020, 4, 6)).overdue == []
    assert position(c, D(2020, 4, 7)).overdue == []
    [late] = position(c, D(2020, 4, 8)).overdue
    assert (late.overdue_workdays, late.age_days, late.band) == (1, 1, "≤30天")
    # Ages by calendar days from the day it was due in the bands.
    assert position(c, D(2020, 6, 6)).overdue[0].band == "31–90天"
    assert position(c, D(2020, 8, 6)).overdue[0].band == "91–180天"
    assert position(c, D(2020, 12, 6)).overdue[0].band == ">180天"
    payment_record(actor=clerk, contract=c, date=D(2020, 4, 20), amount=Decimal("20400.00"))
    assert position(c, D(2020, 4, 19)).overdue != [] and position(c, D(2020, 4, 20)).overdue == []


def test_a_returned_payment_is_cancelled_with_its_row(make_contract, clerk, personas):
    c = make_contract()
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("20400.00"))
    with pytest.raises(ServiceError, match="退回后"):
        payment_cancel(actor=clerk, payment=p)
    assert Payment.objects.filter(pk=p.pk).exists()
    entry_return(actor=personas["township_admin"], entries=[p.entry], reason="金额与收据不符")
    assert position(c, D(2020, 12, 31)).received == 0  # returned: not counted as received
    entry_id = p.entry_id
    payment_cancel(actor=clerk, payment=p)
    assert not Payment.objects.filter(pk=p.pk).exists() and not Entry.objects.filter(pk=entry_id).exists()


def test_who_may_write(make_contract, personas, tree):
    with pytest.raises(PermissionDeniedError):
        make_contract(actor=personas["other_clerk"])
    with pytest.raises(PermissionDeniedError):
        make_contract(actor=personas["leader"])
    with pytest.raises(PermissionDeniedError):
        make_contract(actor=personas["station_head"])
    c = make_contract(actor=personas["township_admin"])  # the township keeps contracts too …
    with pytest.raises(PermissionDeniedError):  # … but money is recorded by the village
        payment_record(
            actor=personas["township_admin"], contract=c, date=D(2020, 2, 1), amount=Decimal("1.00")
        )
    with pytest.raises(PermissionDeniedError):
        payment_record(actor=personas["other_clerk"], contract=c, date=D(2020, 2, 1), amount=Decimal("1.00"))
    with pytest.raises(PermissionDeniedError):
        settings_save(
            actor=personas["village_clerk"],
            township=tree.township,
            spread_lump_sums=False,
            category=settings_for(tree.township).category,
            path=settings_for(tree.township).path,
            low_rent_ratio=Decimal("0.5"),
        )
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": " "}, "code", "合同编号"),
        ({"end": D(2019, 1, 1)}, "end", "早于"),
        ({"price": Decimal("0")}, "price", "大于 0"),
        ({"price": Decimal("1.005")}, "price", "两位小数"),
        ({"area_mu": None}, "area_mu", "面积"),
        ({"party_id_number": "371422199001011235"}, "party_id_number", "身份证"),
        ({"party_kind": "company", "party_id_number": "12345"}, "party_id_number", "统一社会信用代码"),
        ({"price_mode": "lump_sum"}, "schedule", "一次付清"),
        ({"kind": "sale"}, "kind", "合同类型"),
        ({"end": D(2060, 1, 1)}, "end", "30 年"),
        ({"escalation_percent": Decimal("5")}, "escalation_every", "每几年"),
        ({"escalation_percent": Decimal("2.125"), "escalation_every": 1}, "escalation_percent", "两位小数"),
        ({"area_mu": Decimal("1E+309")}, "area_mu", "不超过"),
        ({"code": "XZ\x00"}, "code", "合同编号：.*控制字符"),
        ({"party_name": "张\ud800"}, "party_name", "Unicode 代理"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(make_contract, change, field, message):
    with pytest.raises(ServiceError, match=message) as caught:
        make_contract(**change)
    assert caught.value.field == field
    assert not Receivable.objects.exists()


def test_control_characters_in_a_note_or_reason_are_refused_naming_it(make_contract, clerk, personas):
    from qiangcun.ledger.services import entry_verify

    c = make_contract()
    with pytest.raises(ServiceError, match=r"说明：.*U\+0000") as caught:
        payment_record(
            actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("100.00"), note="收据\x00"
        )
    assert caught.value.field == "note" and not Payment.objects.exists()
    p = payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("100.00"))
    entry_verify(actor=personas["township_admin"], entries=[p.entry])
    with pytest.raises(ServiceError, match="冲销原因") as caught:
        payment_reverse(actor=clerk, payment=p, reason="错\x00")
    assert caught.value.field == "reason"
    with pytest.raises(ServiceError, match="解除原因"):
        contract_terminate(actor=clerk, contract=c, on=D(2020, 6, 30), reason="\x00")
    c.refresh_from_db()
    assert c.status == "active" and not Entry.objects.filter(reverses=p.entry).exists()


def test_a_code_once_per_village(make_contract, tree):
    make_contract()
    with pytest.raises(ServiceError, match="已有编号"):
        make_contract()
    make_contract(village=tree.liudao, actor=_user("clerk-ld", "village_clerk", tree.liudao))


def test_terminating_cancels_later_instalments(make_contract, clerk):
    c = make_contract()
    contract_terminate(actor=clerk, contract=c, on=D(2020, 6, 30), reason="承租方经营困难，协商解除")
    assert list(c.receivables.filter(cancelled=False).values_list("seq", flat=True)) == [1]
    with pytest.raises(ServiceError, match="已解除"):
        payment_record(actor=clerk, contract=c, date=D(2020, 7, 2), amount=Decimal("10.00"))


def test_the_township_summary_and_its_document(make_contract, clerk, tree, personas):
    admin = personas["township_admin"]
    c1 = make_contract()  # 20,400 due 31 Jan 2020
    make_contract(
        code="XZ-2", party_name="李四", price=Decimal("300.00"), end=D(2020, 6, 30)
    )  # 7,650 … expiring
    payment_record(actor=clerk, contract=c1, date=D(2020, 1, 20), amount=Decimal("15000.00"))
    s = summary(user=admin, unit=tree.township, year=2020, as_of=D(2020, 4, 17))
    doc = summary_document(s)
    assert (doc["contracts"], doc["villages"]) == (2, 1)
    # XZ-2: a half year ending 30 June: 25.5 亩 × 300 × 6/12 = 3,825.00, due 31 January, unpaid.
    assert (
        doc["receivable"] == "24225.00" and doc["received"] == "15000.00" and doc["collected"] == "15000.00"
    )
    assert s.rate == Decimal("61.9")  # 15,000 of 24,225
    assert doc["overdue"] == {"amount": "9225.00", "contracts": 2}
    assert doc["expiring_90d"] == 1 and s.expiring[0].code == "XZ-2"
    # Due 31 January (a Friday), 77 days before 17 April.
    assert doc["ageing"] == {"≤30天": "0.00", "31–90天": "9225.00", "91–180天": "0.00", ">180天": "0.00"}
    # Out of scope: nothing of another village's contracts, and no township summary.
    with pytest.raises(PermissionDeniedError):
        summary(user=personas["other_clerk"], unit=tree.township, year=2020, as_of=D(2020, 4, 17))
    assert (
        summary(user=personas["other_clerk"], unit=tree.bianxiyang, year=2020, as_of=D(2020, 4, 17)).contracts
        == 0
    )


def test_arrears_of_a_contract_that_ended_last_year_stay_until_paid(make_contract, clerk, tree, personas):
    admin = personas["township_admin"]
    old = make_contract(start=D(2018, 1, 1), end=D(2019, 12, 31))  # 20,400.00 due each 31 January
    payment_record(actor=clerk, contract=old, date=D(2018, 1, 20), amount=Decimal("20400.00"))
    s = summary(user=admin, unit=tree.township, year=2020, as_of=D(2020, 4, 17))
    assert (s.contracts, s.overdue_amount, s.receivable, s.received) == (
        1,
        Decimal("20400.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert [a.contract.pk for a in s.arrears] == [old.pk] and s.arrears[0].line.band == ">180天"
    # Paid in 2020: received in 2020, and nothing owed any more.
    payment_record(actor=clerk, contract=old, date=D(2020, 5, 6), amount=Decimal("20400.00"))
    s = summary(user=admin, unit=tree.township, year=2020, as_of=D(2020, 6, 1))
    assert (s.contracts, s.overdue_amount, s.received) == (1, Decimal("0.00"), Decimal("20400.00"))
    # The next year it is paid up and ended: not in the summary.
    assert summary(user=admin, unit=tree.township, year=2021, as_of=D(2021, 6, 1)).contracts == 0


def test_the_rate_rounds_half_up_like_every_other_percentage():
    from qiangcun.contracts.selectors import collection_rate

    assert collection_rate(Decimal("1.00"), Decimal("16.00")) == Decimal("6.3")  # 6.25%
    assert collection_rate(Decimal("0"), Decimal("0")) is None


def test_reading_the_summary_writes_nothing(make_contract, tree, personas):
    make_contract()
    summary(user=personas["leader"], unit=tree.township, year=2020, as_of=D(2020, 4, 17))
    assert not ContractSettings.objects.exists()


def test_rent_paid_ahead_is_received_but_does_not_lift_the_rate_above_100(
    make_contract, clerk, tree, personas
):
    c = make_contract()  # 20,400.00 a year, due 31 January
    payment_record(actor=clerk, contract=c, date=D(2020, 1, 20), amount=Decimal("30000.00"))
    s = summary(user=personas["township_admin"], unit=tree.township, year=2020, as_of=D(2020, 4, 17))
    (v,) = s.by_village
    assert (v.receivable, v.received, v.collected) == (
        Decimal("20400.00"),
        Decimal("30000.00"),
        Decimal("20400.00"),
    )
    assert v.rate == s.rate == Decimal("100.0") and s.overdue_amount == 0
    # Before the first instalment is due: nothing receivable yet, so no rate at all.
    early = summary(user=personas["township_admin"], unit=tree.township, year=2020, as_of=D(2020, 1, 25))
    assert early.receivable == 0 and early.rate is None and early.received == Decimal("30000.00")


def test_a_parcel_whose_contract_ran_out_is_flagged_until_let_again(make_contract, clerk, tree, personas):
    from qiangcun.assets.services import AssetData, asset_create

    admin = personas["township_admin"]
    land = asset_create(
        actor=clerk,
        village=tree.sunzhuang,
        data=AssetData(
            code="ZY-301",
            name="村南机动地",
            kind="resource",
            land_class="arable",
            area_mu=Decimal("12.50"),
            status="idle",
        ),
    )
    make_contract(assets=(land,), end=D(2020, 6, 30))

    def lapsed(on):
        s = summary(user=admin, unit=tree.township, year=on.year, as_of=on)
        return [a.pk for a in s.lapsed_assets], s.lapsed_area_mu, summary_document(s)["lapsed_assets"]

    assert lapsed(D(2020, 6, 30)) == ([], Decimal("0.00"), 0)  # the last day of the lease
    assert lapsed(D(2020, 7, 1)) == ([land.pk], Decimal("12.50"), 1)
    # Another village's reader does not see it.
    assert (
        summary(
            user=personas["other_clerk"], unit=tree.bianxiyang, year=2020, as_of=D(2020, 7, 1)
        ).lapsed_assets
        == []
    )
    # Let again: not over the old term, but from 1 September (signed in advance) it is accepted while the
    # register still says 出租, and the parcel is no longer flagged, even before the new lease starts.
    with pytest.raises(ServiceError, match="期限重叠"):
        make_contract(code="XZ-2020-008", assets=(land,), start=D(2020, 6, 1), end=D(2023, 5, 31))
    renewal = make_contract(code="XZ-2020-009", assets=(land,), start=D(2020, 9, 1), end=D(2023, 8, 31))
    assert lapsed(D(2020, 7, 1))[0] == []
    # Ending the old one now leaves the parcel let (the renewal lets it), not 闲置.
    from qiangcun.assets.models import Asset

    old = renewal.assets.get().contracts.exclude(pk=renewal.pk).get()
    contract_terminate(actor=clerk, contract=old, on=D(2020, 6, 30), reason="到期收回")
    assert Asset.objects.get(pk=land.pk).status == "leased"


def test_settings_default_to_contracting_income_and_land_transfer(tree):
    rules = settings_for(tree.township)
    assert (rules.category.name, rules.path.name, rules.spread_lump_sums) == (
        "发包及上交收入",
        "土地流转",
        True,
    )
    assert ContractSettings.objects.count() == 0  # a read saves nothing
    assert settings_for(tree.township, create=True).pk is not None
    assert ContractSettings.objects.count() == 1


def test_a_contract_lets_register_items_and_ending_it_frees_them(make_contract, clerk, tree, personas):
    from qiangcun.assets.models import Asset
    from qiangcun.assets.services import AssetData, asset_create

    def parcel(village, code, actor=clerk):
        return asset_create(
            actor=actor,
            village=village,
            data=AssetData(
                code=code,
                name="村东机动地",
                kind="resource",
                land_class="arable",
                area_mu=Decimal("25.50"),
                status="idle",
            ),
        )

    land = parcel(tree.sunzhuang, "ZY-101")
    c = make_contract(assets=(land,), land_class="耕地")  # a label is taken for its key
    assert c.land_class == "arable" and list(c.assets.all()) == [land]
    assert Asset.objects.get(pk=land.pk).status == "leased"
    assert ChangeRecord.objects.filter(action="asset.status", object_pk=str(land.pk)).count() == 1
    with pytest.raises(ServiceError, match="已在合同"):
        make_contract(code="XZ-again", assets=(land,))
    other = parcel(tree.bianxiyang, "ZY-201", actor=personas["other_clerk"])
    with pytest.raises(ServiceError, match="不属于"):
        make_contract(code="XZ-other", assets=(other,))
    with pytest.raises(ServiceError, match="地类只能是"):
        make_contract(code="XZ-class", land_class="水田")
    contract_terminate(actor=clerk, contract=c, on=D(2020, 6, 30), reason="承租方退租")
    assert Asset.objects.get(pk=land.pk).status == "idle"
    s = summary(user=personas["township_admin"], unit=tree.township, year=2020, as_of=D(2020, 7, 1))
    assert s.idle_area_mu == Decimal("51.00") and [a.pk for a in s.idle_assets] == [land.pk, other.pk]
