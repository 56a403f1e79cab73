"""Who imports, into which villages, for which year: shared by the import commands and pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from qiangcun.core.cells import CellError, parse_amount_cell
from qiangcun.core.excel import RowError, Table, find_table, inspect_xlsx, is_total_row, normalize_text
from qiangcun.core.text import text_problem
from qiangcun.orgs.importing import VillageMatcher
from qiangcun.orgs.models import Level, OrgUnit

TARGET_FIELDS = {
    "village": ["村名", "村庄", "行政村", "村居", "村", "单位"],
    "amount": ["目标", "年度目标", "目标任务", "任务", "收入目标", "目标金额", "目标收入"],
    "station": ["网格站"],
    "district": ["管区"],
}
TARGET_LABELS = {"village": "村名", "amount": "目标"}


@dataclass
class ParsedTargets:
    name: str
    table: Table | None = None
    amounts: dict[int, Decimal] = field(default_factory=dict)
    rows: dict[int, int] = field(default_factory=dict)  # village id → Excel row
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


def parse_targets_file(path: Path, *, name: str, township: OrgUnit, baseline: Decimal) -> ParsedTargets:
    """Village targets for a year of ``township``: every row names a village of the township and an
    amount ≥ ``baseline`` (the year's, or the default one of a year the import will open)."""
    inspect_xlsx(path, name=name)
    table, data = find_table(path, fields=TARGET_FIELDS, required=["village", "amount"], labels=TARGET_LABELS)
    result = ParsedTargets(name=name, table=table)
    cols = table.columns
    matcher = VillageMatcher(list(OrgUnit.objects.under(township).filter(level=Level.VILLAGE)))
    for number, cells in data:
        values = [cells[c.index] if c.index < len(cells) else None for c in cols.values()]
        texts = [normalize_text(v) for v in values]
        if not any(texts) or is_total_row(cells, key=cols["village"].index, required=cols["amount"].index):
            result.skipped += 1
            continue
        unreadable = [
            RowError(number, col.letter, col.header, problem)
            for col, value in zip(cols.values(), values, strict=True)
            if (problem := text_problem(value)) is not None
        ]
        if unreadable:  # a cell with a control character: the row is not read further
            result.errors.extend(unreadable)
            continue
        village_col, amount_col = cols["village"], cols["amount"]
        raw_village = cells[village_col.index] if village_col.index < len(cells) else None
        raw_amount = cells[amount_col.index] if amount_col.index < len(cells) else None
        village = None
        try:
            village = matcher.match(raw_village)
        except CellError as exc:
            result.errors.append(RowError(number, village_col.letter, village_col.header, str(exc)))
        try:
            amount = parse_amount_cell(raw_amount, wan=amount_col.wan)
        except CellError as exc:
            result.errors.append(RowError(number, amount_col.letter, amount_col.header, str(exc)))
            continue
        if amount < baseline:
            result.errors.append(
                RowError(
                    number,
                    amount_col.letter,
                    amount_col.header,
                    f"目标 {amount:,.2f} 元低于基础线 {baseline:,.2f} 元",
                )
            )
            continue
        if village is None:
            continue
        if village.pk in result.rows:
            result.errors.append(
                RowError(
                    number,
                    village_col.letter,
                    village_col.header,
                    f"{village.name}与第 {result.rows[village.pk]} 行重复",
                )
            )
            continue
        result.rows[village.pk] = number
        result.amounts[village.pk] = amount
    return result
