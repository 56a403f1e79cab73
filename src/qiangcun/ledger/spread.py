"""Lump sums spread over their years (分年确认).

A rent paid for several years at once counts toward each year's target only for that year's share — the
rule counties use against "fake" income spikes. The share of a year is its part of the covered period in
whole months (a month counts when its first day lies in the period), so a five-year rent counts exactly
one fifth a year whatever the leap years; the fen left by rounding go to the years with the largest
remainders (the earlier year on a tie), so the shares always add up to the amount.

Money for the receipt year, or for a year already past, counts on the day it arrives (a closed year's
figures never change after the fact); the share of a later year counts from 1 January of that year."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal

from qiangcun.core.money import from_fen, to_fen

#: A covered period longer than this many months is spread; a year's rent (or less) counts when received.
SPREAD_ABOVE_MONTHS = 12


def months_by_year(start: datetime.date, end: datetime.date) -> dict[int, int]:
    """How many months of each year the period ``start``–``end`` (inclusive) covers: the months whose first
    day lies in it; a period that holds no first day counts as one month of ``start``'s year."""
    if end < start:
        raise ValueError("period ends before it starts")
    out: dict[int, int] = {}
    year, month = start.year, start.month
    if start.day != 1:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while datetime.date(year, month, 1) <= end:
        out[year] = out.get(year, 0) + 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out or {start.year: 1}


def covered_months(start: datetime.date, end: datetime.date) -> int:
    return sum(months_by_year(start, end).values())


def split_by_year(amount: Decimal, start: datetime.date, end: datetime.date) -> dict[int, Decimal]:
    """``amount`` shared among the years of the period by months, to the fen (the shares add up to it)."""
    weights = months_by_year(start, end)
    total_months = sum(weights.values())
    fen = to_fen(amount)
    sign = -1 if fen < 0 else 1
    fen = abs(fen)
    floors = {y: fen * w // total_months for y, w in weights.items()}
    left = fen - sum(floors.values())
    by_remainder = sorted(weights, key=lambda y: (-(fen * weights[y] % total_months), y))
    for y in by_remainder[:left]:
        floors[y] += 1
    return {y: from_fen(sign * f) for y, f in sorted(floors.items()) if f}


def add_shares(parts: Iterable[Mapping[int, Decimal]]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for part in parts:
        for year, amount in part.items():
            out[year] = out.get(year, Decimal("0.00")) + amount
    return {y: a for y, a in sorted(out.items()) if a}


def recognition_lines(
    receipt: datetime.date, shares: Mapping[int, Decimal]
) -> list[tuple[int, datetime.date, Decimal]]:
    """``(year, date, amount)`` lines of a receipt on ``receipt`` whose ``shares`` belong to the years
    given: the receipt year and earlier years together on the receipt day, each later year on its 1 January."""
    now = sum((a for y, a in shares.items() if y <= receipt.year), Decimal("0.00"))
    lines = [(receipt.year, receipt, now)] if now else []
    lines += [(y, datetime.date(y, 1, 1), a) for y, a in sorted(shares.items()) if y > receipt.year and a]
    return lines
