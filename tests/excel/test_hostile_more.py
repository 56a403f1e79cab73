"""Hostile workbooks found in review: references written in ways the first scan missed, sheets kept
outside xl/worksheets/, merged-range bombs, rows without references. Each is refused with a reason —
and if a scan ever misses one, opening it in a child process keeps this process alive."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from qiangcun.core.excel import Limits, WorkbookRefused, inspect_xlsx, probe_with_calamine

SHEET = "xl/worksheets/sheet1.xml"


def _base() -> bytes:
    wb = Workbook()
    wb.active.append(["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"])
    wb.active.append(["孙庄村", "2020-03-05", 100, "经营收入", "现代农业", "测试"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _rewrite(tmp_path, name: str, edit, move_to: str | None = None) -> object:
    source = zipfile.ZipFile(io.BytesIO(_base()))
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            target = info.filename
            if info.filename == SHEET:
                data = edit(data.decode()).encode()
                target = move_to or SHEET
            elif move_to and info.filename in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"worksheets/sheet1.xml", move_to.removeprefix("xl/").encode())
            out.writestr(target, data)
    return path


def _far_cell(quote: str = '"', pad: str = "", space: str = "") -> object:
    def edit(xml: str) -> str:
        row = f"<row r{space}={space}{quote}{pad}1048576{quote}><c r{space}={space}{quote}XFD{pad}1048576{quote} t={quote}inlineStr{quote}><is><t>x</t></is></c></row>"
        return xml.replace("</sheetData>", row + "</sheetData>")

    return edit


@pytest.mark.parametrize(
    ("name", "edit", "move_to"),
    [
        ("single-quotes.xlsx", _far_cell("'"), None),
        ("spaces.xlsx", _far_cell('"', space=" "), None),
        ("zero-padded.xlsx", _far_cell('"', pad="000"), None),
        ("moved-sheet.xlsx", _far_cell('"'), "xl/sheets/sheet1.xml"),
        ("moved-single.xlsx", _far_cell("'"), "xl/data/s.xml"),
    ],
)
def test_far_references_are_refused_however_written(tmp_path, settings, name, edit, move_to):
    path = _rewrite(tmp_path, name, edit, move_to)
    with pytest.raises(WorkbookRefused, match=r"行数|列"):
        inspect_xlsx(path)


def test_merged_range_bomb_is_refused(tmp_path):
    merges = "".join(f'<mergeCell ref="A{3 + i}:A100000"/>' for i in range(3000))

    def edit(xml: str) -> str:
        return xml.replace("</sheetData>", f'</sheetData><mergeCells count="3000">{merges}</mergeCells>')

    with pytest.raises(WorkbookRefused, match="合并单元格"):
        inspect_xlsx(_rewrite(tmp_path, "merges.xlsx", edit))


def test_rows_without_references_count_toward_the_limit(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 100

    def edit(xml: str) -> str:
        return xml.replace("</sheetData>", "<row><c><v>1</v></c></row>" * 2000 + "</sheetData>")

    with pytest.raises(WorkbookRefused, match="行数"):
        inspect_xlsx(_rewrite(tmp_path, "no-refs.xlsx", edit))


def test_the_child_process_refuses_what_would_abort_this_one(tmp_path):
    """With the static limits turned off, the far cell still never reaches this process's calamine."""
    path = _rewrite(tmp_path, "far.xlsx", _far_cell('"'))
    off = Limits(
        max_bytes=10**9,
        max_rows=10**9,
        max_cols=10**9,
        max_unzipped=10**10,
        max_ratio=10**6,
        max_entries=10**6,
    )
    with pytest.raises(WorkbookRefused, match="结构异常"):
        probe_with_calamine(path, name="far.xlsx", limits=off)


def test_a_normal_workbook_passes_and_reports_its_rows(tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(_base())
    assert inspect_xlsx(path) == 2
    assert re.search(rb"sheetData", zipfile.ZipFile(path).read(SHEET))
