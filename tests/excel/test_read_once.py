"""A ledger workbook is read once: the memory-bounded child process that probes it with python-calamine
sends its cells back, and this process parses those values without opening the workbook again."""

from __future__ import annotations

import datetime
import io
import os
import pickle

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from qiangcun.core import excel
from qiangcun.core.excel import WorkbookRefused, find_table, inspect_xlsx, iter_sheets, read_xlsx
from qiangcun.imports.models import ImportJob
from qiangcun.ledger.models import Entry

ROWS = [
    ["相衙镇村级集体经济增收工作台账"],
    ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"],
    ["孙庄", datetime.date(2020, 3, 5), 12000.5, "经营收入", "现代农业", "中药材销售"],
    ["刘道村", "2020-03-06", "壹万伍仟元", "承包费", "流转", "土地流转承包费"],
]


def _workbook(rows, *, merge: str | None = None, offset: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    for row in rows:
        ws.append(row)
    if offset:
        ws.move_range("A1:F20", rows=2, cols=1)
    if merge:
        ws.merge_cells(merge)
    other = wb.create_sheet("填表说明")
    other.append(["说明", datetime.datetime(2020, 1, 2, 3, 4), datetime.time(5, 6), True, 3])
    # Equal but not the same: the child shares equal strings and dates, never 1.0 and TRUE.
    other.append(
        [True, 1, 1.0, False, 0, "1", "说明", datetime.date(2020, 1, 2), datetime.datetime(2020, 1, 2)]
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


class Spy:
    """Counts the probes started and the workbooks this process opens with python-calamine."""

    def __init__(self, monkeypatch) -> None:
        self.probes = 0
        self.opened = 0
        probe_init = excel._Probe.__init__
        from_path = CalamineWorkbook.from_path

        def counting_probe(probe, *args, **kwargs):
            self.probes += 1
            probe_init(probe, *args, **kwargs)

        def counting_open(path, *args, **kwargs):
            self.opened += 1
            return from_path(path, *args, **kwargs)

        monkeypatch.setattr(excel._Probe, "__init__", counting_probe)
        monkeypatch.setattr(CalamineWorkbook, "from_path", counting_open)


def test_the_import_page_probes_once_and_never_opens_the_workbook_itself(
    client, tree, personas, settings, tmp_path, monkeypatch
):
    settings.HOME = tmp_path
    spy = Spy(monkeypatch)
    client.force_login(personas["township_admin"])
    upload = SimpleUploadedFile("台账.xlsx", _workbook(ROWS))
    page = client.post("/import/ledger/", {"year": "2020", "file": upload}, follow=True).content.decode()
    assert "将导入 2 条（待审核），合计 2.70万元" in page
    assert (spy.probes, spy.opened) == (1, 0)
    job = ImportJob.objects.get()
    response = client.post(f"/import/jobs/{job.pk}/confirm/", follow=True)
    assert "已导入 2 条" in response.content.decode()
    assert Entry.objects.count() == 2
    assert (spy.probes, spy.opened) == (2, 0), "the confirmed import reads the file once more, in the child"


def test_parse_ledger_file_reads_once(tree, tmp_path, monkeypatch):
    from qiangcun.ledger.importing.ledger import parse_ledger_file

    path = tmp_path / "台账.xlsx"
    path.write_bytes(_workbook(ROWS))
    spy = Spy(monkeypatch)
    parsed = parse_ledger_file(path, name=path.name, year=2020, villages=tree.villages)
    assert parsed.ok and [r.amount for r in parsed.rows] == [12000.5, 15000]
    assert (spy.probes, spy.opened) == (1, 0)


@pytest.mark.parametrize(("merge", "offset"), [(None, None), ("A3:A4", None), ("B5:B6", "B3")])
def test_the_values_are_what_calamine_yields_here(tmp_path, merge, offset):
    """Same sheets, first cells, merged ranges and rows (dates, times, booleans, numbers) as opening
    the file in this process — so every reader finds the same table either way."""
    path = tmp_path / "x.xlsx"
    path.write_bytes(_workbook(ROWS, merge=merge, offset=offset))
    book = read_xlsx(path)
    wb = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == wb.sheet_names
    for name in wb.sheet_names:
        theirs, ours = wb.get_sheet_by_name(name), book.get_sheet_by_name(name)
        assert ours.start == theirs.start
        assert ours.merged_cell_ranges == (theirs.merged_cell_ranges or [])
        assert [[(type(c), c) for c in r] for r in ours.rows] == [
            [(type(c), c) for c in r] for r in theirs.iter_rows()
        ]
    assert book.max_row == inspect_xlsx(path) >= 4
    fields = {"village": ["村名"], "date": ["日期"], "amount": ["金额"]}
    args = {"fields": fields, "required": ["village", "date", "amount"], "labels": {}}
    table_file, rows_file = find_table(path, **args)
    table_book, rows_book = find_table(read_xlsx(path), **args)
    assert table_book == table_file and list(rows_book) == list(rows_file)
    as_file = [(n, o, list(r)) for n, o, r in iter_sheets(path)]
    assert [(n, o, list(r)) for n, o, r in iter_sheets(read_xlsx(path))] == as_file


def test_the_childs_output_cannot_run_code_here():
    """The parent loads the child's pickle with an unpickler that knows only cell values."""
    harmless = pickle.dumps([("s", 1, 1, None, [], [[datetime.date(2020, 1, 2), datetime.timedelta(1)]])])
    assert excel._CellUnpickler(io.BytesIO(harmless)).load()[0][5][0][0] == datetime.date(2020, 1, 2)
    hostile = pickle.dumps(os.getcwd)
    with pytest.raises(pickle.UnpicklingError):
        excel._CellUnpickler(io.BytesIO(hostile)).load()


def test_a_sheet_the_scan_refuses_is_never_read(tmp_path, monkeypatch):
    """Every sheet's row and column references are checked before any reader sees the file
    (ENGINEERING.md): a sheet the scan refuses never reaches the child process."""
    from tests.excel.test_hostile_more import _far_cell, _rewrite

    started = []
    start = excel._Probe.__init__
    monkeypatch.setattr(
        excel._Probe, "__init__", lambda probe, *a, **k: (started.append(probe), start(probe, *a, **k))[1]
    )
    path = _rewrite(tmp_path, "far.xlsx", _far_cell('"'))
    with pytest.raises(WorkbookRefused, match="行数"):
        read_xlsx(path)
    assert started == []
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(_workbook(ROWS))
    read_xlsx(ok)
    assert len(started) == 1


def test_a_child_that_dies_refuses_the_file(tmp_path, monkeypatch):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(_workbook(ROWS))
    monkeypatch.setattr(excel, "_PROBE", "import os; os.abort()")
    with pytest.raises(WorkbookRefused, match="结构异常"):
        read_xlsx(path)
    monkeypatch.setattr(excel, "_PROBE", "import sys, pickle; sys.stdout.buffer.write(pickle.dumps(print))")
    with pytest.raises(WorkbookRefused, match="结构异常"):
        read_xlsx(path)


def test_a_child_that_hangs_is_stopped(tmp_path, monkeypatch):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(_workbook(ROWS))
    monkeypatch.setattr(excel, "_PROBE", "import time; time.sleep(60)")
    monkeypatch.setattr(excel, "PROBE_SECONDS", 0.5)
    with pytest.raises(WorkbookRefused, match="超时"):
        read_xlsx(path)


def test_number_cells_sum_to_the_fen_and_finer_amounts_are_refused(tree, tmp_path):
    from decimal import Decimal

    from qiangcun.ledger.importing.ledger import parse_ledger_file

    amounts = [0.1 + 0.2, 1234567.89, 0.07, 19.99, 1e9, 35.1, 999999999.99]
    header = ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"]
    rows = [header] + [
        ["孙庄村", datetime.date(2020, 3, 1 + i), a, "经营收入", "现代农业", f"第{i}笔"]
        for i, a in enumerate(amounts)
    ]
    path = tmp_path / "amounts.xlsx"
    path.write_bytes(_workbook(rows))
    parsed = parse_ledger_file(path, name=path.name, year=2020, villages=tree.villages)
    assert parsed.ok, parsed.errors
    assert [str(r.amount) for r in parsed.rows] == [
        "0.30",
        "1234567.89",
        "0.07",
        "19.99",
        "1000000000.00",
        "35.10",
        "999999999.99",
    ]
    assert sum(r.amount for r in parsed.rows) == Decimal("2001234623.34")
    path.write_bytes(
        _workbook([*rows, ["孙庄村", datetime.date(2020, 4, 1), 12.345, "经营收入", "现代农业", "x"]])
    )
    parsed = parse_ledger_file(path, name=path.name, year=2020, villages=tree.villages)
    assert [str(e) for e in parsed.errors] == [
        "第 9 行“金额（元）”列（C）：金额 12.345 超过两位小数（精确到分），请核对"
    ]
