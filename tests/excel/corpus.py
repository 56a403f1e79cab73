"""The Excel import test corpus of issue 3, made by a script and never by hand.

``build_corpus(directory)`` writes workbooks into ``directory`` and returns one :class:`Case` per file,
saying what an importer must make of it:

* **good** cases (``ok=True``): workbooks the way clerks really keep their 台账 — merged title rows,
  "填报单位" and "单位：元/万元" lines, every header synonym of the issue, village names without 村 or
  with stray spaces, amounts as numbers, "3,500.50", full-width digits, "￥2,400", "1.2万",
  capital numerals, dates as date cells, serial numbers and text, subtotal/total/signature rows,
  text that looks like a formula. The expected row count and per-village sums are computed here from
  the exact ``Decimal`` of every row written, never typed in.
* **bad-row** cases (``ok=False``, ``errors`` set): otherwise valid workbooks with exactly the listed
  bad cells; the importer must import nothing and name each (Excel row, header as written, reason).
* **refused** cases (``ok=False``, ``refusal`` set): the whole file is refused — a header without an
  amount column, .xls, macros, a zip bomb, XML entity tricks, a dimension claiming the whole grid,
  a file that is no zip at all, a workbook without a table.

The rows of all good cases are distinct by (village, date, amount, category, summary), so the whole
good corpus can be imported into one township without the importer's duplicate check hiding rows.

Run ``uv run python tests/excel/corpus.py DIR`` to write the corpus and print its table.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet


@dataclass(frozen=True)
class Case:
    name: str  # short id, e.g. "merged_title_unit_wan"
    filename: str  # file name inside the corpus dir
    ok: bool  # True: imports fully; False: refused (nothing imported)
    rows: int = 0  # ok cases: number of ledger rows that must be imported
    # ok cases: village full name → exact yuan sum "12345.67" of the imported rows
    sums: dict[str, str] = field(default_factory=dict)
    # ok cases: blank/subtotal/total/signature rows below the header the importer must skip silently
    # (informational: every row after the header row up to the last written row that is not a ledger row)
    skipped: int = 0
    # bad-row cases: (Excel 1-based row number, header text exactly as written in the file,
    # keyword the reason must contain)
    errors: tuple[tuple[int, str, str], ...] = ()
    refusal: str | None = (
        None  # hostile/whole-file cases: keyword the file-level refusal message must contain
    )


# ---------------------------------------------------------------------------------------------------
# What the test township knows (tests/conftest.py `tree` and ledger/defaults.py)

VILLAGES = ("孙庄村", "刘道村", "杨老头村", "编席杨村")
CATEGORIES = ("经营收入", "发包及上交收入", "投资收益", "补助收入", "其他收入")
PATHS = (
    "土地流转",
    "现代农业",
    "光伏发电",
    "扶贫项目收益",
    "合作社",
    "有偿服务",
    "招商引资",
    "边角经济",
    "电商",
    "其他",
)
CATEGORY_SYNONYMS = {
    "租赁收入": "发包及上交收入",
    "承包费": "发包及上交收入",
    "发包收入": "发包及上交收入",
    "分红": "投资收益",
    "经营性收入": "经营收入",
    "补助": "补助收入",
    "补贴": "补助收入",
}
PATH_SYNONYMS = {"光伏": "光伏发电", "流转": "土地流转", "农机服务": "有偿服务", "坑塘": "边角经济"}
#: The header synonyms the issue lists, per ledger field, exactly as a clerk writes them.
HEADER_SYNONYMS = {
    "village": ("村名", "村庄", "行政村", "村居", "单位"),
    "date": ("日期", "收入日期", "入账日期", "时间"),
    "amount": ("金额", "收入金额", "金额（元）", "金额（万元）", "收入（万元）"),
    "category": ("收入类别", "类别", "科目", "收入来源"),
    "path": ("增收路子", "增收途径", "路径", "项目类型"),
    "summary": ("摘要", "说明", "事由", "内容"),
    "counterparty": ("付款单位", "交款人", "对方单位"),
}
#: Summaries of the `formula_like_text` case: they must be stored exactly as this text.
FORMULA_TEXTS = ("=SUM(A1:A3) 手写", "-村委会代收", "@张三", "+补录")
#: Amount cells of the `amount_forms` case as written → the yuan they mean.
AMOUNT_FORMS = {
    "3,500.50": "3500.50",
    "１２０００": "12000",
    "￥2,400": "2400",
    "¥1,080.00": "1080",
    "6,800.00元": "6800",
    "1.2万": "12000",
    "0.35万元": "3500",
    "壹万伍仟元": "15000",
    "叁仟贰佰元伍角": "3200.50",
    "1,234,567.89": "1234567.89",
}
#: Date cells written as text (``{y}`` is the campaign year) → (month, day).
DATE_FORMS = {
    "{y}.3.18": (3, 18),
    "{y}/04/09": (4, 9),
    "{y}-4-11": (4, 11),
    "{y}年4月2日": (4, 2),
    "{y}年03月31日": (3, 31),
}

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BOMB_BYTES = 320 * 1024 * 1024  # uncompressed size of the zip bomb's sheet (> 300 MB however counted)
WHOLE_GRID = "A1:XFD1048576"
FIXED_ZIP_TIME = (2020, 4, 20, 8, 0, 0)
FIXED_DOC_TIME = "2020-04-20T08:00:00Z"
WAN = Decimal(10000)
FEN = Decimal("0.01")
EXCEL_EPOCH = dt.date(1899, 12, 30)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@dataclass(frozen=True)
class Entry:
    """One ledger row as the importer must store it."""

    village: str
    date: dt.date
    amount: Decimal
    category: str
    path: str
    summary: str
    counterparty: str = ""

    @property
    def key(self) -> tuple[str, dt.date, Decimal, str, str]:
        return (self.village, self.date, self.amount, self.category, self.summary)


def excel_serial(day: dt.date) -> int:
    """The Excel (1900 system) serial number of a date: 2020-03-18 → 43908."""
    return (day - EXCEL_EPOCH).days


def _number(value: Decimal) -> int | float:
    """A Decimal as the int or float a spreadsheet cell holds; the float's repr is the exact decimal."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise AssertionError(f"{value} is not exactly representable as a cell number")
    return number


def _wan(amount: Decimal) -> Decimal:
    """Yuan → the 万元 figure a clerk writes (exact: at most 6 decimals)."""
    return amount / WAN


def _sums(entries: Iterable[Entry]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for e in entries:
        totals[e.village] = totals.get(e.village, Decimal(0)) + e.amount
    return {village: f"{total.quantize(FEN)}" for village, total in sorted(totals.items())}


# ---------------------------------------------------------------------------------------------------
# Writing one table into a worksheet and recording what an importer must make of it


class _Table:
    """A ledger table in a worksheet. ``columns`` are (header as written, field); fields are the ledger's
    (village, date, amount, category, path, summary, counterparty) or ``seq``/``note`` for unrelated
    columns (序号, 备注)."""

    def __init__(
        self,
        ws: Worksheet,
        columns: list[tuple[str, str]],
        *,
        wan: bool = False,
        date_format: str = "yyyy-mm-dd",
    ) -> None:
        self.ws = ws
        self.columns = columns
        self.col = {f: i + 1 for i, (_, f) in enumerate(columns)}
        self.header_of = {f: h for h, f in columns}
        self.wan = wan
        self.date_format = date_format
        self.row = 0
        self.header_row = 0
        self.seq = 0
        self.entries: list[Entry] = []
        self.skipped = 0
        self.errors: list[tuple[int, str, str]] = []

    @property
    def width(self) -> int:
        return len(self.columns)

    def put(self, row: int, col: int, value: Any) -> None:
        if value is None:
            return
        cell = self.ws.cell(row=row, column=col)
        cell.value = value
        if isinstance(value, str) and value.startswith("="):
            # What Excel stores when a clerk types '=…: a string with the quote prefix, not a formula.
            cell.data_type = "s"
            cell.quotePrefix = True
        elif isinstance(value, dt.date):
            cell.number_format = self.date_format

    def _after_header(self, rows: int = 1) -> None:
        if self.header_row:
            self.skipped += rows

    # --- lines around the table

    def title(self, text: str) -> None:
        """A merged, centred title row over the table's width."""
        self.row += 1
        self.put(self.row, 1, text)
        self.ws.cell(row=self.row, column=1).font = Font(bold=True, size=16)
        self.ws.cell(row=self.row, column=1).alignment = Alignment(horizontal="center")
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.width)

    def line(self, *cells: tuple[int, Any], merge: bool = False) -> None:
        """A free line: (column, value) pairs; after the header it counts as a skipped row."""
        self.row += 1
        for col, value in cells:
            self.put(self.row, col, value)
        if merge:
            self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.width)
        self._after_header()

    def header(self) -> None:
        self.row += 1
        for i, (text, _) in enumerate(self.columns, start=1):
            self.put(self.row, i, text)
            self.ws.cell(row=self.row, column=i).font = Font(bold=True)
        self.header_row = self.row

    # --- table rows

    def cell_value(self, f: str, e: Entry) -> Any:
        if f == "village":
            return e.village
        if f == "date":
            return e.date
        if f == "amount":
            return _number(_wan(e.amount) if self.wan else e.amount)
        if f == "seq":
            return self.seq
        if f == "note":
            return None
        return getattr(e, f) or None

    def add(self, e: Entry, *, errors: dict[str, str] | None = None, **raw: Any) -> int:
        """A ledger row: each cell is the entry's value in its plain form unless ``raw`` says how the
        clerk wrote it. ``errors`` (field → reason keyword) makes it a bad row; its bad cells must be in
        ``raw``."""
        self.row += 1
        self.seq += 1
        for f in raw:
            if f not in self.col:
                raise AssertionError(f"no column for {f}")
        for f, col in self.col.items():
            self.put(self.row, col, raw[f] if f in raw else self.cell_value(f, e))
        if errors:
            for f, keyword in errors.items():
                if f not in raw:
                    raise AssertionError(f"bad cell {f} must be written raw")
                self.errors.append((self.row, self.header_of[f], keyword))
        else:
            self.entries.append(e)
        return self.row

    def blank(self, n: int = 1) -> None:
        self.row += n
        self._after_header(n)

    def total(
        self, label_field: str, label: str, entries: Iterable[Entry], *, formula: str | None = None
    ) -> None:
        """A 小计/合计/总计 row: the label in a text column and the sum in the amount column."""
        total = sum((e.amount for e in entries), Decimal(0))
        self.row += 1
        self.put(self.row, self.col[label_field], label)
        if "amount" in self.col:
            value = formula or _number(_wan(total) if self.wan else total)
            cell = self.ws.cell(row=self.row, column=self.col["amount"], value=value)
            cell.font = Font(bold=True)
        self._after_header()

    def amount_range(self, first: int, last: int) -> str:
        letter = get_column_letter(self.col["amount"])
        return f"{letter}{first}:{letter}{last}"

    def case(self, name: str, filename: str) -> Case:
        if self.errors:
            return Case(name, filename, ok=False, errors=tuple(self.errors))
        return Case(
            name, filename, ok=True, rows=len(self.entries), sums=_sums(self.entries), skipped=self.skipped
        )


# ---------------------------------------------------------------------------------------------------
# Zip helpers: deterministic bytes, rewriting entries


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _rezip(
    data: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    skip: Iterable[str] = (),
) -> bytes:
    """The zip ``data`` with entries replaced, added or skipped, all with a fixed timestamp."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in skip:
                continue
            content = replace.get(info.filename, src.read(info.filename))
            dst.writestr(_zip_info(info.filename), content)
        for name, content in (add or {}).items():
            dst.writestr(_zip_info(name), content)
    return out.getvalue()


def _workbook_bytes(wb: Workbook) -> bytes:
    """openpyxl's output made byte-for-byte reproducible (fixed zip and document timestamps)."""
    raw = io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as z:
        core = z.read("docProps/core.xml").decode()
    core = re.sub(
        r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{FIXED_DOC_TIME}\g<3>", core
    )
    return _rezip(raw.getvalue(), replace={"docProps/core.xml": core.encode()})


class _Raw(str):
    """Cell text written into the XML as is (for entity references)."""

    __slots__ = ()


def _xml_text(text: str) -> str:
    if isinstance(text, _Raw):
        return str(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _handmade_xlsx(
    rows: list[list[Any]],
    *,
    sheet_name: str = "Sheet1",
    sheet_doctype: str = "",
    sst_doctype: str = "",
) -> bytes:
    """A minimal workbook written by hand the way Excel writes it: strings in a shared-string table,
    dates as serial numbers styled with the built-in date format 14. A :class:`_Raw` string in a
    ``sheet_doctype`` workbook is written as an inline string, otherwise into the shared strings."""
    strings: list[str] = []
    index: dict[str, int] = {}
    sheet_rows = []
    last_col = 1
    for r, values in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values, start=1):
            if value is None:
                continue
            last_col = max(last_col, c)
            ref = f"{get_column_letter(c)}{r}"
            if isinstance(value, _Raw) and sheet_doctype:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            elif isinstance(value, str):
                if value not in index:
                    index[value] = len(strings)
                    strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{index[value]}</v></c>')
            elif isinstance(value, dt.date):
                cells.append(f'<c r="{ref}" s="1"><v>{excel_serial(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    dimension = f"A1:{get_column_letter(last_col)}{len(rows)}"
    sheet = (
        f"{decl}{sheet_doctype}"
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><dimension ref="{dimension}"/>'
        f"<sheetData>{''.join(sheet_rows)}</sheetData></worksheet>"
    )
    sst = (
        f'{decl}{sst_doctype}<sst xmlns="{NS_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{_xml_text(s)}</t></si>" for s in strings)
        + "</sst>"
    )
    styles = (
        f'{decl}<styleSheet xmlns="{NS_MAIN}">'
        '<fonts count="1"><font><sz val="11"/><name val="宋体"/><charset val="134"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )
    workbook = (
        f'{decl}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
        f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    workbook_rels = (
        f'{decl}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>'
    )
    root_rels = (
        f'{decl}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    content_types = (
        f'{decl}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", root_rels),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", sst),
            ("xl/styles.xml", styles),
        ):
            z.writestr(_zip_info(name), text.encode())
    return out.getvalue()


def _billion_laughs(root: str) -> str:
    lines = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        previous = "lol" if i == 1 else f"lol{i - 1}"
        lines.append(f'<!ENTITY lol{i} "{f"&{previous};" * 10}">')
    return f"<!DOCTYPE {root} [\n " + "\n ".join(lines) + "\n]>\n"


# ---------------------------------------------------------------------------------------------------
# The corpus


class _Corpus:
    def __init__(self, directory: Path, year: int) -> None:
        self.dir = directory
        self.year = year
        self.cases: list[Case] = []

    @property
    def title_text(self) -> str:
        return f"相衙镇村级集体经济增收工作台账（{self.year}年）"

    def day(self, month: int, day: int) -> dt.date:
        return dt.date(self.year, month, day)

    def e(
        self,
        village: str,
        month: int,
        day: int,
        amount: str,
        category: str,
        path: str,
        summary: str,
        counterparty: str = "",
    ) -> Entry:
        return Entry(
            village,
            self.day(month, day),
            Decimal(amount).quantize(FEN),
            category,
            path,
            summary,
            counterparty,
        )

    def write(self, filename: str, data: bytes) -> None:
        (self.dir / filename).write_bytes(data)

    def table_case(self, name: str, wb: Workbook, table: _Table, filename: str | None = None) -> None:
        filename = filename or f"{name}.xlsx"
        self.write(filename, _workbook_bytes(wb))
        self.cases.append(table.case(name, filename))

    def refused(self, name: str, filename: str, data: bytes, keyword: str) -> None:
        self.write(filename, data)
        self.cases.append(Case(name, filename, ok=False, refusal=keyword))


def _sheet(title: str = "台账") -> tuple[Workbook, Worksheet]:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    return wb, ws


COLS_TEMPLATE = [
    ("村名", "village"),
    ("收入日期", "date"),
    ("金额（元）", "amount"),
    ("收入类别", "category"),
    ("增收路子", "path"),
    ("摘要", "summary"),
    ("付款单位", "counterparty"),
]

INSTRUCTIONS = [
    ("填表说明",),
    ("一、本表登记村级集体经济每一笔增收收入，一笔收入填写一行，不得合并填写。",),
    ("栏目", "填写说明"),
    ("村名", "填写行政村全称，如“孙庄村”。"),
    ("日期", "填写收入入账日期，如 2020-03-18。"),
    ("金额", "单位为元，精确到分；不得填写“约”“左右”等估计数。"),
    ("收入类别", "经营收入、发包及上交收入、投资收益、补助收入、其他收入。"),
    (
        "增收路子",
        "土地流转、现代农业、光伏发电、扶贫项目收益、合作社、有偿服务、招商引资、边角经济、电商、其他。",
    ),
    ("二、小计、合计行由系统自动汇总，无需填写。",),
    ("三、表格由村报计账员填报，管区书记审核后报镇党建办。",),
]


def _instructions(ws: Worksheet) -> None:
    for values in INSTRUCTIONS:
        ws.append(list(values))


# --- good cases ------------------------------------------------------------------------------------


def _clean_template(c: _Corpus) -> None:
    wb, ws = _sheet("台账")
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    for e in [
        c.e("孙庄村", 1, 15, "12000", "经营收入", "现代农业", "大棚蔬菜销售收入", "宁津县蔬菜批发市场"),
        c.e(
            "孙庄村",
            3,
            18,
            "3500.50",
            "发包及上交收入",
            "土地流转",
            "村北120亩土地流转租金",
            "宁津县丰润农业合作社",
        ),
        c.e("刘道村", 2, 20, "8000", "投资收益", "光伏发电", "村集体光伏电站发电收益", "国网宁津县供电公司"),
        c.e("刘道村", 5, 6, "2750.35", "经营收入", "有偿服务", "农机作业服务费", "刘道村种植户"),
        c.e("杨老头村", 3, 2, "15000", "发包及上交收入", "边角经济", "村西坑塘承包费", "杨某某"),
        c.e("杨老头村", 6, 30, "980.60", "其他收入", "其他", "废旧物资处置收入", "宁津县再生资源公司"),
        c.e("编席杨村", 4, 12, "20000", "投资收益", "扶贫项目收益", "扶贫车间租金收益", "宁津县编织有限公司"),
        c.e("编席杨村", 7, 1, "5600", "经营收入", "电商", "柳编制品网店销售", "网店客户"),
        c.e("孙庄村", 8, 8, "4300", "经营收入", "合作社", "合作社代购农资服务收入", "孙庄村种植户"),
        c.e(
            "刘道村", 9, 9, "50000", "发包及上交收入", "招商引资", "招商引资项目厂房租金", "宁津县恒达机械厂"
        ),
    ]:
        t.add(e)
    _instructions(wb.create_sheet("填表说明"))
    c.table_case("clean_template", wb, t)


def _merged_title_unit_yuan(c: _Corpus) -> None:
    wb, ws = _sheet("Sheet1")
    t = _Table(
        ws,
        [
            ("序号", "seq"),
            ("村庄", "village"),
            ("日期", "date"),
            ("类别", "category"),
            ("增收途径", "path"),
            ("金额", "amount"),
            ("说明", "summary"),
            ("交款人", "counterparty"),
        ],
    )
    y = c.year
    t.title(c.title_text)
    t.line((1, "填报单位：相衙镇党建办"))
    t.line((8, "单位：元"))
    t.header()
    t.add(
        c.e("孙庄村", 3, 18, "3500.50", "发包及上交收入", "土地流转", "春季土地流转租金（第一批）", "王建国"),
        amount="3,500.50",
        date=f"{y}.3.18",
    )
    t.add(
        c.e("孙庄村", 4, 9, "2400", "经营收入", "有偿服务", "村集体保洁服务费", "相衙镇环卫所"),
        amount="￥2,400",
        date=f"{y}/04/09",
    )
    t.add(
        c.e("刘道村", 4, 11, "6800", "投资收益", "合作社", "富民合作社年度收益", "刘道村富民合作社"),
        amount="6,800.00元",
        date=f"{y}-4-11",
    )
    t.add(
        c.e("刘道村", 4, 2, "12000", "发包及上交收入", "招商引资", "闲置厂房租金", "宁津县金属制品厂"),
        amount="１２０００",
        date=f"{y}年4月2日",
    )
    t.add(
        c.e("杨老头村", 3, 31, "12000", "经营收入", "现代农业", "育苗大棚销售收入", "德州种苗公司"),
        date=f"{y}年03月31日",
    )
    t.add(c.e("编席杨村", 5, 20, "4500.80", "经营收入", "电商", "柳编工艺品线上销售", "网店平台结算"))
    c.table_case("merged_title_unit_yuan", wb, t)


def _unit_line_wan(c: _Corpus) -> None:
    wb, ws = _sheet("台账")
    t = _Table(
        ws,
        [
            ("行政村", "village"),
            ("入账日期", "date"),
            ("收入金额", "amount"),
            ("科目", "category"),
            ("路径", "path"),
            ("事由", "summary"),
            ("对方单位", "counterparty"),
        ],
        wan=True,
        date_format='yyyy"年"m"月"d"日"',
    )
    t.title(c.title_text)
    t.line((1, "填报单位：相衙镇党建办"), (7, "单位：万元"))
    t.header()
    for e in [
        c.e("孙庄村", 2, 3, "12000", "发包及上交收入", "土地流转", "南洼地流转租金", "宁津县德丰农业公司"),
        c.e("孙庄村", 2, 17, "3500", "经营收入", "有偿服务", "农机服务收费", "本村农户"),
        c.e("刘道村", 3, 5, "3512", "经营收入", "现代农业", "食用菌销售收入", "德州市农贸市场"),
        c.e("刘道村", 3, 27, "25678.50", "投资收益", "光伏发电", "光伏电站一季度收益", "国网宁津县供电公司"),
        c.e("杨老头村", 4, 8, "1234.56", "其他收入", "其他", "集体林木残值处置", "宁津县木材加工厂"),
        c.e(
            "杨老头村", 4, 28, "30000", "发包及上交收入", "招商引资", "招商引资项目土地租金", "山东某食品公司"
        ),
        c.e("编席杨村", 5, 9, "800", "经营收入", "边角经济", "闲散地种植收入", "本村农户"),
    ]:
        t.add(e)
    # a 万元 figure typed as text
    t.add(
        c.e("编席杨村", 5, 25, "6000", "经营收入", "合作社", "编织合作社加工费", "编席杨村编织合作社"),
        amount="0.6",
    )
    c.table_case("unit_line_wan", wb, t)


def _header_wan_amount(c: _Corpus) -> None:
    wb, ws = _sheet("台账")
    t = _Table(
        ws,
        [
            ("村居", "village"),
            ("时间", "date"),
            ("金额（万元）", "amount"),
            ("收入来源", "category"),
            ("项目类型", "path"),
            ("内容", "summary"),
        ],
        wan=True,
    )
    t.line((1, f"{c.year}年村集体经济收入明细"))
    t.header()
    for e in [
        c.e("孙庄村", 6, 3, "18000", "发包及上交收入", "土地流转", "夏季土地流转租金"),
        c.e("刘道村", 6, 12, "2345.67", "经营收入", "有偿服务", "红白理事会场地服务费"),
        c.e("杨老头村", 6, 21, "9500", "投资收益", "扶贫项目收益", "扶贫资产收益分配"),
        c.e("编席杨村", 7, 2, "40000", "发包及上交收入", "招商引资", "编织厂用地租金"),
        c.e("编席杨村", 7, 15, "760.05", "其他收入", "其他", "集体资产转让余款"),
    ]:
        t.add(e, date=excel_serial(e.date))  # serial numbers written as plain numbers
    c.table_case("header_wan_amount", wb, t)


def _header_income_wan(c: _Corpus) -> None:
    wb, ws = _sheet("收入台账")
    t = _Table(
        ws,
        [
            ("单位", "village"),
            ("收入日期", "date"),
            ("收入（万元）", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
            ("付款单位", "counterparty"),
        ],
        wan=True,
    )
    t.line((1, "填报单位：相衙镇党建办"))
    t.header()
    for e in [
        c.e(
            "孙庄村", 8, 1, "26000", "发包及上交收入", "土地流转", "秋季土地流转租金", "宁津县丰润农业合作社"
        ),
        c.e("刘道村", 8, 14, "1500", "经营收入", "电商", "农产品直播带货佣金", "宁津县电商服务中心"),
        c.e("杨老头村", 8, 19, "7300.40", "经营收入", "现代农业", "葡萄采摘园门票收入", "游客"),
        c.e("编席杨村", 9, 2, "11000", "投资收益", "合作社", "入股合作社收益", "宁津县柳编合作社"),
    ]:
        t.add(e)
    c.table_case("header_income_wan", wb, t)


def _unit_line_and_header_wan(c: _Corpus) -> None:
    """Both the unit line and the header say 万元: multiply by 10000 once, not twice."""
    wb, ws = _sheet("台账")
    t = _Table(
        ws,
        [
            ("村名", "village"),
            ("日期", "date"),
            ("金额（万元）", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
        ],
        wan=True,
    )
    t.title(c.title_text)
    t.line((6, "单位：万元"))
    t.header()
    for e in [
        c.e("孙庄村", 10, 10, "21000", "发包及上交收入", "土地流转", "四季度土地流转租金"),
        c.e("杨老头村", 10, 20, "5200", "经营收入", "有偿服务", "秸秆打捆服务收入"),
        c.e("编席杨村", 10, 30, "880.08", "其他收入", "其他", "旧村委会房屋出租押金转收入"),
    ]:
        t.add(e)
    c.table_case("unit_line_and_header_wan", wb, t)


def _instructions_first_sheet(c: _Corpus) -> None:
    wb, first = _sheet("填表说明")
    _instructions(first)
    ws = wb.create_sheet(f"{c.year}年台账")
    t = _Table(
        ws,
        [
            ("序号", "seq"),
            ("村名", "village"),
            ("日期", "date"),
            ("金额（元）", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
            ("付款单位", "counterparty"),
            ("备注", "note"),
        ],
    )
    t.title(c.title_text)
    t.header()
    t.add(
        c.e("孙庄村", 1, 8, "6600", "经营收入", "现代农业", "冬暖式大棚租赁经营收入", "孙庄村种植大户"),
        note="已入账",
    )
    t.add(c.e("刘道村", 1, 20, "3000", "发包及上交收入", "边角经济", "路边闲散地承包费", "刘某"))
    t.add(
        c.e("杨老头村", 2, 11, "4200.75", "经营收入", "有偿服务", "村级劳务服务队收入", "宁津县建筑公司"),
        note="见收据",
    )
    t.add(
        c.e("编席杨村", 2, 26, "9000", "投资收益", "光伏发电", "屋顶光伏收益", "国网宁津县供电公司"),
        note="村务公开已公示",
    )
    c.table_case("instructions_first_sheet", wb, t)


def _village_name_forms(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    t.add(
        c.e("孙庄村", 3, 3, "1800", "经营收入", "有偿服务", "村集体农机出租收入", "孙庄村农户"),
        village=" 孙庄 ",
    )
    t.add(c.e("刘道村", 3, 4, "2600", "经营收入", "现代农业", "蔬菜育苗销售", "刘道村农户"), village="刘道")
    t.add(
        c.e("杨老头村", 3, 5, "3300", "其他收入", "其他", "集体房屋出租收入", "杨老头村小卖部"),
        village="杨老头村",
    )
    t.add(
        c.e("编席杨村", 3, 6, "4100", "经营收入", "电商", "柳编网店三月销售", "网店平台结算"),
        village="编席杨",
    )
    t.add(
        c.e("孙庄村", 3, 7, "900", "其他收入", "其他", "集体树木修剪枝条处置", "孙庄村农户"),
        village="孙庄村 ",
    )
    t.add(
        c.e("刘道村", 3, 8, "1250.20", "经营收入", "合作社", "合作社代销化肥服务费", "刘道村农户"),
        village=" 刘道村",
    )
    c.table_case("village_name_forms", wb, t)


def _village_fullwidth_space(c: _Corpus) -> None:
    # Accept: NFKC turns the ideographic space U+3000 into a plain space, and no village name contains
    # whitespace, so removing all of it cannot make one village name into another ("编席杨　村" is
    # 编席杨村). Kept in its own case so that the importer's choice is visible in one place.
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    t.add(
        c.e("编席杨村", 11, 3, "2100", "经营收入", "电商", "十一月网店销售回款", "网店平台结算"),
        village="编席杨　村",
    )
    t.add(
        c.e("孙庄村", 11, 4, "3900", "发包及上交收入", "土地流转", "补交土地流转租金", "孙庄村承包户"),
        village="　孙庄村",
    )
    t.add(
        c.e("刘道村", 11, 5, "1200", "经营收入", "有偿服务", "村级保洁服务收入", "相衙镇环卫所"),
        village="刘道　",
    )
    c.table_case("village_fullwidth_space", wb, t)


def _amount_forms(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("村名", "village"),
            ("日期", "date"),
            ("金额", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
        ],
    )
    t.header()
    t.add(c.e("孙庄村", 5, 1, "16000", "发包及上交收入", "土地流转", "五月土地流转租金（整数单元格）"))
    t.add(c.e("孙庄村", 5, 2, "3500.50", "经营收入", "有偿服务", "五月农机服务费（小数单元格）"))
    t.add(c.e("刘道村", 5, 3, "2750.35", "经营收入", "现代农业", "五月蔬菜销售（两位小数单元格）"))
    villages = [v for v in VILLAGES for _ in range(3)]
    for i, (written, yuan) in enumerate(AMOUNT_FORMS.items()):
        village = villages[i % len(villages)]
        t.add(
            c.e(village, 5, 4 + i, yuan, "经营收入", "边角经济", f"五月边角经济收入（写作{written}）"),
            amount=written,
        )
    c.table_case("amount_forms", wb, t)


def _date_forms(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("村名", "village"),
            ("日期", "date"),
            ("金额（元）", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
            ("付款单位", "counterparty"),
        ],
        date_format="yyyy/m/d",
    )
    t.header()
    y = c.year
    leap = 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    t.add(c.e("孙庄村", 1, 1, "1001", "经营收入", "现代农业", "元旦蔬菜礼盒销售（日期单元格）", "孙庄村超市"))
    t.add(
        c.e(
            "孙庄村", 1, 2, "1002", "经营收入", "现代农业", "蔬菜礼盒销售（带时间的日期单元格）", "孙庄村超市"
        ),
        date=dt.datetime(y, 1, 2, 0, 0, 0),
    )
    t.add(
        c.e("刘道村", 3, 18, "1003", "经营收入", "有偿服务", "农机服务费（序列号日期）", "刘道村农户"),
        date=excel_serial(c.day(3, 18)),
    )
    t.add(
        c.e(
            "刘道村", 2, leap, "1004", "经营收入", "有偿服务", "二月末农机服务费（序列号日期）", "刘道村农户"
        ),
        date=excel_serial(c.day(2, leap)),
    )
    villages = ["杨老头村", "编席杨村", "杨老头村", "编席杨村", "孙庄村"]
    for i, (form, (month, day)) in enumerate(DATE_FORMS.items()):
        written = form.format(y=y)
        t.add(
            c.e(
                villages[i],
                month,
                day,
                f"{1100 + i}",
                "其他收入",
                "其他",
                f"集体资产出租收入（日期写作{written}）",
                "承租户",
            ),
            date=written,
        )
    t.add(
        c.e("编席杨村", 12, 31, "1200", "经营收入", "电商", "年末网店结算（文本日期）", "网店平台结算"),
        date=f"{y}-12-31",
    )
    c.table_case("date_forms", wb, t)
    # A date cell in a Chinese custom number format, on its own sheet so the yyyy/m/d format above stays.
    wb2, ws2 = _sheet()
    t2 = _Table(ws2, COLS_TEMPLATE, date_format='yyyy"年"m"月"d"日";@')
    t2.header()
    t2.add(
        c.e(
            "杨老头村",
            6,
            6,
            "1300",
            "经营收入",
            "现代农业",
            "西瓜销售收入（中文格式日期单元格）",
            "德州果品市场",
        )
    )
    t2.add(
        c.e(
            "孙庄村",
            6,
            7,
            "1301",
            "经营收入",
            "现代农业",
            "甜瓜销售收入（中文格式日期单元格）",
            "德州果品市场",
        )
    )
    c.table_case("date_cells_chinese_format", wb2, t2)


def _skip_rows(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.title(c.title_text)
    t.line((7, "单位：元"))
    t.header()
    sun = [
        c.e("孙庄村", 1, 10, "5000", "发包及上交收入", "土地流转", "上年度结转土地租金", "孙庄村承包户"),
        c.e("孙庄村", 2, 10, "2300.40", "经营收入", "现代农业", "韭菜销售收入", "宁津县蔬菜批发市场"),
        c.e("孙庄村", 3, 10, "1700", "其他收入", "其他", "村集体废旧物品变卖", "废品回收站"),
    ]
    liu = [
        c.e("刘道村", 1, 11, "8800", "投资收益", "光伏发电", "光伏电站上年度结算", "国网宁津县供电公司"),
        c.e("刘道村", 2, 11, "600.06", "经营收入", "有偿服务", "村级浴池服务收入", "刘道村村民"),
    ]
    yang = [
        c.e("杨老头村", 1, 12, "12500", "发包及上交收入", "边角经济", "坑塘养鱼承包费", "杨某"),
        c.e("杨老头村", 3, 12, "3000", "补助收入", "扶贫项目收益", "扶贫项目运营补助", "相衙镇财政所"),
    ]
    bian = [
        c.e("编席杨村", 2, 12, "9999.99", "经营收入", "电商", "柳编网店春节销售", "网店平台结算"),
        c.e("编席杨村", 3, 13, "4500", "经营收入", "合作社", "编织合作社加工费收入", "编席杨村编织合作社"),
    ]
    for e in sun:
        t.add(e)
    t.total("village", "小计", sun)
    for e in liu:
        t.add(e)
    t.total("summary", "小计", liu)
    t.blank()
    for e in yang:
        t.add(e)
    t.total("village", "杨老头村小计", yang)
    t.blank(2)
    for e in bian:
        t.add(e)
    t.total("summary", "编席杨村 小计", bian)
    everything = sun + liu + yang + bian
    t.total("village", "合计", everything)
    t.total("village", "总计", everything)
    t.blank()
    t.line((1, "制表人：张三　审核人：李四"), merge=True)
    t.line((1, f"填报日期：{c.year}年4月20日"))
    c.table_case("skip_rows", wb, t)


def _total_row_formula(c: _Corpus) -> None:
    """Subtotal and total rows holding =SUM formulas (no cached value, as a script writes them)."""
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    first = t.row + 1
    sun = [
        c.e("孙庄村", 9, 1, "2200", "经营收入", "有偿服务", "九月农机服务费", "孙庄村农户"),
        c.e("孙庄村", 9, 2, "3300.30", "发包及上交收入", "土地流转", "九月补交土地租金", "孙庄村承包户"),
    ]
    for e in sun:
        t.add(e)
    t.total("village", "小计", sun, formula=f"=SUM({t.amount_range(first, t.row)})")
    second = t.row + 1
    liu = [c.e("刘道村", 9, 3, "4400", "投资收益", "合作社", "合作社九月收益", "刘道村富民合作社")]
    for e in liu:
        t.add(e)
    t.total("village", "小计", liu, formula=f"=SUM({t.amount_range(second, t.row)})")
    t.total("village", "合计", sun + liu, formula=f"=SUM({t.amount_range(first, t.row)})/2")
    c.table_case("total_row_formula", wb, t)


def _formula_like_text(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    t.add(c.e("孙庄村", 7, 7, "1500", "经营收入", "有偿服务", "七月农机服务费", "孙庄村农户"))
    villages = ["刘道村", "杨老头村", "编席杨村", "孙庄村"]
    for i, text in enumerate(FORMULA_TEXTS):
        t.add(c.e(villages[i], 7, 8 + i, f"{2000 + 100 * i}", "其他收入", "其他", text, "村民"))
    t.add(
        c.e("刘道村", 7, 20, "2500", "经营收入", "现代农业", "七月瓜菜销售", "德州果品市场"),
        counterparty="@德州果品市场",
    )
    c.table_case("formula_like_text", wb, t)


def _synonyms_category_path(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    rows = [
        ("孙庄村", "租赁收入", "流转", "村东土地租赁收入"),
        ("孙庄村", "承包费", "坑塘", "村南坑塘承包费"),
        ("刘道村", "发包收入", "流转", "机动地发包收入"),
        ("刘道村", "分红", "光伏", "光伏项目分红"),
        ("杨老头村", "经营性收入", "农机服务", "农机服务队经营性收入"),
        ("杨老头村", "补助", "其他", "村级组织运转补助"),
        ("编席杨村", "补贴", "现代农业", "高标准农田建设补贴"),
        ("编席杨村", "补助收入", "扶贫项目收益", "扶贫项目运营补助收入"),
    ]
    for i, (village, category, path, summary) in enumerate(rows):
        canonical_category = CATEGORY_SYNONYMS.get(category, category)
        canonical_path = PATH_SYNONYMS.get(path, path)
        e = c.e(village, 8, 3 + i, f"{3000 + 250 * i}", canonical_category, canonical_path, summary, "付款方")
        t.add(e, category=category, path=path)
    c.table_case("synonyms_category_path", wb, t)


def _columns_reordered(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("序号", "seq"),
            ("摘要", "summary"),
            ("金额（元）", "amount"),
            ("村名", "village"),
            ("增收路子", "path"),
            ("日期", "date"),
            ("收入类别", "category"),
            ("付款单位", "counterparty"),
            ("备注", "note"),
        ],
    )
    t.header()
    t.add(
        c.e("编席杨村", 9, 10, "7100", "经营收入", "电商", "中秋柳编礼品销售", "网店平台结算"), note="已入账"
    )
    t.add(c.e("杨老头村", 9, 11, "2200.22", "其他收入", "其他", "村集体闲置物资出售", "宁津县再生资源公司"))
    t.add(
        c.e("刘道村", 9, 12, "13000", "发包及上交收入", "土地流转", "秋季机动地租金", "刘道村承包户"),
        note="见收据",
    )
    t.add(
        c.e("孙庄村", 9, 13, "5400", "投资收益", "合作社", "入股合作社收益", "孙庄村果蔬合作社"),
        note="村务公开已公示",
    )
    c.table_case("columns_reordered", wb, t)


def _header_spacing_parens(c: _Corpus) -> None:
    # Headers as clerks align them: spaces inside two-character headers, a line break from Alt+Enter,
    # ASCII parentheses. NFKC plus removing all whitespace makes each one a listed synonym.
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("村  名", "village"),
            ("收入\n日期", "date"),
            ("金额(元)", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            (" 摘  要 ", "summary"),
            ("付款单位", "counterparty"),
        ],
    )
    t.header()
    t.add(c.e("孙庄村", 10, 1, "3100", "经营收入", "现代农业", "国庆期间采摘收入", "游客"))
    t.add(c.e("杨老头村", 10, 2, "2900", "经营收入", "现代农业", "葡萄园国庆采摘收入", "游客"))
    t.add(c.e("编席杨村", 10, 3, "1450.45", "经营收入", "电商", "国庆网店销售", "网店平台结算"))
    c.table_case("header_spacing_parens", wb, t)


def _merged_village_cells(c: _Corpus) -> None:
    # Beyond the list, but how many ledgers look: the village cell merged down over its rows.
    # Every row of a merged range belongs to the village written in its top cell.
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.title(c.title_text)
    t.header()
    blocks = [
        [
            c.e("孙庄村", 11, 10, "2600", "经营收入", "有偿服务", "冬季农机检修服务", "孙庄村农户"),
            c.e("孙庄村", 11, 11, "3700", "发包及上交收入", "土地流转", "冬小麦地流转租金", "孙庄村承包户"),
            c.e("孙庄村", 11, 12, "1100.10", "其他收入", "其他", "集体房屋维修押金转收入", "孙庄村村民"),
        ],
        [
            c.e("刘道村", 11, 13, "4800", "投资收益", "光伏发电", "光伏电站三季度收益", "国网宁津县供电公司"),
            c.e("刘道村", 11, 14, "950", "经营收入", "现代农业", "冬枣销售收入", "德州果品市场"),
        ],
    ]
    col = t.col["village"]
    for block in blocks:
        top = t.row + 1
        for i, e in enumerate(block):
            t.add(e, village=e.village if i == 0 else None)
        ws.merge_cells(start_row=top, start_column=col, end_row=t.row, end_column=col)
    t.add(c.e("编席杨村", 11, 15, "3050", "经营收入", "电商", "双十一网店销售", "网店平台结算"))
    t.total("village", "合计", t.entries)
    ws.merge_cells(start_row=t.row, start_column=col, end_row=t.row, end_column=col + 1)
    c.table_case("merged_village_cells", wb, t)


def _excel_style_shared_strings(c: _Corpus) -> None:
    """Written the way Excel writes (shared strings, styled date serials) — openpyxl writes inline strings."""
    header = ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"]
    entries = [
        c.e("孙庄村", 12, 1, "6000", "发包及上交收入", "土地流转", "十二月土地流转租金"),
        c.e("刘道村", 12, 2, "1999.99", "经营收入", "有偿服务", "十二月保洁服务费"),
        c.e("刘道村", 12, 3, "2400", "经营收入", "有偿服务", "十二月红白理事会服务费"),
        c.e("杨老头村", 12, 4, "7777.70", "投资收益", "扶贫项目收益", "扶贫资产年底收益"),
        c.e("编席杨村", 12, 5, "300", "其他收入", "其他", "十二月零星收入"),
    ]
    rows: list[list[Any]] = [header]
    rows += [[e.village, e.date, _number(e.amount), e.category, e.path, e.summary] for e in entries]
    name = "excel_style_shared_strings"
    c.write(f"{name}.xlsx", _handmade_xlsx(rows, sheet_name="台账"))
    c.cases.append(Case(name, f"{name}.xlsx", ok=True, rows=len(entries), sums=_sums(entries)))


def _large(c: _Corpus, count: int = 2000) -> None:
    rng = random.Random(20200418)
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("序号", "seq"),
            ("村名", "village"),
            ("日期", "date"),
            ("金额（元）", "amount"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
            ("付款单位", "counterparty"),
        ],
    )
    t.title(c.title_text)
    t.line((8, "单位：元"))
    t.header()
    payers = ["宁津县丰润农业合作社", "国网宁津县供电公司", "德州果品市场", "本村农户", "网店平台结算", ""]
    categories = ["经营收入"] * 4 + ["发包及上交收入"] * 3 + ["投资收益"] * 2 + ["补助收入", "其他收入"]
    first_day = dt.date(c.year, 1, 1)
    days = (dt.date(c.year, 12, 31) - first_day).days + 1
    for i in range(count):
        village = rng.choice(VILLAGES)
        date = first_day + dt.timedelta(days=rng.randrange(days))
        amount = Decimal(rng.randint(1_00, 50_000_00)) / 100
        path = rng.choice(PATHS)
        e = Entry(
            village,
            date,
            amount.quantize(FEN),
            rng.choice(categories),
            path,
            f"{path}收入 收据第{i + 1:05d}号",
            rng.choice(payers),
        )
        style = rng.random()
        if style < 0.08:
            t.add(e, amount=f"{e.amount:,.2f}")
        elif style < 0.14:
            t.add(e, date=f"{date.year}.{date.month}.{date.day}")
        else:
            t.add(e)
    t.total("village", "合计", t.entries)
    c.table_case(f"large_{count}", wb, t)


# --- bad-row cases ---------------------------------------------------------------------------------

COLS_A = COLS_TEMPLATE
COLS_B = [
    ("序号", "seq"),
    ("行政村", "village"),
    ("入账日期", "date"),
    ("收入金额", "amount"),
    ("科目", "category"),
    ("项目类型", "path"),
    ("事由", "summary"),
]
COLS_C = [
    ("村庄", "village"),
    ("日期", "date"),
    ("金额", "amount"),
    ("类别", "category"),
    ("增收途径", "path"),
    ("内容", "summary"),
    ("对方单位", "counterparty"),
]
COLS_WAN = [
    ("村名", "village"),
    ("日期", "date"),
    ("金额（万元）", "amount"),
    ("收入类别", "category"),
    ("增收路子", "path"),
    ("摘要", "summary"),
]


def _valid_rows(c: _Corpus, n: int, salt: int) -> list[Entry]:
    out = []
    for i in range(n):
        village = VILLAGES[(salt + i) % len(VILLAGES)]
        out.append(
            c.e(
                village,
                1 + (salt + i) % 12,
                1 + (3 * salt + 7 * i) % 28,
                f"{1000 + 37 * salt + 101 * i}.{(salt * 13 + i) % 100:02d}",
                CATEGORIES[(salt + i) % 3],
                PATHS[(salt + 2 * i) % len(PATHS)],
                f"正常收入第{i + 1}笔",
                "付款方",
            )
        )
    return out


def _one_bad(
    c: _Corpus,
    name: str,
    columns: list[tuple[str, str]],
    bad_field: str,
    written: Any,
    keyword: str,
    *,
    wan: bool = False,
) -> None:
    salt = len(c.cases)
    wb, ws = _sheet()
    t = _Table(ws, columns, wan=wan)
    t.title(c.title_text)
    t.header()
    before, after = _valid_rows(c, 2, salt), _valid_rows(c, 3, salt + 5)
    for e in before:
        t.add(e)
    template = c.e("孙庄村", 6, 15, "1888", "经营收入", "有偿服务", "有问题的一行", "付款方")
    t.add(template, errors={bad_field: keyword}, **{bad_field: written})
    for e in after:
        t.add(e)
    c.table_case(name, wb, t)


def _bad_cases(c: _Corpus) -> None:
    y = c.year
    _one_bad(c, "amount_three_decimals", COLS_A, "amount", "12.345", "金额")
    _one_bad(c, "amount_three_decimals_number", COLS_B, "amount", 12.345, "金额")
    _one_bad(c, "amount_nan", COLS_C, "amount", "NaN", "金额")
    _one_bad(c, "amount_infinity", COLS_A, "amount", "Infinity", "金额")
    _one_bad(c, "amount_exponent", COLS_B, "amount", "1e5", "金额")
    _one_bad(c, "amount_underscore", COLS_C, "amount", "1_000", "金额")
    _one_bad(c, "amount_vague", COLS_A, "amount", "约五千", "金额")
    _one_bad(c, "amount_zero", COLS_B, "amount", 0, "金额")
    _one_bad(c, "amount_negative", COLS_C, "amount", -500, "金额")
    _one_bad(c, "amount_wan_too_precise", COLS_WAN, "amount", 0.1234567, "金额", wan=True)
    _one_bad(c, "date_impossible", COLS_A, "date", f"{y}.13.40", "日期")
    _one_bad(c, "date_feb30", COLS_B, "date", f"{y}-02-30", "日期")
    _one_bad(c, "date_other_year", COLS_C, "date", dt.date(y - 1, 12, 28), "日期")
    _one_bad(c, "village_unknown", COLS_A, "village", "王家村", "村")
    _one_bad(c, "category_unknown", COLS_B, "category", "罚款收入", "类别")
    _one_bad(c, "path_unknown", COLS_C, "path", "炒股", "路子")
    _several_bad_rows(c)
    _missing_amount_column(c)


def _several_bad_rows(c: _Corpus) -> None:
    y = c.year
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("序号", "seq"),
            ("村名", "village"),
            ("入账日期", "date"),
            ("金额（元）", "amount"),
            ("科目", "category"),
            ("项目类型", "path"),
            ("摘要", "summary"),
        ],
    )
    t.title(c.title_text)
    t.line((7, "单位：元"))
    t.header()
    good = iter(_valid_rows(c, 6, 40))
    bad = c.e("孙庄村", 6, 16, "2222", "经营收入", "有偿服务", "有问题的一行")
    t.add(next(good))
    t.add(bad, errors={"amount": "金额"}, amount="约五千")
    t.add(next(good))
    t.add(bad, errors={"date": "日期"}, date=f"{y}-02-30")
    t.blank()
    t.add(next(good))
    t.add(bad, errors={"village": "村", "amount": "金额"}, village="王家村", amount="12.345")
    t.add(bad, errors={"category": "类别"}, category="罚款收入")
    t.add(next(good))
    t.add(bad, errors={"path": "路子"}, path="炒股")
    t.add(next(good))
    t.add(next(good))
    t.total("village", "合计", t.entries)
    c.table_case("several_bad_rows", wb, t)


def _missing_amount_column(c: _Corpus) -> None:
    wb, ws = _sheet()
    t = _Table(
        ws,
        [
            ("村名", "village"),
            ("日期", "date"),
            ("收入类别", "category"),
            ("增收路子", "path"),
            ("摘要", "summary"),
        ],
    )
    t.title(c.title_text)
    t.header()
    for e in _valid_rows(c, 4, 50):
        t.add(e)
    name = "missing_amount_column"
    c.refused(name, f"{name}.xlsx", _workbook_bytes(wb), "金额")


# --- hostile and whole-file cases ------------------------------------------------------------------


def _small_valid_workbook(c: _Corpus, salt: int) -> bytes:
    wb, ws = _sheet()
    t = _Table(ws, COLS_TEMPLATE)
    t.header()
    for e in _valid_rows(c, 3, salt):
        t.add(e)
    return _workbook_bytes(wb)


def _hostile_cases(c: _Corpus) -> None:
    rng = random.Random(1997)
    junk = bytes(rng.randrange(256) for _ in range(4096 - len(OLE2_MAGIC)))
    c.refused("xls_ole2", "old_ledger.xls", OLE2_MAGIC + junk, "xls")
    html = (
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head><body>'
        "<table><tr><td>村名</td><td>日期</td><td>金额</td><td>收入类别</td><td>增收路子</td><td>摘要</td></tr>"
        f"<tr><td>孙庄村</td><td>{c.year}-03-18</td><td>1000</td><td>经营收入</td><td>现代农业</td>"
        "<td>系统导出</td></tr></table></body></html>"
    )
    c.refused("html_as_xls", "system_export.xls", html.encode(), "xls")

    base = _small_valid_workbook(c, 60)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    assert PLAIN_MAIN in types
    types = types.replace(PLAIN_MAIN, MACRO_MAIN).replace(
        "<Default ",
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject" /><Default ',
        1,
    )
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        'Target="vbaProject.bin" Id="rId99" /></Relationships>',
    )
    vba = OLE2_MAGIC + b"\x00" * 24 + b'Attribute VB_Name = "ThisWorkbook"\r\nSub Auto_Open()\r\nEnd Sub\r\n'
    macro = _rezip(
        base,
        replace={"[Content_Types].xml": types.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
        add={"xl/vbaProject.bin": vba},
    )
    c.refused("xlsm_macro", "ledger_macro.xlsm", macro, "宏")
    c.refused("xlsm_renamed_xlsx", "xlsm_renamed_xlsx.xlsx", macro, "宏")

    _zip_bomb(c)

    header = ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"]
    rows: list[list[Any]] = [header] + [
        [e.village, e.date, _number(e.amount), e.category, e.path, e.summary] for e in _valid_rows(c, 3, 70)
    ]
    laughs_sheet = [*rows, ["孙庄村", c.day(6, 1), 1000, "经营收入", "其他", _Raw("&lol9;")]]
    c.refused(
        "xml_entities_sheet",
        "xml_entities_sheet.xlsx",
        _handmade_xlsx(laughs_sheet, sheet_doctype=_billion_laughs("worksheet")),
        "DOCTYPE",
    )
    c.refused(
        "xml_entities_shared_strings",
        "xml_entities_shared_strings.xlsx",
        _handmade_xlsx(laughs_sheet, sst_doctype=_billion_laughs("sst")),
        "DOCTYPE",
    )
    xxe_rows = [*rows, ["孙庄村", c.day(6, 2), 1000, "经营收入", "其他", _Raw("&xxe;")]]
    c.refused(
        "xxe_external_entity",
        "xxe_external_entity.xlsx",
        _handmade_xlsx(xxe_rows, sst_doctype='<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'),
        "DOCTYPE",
    )

    base = _small_valid_workbook(c, 80)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    sheet, n = re.subn(r'<dimension ref="[^"]*"', f'<dimension ref="{WHOLE_GRID}"', sheet)
    assert n == 1
    c.refused(
        "dimension_whole_grid",
        "dimension_whole_grid.xlsx",
        _rezip(base, replace={"xl/worksheets/sheet1.xml": sheet.encode()}),
        "行数",
    )

    text = f"村名,日期,金额,收入类别,增收路子,摘要\n孙庄村,{c.year}-03-18,1000,经营收入,现代农业,其实是CSV\n"
    c.refused("not_zip_text", "not_zip_text.xlsx", text.encode(), "xlsx")

    wb = openpyxl.Workbook()
    c.refused("empty_workbook", "empty_workbook.xlsx", _workbook_bytes(wb), "表头")
    wb, ws = _sheet("填表说明")
    _instructions(ws)
    c.refused("instructions_only", "instructions_only.xlsx", _workbook_bytes(wb), "表头")


def _zip_bomb(c: _Corpus) -> None:
    """A real ledger workbook whose sheet1.xml inflates to BOMB_BYTES of repeated rows (~1 MB on disk)."""
    base = _small_valid_workbook(c, 90)
    name = "zip_bomb.xlsx"
    sheet_name = "xl/worksheets/sheet1.xml"
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS_MAIN}"><sheetData>'
        '<row r="1">'
        + "".join(
            f'<c r="{get_column_letter(i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
            for i, (h, _) in enumerate(COLS_TEMPLATE, start=1)
        )
        + "</row>"
    ).encode()
    tail = b"</sheetData></worksheet>"
    unit = '<row><c t="inlineStr"><is><t>孙庄村</t></is></c><c><v>1</v></c></row>'.encode()
    chunk = unit * (1024 * 1024 // len(unit))
    with (
        zipfile.ZipFile(io.BytesIO(base)) as src,
        zipfile.ZipFile(c.dir / name, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != sheet_name:
                dst.writestr(_zip_info(info.filename), src.read(info.filename))
                continue
            with dst.open(_zip_info(sheet_name), "w") as out:
                out.write(head)
                written = len(head)
                while written < BOMB_BYTES - len(tail):
                    piece = chunk[: BOMB_BYTES - len(tail) - written]
                    out.write(piece)
                    written += len(piece)
                out.write(tail)
    c.cases.append(Case("zip_bomb", name, ok=False, refusal="解压"))


# ---------------------------------------------------------------------------------------------------

GOOD: list[Callable[[_Corpus], None]] = [
    _clean_template,
    _merged_title_unit_yuan,
    _unit_line_wan,
    _header_wan_amount,
    _header_income_wan,
    _unit_line_and_header_wan,
    _instructions_first_sheet,
    _village_name_forms,
    _village_fullwidth_space,
    _amount_forms,
    _date_forms,
    _skip_rows,
    _total_row_formula,
    _formula_like_text,
    _synonyms_category_path,
    _columns_reordered,
    _header_spacing_parens,
    _merged_village_cells,
    _excel_style_shared_strings,
    _large,
]


def build_corpus(directory: Path, year: int = 2020) -> list[Case]:
    """Write every workbook of the corpus into ``directory`` and return what each must import as."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    c = _Corpus(directory, year)
    for make in GOOD:
        make(c)
    _bad_cases(c)
    _hostile_cases(c)
    names = [case.name for case in c.cases]
    if len(set(names)) != len(names):
        raise AssertionError("case names must be unique")
    return c.cases


def kind(case: Case) -> str:
    if case.ok:
        return "good"
    return "bad rows" if case.errors else "refused"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: corpus.py DIRECTORY", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    cases = build_corpus(directory)
    print(f"{'case':32} {'kind':8} {'file':36} {'rows':>5} {'skip':>4}  expectation")
    for case in cases:
        if case.ok:
            what = ", ".join(f"{v} {s}" for v, s in case.sums.items())
        elif case.errors:
            what = "; ".join(f"row {r} {h!r} «{k}»" for r, h, k in case.errors)
        else:
            what = f"refused «{case.refusal}»"
        size = (directory / case.filename).stat().st_size
        print(
            f"{case.name:32} {kind(case):8} {case.filename:36} {case.rows:5} {case.skipped:4}  {what} [{size} B]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
