"""Excel safety and writing. Core knows no domain: this checks untrusted workbooks before any reader
sees them, and writes tables that open cleanly in Excel and WPS.

Why a hand-written pre-check: python-calamine aborts the whole process (no exception) on a sheet whose
``<dimension>`` claims A1:XFD1048576, and a 2 MB .xlsx can unpack to gigabytes. So before calamine or
openpyxl opens a file we look at the archive ourselves: entries, sizes, ratios, DOCTYPE/ENTITY
declarations, macros, and the largest row and column each worksheet names.
"""

from __future__ import annotations

import datetime
import functools
import gc
import io
import pickle
import re
import threading
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Attribute values in either quote, with spaces around "=", any number of digits (zero padding too):
# a reference written in any form calamine would accept must be seen here.
_CELL_REF = re.compile(rb"""<(?:\w+:)?c\b[^>]*?\br\s*=\s*["']\s*([A-Za-z]+)\s*(\d+)""")
_ROW_REF = re.compile(rb"""<(?:\w+:)?row\b[^>]*?\br\s*=\s*["']\s*(\d+)""")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b")
_DIMENSION = re.compile(rb"""<(?:\w+:)?dimension\b[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_MERGE = re.compile(rb"""<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_REF = re.compile(rb"([A-Za-z]+)\s*(\d+)")
#: Parts that never hold cells; every other XML part is scanned, wherever the workbook puts its sheets.
_NOT_SHEETS = (
    "sharedStrings.xml",
    "styles.xml",
    "workbook.xml",
    "calcChain.xml",
    "/theme/",
    "/charts/",
    "/drawings/",
    "/media/",
    "/printerSettings/",
    "docProps/",
    "_rels/",
    "[Content_Types].xml",
)
#: The child process that opens the workbook with python-calamine before this process does.
PROBE_MEMORY_BYTES = 3 * 1024**3
PROBE_SECONDS = 120


class WorkbookRefused(ValueError):
    """The file is refused as a whole; the message is Chinese and says why and what to do."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_cols: int
    max_unzipped: int
    max_ratio: int
    max_entries: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.IMPORT_MAX_BYTES,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_cols=settings.IMPORT_MAX_COLS,
            max_unzipped=settings.IMPORT_MAX_UNZIPPED_BYTES,
            max_ratio=settings.IMPORT_MAX_RATIO,
            max_entries=settings.IMPORT_MAX_ENTRIES,
        )


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def column_letters(number: int) -> str:
    out = ""
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def inspect_xlsx(path: Path, *, name: str | None = None, limits: Limits | None = None) -> int:
    """Raise :class:`WorkbookRefused` unless ``path`` is a plain .xlsx within the limits; return the
    largest row number any worksheet names (for a progress bar). For a reader that goes on to read
    the cells, :func:`read_xlsx` does the same checks and hands back the values as well."""
    return _inspect(path, name=name, limits=limits, values=False).max_row


def read_xlsx(path: Path, *, name: str | None = None, limits: Limits | None = None) -> WorkbookValues:
    """:func:`inspect_xlsx` and the read in one: the memory-bounded child process that opens the workbook
    with python-calamine sends every sheet's cells back, so this process never opens the file itself.
    Pass the result to :func:`find_table` or :func:`iter_sheets` in place of the path."""
    return _inspect(path, name=name, limits=limits, values=True)


def _inspect(path: Path, *, name: str | None, limits: Limits | None, values: bool) -> WorkbookValues:
    limits = limits or Limits.from_settings()
    label = name or path.name
    lower = label.lower()
    if lower.endswith(".xls"):
        raise WorkbookRefused(f"“{label}”是旧版 .xls 文件，请在 Excel 或 WPS 中另存为 .xlsx 后再导入")
    if lower.endswith(".xlsm"):
        raise WorkbookRefused(f"“{label}”是带宏的 .xlsm 文件，不能导入；请另存为不带宏的 .xlsx")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise WorkbookRefused(f"文件过大（{_mb(size)}），上限 {_mb(limits.max_bytes)}；请拆分后分批导入")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        raise WorkbookRefused(f"“{label}”实际是旧版 .xls 格式，请另存为 .xlsx 后再导入")
    if not zipfile.is_zipfile(path):
        raise WorkbookRefused(f"“{label}”不是有效的 .xlsx 文件（可能已损坏，或是改了扩展名的其他文件）")
    try:
        with zipfile.ZipFile(path) as zf:
            sheets = _inspect_archive(zf, label, limits)
            # The archive's entries, sizes, ratios, declarations and macros passed; now every sheet's
            # row and column references, before any reader sees the file (ENGINEERING.md). Only then
            # does the child process (bounded in memory and time) read the cells. Running the two at
            # once would save about 1 s on 100,000 rows, but a reader would meet a sheet not yet
            # checked.
            rows = max((_inspect_sheet(zf, info, label, limits) for info in sheets), default=0)
    except zipfile.BadZipFile as exc:
        raise WorkbookRefused(f"“{label}”不是有效的 .xlsx 文件（压缩包损坏）") from exc
    book = _Probe(path, values=values).finish(label, limits)
    book.max_row = rows
    return book


def _inspect_archive(zf: zipfile.ZipFile, label: str, limits: Limits) -> list[zipfile.ZipInfo]:
    """Everything but the sheets' cells: entries, sizes, ratios, macros, DOCTYPE/ENTITY declarations.
    Returns the parts to scan for row and column references (:func:`_inspect_sheet`)."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise WorkbookRefused(f"“{label}”包含的部件过多（{len(infos)} 个），疑似异常文件，拒绝解压")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise WorkbookRefused(f"“{label}”不是有效的 .xlsx 文件（缺少工作簿结构）")
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_unzipped:
            raise WorkbookRefused(
                f"“{label}”解压后超过 {_mb(limits.max_unzipped)}，疑似压缩炸弹，拒绝解压；如确为大表，请拆分后导入"
            )
        if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise WorkbookRefused(f"“{label}”的压缩比异常（{info.filename}），疑似压缩炸弹，拒绝解压")
    if "xl/vbaProject.bin" in names:
        raise WorkbookRefused(f"“{label}”含有宏（vbaProject），不能导入；请另存为不带宏的 .xlsx")
    content_types = zf.read("[Content_Types].xml")
    sheets = []
    if b"macroEnabled" in content_types:
        raise WorkbookRefused(f"“{label}”是启用宏的工作簿，不能导入；请另存为不带宏的 .xlsx")
    for info in infos:
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with zf.open(info) as fh:
            head = fh.read(4096)
        if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
            raise WorkbookRefused(
                f"“{label}”的 {info.filename} 含有 DOCTYPE/ENTITY 声明，这不是 Excel 正常生成的内容，拒绝读取"
            )
        if info.filename.endswith(".xml") and not any(part in info.filename for part in _NOT_SHEETS):
            sheets.append(info)
    return sheets


def _refs(value: bytes) -> list[tuple[int, int]]:
    return [(column_number(c.decode().upper()), int(r)) for c, r in _REF.findall(value)]


def _inspect_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limits: Limits) -> int:
    """Largest row and column the part names (dimension, row and cell references, merged ranges, and
    the number of rows, for rows written without a reference); refuses what is over the limits."""
    max_row = 0
    max_col = 0
    row_tags = 0
    merged_area = 0
    tail = b""
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            # A pattern finds nothing in a chunk without its tag's name: skip the pass (the same answer).
            for value in _DIMENSION.findall(data) if b"dimension" in data else ():
                for col, row in _refs(value):
                    max_col, max_row = max(max_col, col), max(max_row, row)
            rows = _ROW_REF.findall(data)
            if rows:
                max_row = max(max_row, max(map(int, rows)))
            row_tags += len(_ROW_TAG.findall(chunk))
            cells = _CELL_REF.findall(data)
            if cells:
                letters, numbers = zip(*cells, strict=True)
                max_row = max(max_row, max(map(int, numbers)))
                max_col = max(max_col, max(column_number(c.decode().upper()) for c in set(letters)))
            for value in _MERGE.findall(data) if b"mergeCell" in data else ():
                corners = _refs(value)
                if len(corners) == 2:
                    (c0, r0), (c1, r1) = corners
                    merged_area += (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
                    max_col, max_row = max(max_col, c0, c1), max(max_row, r0, r1)
            if max(max_row, row_tags) > limits.max_rows + 1000 or max_col > limits.max_cols:
                break
            tail = data[-256:]
    max_row = max(max_row, row_tags)
    if max_row > limits.max_rows + 1000:
        raise WorkbookRefused(
            f"“{label}”的工作表声明了 {max_row:,} 行，超过导入上限 {limits.max_rows:,} 行的行数限制；请删除多余的空行或拆分文件"
        )
    if max_col > limits.max_cols:
        raise WorkbookRefused(
            f"“{label}”的工作表有 {max_col:,} 列，超过上限 {limits.max_cols} 列；请删除多余的列"
        )
    if merged_area > limits.max_rows * 10:
        raise WorkbookRefused(f"“{label}”的合并单元格范围过大（共 {merged_area:,} 格），请取消合并后再导入")
    return max_row


#: What the child process runs: open the workbook with python-calamine, and write every sheet's size
#: (and, asked for values, its first cell, merged ranges and rows exactly as ``iter_rows`` yields them)
#: to stdout as one pickle of plain lists, tuples, numbers, strings and ``datetime`` values.
#: Equal strings and dates become one object (a sheet repeats its names and dates row after row), so
#: the pickle holds each once and refers back to it: a third of the size, a tenth of the time. Only
#: these types, which never equal one another: 1.0 == True, so numbers and booleans stay as they are.
#: The garbage collector is off while the lists are made: they hold no cycles.
_PROBE = """
import datetime, gc, pickle, sys
gc.disable()
from python_calamine import CalamineWorkbook
wb = CalamineWorkbook.from_path(sys.argv[1])
values = sys.argv[2] == "values"
shared = {str, datetime.date, datetime.datetime}
same = {}.setdefault
out = []
for name in wb.sheet_names:
    sheet = wb.get_sheet_by_name(name)
    if values:
        rows = [[same(c, c) if type(c) in shared else c for c in row] for row in sheet.iter_rows()]
        out.append((name, sheet.height, sheet.width, sheet.start, sheet.merged_cell_ranges, rows))
    else:
        out.append((name, sheet.height, sheet.width, None, None, None))
pickle.dump(out, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
"""


@dataclass
class SheetValues:
    """One sheet as the probe read it: what :func:`find_table` and :func:`iter_sheets` use of a
    python-calamine sheet (``start``, ``merged_cell_ranges``, ``iter_rows()``)."""

    name: str
    start: tuple[int, int] | None
    merged_cell_ranges: list[Any]
    rows: list[list[Any]]

    def iter_rows(self) -> Iterable[list[Any]]:
        return iter(self.rows)


@dataclass
class WorkbookValues:
    """A workbook read once, in the probe's child process: its sheets in order, and the largest row
    number any worksheet names (for a progress bar)."""

    sheets: list[SheetValues]
    max_row: int = 0

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def get_sheet_by_name(self, name: str) -> SheetValues:
        return next(s for s in self.sheets if s.name == name)


class _CellUnpickler(pickle.Unpickler):
    """Loads only what the probe writes: containers, numbers, strings and the ``datetime`` types.
    Anything else (a class, a function) is refused, so the child's output can never run code here."""

    ALLOWED = frozenset({"date", "datetime", "time", "timedelta"})

    def find_class(self, module: str, name: str) -> Any:
        if module == "datetime" and name in self.ALLOWED:
            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a cell value")


class _Probe:
    """The child process that opens the workbook with python-calamine before this process would, with
    bounded memory (``RLIMIT_AS``) and time: calamine aborts the whole process (no exception) on some
    malformed sheets; if that happens to the child, the file is refused and this process lives on."""

    def __init__(self, path: Path, *, values: bool) -> None:
        import resource
        import subprocess
        import sys

        def bound() -> None:  # pragma: no cover - runs in the child
            resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY_BYTES, PROBE_MEMORY_BYTES))

        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _PROBE, str(path), "values" if values else "sizes"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=bound,
        )
        self.output: list[bytes] = []
        # Read while this process does other work, so the child never waits on a full pipe.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        self.output.append(self.process.stdout.read())

    def stop(self) -> None:
        self.process.kill()
        self.reader.join()
        self.process.wait()

    def finish(self, name: str, limits: Limits) -> WorkbookValues:
        self.reader.join(max(0.0, PROBE_SECONDS - (time.monotonic() - self.started)))
        if self.reader.is_alive():
            self.stop()
            raise WorkbookRefused(f"“{name}”读取超时，文件可能过大或已损坏；请拆分后导入")
        returncode = self.process.wait()
        broken = WorkbookRefused(
            f"“{name}”的表格结构异常（可能是超大或损坏的工作表），拒绝读取；请在 Excel 中另存为新文件后再导入"
        )
        if returncode != 0:
            raise broken
        collecting = gc.isenabled()
        gc.disable()  # plain lists, no cycles: the collector would only walk them again and again
        try:
            sheets = _CellUnpickler(io.BytesIO(b"".join(self.output))).load()
        except Exception as exc:  # whatever the child wrote, it is not a workbook's cells
            raise broken from exc
        finally:
            if collecting:
                gc.enable()
        book = WorkbookValues(sheets=[])
        for sheet_name, height, width, start, merged, rows in sheets:
            if height > limits.max_rows + 1000:
                raise WorkbookRefused(
                    f"“{name}”有 {height:,} 行，超过导入上限 {limits.max_rows:,} 行的行数限制；请拆分文件"
                )
            if width > limits.max_cols:
                raise WorkbookRefused(
                    f"“{name}”有 {width:,} 列，超过上限 {limits.max_cols} 列；请删除多余的列"
                )
            book.sheets.append(SheetValues(sheet_name, start, merged or [], rows or []))
        return book


def probe_with_calamine(path: Path, *, name: str, limits: Limits | None = None) -> None:
    """Open the workbook with python-calamine in a child process with bounded memory and time only (no
    archive checks): refuses the file if the child dies or finds a sheet over the limits."""
    _Probe(path, values=False).finish(name, limits or Limits.from_settings())


# ---------------------------------------------------------------------------------------------- reading


_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def normalize_text(value: object) -> str:
    """NFKC (full-width → ASCII), then drop every whitespace character, inside too, and the invisible
    ones (zero-width space/joiners, word joiner, BOM); ``None`` → ``""``.

    ``" 孙 庄\u3000村 "`` → ``"孙庄村"``; ``"ＡＢＣ１２"`` → ``"ABC12"``."""
    if value is None:
        return ""
    return _normalize(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=4096)
def _normalize(text: str) -> str:
    """:func:`normalize_text` of a string; cached, since a sheet repeats its names row after row."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text)
    return _INVISIBLE_RE.sub("", "".join(text.split()))


TOTAL_RE = re.compile(r"(小|合|总)\s*计")


def is_total_row(cells: Sequence[Any], *, key: int | None, required: int | None) -> bool:
    """A subtotal or total row (小计/合计/总计), told apart from a data row that merely mentions 合计.

    It is a total row when the word stands in the row's first non-blank cell or in its key column
    (the village or name column), or anywhere in a row whose required cell (the date, say) is empty.
    A row with its key and required cells filled that says 合计 in its summary is data."""

    first = next((c for c in cells if c is not None and (not isinstance(c, str) or c.strip())), None)
    if _says_total(first):
        return True
    if key is not None and key < len(cells) and _says_total(cells[key]):
        return True
    if required is None or required >= len(cells):
        blank_required = True
    else:
        value = cells[required]
        # A number or a date is never blank (its text is not empty): no need to write it out.
        blank_required = not isinstance(value, int | float | datetime.date) and normalize_text(value) == ""
    return blank_required and any(_says_total(c) for c in cells)


def _says_total(value: Any) -> bool:
    return isinstance(value, str) and _total_word(value)


@functools.lru_cache(maxsize=4096)
def _total_word(text: str) -> bool:
    return TOTAL_RE.search(normalize_text(text)) is not None


@dataclass(frozen=True)
class RowError:
    """A bad cell (or row) of an imported sheet, named as the clerk sees it."""

    row: int  # Excel row number, 1-based
    column: str  # Excel column letter ("" when the row as a whole is wrong)
    header: str  # the header text as in the file
    reason: str
    sheet: str = ""  # the sheet's name, where a workbook's rows come from several sheets
    #: Where it is in a file that is no workbook, as its writer sees it (“第 2 个表格第 5 行” in a
    #: Word document); it then stands for ``sheet`` and ``row``, and the column is named by its header.
    place: str = ""

    def __str__(self) -> str:
        if self.place:
            where = self.place + (f"，“{self.header}”列" if self.header else "")
            return f"{where}：{self.reason}"
        where = f"工作表“{self.sheet}”第 {self.row} 行" if self.sheet else f"第 {self.row} 行"
        if self.header:
            where += f"“{self.header}”列（{self.column}）"
        return f"{where}：{self.reason}"


@dataclass(frozen=True)
class FieldColumn:
    field: str
    index: int  # 0-based position in the rows calamine yields
    letter: str  # the Excel column letter
    header: str  # the header text as written in the file
    wan: bool  # amounts in this column are in 万元


@dataclass
class Table:
    sheet: str
    header_row: int  # 1-based Excel row number
    columns: dict[str, FieldColumn]
    width: int
    col_offset: int  # 0-based absolute column of the first cell calamine yields


_UNIT_SPLIT = re.compile(r"^(.*?)[(\[]([^)\]]*)[)\]]$")
SKIP_SHEET_WORDS = ("说明", "填表", "目录", "封面")
HEADER_SCAN_ROWS = 30


def split_header(text: str) -> tuple[str, str]:
    """``"金额（万元）"`` → ``("金额", "万元")``; ``"村名"`` → ``("村名", "")``."""
    norm = normalize_text(text)
    m = _UNIT_SPLIT.match(norm)
    if m:
        return m.group(1), m.group(2)
    return norm, ""


def _fill_merged(
    rows: Iterable[list[Any]], first_row: int, col_offset: int, ranges: Sequence[Any]
) -> Iterable[tuple[int, list[Any]]]:
    """Yield (Excel row number, cells) from 0-based row ``first_row`` on; a cell inside a merged range
    takes the value of the range's top-left cell (a village name merged down over its rows)."""
    fill: dict[tuple[int, int], tuple[int, int]] = {}
    for (r0, c0), (r1, c1) in ranges:
        if r1 < first_row or (r1 - r0 + 1) * (c1 - c0 + 1) > 100_000:
            continue
        for r in range(max(r0, first_row), r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    fill[(r, c)] = (r0, c0)
    tops = set(fill.values())
    seen: dict[tuple[int, int], Any] = {}
    for offset, cells in enumerate(rows):
        r = first_row + offset
        if fill:
            for position, value in enumerate(cells):
                key = (r, col_offset + position)
                if key in tops:
                    seen[key] = value
                elif key in fill and fill[key] in seen and (value is None or value == ""):
                    cells[position] = seen[fill[key]]
        yield r + 1, cells


def find_table(
    path: Path | WorkbookValues,
    *,
    fields: Mapping[str, Sequence[str]],
    required: Sequence[str],
    labels: Mapping[str, str],
) -> tuple[Table, Iterable[tuple[int, list[Any]]]]:
    """Find the sheet and header row by their content and return the table and its data rows.

    ``fields`` maps a field to the header words that name it; a header row is the first row (in the
    first 30 of a sheet) naming at least three fields (or all the required ones, when fewer). A unit line ``单位：万元`` above the header makes
    amount columns count in 万元, as does a header like ``金额（万元）``. Sheets named like 填表说明 are
    skipped. Raises :class:`WorkbookRefused` when no header is found or a required column is missing.
    ``path`` is the file, or the workbook :func:`read_xlsx` read (then the file is not opened again).
    """
    lookup = {normalize_text(word): field for field, words in fields.items() for word in words}
    wb = _open(path)
    best_missing: tuple[str, list[str]] | None = None
    for sheet_name in wb.sheet_names:
        if any(word in sheet_name for word in SKIP_SHEET_WORDS):
            continue
        sheet = wb.get_sheet_by_name(sheet_name)
        col_offset = sheet.start[1] if sheet.start else 0
        rows = iter(sheet.iter_rows())
        wan_line = False
        for index, row in enumerate(rows):
            if index >= HEADER_SCAN_ROWS:
                break
            found: dict[str, FieldColumn] = {}
            for position, cell in enumerate(row):
                if not isinstance(cell, str) or not cell.strip():
                    continue
                base, unit = split_header(cell)
                field = lookup.get(base) or lookup.get(normalize_text(cell))
                if field and field not in found:
                    found[field] = FieldColumn(
                        field=field,
                        index=position,
                        letter=column_letters(col_offset + position + 1),
                        header=cell.strip(),
                        wan="万" in unit,
                    )
            if len(found) >= min(3, len(required)):
                missing = [f for f in required if f not in found]
                if missing:
                    best_missing = best_missing or (sheet_name, missing)
                    break
                if wan_line:
                    found = {
                        f: (
                            c
                            if c.wan or "元" in split_header(c.header)[1]
                            else FieldColumn(**{**c.__dict__, "wan": True})
                        )
                        for f, c in found.items()
                    }
                table = Table(
                    sheet=sheet_name,
                    header_row=index + 1,
                    columns=found,
                    width=len(row),
                    col_offset=col_offset,
                )
                return table, _fill_merged(rows, index + 1, col_offset, sheet.merged_cell_ranges or [])
            text = "".join(normalize_text(c) for c in row if isinstance(c, str))
            if "单位" in text and "万元" in text:
                wan_line = True
    if best_missing:
        sheet_name, missing = best_missing
        names = "、".join(f"“{labels.get(m, m)}”" for m in missing)
        raise WorkbookRefused(f"工作表“{sheet_name}”的表头缺少{names}列")
    wanted = "、".join(labels.get(f, f) for f in required)
    raise WorkbookRefused(f"没有找到表头：需要一行写有 {wanted} 等列名（在前 {HEADER_SCAN_ROWS} 行内）")


def _open(path: Path | WorkbookValues) -> Any:
    if isinstance(path, WorkbookValues):
        return path
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except CalamineError as exc:
        raise WorkbookRefused(f"无法读取工作簿：{exc}") from exc


def iter_sheets(path: Path | WorkbookValues) -> Iterable[tuple[str, int, Iterable[tuple[int, list[Any]]]]]:
    """Every sheet of the workbook not named like 填表说明, in order: (name, 0-based absolute column of
    the first cell each row yields, rows as (Excel row number, cells) with merged cells filled from
    their top-left cell). For readers that look at every sheet (a workbook of one sheet per village).
    ``path`` is the file or the workbook :func:`read_xlsx` read."""
    wb = _open(path)
    for sheet_name in wb.sheet_names:
        if any(word in sheet_name for word in SKIP_SHEET_WORDS):
            continue
        sheet = wb.get_sheet_by_name(sheet_name)
        col_offset = sheet.start[1] if sheet.start else 0
        rows = ([*row] for row in sheet.iter_rows())
        yield sheet_name, col_offset, _fill_merged(rows, 0, col_offset, sheet.merged_cell_ranges or [])


def header_columns(
    cells: Sequence[Any], lookup: Mapping[str, str], *, col_offset: int, wan: bool = False
) -> dict[str, FieldColumn]:
    """The fields a header row names (``lookup`` maps a normalized header word to its field), as
    :func:`find_table` reads them: ``"预计收入（万元）"`` is the field of ``预计收入`` counting in 万元;
    with ``wan`` (a ``单位：万元`` line above), every column not marked 元 counts in 万元."""
    found: dict[str, FieldColumn] = {}
    for position, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        base, unit = split_header(cell)
        field = lookup.get(base) or lookup.get(normalize_text(cell))
        if field and field not in found:
            found[field] = FieldColumn(
                field=field,
                index=position,
                letter=column_letters(col_offset + position + 1),
                header=cell.strip(),
                wan="万" in unit or (wan and "元" not in unit),
            )
    return found


# ---------------------------------------------------------------------------------------------- error report

REPORT_HEADER = "导入错误（改正后重新导入）"


def error_report(path: Path, table: Table | Sequence[Table], errors: list[RowError]) -> bytes:
    """The uploaded workbook with a column “导入错误” after each table that has errors (its header row
    names it) and every bad cell in red. An error goes to the table of its ``sheet`` (the first
    table when it names none)."""
    from openpyxl import load_workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import column_index_from_string

    tables = [table] if isinstance(table, Table) else list(table)
    wb = load_workbook(path)  # the file passed inspect_xlsx; defusedxml guards the parser as well
    red = PatternFill("solid", fgColor="FFCDD2")
    by_sheet: dict[str, dict[int, list[RowError]]] = defaultdict(lambda: defaultdict(list))
    known = {t.sheet for t in tables}
    for error in errors:
        sheet = error.sheet if error.sheet in known else tables[0].sheet
        by_sheet[sheet][error.row].append(error)
    done: set[str] = set()
    for t in tables:
        if t.sheet in done or t.sheet not in by_sheet or t.sheet not in wb.sheetnames:
            continue
        done.add(t.sheet)
        ws = wb[t.sheet]
        width = max(x.col_offset + x.width for x in tables if x.sheet == t.sheet)
        column = width + 1
        header = ws.cell(row=t.header_row, column=column, value=REPORT_HEADER)
        header.font = Font(bold=True, color="C62828")
        for row, row_errors in by_sheet[t.sheet].items():
            text = "；".join(f"“{e.header}”列：{e.reason}" if e.header else e.reason for e in row_errors)
            cell = ws.cell(row=row, column=column, value=text)
            cell.data_type = TYPE_STRING
            cell.font = Font(color="C62828")
            for e in row_errors:
                if e.column:
                    ws.cell(row=row, column=column_index_from_string(e.column)).fill = red
        ws.column_dimensions[ws.cell(row=t.header_row, column=column).column_letter].width = 60
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
