"""The ledger as a workbook: the rows a user may see, filtered (unit or village, year, as-of date,
status), read from the database in chunks as plain tuples (village, category, path and the two people
joined in the same query: no query a row) and streamed into an .xlsx by ``reports.xlsx``.

The export page answers small exports at once and hands large ones to the background worker
(``qiangcun.exports``); both write with :func:`ledger_export_write`."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from qiangcun.core.errors import NotFoundError
from qiangcun.core.scope import Action
from qiangcun.ledger.models import Entry, Recognition, Status
from qiangcun.orgs.models import OrgUnit
from qiangcun.reports.xlsx import Column, Progress, write_table_to

LEDGER_COLUMNS = [
    Column("村名", "text", 12),
    Column("日期", "date", 12),
    Column("金额（元）", "yuan", 14),
    Column("收入类别", "text", 14),
    Column("增收路子", "text", 12),
    Column("摘要", "text", 36),
    Column("付款单位", "text", 22),
    Column("状态", "text", 8),
    Column("录入人", "text", 14),
    Column("审核人", "text", 14),
    Column("分年计入目标", "text", 30),
]

#: Rows fetched from the database at a time.
CHUNK = 2000

_STATUS_LABELS = {value: str(label) for value, label in Status.choices}


@dataclass(frozen=True)
class LedgerFilter:
    """What to export: ``unit`` an org unit's code (a village, or any unit above villages: all its
    villages), ``year``, rows dated up to ``as_of``, rows of one ``status``. Empty means no filter."""

    unit: str = ""
    year: int | None = None
    as_of: datetime.date | None = None
    status: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "year": self.year,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerFilter:
        as_of = data.get("as_of")
        return cls(
            unit=str(data.get("unit") or ""),
            year=int(data["year"]) if data.get("year") is not None else None,
            as_of=datetime.date.fromisoformat(as_of) if as_of else None,
            status=str(data.get("status") or ""),
        )


@dataclass(frozen=True)
class LedgerExport:
    """An export planned for one user: its title lines, its file name and the unit it is limited to."""

    user: Any
    filters: LedgerFilter
    unit: OrgUnit | None
    title: str
    subtitle: str
    file_name: str

    def entries(self) -> Any:
        """The rows, scoped to the user and filtered, in the workbook's order (a queryset)."""
        rows = Entry.objects.restrict(self.user, Action.VIEW)
        f = self.filters
        if self.unit is not None:
            rows = rows.filter(village__path__startswith=self.unit.path)
        if f.year is not None:
            rows = rows.filter(date__year=f.year)
        if f.as_of is not None:
            rows = rows.filter(date__lte=f.as_of)
        if f.status:
            rows = rows.filter(status=f.status)
        return rows

    def count(self) -> int:
        return int(self.entries().count())

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The workbook's rows, one tuple each, read ``CHUNK`` at a time (one query, joined)."""
        values = (
            self.entries()
            .order_by("village__path", "date", "id")
            .values_list(
                "pk",
                "village__name",
                "date",
                "amount",
                "category__name",
                "path__name",
                "summary",
                "counterparty",
                "status",
                "entered_by__display_name",
                "entered_by__username",
                "reviewed_by__display_name",
                "reviewed_by__username",
            )
        )
        labels = _STATUS_LABELS
        spread = self._spread_shares()
        for (
            pk,
            village,
            date,
            amount,
            category,
            path,
            summary,
            party,
            status,
            ed,
            eu,
            rd,
            ru,
        ) in values.iterator(chunk_size=CHUNK):
            yield (
                village,
                date,
                amount,
                category,
                path,
                summary,
                party,
                labels[status],
                ed or eu,
                rd or ru or "",
                spread.get(pk, ""),
            )

    def _spread_shares(self) -> dict[int, str]:
        """Entry id → its yearly shares as the 分年计入目标 cell says them (``2020年5,170.00；2021年…``), for
        the exported rows that are spread over their years (few: one query, whatever the export's size)."""
        cells: dict[int, list[str]] = {}
        for entry_id, year, amount in (
            Recognition.objects.filter(entry__in=self.entries().filter(spread=True))
            .order_by("entry_id", "year")
            .values_list("entry_id", "year", "amount")
        ):
            cells.setdefault(entry_id, []).append(f"{year}年{amount:,.2f}")
        return {entry_id: "；".join(parts) for entry_id, parts in cells.items()}


def ledger_export_plan(*, user: Any, filters: LedgerFilter) -> LedgerExport:
    """Check the unit is one the user may see (else :class:`NotFoundError`, as if it did not exist) and
    name the workbook."""
    unit = None
    title_unit = "台账"
    if filters.unit:
        unit = OrgUnit.objects.filter(code=filters.unit).first()
        if unit is None:
            raise NotFoundError("没有这个单位")
        if not user.can(Action.VIEW, unit):
            raise NotFoundError("该单位不在您的管辖范围内")
        title_unit = unit.name
    if filters.status and filters.status not in _STATUS_LABELS:
        raise NotFoundError("没有这个状态")
    label = f"{filters.year}年" if filters.year is not None else ""
    status_label = f"（{_STATUS_LABELS[filters.status]}）" if filters.status else ""
    return LedgerExport(
        user=user,
        filters=filters,
        unit=unit,
        title=f"{title_unit}{label}村级集体经济增收工作台账{status_label}",
        subtitle=f"截至 {filters.as_of:%Y-%m-%d}" if filters.as_of else "",
        file_name=f"{title_unit}{label}台账{status_label}.xlsx",
    )


def ledger_export_write(
    export: LedgerExport, target: str | Path | IO[bytes], *, progress: Progress | None = None
) -> int:
    """Write the workbook into ``target`` (a path or a binary file), streaming the rows. How many rows."""
    return write_table_to(
        target,
        title=export.title,
        subtitle=export.subtitle,
        columns=LEDGER_COLUMNS,
        rows=export.rows(),
        sheet_name="台账",
        progress=progress,
    )
