"""Plain tables into .xlsx: a title row, a unit line, a frozen header, number formats in 元 and
percentages, a totals row, page footers. Knows no domain: callers hand it columns and rows.

Any text is written as text (never a formula, whatever it begins with), and characters an .xlsx cannot
hold (control characters, lone surrogates) are replaced by U+FFFD, so a stored value can never make an
export fail.

Tables are written with openpyxl's write-only mode: rows are taken one at a time from any iterable
(a generator over a database cursor, say) and streamed to a temporary file, so a table of a million
rows needs no more memory than one of a hundred. :func:`write_table_to` and :func:`write_sheets_to`
write to a path or a binary file; :func:`write_table` and :func:`write_sheets` return the bytes."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

#: What XML 1.0 cannot carry: C0 controls but tab, newline and carriage return; lone surrogates.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: The longest text a cell holds (Excel's limit; openpyxl cuts there too).
MAX_TEXT = 32767


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
_FORMATS = {"yuan": YUAN_FORMAT, "percent": PERCENT_FORMAT, "points": POINTS_FORMAT}

#: Called now and then with the number of body rows written so far.
Progress = Callable[[int], None]
#: How many rows between two calls of a ``progress`` callback.
PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook written by :func:`write_sheets`: the arguments of :func:`write_table`.
    ``rows`` may be any iterable (a generator): it is read once, row by row, never held whole."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    totals: Sequence[Any] | None = None
    subtitle: str = ""
    unit_line: str = "单位：元"
    #: Lines of text below the table (sign-off lines of a form: 清查人、审核人、日期), one row each.
    footer: Sequence[str] = ()


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
    buffer = io.BytesIO()
    write_table_to(
        buffer,
        title=title,
        columns=columns,
        rows=rows,
        totals=totals,
        subtitle=subtitle,
        unit_line=unit_line,
        sheet_name=sheet_name,
    )
    return buffer.getvalue()


def write_table_to(
    target: str | Path | IO[bytes],
    *,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    totals: Sequence[Any] | None = None,
    subtitle: str = "",
    unit_line: str = "单位：元",
    sheet_name: str = "Sheet1",
    progress: Progress | None = None,
) -> int:
    """:func:`write_table` into ``target`` (a path or a binary file), rows streamed as they come;
    ``progress`` is called every :data:`PROGRESS_EVERY` rows with the count so far. How many body
    rows were written (the totals row not counted)."""
    sheet = Sheet(
        name=sheet_name,
        title=title,
        columns=columns,
        rows=rows,
        totals=totals,
        subtitle=subtitle,
        unit_line=unit_line,
    )
    return write_sheets_to(target, [sheet], progress=progress)


def write_sheets(sheets: Sequence[Sheet]) -> bytes:
    """Several tables, one a sheet, each laid out as :func:`write_table` lays out its one."""
    buffer = io.BytesIO()
    write_sheets_to(buffer, sheets)
    return buffer.getvalue()


def write_sheets_to(
    target: str | Path | IO[bytes], sheets: Sequence[Sheet], *, progress: Progress | None = None
) -> int:
    """:func:`write_sheets` into ``target`` (a path or a binary file). How many body rows in all."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    written = 0
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet.name[:31])
        written = _fill(ws, sheet, written, progress)
    wb.save(str(target) if isinstance(target, Path) else target)
    return written


class _Styles:
    """The few styles a table uses, made once a sheet."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        thin = Side(style="thin", color="999999")
        self.title_font = Font(bold=True, size=14, name="Noto Sans CJK SC")
        self.center = Alignment(horizontal="center")
        self.right = Alignment(horizontal="right")
        self.bold = Font(bold=True)
        self.header_fill = PatternFill("solid", fgColor="EEEEEE")
        self.header_border = Border(bottom=thin, top=thin, left=thin, right=thin)
        self.header_alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.wrap = Alignment(wrap_text=True, vertical="top")


def _fill(ws: Any, sheet: Sheet, written: int, progress: Progress | None) -> int:
    """Lay one table out on the write-only sheet ``ws``. Everything about the sheet (widths, frozen
    panes, print settings) is set before its first row: write-only mode writes those first."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    columns, totals = sheet.columns, sheet.totals
    ncols = len(columns)
    styles = _Styles()
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.merged_cells.add(f"A1:{get_column_letter(max(ncols, 1))}1")
    # Every row appended below is a list of ready cells (or None for an empty one): place them as they
    # are instead of letting ``append`` try each as a value first (an exception a cell, a third of the time).
    ws._values_to_row = _placed

    def cell(value: Any, **style: Any) -> Any:
        made = WriteOnlyCell(ws, value=value)
        for name, attribute in style.items():
            setattr(made, name, attribute)
        return made

    title = cell(writable(sheet.title), font=styles.title_font, alignment=styles.center)
    title.data_type = "s"
    ws.append([title])
    second: list[Any] = [None] * max(ncols, 1)
    if sheet.subtitle:
        second[0] = _text_cell(cell(None), sheet.subtitle)
    second[-1] = cell(sheet.unit_line, alignment=styles.right)
    ws.append(second)
    ws.append(
        [
            _text_cell(
                cell(
                    None,
                    font=styles.bold,
                    fill=styles.header_fill,
                    border=styles.header_border,
                    alignment=styles.header_alignment,
                ),
                column.header,
            )
            for column in columns
        ]
    )
    writers = [_ColumnWriter(column, cell, styles) for column in columns]
    for row in sheet.rows:
        ws.append([w.put(value) for w, value in zip(writers, row, strict=True)])
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if totals is not None:
        bold = [_ColumnWriter(column, cell, styles, bold=True) for column in columns]
        ws.append([w.put(value) for w, value in zip(bold, totals, strict=True)])
    if sheet.footer:
        ws.append([])
        for line in sheet.footer:
            ws.append([_text_cell(cell(None), line)])
    if progress is not None:
        progress(written)
    return written


def _placed(cells: Sequence[Any], row_idx: int) -> Iterator[Any]:
    """``WriteOnlyWorksheet._values_to_row`` for rows of cells: each cell given its place."""
    for col_idx, made in enumerate(cells, 1):
        if made is not None:
            made.row, made.column = row_idx, col_idx
            yield made


def _text_cell(made: Any, value: Any) -> Any:
    """``made`` holding ``value`` as text: never a formula or an error code, whatever it begins with."""
    made.value = writable(str(value))[:MAX_TEXT]
    made.data_type = "s"
    return made


class _ColumnWriter:
    """Puts the values of one column into cells. Write-only mode writes each row as it is appended, so
    one styled cell a column is reused row after row instead of a new cell (and style) for each value."""

    def __init__(self, column: Column, cell: Callable[..., Any], styles: _Styles, *, bold: bool = False):
        self.kind = column.kind
        extra = {"font": styles.bold} if bold else {}
        if self.kind in _FORMATS:
            self.cell = cell(None, number_format=_FORMATS[self.kind], **extra)
        elif self.kind == "date":
            self.cell = cell(None, number_format=DATE_FORMAT, **extra)
        else:
            self.cell = cell(None, **extra)
        self.text = cell(None, **extra) if self.kind != "text" else self.cell
        self.wrapped = cell(None, alignment=styles.wrap, **extra)

    def put(self, value: Any) -> Any:
        """The cell holding ``value`` (None for none). The value and its type are set directly, as openpyxl
        would set them for these types, without its per-value type inference (the hot path of a large
        export): numbers ``n``, dates ``d``, text ``s`` — text never a formula, whatever it begins with."""
        if value is None:
            return None
        kind, cell = self.kind, self.cell
        if kind in _FORMATS and isinstance(value, Decimal):
            cell._value = value if kind == "yuan" else float(value)
            cell.data_type = "n"
        elif kind == "date" and isinstance(value, datetime.date):
            cell._value = value
            cell.data_type = "d"
        elif kind == "int":
            cell._value = int(value)
            cell.data_type = "n"
        else:
            text = writable(str(value))[:MAX_TEXT]
            cell = self.wrapped if "\n" in text else self.text  # lines of a cell show as lines
            cell._value = text
            cell.data_type = "s"
        return cell
