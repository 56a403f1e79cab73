"""Generator checks, not product tests: the corpus generator checked against itself (issue 3): every file it writes is read back with
openpyxl by a small reference reader written here, independently of how the generator rendered the
cells, and must mean exactly what its :class:`Case` says. These tests do not touch the importer."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree
import openpyxl
import pytest

from tests.excel.corpus import (
    AMOUNT_FORMS,
    BOMB_BYTES,
    CATEGORIES,
    CATEGORY_SYNONYMS,
    DATE_FORMS,
    FORMULA_TEXTS,
    HEADER_SYNONYMS,
    OLE2_MAGIC,
    PATH_SYNONYMS,
    PATHS,
    VILLAGES,
    WHOLE_GRID,
    Case,
    build_corpus,
    excel_serial,
)

YEAR = 2020
WAN = Decimal(10000)
FEN = Decimal("0.01")
KEYWORD = {"amount": "金额", "date": "日期", "village": "村", "category": "类别", "path": "路子"}
HOSTILE = {
    "xls_ole2": "xls",
    "html_as_xls": "xls",
    "xlsm_macro": "宏",
    "xlsm_renamed_xlsx": "宏",
    "zip_bomb": "解压",
    "xml_entities_sheet": "DOCTYPE",
    "xml_entities_shared_strings": "DOCTYPE",
    "xxe_external_entity": "DOCTYPE",
    "dimension_whole_grid": "行数",
    "not_zip_text": "xlsx",
    "empty_workbook": "表头",
    "instructions_only": "表头",
}

pytestmark = pytest.mark.generator_check


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case], float]:
    directory = tmp_path_factory.mktemp("corpus")
    start = time.perf_counter()
    cases = build_corpus(directory, year=YEAR)
    return directory, cases, time.perf_counter() - start


@pytest.fixture(scope="module")
def cases(built) -> dict[str, Case]:
    return {case.name: case for case in built[1]}


@pytest.fixture(scope="module")
def directory(built) -> Path:
    return built[0]


# ---------------------------------------------------------------------------------------------------
# A reference reader, as small as the rules allow


def norm(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


HEADERS = {norm(text): f for f, texts in HEADER_SYNONYMS.items() for text in texts}
CAPITAL_DIGITS = dict(zip("零壹贰叁肆伍陆柒捌玖", range(10), strict=True))
CAPITAL_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def capital(text: str) -> Decimal:
    m = re.fullmatch(
        r"([零壹贰叁肆伍陆柒捌玖拾佰仟万]+)元(?:整|正)?(?:零?([壹贰叁肆伍陆柒捌玖])角)?(?:零?([壹贰叁肆伍陆柒捌玖])分)?",
        text,
    )
    if not m:
        raise ValueError(text)
    total = section = digit = 0
    for ch in m[1]:
        if ch in CAPITAL_DIGITS:
            digit = CAPITAL_DIGITS[ch]
        elif ch in CAPITAL_SMALL:
            section += (digit or 1) * CAPITAL_SMALL[ch]
            digit = 0
        else:  # 万
            total += (section + digit) * 10000
            section = digit = 0
    jiao, fen = CAPITAL_DIGITS[m[2] or "零"], CAPITAL_DIGITS[m[3] or "零"]
    return Decimal(total + section + digit) + Decimal(jiao) / 10 + Decimal(fen) / 100


def parse_amount(value: Any, wan: bool) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(value)
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = norm(value).lstrip("¥")
        if re.search("[壹贰叁肆伍陆柒捌玖拾佰仟]", text):
            return checked(capital(text))
        for suffix, unit in (("万元", WAN), ("万", WAN), ("元", Decimal(1))):
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                if not re.fullmatch(r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", text):
                    raise ValueError(value)
                return checked(Decimal(text.replace(",", "")) * unit)
        if not re.fullmatch(r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", text):
            raise ValueError(value)
        amount = Decimal(text.replace(",", ""))
    else:
        raise ValueError(value)
    return checked(amount * WAN if wan else amount)


def checked(amount: Decimal) -> Decimal:
    if amount <= 0 or amount != amount.quantize(FEN):
        raise ValueError(amount)
    return amount.quantize(FEN)


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if value != int(value):
            raise ValueError(value)
        day = dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    elif isinstance(value, str):
        text = norm(value)
        m = re.fullmatch(r"(\d{4})([./-])(\d{1,2})\2(\d{1,2})", text) or re.fullmatch(
            r"(\d{4})(年)(\d{1,2})月(\d{1,2})日", text
        )
        if not m:
            raise ValueError(value)
        day = dt.date(int(m[1]), int(m[3]), int(m[4]))
    else:
        raise ValueError(value)
    if day.year != YEAR:
        raise ValueError(value)
    return day


def parse_village(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    name = norm(value)
    if not name.endswith("村"):
        name += "村"
    if name not in VILLAGES:
        raise ValueError(value)
    return name


def parse_choice(value: Any, names: tuple[str, ...], synonyms: dict[str, str]) -> str:
    text = norm(value) if isinstance(value, str) else ""
    if text in names:
        return text
    if text in synonyms:
        return synonyms[text]
    raise ValueError(value)


@dataclass
class Read:
    """A table found by the reference reader."""

    sheet_index: int
    header_row: int
    columns: dict[int, tuple[str, str]]  # 0-based column → (field, header as written)
    wan: bool
    above: list[str]  # texts above the header
    data: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # Excel row, raw cells by field
    raw_rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # every row below the header
    skipped: int = 0
    skip_texts: list[str] = field(default_factory=list)

    @property
    def fields(self) -> set[str]:
        return {f for f, _ in self.columns.values()}

    def header_of(self, f: str) -> str:
        return next(text for ff, text in self.columns.values() if ff == f)

    def parse(self, cells: dict[str, Any]) -> tuple[tuple | None, dict[str, str]]:
        """(key, errors by field) of one data row."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        parsers = {
            "village": parse_village,
            "date": parse_date,
            "amount": lambda v: parse_amount(v, self.wan),
            "category": lambda v: parse_choice(v, CATEGORIES, CATEGORY_SYNONYMS),
            "path": lambda v: parse_choice(v, PATHS, PATH_SYNONYMS),
        }
        for f, parse in parsers.items():
            try:
                values[f] = parse(cells.get(f))
            except ValueError:
                errors[f] = KEYWORD[f]
        summary = cells.get("summary")
        assert isinstance(summary, str) and summary.strip(), f"every row has a summary: {cells}"
        if errors:
            return None, errors
        return (values["village"], values["date"], values["amount"], values["category"], summary), {}


def grid(ws) -> list[list[Any]]:
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        top = ws.cell(row=merged.min_row, column=merged.min_col).value
        for r in range(merged.min_row, merged.max_row + 1):
            for col in range(merged.min_col, merged.max_col + 1):
                rows[r - 1][col - 1] = top
    return rows


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def read_table(path: Path) -> Read | None:
    wb = openpyxl.load_workbook(path)
    for index, ws in enumerate(wb.worksheets):
        rows = grid(ws)
        for r, row in enumerate(rows, start=1):
            columns = {
                i: (HEADERS[norm(v)], v)
                for i, v in enumerate(row)
                if isinstance(v, str) and norm(v) in HEADERS
            }
            if len({f for f, _ in columns.values()}) < 3:
                continue
            above = [v for line in rows[: r - 1] for v in line if isinstance(v, str)]
            amount_header = next((norm(t) for f, t in columns.values() if f == "amount"), "")
            wan = "万元" in amount_header or any("单位:万元" in norm(t) for t in above)
            read = Read(index, r, columns, wan, above)
            _rows_below(read, rows[r:], r)
            return read
    return None


def _rows_below(read: Read, rows: list[list[Any]], header_row: int) -> None:
    last = max((i for i, row in enumerate(rows) if not all(is_blank(v) for v in row)), default=-1)
    for i, row in enumerate(rows[: last + 1]):
        excel_row = header_row + 1 + i
        read.raw_rows.append((excel_row, row))
        texts = [norm(v) for v in row if isinstance(v, str) and norm(v)]
        first = next((v for v in row if not is_blank(v)), None)
        if first is None:
            read.skipped += 1
        elif any(word in t for t in texts for word in ("小计", "合计", "总计")) or (
            isinstance(first, str) and re.match(r"(制表人|审核人|填报日期)", norm(first))
        ):
            read.skipped += 1
            read.skip_texts.extend(texts)
        else:
            read.data.append((excel_row, {f: row[i] for i, (f, _) in read.columns.items() if i < len(row)}))


def sums_of(keys: list[tuple]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for village, _, amount, *_ in keys:
        totals[village] = totals.get(village, Decimal(0)) + amount
    return {v: f"{t.quantize(FEN)}" for v, t in totals.items()}


# ---------------------------------------------------------------------------------------------------


def test_generator_shape_of_the_corpus(built, cases, directory):
    _, listed, elapsed = built
    assert elapsed < 20, f"the corpus takes {elapsed:.1f} s to build"
    assert len(cases) == len(listed), "case names are unique"
    assert len({c.filename for c in listed}) == len(listed)
    for case in listed:
        assert (directory / case.filename).is_file(), case.filename
        if case.ok:
            assert case.rows > 0 and case.sums and not case.errors and case.refusal is None, case
            assert set(case.sums) <= set(VILLAGES)
            assert all(re.fullmatch(r"\d+\.\d\d", s) for s in case.sums.values()), case.sums
        else:
            assert case.rows == 0 and not case.sums and case.skipped == 0, case
            assert bool(case.errors) != bool(case.refusal), "a bad case has either row errors or a refusal"
    good = [c for c in listed if c.ok]
    bad = [c for c in listed if c.errors or c.refusal == "金额"]
    assert len(good) >= 12 and len(bad) >= 14
    assert sum(c.rows >= 2000 for c in good) == 1
    for name, keyword in HOSTILE.items():
        assert cases[name].refusal == keyword
    assert directory.joinpath(cases["xls_ole2"].filename).suffix == ".xls"
    assert directory.joinpath(cases["xlsm_macro"].filename).suffix == ".xlsm"


def test_generator_good_cases_mean_what_they_say(cases, directory):
    seen: dict[tuple, str] = {}
    for case in cases.values():
        if not case.ok:
            continue
        read = read_table(directory / case.filename)
        assert read is not None, f"{case.name}: no header found"
        assert {"village", "date", "amount", "category", "path", "summary"} <= read.fields, case.name
        keys = []
        for row, cells in read.data:
            key, errors = read.parse(cells)
            assert not errors, f"{case.name} row {row}: {errors} in {cells}"
            assert key is not None
            keys.append(key)
        assert len(keys) == case.rows, case.name
        assert sums_of(keys) == case.sums, case.name
        assert read.skipped == case.skipped, case.name
        for key in keys:
            assert key not in seen, f"{case.name}: {key} duplicates a row of {seen.get(key)}"
            seen[key] = case.name


def test_generator_bad_cases_have_exactly_the_listed_bad_cells(cases, directory):
    for case in cases.values():
        if not case.errors:
            continue
        read = read_table(directory / case.filename)
        assert read is not None, case.name
        found = []
        valid = 0
        for row, cells in read.data:
            _, errors = read.parse(cells)
            found += [(row, read.header_of(f), keyword) for f, keyword in errors.items()]
            valid += not errors
        assert sorted(found) == sorted(case.errors), case.name
        assert valid >= 3, f"{case.name}: the rest of the rows are valid ledger rows"
        for row, header, _ in case.errors:
            assert any(header == text for _, text in read.columns.values()), "header exactly as written"
            assert row > read.header_row


def test_generator_several_bad_rows_spans_columns(cases):
    case = cases["several_bad_rows"]
    assert {keyword for _, _, keyword in case.errors} == set(KEYWORD.values())
    assert len({row for row, _, _ in case.errors}) < len(case.errors), "one row has two bad cells"


def test_generator_missing_amount_column_is_a_table_without_amount(cases, directory):
    case = cases["missing_amount_column"]
    assert case.refusal == "金额" and not case.errors
    read = read_table(directory / case.filename)
    assert read is not None and "amount" not in read.fields and len(read.data) >= 3


def test_generator_every_listed_form_is_covered(cases, directory):
    headers: set[str] = set()
    cells: dict[str, list[Any]] = {}
    above: list[str] = []
    skip_texts: list[str] = []
    second_sheet = False
    extra_columns: set[str] = set()
    wan_cases = 0
    for case in cases.values():
        if not case.ok:
            continue
        read = read_table(directory / case.filename)
        assert read is not None
        headers |= {text for _, text in read.columns.values()}
        for _, row in read.data:
            for f, value in row.items():
                cells.setdefault(f, []).append(value)
        above += read.above
        skip_texts += read.skip_texts
        second_sheet |= read.sheet_index == 1
        wan_cases += read.wan
        wb = openpyxl.load_workbook(directory / case.filename, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                extra_columns |= {v for v in row if v in ("序号", "备注")}
        wb.close()
    assert {t for texts in HEADER_SYNONYMS.values() for t in texts} <= headers
    amounts = cells["amount"]
    assert set(AMOUNT_FORMS) <= {a for a in amounts if isinstance(a, str)}
    assert any(isinstance(a, int) for a in amounts) and 3500.5 in amounts
    dates = cells["date"]
    assert {form.format(y=YEAR) for form in DATE_FORMS} <= {d for d in dates if isinstance(d, str)}
    assert excel_serial(dt.date(2020, 3, 18)) == 43908
    assert any(isinstance(d, int) and d == excel_serial(dt.date(YEAR, 3, 18)) for d in dates)
    assert any(isinstance(d, dt.datetime) for d in dates)
    assert {" 孙庄 ", "刘道", "杨老头村"} <= set(cells["village"])
    assert set(CATEGORY_SYNONYMS) | {"补助收入"} <= set(cells["category"])
    assert set(PATH_SYNONYMS) <= set(cells["path"])
    assert set(FORMULA_TEXTS) <= set(cells["summary"])
    assert f"相衙镇村级集体经济增收工作台账（{YEAR}年）" in above
    assert {"填报单位：相衙镇党建办", "单位：元", "单位：万元"} <= set(above)
    for word in ("小计", "合计", "总计", "制表人:张三审核人:李四", f"填报日期:{YEAR}年4月20日"):
        assert any(word in t for t in skip_texts), word
    assert second_sheet and extra_columns == {"序号", "备注"}
    assert wan_cases >= 4


def test_generator_formula_like_text_is_stored_as_text(cases, directory):
    path = directory / cases["formula_like_text"].filename
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    wb = openpyxl.load_workbook(path)
    texts = {c.value: c for row in wb.worksheets[0].iter_rows() for c in row if isinstance(c.value, str)}
    for text in FORMULA_TEXTS:
        assert texts[text].data_type == "s", text
    assert texts["=SUM(A1:A3) 手写"].quotePrefix


def test_generator_total_rows_hold_formulas(cases, directory):
    path = directory / cases["total_row_formula"].filename
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<f>SUM(") == 3


def test_generator_zip_bomb_is_small_on_disk_and_huge_inflated(cases, directory):
    path = directory / cases["zip_bomb"].filename
    assert path.stat().st_size < 5 * 1024 * 1024
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == BOMB_BYTES > 300 * 1024 * 1024
        assert info.compress_size * 100 < info.file_size
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"} <= set(z.namelist())
        with z.open(info) as f:
            head = f.read(4096).decode(errors="replace")
    assert head.startswith("<?xml") and "<sheetData>" in head and "村名" in head


@pytest.mark.parametrize(
    ("name", "part", "reference"),
    [
        ("xml_entities_sheet", "xl/worksheets/sheet1.xml", "&lol9;"),
        ("xml_entities_shared_strings", "xl/sharedStrings.xml", "&lol9;"),
        ("xxe_external_entity", "xl/sharedStrings.xml", "&xxe;"),
    ],
)
def test_generator_entity_tricks(cases, directory, name, part, reference):
    path = directory / cases[name].filename
    with zipfile.ZipFile(path) as z:
        xml = z.read(part).decode()
        parts = {n: z.read(n) for n in z.namelist()}
    assert "<!DOCTYPE" in xml and "<!ENTITY" in xml and reference in xml
    with pytest.raises(defusedxml.DefusedXmlException):
        defusedxml.ElementTree.fromstring(xml)
    # Without the DOCTYPE it is an ordinary ledger workbook: the refusal can only be for the DOCTYPE.
    cleaned = re.sub(r"<!DOCTYPE.*?\]>\s*", "", xml, flags=re.S).replace(reference, "实")
    parts[part] = cleaned.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    fixed = directory / f"{name}.defused.xlsx"
    fixed.write_bytes(out.getvalue())
    try:
        read = read_table(fixed)
        assert read is not None and len(read.data) == 4
        assert all(not read.parse(cells)[1] for _, cells in read.data)
    finally:
        fixed.unlink()


def test_generator_dimension_claims_the_whole_grid_of_a_tiny_sheet(cases, directory):
    path = directory / cases["dimension_whole_grid"].filename
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert f'<dimension ref="{WHOLE_GRID}"' in sheet and WHOLE_GRID == "A1:XFD1048576"
    assert sheet.count("<row ") <= 10
    read = read_table(path)
    assert read is not None and len(read.data) == 3


@pytest.mark.parametrize("name", ["xlsm_macro", "xlsm_renamed_xlsx"])
def test_generator_macro_workbooks(cases, directory, name):
    path = directory / cases[name].filename
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin").startswith(OLE2_MAGIC)
        assert "macroEnabled.main+xml" in z.read("[Content_Types].xml").decode()
        assert "vbaProject.bin" in z.read("xl/_rels/workbook.xml.rels").decode()
    read = read_table(path)
    assert read is not None and len(read.data) == 3


def test_generator_not_xlsx_at_all(cases, directory):
    ole = (directory / cases["xls_ole2"].filename).read_bytes()
    assert ole.startswith(OLE2_MAGIC) and not zipfile.is_zipfile(directory / cases["xls_ole2"].filename)
    html = directory / cases["html_as_xls"].filename
    assert html.read_bytes().startswith(b"<html") and not zipfile.is_zipfile(html)
    text = directory / cases["not_zip_text"].filename
    assert text.suffix == ".xlsx" and not zipfile.is_zipfile(text)
    assert "村名" in text.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["empty_workbook", "instructions_only"])
def test_generator_workbooks_without_a_table(cases, directory, name):
    path = directory / cases[name].filename
    assert zipfile.is_zipfile(path)
    openpyxl.load_workbook(path)
    assert read_table(path) is None


def test_generator_large_case(cases):
    case = cases["large_2000"]
    assert case.rows == 2000 and set(case.sums) == set(VILLAGES) and case.skipped == 1
    assert any(not s.endswith(".00") for s in case.sums.values())


def test_generator_deterministic(directory, built, tmp_path):
    again = build_corpus(tmp_path, year=YEAR)
    assert again == built[1]
    for case in again:
        first = hashlib.sha256((directory / case.filename).read_bytes()).hexdigest()
        second = hashlib.sha256((tmp_path / case.filename).read_bytes()).hexdigest()
        assert first == second, case.filename


def test_generator_other_year(tmp_path):
    cases = {c.name: c for c in build_corpus(tmp_path, year=2021)}
    wb = openpyxl.load_workbook(tmp_path / cases["merged_title_unit_yuan"].filename)
    assert wb.worksheets[0]["A1"].value == "相衙镇村级集体经济增收工作台账（2021年）"
    assert cases["date_other_year"].errors == ((5, "日期", "日期"),)
