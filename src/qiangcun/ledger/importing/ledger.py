"""Read a ledger workbook as clerks really write it: find the table, map the columns, parse every
row, and either return every row parsed or every error with its Excel row, column and reason."""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from qiangcun.core.cells import (
    CellError,
    NameMatcher,
    is_blank,
    parse_amount_cell,
    parse_date_cell,
)
from qiangcun.core.excel import (
    FieldColumn,
    RowError,
    Table,
    WorkbookRefused,
    WorkbookValues,
    find_table,
    is_total_row,
    normalize_text,
    read_xlsx,
)
from qiangcun.core.text import text_problem
from qiangcun.ledger.importing.names import CATEGORY_SYNONYMS, PATH_SYNONYMS
from qiangcun.ledger.models import Category, DevelopmentPath
from qiangcun.orgs.importing import VillageMatcher
from qiangcun.orgs.models import OrgUnit

FIELDS = {
    "village": ["村名", "村庄", "行政村", "村居", "单位", "村", "村名称", "村庄名称"],
    "date": ["日期", "收入日期", "入账日期", "时间", "收款日期", "到账日期"],
    "amount": ["金额", "收入金额", "收入", "收入额", "金额元"],
    "category": ["收入类别", "类别", "科目", "收入来源", "收入类型", "会计科目"],
    "path": ["增收路子", "增收途径", "路径", "项目类型", "增收路径", "发展路径"],
    "summary": ["摘要", "说明", "事由", "内容", "摘要说明", "收入内容"],
    "counterparty": ["付款单位", "交款人", "对方单位", "付款人", "交款单位"],
    "shares": ["分年计入目标", "分年计入", "分年确认", "各年计入目标"],
}
REQUIRED = ["village", "date", "amount", "category", "path"]
LABELS = {
    "village": "村名",
    "date": "日期",
    "amount": "金额",
    "category": "收入类别",
    "path": "增收路子",
    "summary": "摘要",
    "counterparty": "付款单位",
    "shares": "分年计入目标",
}
SIGNATURE_WORDS = ("制表", "审核人", "填报人", "填报日期", "负责人", "签字", "盖章", "经办人", "记账")


@dataclass(frozen=True)
class ParsedRow:
    row: int
    village: OrgUnit
    date: datetime.date
    amount: Decimal
    category: Category
    path: DevelopmentPath
    summary: str
    counterparty: str
    #: A lump sum spread over its years (``ledger.spread``): (year, that year's part), as the ledger's
    #: export writes them in 分年计入目标; empty when all of it counts on its own date.
    shares: tuple[tuple[int, Decimal], ...] = ()


@dataclass
class ParsedFile:
    name: str
    sha256: str
    table: Table | None = None
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_SIGNATURE_RE = re.compile(r"^\s*(" + "|".join(r"\s*".join(word) for word in SIGNATURE_WORDS) + ")")


def _skip(cells: list[Any], *, village: int, date: int) -> bool:
    """Blank rows, subtotal/total rows and signature lines are not data."""
    first = next((c for c in cells if not is_blank(c)), None)
    if first is None:  # every cell blank
        return True
    if is_total_row(cells, key=village, required=date):
        return True
    return isinstance(first, str) and _signature(first)


@functools.lru_cache(maxsize=4096)
def _signature(text: str) -> bool:
    return bool(_SIGNATURE_RE.match(normalize_text(text)))


def _amount(value: Any, *, wan: bool, allow_negative: bool) -> Decimal:
    """A positive amount; with ``allow_negative`` (migrating a verified ledger) a red-ink correction
    row such as ``-12800.00`` keeps its sign."""
    if allow_negative:
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            return -parse_amount_cell(-value, wan=wan)
        if isinstance(value, str) and value.strip()[:1] in ("-", "－"):
            return -parse_amount_cell(value.strip()[1:], wan=wan)
    return parse_amount_cell(value, wan=wan)


_SHARE = re.compile(
    r"(\d{4})\s*年?\s*[:：]?\s*(-?(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,13})(?:\.\d{1,2})?)(?![\d.])\s*元?"
)
_SHARE_SEPARATORS = re.compile(r"[；;，,、\s]*")


def parse_shares(value: Any, *, amount: Decimal, date: datetime.date) -> tuple[tuple[int, Decimal], ...]:
    """The 分年计入目标 cell — ``2020年5,170.00；2021年5,170.00；…`` — as (year, amount) pairs; empty for a
    blank cell. The parts must be of distinct years near the receipt's and add up to the row's amount."""
    text = normalize_text(_text(value))
    if not text:
        return ()
    shares: list[tuple[int, Decimal]] = []
    at = 0
    while at < len(text):
        gap = _SHARE_SEPARATORS.match(text, at)
        at = gap.end() if gap else at
        if at >= len(text):
            break
        found = _SHARE.match(text, at)
        if found is None:
            raise CellError(f"“{text[at : at + 12]}”看不懂；应写成“2020年5170.00；2021年5170.00”")
        shares.append(
            (int(found.group(1)), Decimal(found.group(2).replace(",", "")).quantize(Decimal("0.01")))
        )
        at = found.end()
    years = [year for year, _ in shares]
    if len(set(years)) != len(years):
        raise CellError("同一年份写了两次")
    if any(abs(year - date.year) > 30 for year in years):
        raise CellError("年份应在收入日期前后 30 年以内")
    total = sum((part for _, part in shares), Decimal("0.00"))
    if total != amount:
        raise CellError(f"各年合计 {total:,.2f} 元，与金额 {amount:,.2f} 元不符")
    if any(part and (part > 0) != (amount > 0) for _, part in shares):
        raise CellError("各年金额应与金额同为正数（或同为负数）")
    return tuple(sorted(shares)) if len(shares) > 1 else ()


def parse_ledger_file(
    path: Path,
    *,
    name: str,
    year: int,
    villages: list[OrgUnit],
    progress: Callable[[int, int], None] | None = None,
    allow_negative: bool = False,
    book: WorkbookValues | None = None,
) -> ParsedFile:
    """Check the file's safety, find its table and parse every row. Never writes anything.

    ``book`` is the file as :func:`~qiangcun.core.excel.read_xlsx` already checked and read it (the
    import page does, for its progress bar); without it the file is checked and read here, once."""
    result = ParsedFile(name=name, sha256="")
    if book is None:
        book = read_xlsx(path, name=name)
    total = book.max_row
    limit = settings.IMPORT_MAX_ROWS + 1000
    result.sha256 = sha256_of(path)
    table, data = find_table(book, fields=FIELDS, required=REQUIRED, labels=LABELS)
    result.table = table
    matcher = VillageMatcher(villages)
    categories = {c.name: c for c in Category.objects.all()}
    paths = {p.name: p for p in DevelopmentPath.objects.all()}
    match_category = NameMatcher(categories, CATEGORY_SYNONYMS)
    match_path = NameMatcher(paths, PATH_SYNONYMS)
    cols: dict[str, FieldColumn] = table.columns

    wanted = [(key, column.index) for key, column in cols.items()]
    village_at, date_at = cols["village"].index, cols["date"].index

    for number, cells in data:
        if number % 2000 == 0:
            if number > limit:
                raise WorkbookRefused(f"“{name}”超过导入上限 {settings.IMPORT_MAX_ROWS:,} 行；请拆分文件")
            if progress is not None:
                progress(number, total)
        if _skip(cells, village=village_at, date=date_at):
            result.skipped += 1
            continue
        errors: list[RowError] = []

        def fail(key: str, exc: Exception, number: int = number, errors: list[RowError] = errors) -> None:
            column = cols[key]
            errors.append(RowError(number, column.letter, column.header, str(exc)))

        width = len(cells)
        got = {key: cells[index] if index < width else None for key, index in wanted}
        texts = [value for value in got.values() if isinstance(value, str)]
        # One search over the row's text cells (joined by a tab, which is allowed) finds whether any
        # has a control character; only then is each cell looked at, to name it.
        if texts and text_problem("\t".join(texts)) is not None:
            for key, value in got.items():
                problem = text_problem(value)
                if problem is not None:
                    fail(key, CellError(problem))
            result.errors.extend(errors)  # a cell with a control character: the row is not read further
            continue
        values: dict[str, Any] = {}
        try:
            values["village"] = matcher.match(got.get("village"))
        except CellError as exc:
            fail("village", exc)
        try:
            values["date"] = parse_date_cell(got.get("date"), year=year)
        except CellError as exc:
            fail("date", exc)
        try:
            values["amount"] = _amount(
                got.get("amount"), wan=cols["amount"].wan, allow_negative=allow_negative
            )
        except CellError as exc:
            fail("amount", exc)
        category = match_category(got.get("category"))
        if category is None:
            fail(
                "category",
                CellError(f"收入类别“{_text(got.get('category'))}”不认识，应为 {'、'.join(categories)} 之一"),
            )
        path_name = match_path(got.get("path"))
        if path_name is None:
            fail(
                "path",
                CellError(f"增收路子“{_text(got.get('path'))}”不认识，应为 {'、'.join(paths)} 之一"),
            )
        summary = _text(got.get("summary"))
        counterparty = _text(got.get("counterparty"))
        if len(summary) > 200:
            fail("summary", CellError("摘要超过 200 字"))
        if len(counterparty) > 100:
            fail("counterparty", CellError("付款单位超过 100 字"))
        shares: tuple[tuple[int, Decimal], ...] = ()
        if "shares" in cols and "amount" in values and "date" in values:
            try:
                shares = parse_shares(got.get("shares"), amount=values["amount"], date=values["date"])
            except CellError as exc:
                fail("shares", exc)
        if errors:
            result.errors.extend(errors)
            continue
        assert category is not None and path_name is not None
        result.rows.append(
            ParsedRow(
                row=number,
                village=values["village"],
                date=values["date"],
                amount=values["amount"],
                category=categories[category],
                path=paths[path_name],
                summary=summary or f"{path_name}收入（导入）",
                counterparty=counterparty,
                shares=shares,
            )
        )
    return result
