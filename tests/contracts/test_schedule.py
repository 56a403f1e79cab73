"""Receivables equal the schedule: the instalments a contract's terms make, checked by hand."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from qiangcun.contracts.schedule import Terms, add_months, contract_years, instalments

D = datetime.date


def terms(**kw):
    base = dict(
        start=D(2020, 3, 1),
        end=D(2023, 2, 28),
        price_mode="per_mu_year",
        price=Decimal("800.00"),
        area_mu=Decimal("25.50"),
        schedule="annual",
    )
    base.update(kw)
    return Terms(**base)


def test_annual_instalments_by_contract_year_due_thirty_days_after_each_start():
    got = [(i.seq, i.period_start, i.period_end, i.due_date, i.amount) for i in instalments(terms())]
    assert got == [
        (1, D(2020, 3, 1), D(2021, 2, 28), D(2020, 3, 31), Decimal("20400.00")),
        (2, D(2021, 3, 1), D(2022, 2, 28), D(2021, 3, 31), Decimal("20400.00")),
        (3, D(2022, 3, 1), D(2023, 2, 28), D(2022, 3, 31), Decimal("20400.00")),
    ]


def test_half_yearly_halves_the_odd_fen_going_to_the_second_half():
    got = instalments(
        terms(
            price_mode="per_year",
            price=Decimal("1000.01"),
            area_mu=None,
            schedule="half_yearly",
            end=D(2021, 2, 28),
            due_days=0,
        )
    )
    assert [(i.period_start, i.period_end, i.due_date, i.amount) for i in got] == [
        (D(2020, 3, 1), D(2020, 8, 31), D(2020, 3, 1), Decimal("500.00")),
        (D(2020, 9, 1), D(2021, 2, 28), D(2020, 9, 1), Decimal("500.01")),
    ]


def test_escalation_every_two_years_rounded_at_each_step_and_a_short_last_year():
    got = instalments(
        terms(
            price_mode="per_year",
            price=Decimal("10000.00"),
            area_mu=None,
            escalation_percent=Decimal("5"),
            escalation_every=2,
            start=D(2020, 1, 1),
            end=D(2024, 6, 30),
        )
    )
    assert [i.amount for i in got] == [
        Decimal("10000.00"),
        Decimal("10000.00"),
        Decimal("10500.00"),
        Decimal("10500.00"),
        Decimal("5512.50"),  # 11025.00 for a whole year, six months of it
    ]


def test_up_front_is_one_instalment_of_every_year_and_a_lump_sum_is_its_price():
    five = terms(
        price_mode="per_year",
        price=Decimal("10000.00"),
        area_mu=None,
        schedule="upfront",
        start=D(2020, 1, 1),
        end=D(2024, 12, 31),
    )
    [one] = instalments(five)
    assert (one.period_start, one.period_end, one.amount) == (
        D(2020, 1, 1),
        D(2024, 12, 31),
        Decimal("50000.00"),
    )
    [lump] = instalments(terms(price_mode="lump_sum", price=Decimal("88888.88"), schedule="upfront"))
    assert lump.amount == Decimal("88888.88") and lump.period_end == D(2023, 2, 28)


def test_a_leap_day_start_keeps_its_anniversaries():
    assert add_months(D(2020, 2, 29), 12) == D(2021, 2, 28)
    assert contract_years(D(2020, 2, 29), D(2022, 2, 27)) == [
        (D(2020, 2, 29), D(2021, 2, 27)),
        (D(2021, 2, 28), D(2022, 2, 27)),
    ]


@settings(deadline=None)  # timing varies on a loaded 2-core machine; correctness is the point
@given(
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 12, 31)),
    months=st.integers(min_value=1, max_value=12 * 12),
    fen=st.integers(min_value=100, max_value=10**9),  # at least 1.00 a year: no instalment rounds to 0
    schedule=st.sampled_from(["annual", "half_yearly", "upfront"]),
)
def test_instalments_cover_the_term_without_gap_or_overlap(start, months, fen, schedule):
    end = add_months(start, months) - datetime.timedelta(days=1)
    got = instalments(
        terms(
            start=start,
            end=end,
            price_mode="per_year",
            price=Decimal(fen) / 100,
            area_mu=None,
            schedule=schedule,
        )
    )
    assert got[0].period_start == start and got[-1].period_end <= end
    for a, b in itertools.pairwise(got):
        assert b.period_start == a.period_end + datetime.timedelta(days=1)
    assert [i.seq for i in got] == list(range(1, len(got) + 1))
    assert all(i.amount > 0 for i in got)
    if months % 12 == 0:
        # Whole years: exactly the yearly price times the years, however it is paid.
        assert sum(i.amount for i in got) == Decimal(fen) / 100 * (months // 12)
