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
from django.db.models.functions import TruncMonth

from qiangcun.core import audit
from qiangcun.core.money import to_fen
from qiangcun.ledger.models import Entry, MonthIncome, Status

Key = tuple[int, int, datetime.date]  # village id, category id, first day of the month


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add(rows: Iterable[tuple[int, int, datetime.date, int]]) -> None:
    """Add newly verified rows — ``(village_id, category_id, date, amount_fen)`` each — to the roll-up.
    Must run inside the transaction that verifies them."""
    lines: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for village_id, category_id, date, fen in rows:
        line = lines[(village_id, category_id, month_of(date))]
        line[0] += fen
        line[1] += 1
    if not lines:
        return
    ops = connection.ops
    table = ops.quote_name(MonthIncome._meta.db_table)
    sql = (
        f"INSERT INTO {table} (village_id, category_id, month, amount, rows) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (village_id, category_id, month) DO UPDATE SET "
        f"amount = {table}.amount + excluded.amount, rows = {table}.rows + excluded.rows"
    )
    values = [
        (village, category, ops.adapt_datefield_value(month), fen, count)
        for (village, category, month), (fen, count) in sorted(lines.items())
    ]
    assert transaction.get_connection().in_atomic_block, "the roll-up is kept in the verifying transaction"
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def add_entries(entries: Iterable[Entry]) -> None:
    add((e.village_id, e.category_id, e.date, to_fen(e.amount)) for e in entries)


def _from_ledger() -> QuerySet[Entry, dict[str, Any]]:
    """The roll-up as the ledger says it should be: one query, grouped by the database."""
    return (
        Entry.objects.filter(status=Status.VERIFIED)
        .annotate(m=TruncMonth("date"))
        .order_by()
        .values("village_id", "category_id", "m")
        .annotate(total=Sum("amount"), n=Count("id"))
    )


def _normalize(month: datetime.date | datetime.datetime) -> datetime.date:
    return month.date() if isinstance(month, datetime.datetime) else month


@dataclass(frozen=True)
class Difference:
    village_id: int
    category_id: int
    month: datetime.date
    ledger_fen: int
    ledger_rows: int
    rollup_fen: int
    rollup_rows: int

    def __str__(self) -> str:
        return (
            f"村 {self.village_id} 类别 {self.category_id} {self.month:%Y-%m}：台账 {self.ledger_rows} 条 "
            f"{self.ledger_fen / 100:.2f} 元，汇总 {self.rollup_rows} 条 {self.rollup_fen / 100:.2f} 元"
        )


def check() -> list[Difference]:
    """Every line where the roll-up and the ledger disagree (empty when they agree to the fen)."""
    expected: dict[Key, tuple[int, int]] = {
        (r["village_id"], r["category_id"], _normalize(r["m"])): (to_fen(r["total"]), r["n"])
        for r in _from_ledger()
    }
    actual: dict[Key, tuple[int, int]] = {
        (village, category, month): (to_fen(amount), count)
        for village, category, month, amount, count in MonthIncome.objects.values_list(
            "village_id", "category_id", "month", "amount", "rows"
        )
    }
    differences = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, (0, 0)), actual.get(key, (0, 0))
        if want != got:
            differences.append(Difference(*key, want[0], want[1], got[0], got[1]))
    return differences


@transaction.atomic
def rebuild(*, actor: Any = None) -> int:
    """Make the roll-up again from the ledger, in one transaction (readers see the old or the new one),
    recorded in the change log; returns how many lines it has."""
    MonthIncome.objects.all().delete()
    select, params = _from_ledger().query.sql_with_params()
    table = connection.ops.quote_name(MonthIncome._meta.db_table)
    with connection.cursor() as cursor:
        # The grouped SELECT's columns come in the order of .values() then .annotate(): village,
        # category, month, total, count.
        cursor.execute(f"INSERT INTO {table} (village_id, category_id, month, amount, rows) {select}", params)
    lines = MonthIncome.objects.count()
    audit.event(
        actor=actor,
        action="ledger.rollup_rebuild",
        model="ledger.monthincome",
        note=f"由台账重建月度收入汇总：{lines} 行",
    )
    return lines
