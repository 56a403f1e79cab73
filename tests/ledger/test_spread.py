"""Lump sums spread over their years (分年确认): the split to the fen, and a spread row counting toward each
year's target only for that year's share — on every path that adds up counted income (the progress table
forwards and backwards, the monthly chart, the roll-up and its check)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qiangcun.core.errors import ServiceError
from qiangcun.ledger import rollup
from qiangcun.ledger.models import Entry, Recognition, Source
from qiangcun.ledger.services import (
    entry_create,
    entry_delete,
    entry_return,
    entry_reverse,
    entry_update,
    entry_verify,
    entry_withdraw_posted,
)
from qiangcun.ledger.spread import months_by_year, recognition_lines, split_by_year
from qiangcun.targets.selectors import progress, village_monthly
from qiangcun.targets.services import campaign_create
from tests.conftest import _clerk_for, _user

D = datetime.date


def test_five_whole_years_split_one_fifth_each_despite_the_leap_year():
    assert split_by_year(Decimal("50000.00"), D(2020, 1, 1), D(2024, 12, 31)) == {
        y: Decimal("10000.00") for y in range(2020, 2025)
    }


def test_a_period_across_years_is_shared_by_months():
    # March 2020 – February 2025: 10 months of 2020, 12 of each middle year, 2 of 2025.
    assert months_by_year(D(2020, 3, 1), D(2025, 2, 28)) == {
        2020: 10,
        2021: 12,
        2022: 12,
        2023: 12,
        2024: 12,
        2025: 2,
    }
    shares = split_by_year(Decimal("60000.00"), D(2020, 3, 1), D(2025, 2, 28))
    assert shares == {
        2020: Decimal("10000.00"),
        2021: Decimal("12000.00"),
        2022: Decimal("12000.00"),
        2023: Decimal("12000.00"),
        2024: Decimal("12000.00"),
        2025: Decimal("2000.00"),
    }
    # A period starting mid-month begins with the next month's first day.
    assert months_by_year(D(2020, 3, 15), D(2021, 3, 14)) == {2020: 9, 2021: 3}
    # No first day inside: one month of the start's year.
    assert months_by_year(D(2020, 3, 2), D(2020, 3, 20)) == {2020: 1}


@settings(deadline=None)  # timing varies on a loaded 2-core machine; correctness is the point
@given(
    fen=st.integers(min_value=-(10**11), max_value=10**11).filter(bool),
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2040, 12, 31)),
    days=st.integers(min_value=0, max_value=365 * 12),
)
def test_the_shares_add_up_to_the_fen_and_follow_the_months(fen, start, days):
    amount = Decimal(fen) / 100
    end = start + datetime.timedelta(days=days)
    shares = split_by_year(amount, start, end)
    assert sum(shares.values()) == amount
    weights = months_by_year(start, end)
    total = sum(weights.values())
    for year, share in shares.items():
        # Each share is within one fen of its exact part, and has the sign of the amount.
        assert abs(share - amount * weights[year] / total) < Decimal("0.01")
        assert (share > 0) == (amount > 0)


def test_recognition_lines_date_later_years_on_their_first_day():
    lines = recognition_lines(
        D(2020, 3, 9), {2019: Decimal("5.00"), 2020: Decimal("10.00"), 2021: Decimal("10.00")}
    )
    assert lines == [(2020, D(2020, 3, 9), Decimal("15.00")), (2021, D(2021, 1, 1), Decimal("10.00"))]


@pytest.fixture
def five_years(tree, personas):
    """Campaigns 2021–2024 beside the tree's 2020 one (same counted categories by default)."""
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


def _spread_row(tree, category, path, amount="50000.00", date=datetime.date(2020, 3, 9)):
    clerk = _clerk_for(tree.sunzhuang)
    shares = split_by_year(Decimal(amount), D(2020, 1, 1), D(2024, 12, 31))
    return entry_create(
        actor=clerk,
        village=tree.sunzhuang,
        date=date,
        amount=Decimal(amount),
        category=category,
        path=path,
        summary="五年土地租金一次性收取",
        counterparty="宁津县某农业公司",
        submit=True,
        source=Source.CONTRACT,
        shares=shares,
    )


def _income(user, tree, year, as_of):
    p = progress(user=user, unit=tree.township, year=year, as_of=as_of)
    return next(v.income for v in p.villages if v.id == tree.sunzhuang.pk)


@pytest.mark.parametrize("month", [2, 9])  # forwards (first half of the year) and backwards
def test_a_five_year_rent_counts_one_fifth_a_year(tree, personas, five_years, category, path, month):
    admin = personas["township_admin"]
    entry = _spread_row(tree, category, path)
    assert entry.spread and entry.amount == Decimal("50000.00")
    assert list(entry.recognitions.values_list("year", "date", "amount")) == [
        (2020, D(2020, 3, 9), Decimal("10000.00")),
        *[(y, D(y, 1, 1), Decimal("10000.00")) for y in range(2021, 2025)],
    ]
    # Not counted before it is verified.
    assert _income(admin, tree, 2020, D(2020, 12, 31)) == 0
    entry_verify(actor=admin, entries=[entry])
    assert rollup.check() == []
    # Before the receipt: nothing; after it: one fifth — never the whole sum.
    assert _income(admin, tree, 2020, D(2020, month, 8 if month == 2 else 30)) == (
        0 if month == 2 else Decimal("10000.00")
    )
    assert _income(admin, tree, 2020, D(2020, 3, 9)) == Decimal("10000.00")
    for year in range(2021, 2025):
        assert _income(admin, tree, year, D(year, month, 1)) == Decimal("10000.00")
        assert _income(admin, tree, year, D(year, 1, 1)) == Decimal("10000.00")
    months = village_monthly(user=admin, village=tree.sunzhuang, year=2022)
    assert months[0].income == Decimal("10000.00") and months[-1].cumulative == Decimal("10000.00")


def test_reversing_a_spread_row_takes_every_share_back(tree, personas, five_years, category, path):
    admin = personas["township_admin"]
    entry = _spread_row(tree, category, path)
    entry_verify(actor=admin, entries=[entry])
    reversal = entry_reverse(actor=admin, entry=entry, reason="合同解除，租金全额退回")
    assert reversal.spread and reversal.source == Source.CONTRACT
    assert sorted(reversal.recognitions.values_list("year", "amount")) == [
        (y, Decimal("-10000.00")) for y in range(2020, 2025)
    ]
    entry_verify(actor=_user("admin2", "township_admin", tree.township), entries=[reversal])
    assert rollup.check() == []
    for year in (2020, 2023):
        assert _income(admin, tree, year, D(year, 12, 31)) == 0


def test_rebuild_makes_the_shares_again(tree, personas, five_years, category, path):
    entry = _spread_row(tree, category, path)
    entry_verify(actor=personas["township_admin"], entries=[entry])
    before = sorted(rollup.check())
    rollup.rebuild()
    assert before == [] and rollup.check() == []
    # Tampering with a share's line is found.
    from qiangcun.ledger.models import YearIncome

    YearIncome.objects.filter(year=2023).update(amount=Decimal("1.00"))
    assert [d.period for d in rollup.check()] == ["year"]


def test_shares_must_add_up_and_share_the_sign(tree, category, path):
    clerk = _clerk_for(tree.sunzhuang)
    base = dict(
        actor=clerk,
        village=tree.sunzhuang,
        date=D(2020, 3, 9),
        category=category,
        path=path,
        summary="租金",
        source=Source.CONTRACT,
    )
    with pytest.raises(ServiceError, match="之和"):
        entry_create(
            **base, amount=Decimal("100.00"), shares={2020: Decimal("50.00"), 2021: Decimal("40.00")}
        )
    with pytest.raises(ServiceError, match="同为正数"):
        entry_create(
            **base, amount=Decimal("100.00"), shares={2020: Decimal("150.00"), 2021: Decimal("-50.00")}
        )
    assert not Entry.objects.exists() and not Recognition.objects.exists()
    # Shares all within the receipt year: an ordinary row.
    plain = entry_create(
        **base, amount=Decimal("100.00"), shares={2019: Decimal("40.00"), 2020: Decimal("60.00")}
    )
    assert not plain.spread and not plain.recognitions.exists()


def test_a_posted_row_is_changed_only_through_its_source(tree, category, path):
    clerk = _clerk_for(tree.sunzhuang)
    entry = entry_create(
        actor=clerk,
        village=tree.sunzhuang,
        date=D(2020, 3, 9),
        amount=Decimal("800.00"),
        category=category,
        path=path,
        summary="合同收款",
        source=Source.CONTRACT,
    )
    with pytest.raises(ServiceError, match="合同"):
        entry_update(
            actor=clerk,
            entry=entry,
            date=D(2020, 3, 9),
            amount=Decimal("900.00"),
            category=category,
            path=path,
            summary="改",
        )
    with pytest.raises(ServiceError, match="合同"):
        entry_delete(actor=clerk, entry=entry)
    with pytest.raises(ServiceError, match="来源"):
        entry_withdraw_posted(actor=clerk, entry=entry, source="other")
    entry_withdraw_posted(actor=clerk, entry=entry, source=Source.CONTRACT)
    assert not Entry.objects.filter(pk=entry.pk).exists()


def test_a_refund_is_a_negative_posted_row_and_typed_rows_stay_positive(tree, category, path):
    clerk = _clerk_for(tree.sunzhuang)
    base = dict(
        actor=clerk, village=tree.sunzhuang, date=D(2020, 3, 9), category=category, path=path, summary="退款"
    )
    refund = entry_create(**base, amount=Decimal("-300.00"), source=Source.CONTRACT)
    assert refund.amount == Decimal("-300.00")
    with pytest.raises(ServiceError, match="大于 0"):
        entry_create(**base, amount=Decimal("-300.00"))


# --- through Excel: the ledger's export writes the shares, its import reads them back ----------------------


def test_the_shares_cell_reads_back_and_refuses_what_does_not_add_up():
    from qiangcun.core.cells import CellError
    from qiangcun.ledger.importing.ledger import parse_shares

    amount, day = Decimal("25850.00"), D(2020, 4, 2)
    cell = "2020年5,170.00；2021年5,170.00；2022年5,170.00；2023年5,170.00；2024年5,170.00"
    assert parse_shares(cell, amount=amount, date=day) == tuple(
        (y, Decimal("5170.00")) for y in range(2020, 2025)
    )
    # As typed by hand: colons, commas, spaces, full-width digits, 元.
    assert parse_shares("2021：5170 , 2020: 20680元", amount=amount, date=day) == (
        (2020, Decimal("20680.00")),
        (2021, Decimal("5170.00")),
    )
    assert parse_shares("２０２０年25850", amount=amount, date=day) == ()  # one year: not spread
    assert parse_shares(None, amount=amount, date=day) == ()
    for bad, says in [
        ("2020年5170；2021年5170", "与金额 25,850.00 元不符"),
        ("2020年20680；2020年5170", "同一年份写了两次"),
        ("2020年30000；2021年-4150", "同为正数"),
        ("2020年20680；1980年5170", "30 年以内"),
        ("二〇二〇年全部", "看不懂"),
        ("2020年" + "9" * 40, "看不懂"),
    ]:
        with pytest.raises(CellError, match=says):
            parse_shares(bad, amount=amount, date=day)


def test_a_spread_row_exported_and_imported_counts_by_its_shares(
    tree, personas, five_years, category, path, client, tmp_path, settings
):
    from openpyxl import load_workbook

    from qiangcun.ledger.importing.ledger import parse_ledger_file
    from qiangcun.ledger.services import entries_import

    admin = personas["township_admin"]
    entry_verify(actor=admin, entries=[_spread_row(tree, category, path)])
    client.force_login(admin)
    response = client.get("/ledger/export.xlsx?year=2020&status=verified")
    assert response.status_code == 200
    book = tmp_path / "台账.xlsx"
    book.write_bytes(response.content)
    sheet = load_workbook(book).active
    header = next(r for r in sheet.iter_rows(values_only=True) if "分年计入目标" in r)
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "孙庄村")
    assert row[header.index("分年计入目标")] == "；".join(f"{y}年10,000.00" for y in range(2020, 2025))

    # Into another village (the same village would take it for a row it already has).
    sheet_book = load_workbook(book)
    ws = sheet_book.active
    for cells in ws.iter_rows():
        if cells[0].value == "孙庄村":
            cells[0].value = tree.villages[1].name
    sheet_book.save(book)
    parsed = parse_ledger_file(book, name="台账.xlsx", year=2020, villages=list(tree.villages))
    assert parsed.ok, parsed.errors
    (imported,) = parsed.rows
    assert imported.shares == tuple((y, Decimal("10000.00")) for y in range(2020, 2025))
    settings.TODAY = D(2021, 1, 5)
    outcome = entries_import(
        actor=admin, rows=parsed.rows, file_name="台账.xlsx", sha256="0" * 64, verified=True
    )
    made = Entry.objects.get(import_batch=outcome.batch)
    assert made.spread and made.status == "verified" and made.amount == Decimal("50000.00")
    assert sorted(made.recognitions.values_list("year", "amount")) == [
        (y, Decimal("10000.00")) for y in range(2020, 2025)
    ]
    assert rollup.check() == []
    p = progress(user=admin, unit=tree.township, year=2022, as_of=D(2022, 6, 30))
    assert next(v.income for v in p.villages if v.id == tree.villages[1].pk) == Decimal("10000.00")


def test_a_spread_rows_date_amount_and_category_are_not_edited_under_its_shares(
    tree, personas, category, path
):
    """Its shares were made from them: an edit would leave them counting the old figures."""
    from qiangcun.ledger.importing.ledger import ParsedRow
    from qiangcun.ledger.services import entries_import

    clerk = _clerk_for(tree.sunzhuang)
    shares = ((2020, Decimal("10000.00")), (2021, Decimal("40000.00")))
    row = ParsedRow(
        2, tree.sunzhuang, D(2020, 3, 9), Decimal("50000.00"), category, path, "五年租金", "", shares
    )
    entries_import(actor=clerk, rows=[row], file_name="台账.xlsx", sha256="0" * 64)
    entry = Entry.objects.get(spread=True)
    entry_return(actor=personas["township_admin"], entries=[entry], reason="摘要写清承租方")
    entry.refresh_from_db()
    kwargs = dict(date=entry.date, amount=entry.amount, category=category, path=path, counterparty="")
    with pytest.raises(ServiceError, match="按年分摊"):
        entry_update(actor=clerk, entry=entry, **{**kwargs, "amount": Decimal("100.00")}, summary="五年租金")
    updated = entry_update(actor=clerk, entry=entry, **kwargs, summary="五年租金（宁津县某农业公司）")
    assert updated.summary.endswith("公司）")
    assert sorted(updated.recognitions.values_list("year", "amount")) == list(shares)


def test_a_share_in_a_year_locks_that_years_settings(tree, personas, five_years, category, path):
    from qiangcun.targets.models import Campaign
    from qiangcun.targets.selectors import settings_lock

    later = Campaign.objects.get(township=tree.township, year=2023)
    assert settings_lock(later) is None
    entry_verify(actor=personas["township_admin"], entries=[_spread_row(tree, category, path)])
    assert settings_lock(later) is not None  # a 2020 receipt whose 2023 share counts
