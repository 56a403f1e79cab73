"""Plain tables into .xlsx: a title row, a unit line, a frozen header, number formats in 元 and
percentages, a totals row, page footers. Knows no domain: callers hand it columns and rows.

Any text is written as text (never a formula, whatever it begins with), and characters an .xlsx cannot
hold (control characters, lone surrogates) are replaced by U+FFFD, so a stored value can never make an
export fail."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: What XML 1.0 cannot carry: C0 controls but tab, newline and carriage return; lone surrogates.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def writable(text: str) -> str:
    """``text`` with every character an .xlsx cannot store replaced by U+FFFD."""
    return _UNWRITABLE.sub("\ufffd", text)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | yuan | percent | int | date | points
    width: int = 14


YUAN_FORMAT = "#,##0.00;[Red]-#,##0.00"
PERCENT_FORMAT = "0.0%"
POINTS_FORMAT = "+0.0;[Red]-0.0;0.0"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook written by :func:`write_sheets`: the arguments of :func:`write_table`."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    totals: Sequence[Any] | None = None
    subtitle: str = ""
    unit_line: str = "单位：元"


def write_table(
    *,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    totals: Sequence[Any] | None = None,
    subtitle: str = "",
    unit_line: str = "单位：元",
    sheet_name: str = "Sheet1",
) -> bytes:
    """An .xlsx with a title row, a unit line, a frozen header, number formats in 元 and percentages,
    and ``totals`` as a last, bold row.

    Strings are always written as strings, so text beginning with ``=`` ``+`` ``-`` ``@`` stays text."""
    return write_sheets(
        [
            Sheet(
                name=sheet_name,
                title=title,
                columns=columns,
                rows=list(rows),
                totals=totals,
                subtitle=subtitle,
                unit_line=unit_line,
            )
        ]
    )


def write_sheets(sheets: Sequence[Sheet]) -> bytes:
    """Several tables, one a sheet, each laid out as :func:`write_table` lays out its one."""
    from openpyxl import Workbook

    wb = Workbook(write_only=False)
    first = True
    for sheet in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        _fill(ws, sheet)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _fill(ws: Any, sheet: Sheet) -> None:
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    title, columns, totals = sheet.title, sheet.columns, sheet.totals
    ws.title = sheet.name[:31]
    ncols = len(columns)
    ws.cell(row=1, column=1, value=writable(title)).font = Font(bold=True, size=14, name="Noto Sans CJK SC")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(ncols, 1))
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.cell(row=2, column=1, value=writable(sheet.subtitle))
    ws.cell(row=2, column=ncols, value=sheet.unit_line).alignment = Alignment(horizontal="right")
    thin = Side(style="thin", color="999999")
    header_fill = PatternFill("solid", fgColor="EEEEEE")
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=3, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.border = Border(bottom=thin, top=thin, left=thin, right=thin)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    row_number = 3
    body = [*sheet.rows, totals] if totals is not None else sheet.rows
    for row in body:
        row_number += 1
        for index, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            cell = ws.cell(row=row_number, column=index)
            if value is None:
                continue
            if column.kind in ("yuan", "percent", "points") and isinstance(value, Decimal):
                cell.value = float(value) if column.kind != "yuan" else value
                cell.number_format = {
                    "yuan": YUAN_FORMAT,
                    "percent": PERCENT_FORMAT,
                    "points": POINTS_FORMAT,
                }[column.kind]
            elif column.kind == "date":
                cell.value = value
                cell.number_format = DATE_FORMAT
            elif column.kind == "int":
                cell.value = int(value)
            else:
                cell.value = writable(str(value))
                cell.data_type = TYPE_STRING  # never a formula, whatever the text begins with
                if "\n" in cell.value:  # lines of a cell show as lines
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            if row is totals:
                cell.font = Font(bold=True)
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
