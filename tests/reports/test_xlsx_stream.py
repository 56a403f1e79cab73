"""The table writer streams: rows are taken from the iterable one at a time as they are written (never
gathered into a list first), and what it writes reads back as given, to the fen."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from qiangcun.reports import xlsx
from qiangcun.reports.xlsx import Column, write_table_to

COLUMNS = [Column("村名"), Column("日期", "date"), Column("金额（元）", "yuan"), Column("摘要")]


def test_rows_are_pulled_as_they_are_written_not_gathered_first(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "PROGRESS_EVERY", 100)
    pulled = 0
    seen: list[tuple[int, int]] = []

    def rows():
        nonlocal pulled
        for n in range(1, 1001):
            pulled += 1
            yield (
                "孙庄村",
                datetime.date(2020, 1, 1) + datetime.timedelta(days=n % 300),
                Decimal(n) / 100,
                f"=A{n}",
            )

    written = write_table_to(
        tmp_path / "t.xlsx",
        title="台账",
        columns=COLUMNS,
        rows=rows(),
        totals=("合计", None, sum(Decimal(n) / 100 for n in range(1, 1001)), None),
        progress=lambda n: seen.append((n, pulled)),
    )
    assert written == 1000
    # each report comes when exactly that many rows were pulled: nothing was read ahead
    assert seen[:10] == [(n, n) for n in range(100, 1001, 100)]
    ws = load_workbook(tmp_path / "t.xlsx").active
    body = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(body) == 1001
    assert sum(Decimal(str(r[2])) for r in body[:-1]) == Decimal("5005.00")
    assert body[-1][0] == "合计" and Decimal(str(body[-1][2])) == Decimal("5005.00")
    assert body[41][3] == "=A42"  # text, not a formula
    assert all(c.data_type != "f" for row in ws.iter_rows(min_row=4) for c in row)
    assert ws.freeze_panes == "A4"
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:D1"]


def test_into_a_binary_file(tmp_path):
    buffer = io.BytesIO()
    write_table_to(buffer, title="t", columns=[Column("摘要")], rows=iter([["a\x01b"], ["#N/A"]]))
    ws = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert [ws["A4"].value, ws["A5"].value] == ["a\ufffdb", "#N/A"]
    assert ws["A5"].data_type == "s"
