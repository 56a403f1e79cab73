"""The monthly roll-up of verified income (:class:`~qiangcun.ledger.models.MonthIncome`).

Verified rows are never changed or removed (``freeze``), so the roll-up only ever grows: the moment a row
becomes verified its amount is added to its village's, category's and month's line, in the same
transaction. :func:`add` is called by ``entry_verify`` and by a verified import; :func:`check` compares
the roll-up with the ledger and :func:`rebuild` makes it again from the ledger (after a bulk load that
went around the services, or to repair). Sums are integer fen on both databases."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import ExtractYear, TruncMonth

from qiangcun.core import audit
from qiangcun.core.money import to_fen
from qiangcun.ledger.models import Entry, MonthIncome, Recognition, Status, YearIncome

Key = tuple[int, int, datetime.date]  # village id, category id, first day of the month


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _upsert(model: type[MonthIncome] | type[YearIncome], period: str, values: list[tuple[Any, ...]]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} (village_id, category_id, {period}, amount, rows) VALUES (%s, %s, %s, %s, %s) "
        f"ON CONFLICT (village_id, category_id, {period}) DO UPDATE SET "
        f"amount = {table}.amount + excluded.amount, rows = {table}.rows + excluded.rows"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def add(rows: Iterable[tuple[int, int, datetime.date, int]]) -> None:
    """Add newly verified rows — ``(village_id, category_id, date, amount_fen)`` each — to the roll-up
    (the month's line and the year's). Must run inside the transaction that verifies them."""
    months: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    years: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for village_id, category_id, date, fen in rows:
        for line in (
            months[(village_id, category_id, month_of(date))],
            years[(village_id, category_id, date.year)],
        ):
            line[0] += fen
            line[1] += 1
    if not months:
        return
    assert transaction.get_connection().in_atomic_block, "the roll-up is kept in the verifying transaction"
    day = connection.ops.adapt_datefield_value
    _upsert(
        MonthIncome,
        "month",
        [(v, c, day(m), fen, n) for (v, c, m), (fen, n) in sorted(months.items())],
    )
    _upsert(YearIncome, "year", [(v, c, y, fen, n) for (v, c, y), (fen, n) in sorted(years.items())])


def add_entries(entries: Iterable[Entry]) -> None:
    """Add newly verified rows: a spread row (``Entry.spread``) by its yearly shares, each on its date."""
    entries = list(entries)
    spread = [e.pk for e in entries if e.spread]
    add(
        [(e.village_id, e.category_id, e.date, to_fen(e.amount)) for e in entries if not e.spread]
        + [
            (village, category, date, to_fen(amount))
            for village, category, date, amount in Recognition.objects.filter(entry_id__in=spread)
            .order_by("entry_id", "year")
            .values_list("village_id", "category_id", "date", "amount")
        ]
    )


def _from_ledger() -> QuerySet[Entry, dict[str, Any]]:
    """The monthly roll-up as the ledger says it should be (rows that are not spread; the shares of those
    that are come from :func:`_shares`): one query, grouped by the database."""
    return (
        Entry.objects.filter(status=Status.VERIFIED, spread=False)
        .annotate(m=TruncMonth("date"))
        .order_by()
        .values("village_id", "category_id", "m")
        .annotate(total=Sum("amount"), n=Count("id"))
    )


def _years_from_ledger() -> QuerySet[Entry, dict[str, Any]]:
    """The yearly lines as the ledger says they should be (rows that are not spread)."""
    return (
        Entry.objects.filter(status=Status.VERIFIED, spread=False)
        .annotate(y=ExtractYear("date"))
        .order_by()
        .values("village_id", "category_id", "y")
        .annotate(total=Sum("amount"), n=Count("id"))
    )


def _shares() -> list[tuple[int, int, datetime.date, int]]:
    """The yearly shares of the verified spread rows, ``(village, category, date, fen)`` — few, read whole."""
    return [
        (village, category, date, to_fen(amount))
        for village, category, date, amount in Recognition.objects.filter(entry__status=Status.VERIFIED)
        .order_by("entry_id", "year")
        .values_list("village_id", "category_id", "date", "amount")
    ]


def _normalize(month: datetime.date | datetime.datetime) -> datetime.date:
    return month.date() if isinstance(month, datetime.datetime) else month


@dataclass(frozen=True)
class Difference:
    village_id: int
    category_id: int
    #: The month's first day; for a year's line (``period`` "year"), 1 January.
    month: datetime.date
    ledger_fen: int
    ledger_rows: int
    rollup_fen: int
    rollup_rows: int
    period: str = "month"

    def __str__(self) -> str:
        when = f"{self.month:%Y} 年全年" if self.period == "year" else f"{self.month:%Y-%m}"
        return (
            f"村 {self.village_id} 类别 {self.category_id} {when}：台账 {self.ledger_rows} 条 "
            f"{self.ledger_fen / 100:.2f} 元，汇总 {self.rollup_rows} 条 {self.rollup_fen / 100:.2f} 元"
        )


def _compare(
    expected: dict[Key, tuple[int, int]], actual: dict[Key, tuple[int, int]], period: str
) -> list[Difference]:
    differences = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, (0, 0)), actual.get(key, (0, 0))
        if want != got:
            differences.append(Difference(*key, want[0], want[1], got[0], got[1], period=period))
    return differences


def _plus(lines: dict[Key, tuple[int, int]], key: Key, fen: int) -> None:
    amount, rows = lines.get(key, (0, 0))
    lines[key] = (amount + fen, rows + 1)


def check() -> list[Difference]:
    """Every line where the roll-up (monthly, then yearly) and the ledger disagree (empty when they
    agree to the fen)."""
    want_months: dict[Key, tuple[int, int]] = {
        (r["village_id"], r["category_id"], _normalize(r["m"])): (to_fen(r["total"]), r["n"])
        for r in _from_ledger()
    }
    want_years: dict[Key, tuple[int, int]] = {
        (r["village_id"], r["category_id"], datetime.date(int(r["y"]), 1, 1)): (to_fen(r["total"]), r["n"])
        for r in _years_from_ledger()
    }
    for village, category, date, fen in _shares():
        _plus(want_months, (village, category, month_of(date)), fen)
        _plus(want_years, (village, category, datetime.date(date.year, 1, 1)), fen)
    months = _compare(
        want_months,
        {
            (village, category, month): (to_fen(amount), count)
            for village, category, month, amount, count in MonthIncome.objects.values_list(
                "village_id", "category_id", "month", "amount", "rows"
            )
        },
        "month",
    )
    years = _compare(
        want_years,
        {
            (village, category, datetime.date(year, 1, 1)): (to_fen(amount), count)
            for village, category, year, amount, count in YearIncome.objects.values_list(
                "village_id", "category_id", "year", "amount", "rows"
            )
        },
        "year",
    )
    return months + years


@transaction.atomic
def rebuild(*, actor: Any = None) -> int:
    """Make the roll-up (monthly and yearly lines) again from the ledger, in one transaction (readers see
    the old or the new one), recorded in the change log; returns how many monthly lines it has."""
    MonthIncome.objects.all().delete()
    YearIncome.objects.all().delete()
    ops = connection.ops
    with connection.cursor() as cursor:
        # The grouped SELECT's columns come in the order of .values() then .annotate(): village,
        # category, month (year), total, count.
        for model, period, query in (
            (MonthIncome, "month", _from_ledger()),
            (YearIncome, "year", _years_from_ledger()),
        ):
            select, params = query.query.sql_with_params()
            table = ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"INSERT INTO {table} (village_id, category_id, {period}, amount, rows) {select}", params
            )
    add(_shares())
    lines = MonthIncome.objects.count()
    years = YearIncome.objects.count()
    audit.event(
        actor=actor,
        action="ledger.rollup_rebuild",
        model="ledger.monthincome",
        note=f"由台账重建收入汇总：月度 {lines} 行，年度 {years} 行",
    )
    return lines
