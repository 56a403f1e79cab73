"""A contract's receivables from its terms: pure arithmetic, no database.

The contract runs in contract years from its start (a contract from 2019-03-01 has years 2019-03-01 –
2020-02-29, 2020-03-01 – 2021-02-28 …); the last year ends with the contract. A year's rent is the price
(per 亩 × area, or per year), raised by the escalation every so many years (each step rounded to the fen,
as a contract's table of rents is); a last, shorter year pays for its months. Half-yearly instalments are
half a year's rent each (the second half takes the odd fen); an up-front schedule is one instalment for the
whole term. Every instalment is due ``due_days`` after the start of the period it pays for."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from qiangcun.core.money import FEN
from qiangcun.ledger.spread import covered_months

#: A contract runs at most this many years (农村土地承包法: 耕地承包期 30 年; a transfer may not exceed it).
MAX_YEARS = 30


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole months, the day clamped to the month's last (2020-02-29 + 12 → 2021-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Terms:
    start: datetime.date
    end: datetime.date
    price_mode: str  # per_mu_year | per_year | lump_sum
    price: Decimal
    area_mu: Decimal | None
    schedule: str  # annual | half_yearly | upfront
    escalation_percent: Decimal = Decimal("0")
    escalation_every: int = 0
    due_days: int = 30


@dataclass(frozen=True)
class Instalment:
    seq: int
    period_start: datetime.date
    period_end: datetime.date
    due_date: datetime.date
    amount: Decimal


def contract_years(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    years = []
    k = 0
    while True:
        begin = add_months(start, 12 * k)
        if begin > end:
            break
        finish = min(add_months(start, 12 * (k + 1)) - datetime.timedelta(days=1), end)
        years.append((begin, finish))
        k += 1
    return years


def yearly_rent(terms: Terms, k: int) -> Decimal:
    """The full-year rent of contract year ``k`` (0 = the first), escalation applied."""
    base = terms.price * (terms.area_mu or 0) if terms.price_mode == "per_mu_year" else terms.price
    rent = base.quantize(FEN, rounding=ROUND_HALF_UP)
    if terms.escalation_every and terms.escalation_percent:
        factor = 1 + terms.escalation_percent / 100
        for _ in range(k // terms.escalation_every):
            rent = (rent * factor).quantize(FEN, rounding=ROUND_HALF_UP)
    return rent


def instalments(terms: Terms) -> list[Instalment]:
    years = contract_years(terms.start, terms.end)
    due = datetime.timedelta(days=terms.due_days)
    if terms.price_mode == "lump_sum":
        return [Instalment(1, terms.start, terms.end, terms.start + due, terms.price)]
    rents: list[tuple[datetime.date, datetime.date, Decimal]] = []
    for k, (begin, finish) in enumerate(years):
        rent = yearly_rent(terms, k)
        full = add_months(begin, 12) - datetime.timedelta(days=1)
        if finish < full:  # a shorter last year pays for its months
            rent = (rent * covered_months(begin, finish) / 12).quantize(FEN, rounding=ROUND_HALF_UP)
        rents.append((begin, finish, rent))
    if terms.schedule == "upfront":
        total = sum((r for _, _, r in rents), Decimal("0.00"))
        return [Instalment(1, terms.start, terms.end, terms.start + due, total)]
    out: list[Instalment] = []
    for begin, finish, rent in rents:
        if terms.schedule == "half_yearly":
            middle = add_months(begin, 6)
            if middle <= finish:
                first = (rent / 2).quantize(FEN, rounding="ROUND_DOWN")
                out.append(
                    Instalment(len(out) + 1, begin, middle - datetime.timedelta(days=1), begin + due, first)
                )
                out.append(Instalment(len(out) + 1, middle, finish, middle + due, rent - first))
                continue
        out.append(Instalment(len(out) + 1, begin, finish, begin + due, rent))
    return [i for i in out if i.amount > 0]
