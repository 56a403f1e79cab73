"""The error report: the uploaded workbook itself, with a column naming, per bad row, the column
and the reason in Chinese, and the bad cells filled red."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

from qiangcun.core.excel import Table
from qiangcun.ledger.importing.ledger import RowError

REPORT_HEADER = "导入错误（改正后重新导入）"


def error_report(path: Path, table: Table, errors: list[RowError]) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import column_index_from_string

    wb = load_workbook(path)  # the file passed inspect_xlsx; defusedxml guards the parser as well
    ws = wb[table.sheet]
    column = table.col_offset + table.width + 1
    header = ws.cell(row=table.header_row, column=column, value=REPORT_HEADER)
    header.font = Font(bold=True, color="C62828")
    red = PatternFill("solid", fgColor="FFCDD2")
    by_row: dict[int, list[RowError]] = defaultdict(list)
    for error in errors:
        by_row[error.row].append(error)
    for row, row_errors in by_row.items():
        text = "；".join(f"“{e.header}”列：{e.reason}" if e.header else e.reason for e in row_errors)
        cell = ws.cell(row=row, column=column, value=text)
        cell.data_type = TYPE_STRING
        cell.font = Font(color="C62828")
        for e in row_errors:
            if e.column:
                ws.cell(row=row, column=column_index_from_string(e.column)).fill = red
    ws.column_dimensions[ws.cell(row=table.header_row, column=column).column_letter].width = 60
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
