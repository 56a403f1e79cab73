"""Import a township's existing contract list (合同台账) from an .xlsx workbook.

The table is found by its content (Chinese headers, spaces, widths and （元）-style units ignored, as every
import of the project reads them: ``core.excel.find_table``); every row is read cell by cell with the
project's readers (``core.cells`` for amounts and dates, ``core.pii.read_id_number_cell`` for ID numbers,
which must arrive as text), and every bad cell is named by row, column and reason. Nothing is saved unless
every row is good: the rows are recorded in one transaction through ``services.contract_create`` — the
receivables and the change record of each contract are made exactly as for a contract typed on its page.
A check (``dry_run``) runs the very same writes and rolls them back."""

from __future__ import annotations

import datetime
import functools
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from qiangcun.contracts.models import Contract, Kind, Method, PartyKind, PriceMode, Schedule
from qiangcun.contracts.selectors import scoped_villages
from qiangcun.contracts.services import ContractInput, clean, contract_create
from qiangcun.core.cells import CellError, is_blank, parse_amount_cell, parse_date_cell
from qiangcun.core.errors import ServiceError
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
from qiangcun.core.pii import ID_AS_NUMBER, read_id_number_cell
from qiangcun.core.scope import Action
from qiangcun.core.text import text_problem
from qiangcun.orgs.importing import VillageMatcher
from qiangcun.orgs.models import Level, OrgUnit

#: A contract list of more rows is refused: each contract makes its receivables and its change record in
#: the request (300 contracts: a check 3 s, the import 6 s on SQLite), and a township's list has hundreds.
MAX_CONTRACT_ROWS = 1000

#: Header words per field, as township spreadsheets write them (the template's first).
FIELDS: dict[str, list[str]] = {
    "village": ["村名称", "村名", "村", "行政村", "村庄", "村庄名称", "所属村"],
    "village_code": ["村代码", "村编码", "村庄代码", "区划代码", "行政区划代码"],
    "code": ["合同编号", "合同号", "编号"],
    "title": ["合同名称", "项目名称", "名称"],
    "kind": ["合同类型", "合同类别", "类型"],
    "land_class": ["地类", "土地类别", "土地用途", "资产类别"],
    "area_mu": ["面积", "亩数", "面积亩", "土地面积", "流转面积"],
    "party_kind": ["承租方类型", "承包方类型", "对方类型", "承租方性质"],
    "party_name": ["承租方", "承包方", "承租人", "承包人", "受让方", "合同对方", "承租方名称"],
    "party_id_number": ["证件号码", "身份证号", "身份证号码", "统一社会信用代码", "证件号"],
    "party_phone": ["联系电话", "电话", "手机", "手机号", "联系方式"],
    "start": ["起始日期", "开始日期", "合同起始日期", "起租日期", "起始时间"],
    "end": ["终止日期", "结束日期", "到期日期", "合同终止日期", "终止时间"],
    "price_mode": ["计价方式", "计价"],
    "price": ["单价或总价", "单价", "租金", "合同金额", "承包费"],
    "escalation_percent": ["递增比例", "递增率", "租金递增比例"],
    "escalation_every": ["每几年递增", "每几年递增一次", "递增周期", "递增间隔"],
    "schedule": ["付款方式", "交款方式", "支付方式"],
    "due_days": ["交款期限", "付款期限", "交款期限日"],
    "deposit": ["保证金", "押金", "履约保证金"],
    "method": ["发包方式", "流转方式", "招标方式"],
    "signed_on": ["签订日期", "签约日期", "签订时间"],
    "note": ["备注", "说明"],
}
REQUIRED = [
    "code",
    "title",
    "kind",
    "party_kind",
    "party_name",
    "start",
    "end",
    "price_mode",
    "price",
    "schedule",
    "method",
]
#: The headers of the template, in its order, and the label of each field in messages.
HEADERS: dict[str, str] = {
    "village": "村名称",
    "village_code": "村代码",
    "code": "合同编号",
    "title": "合同名称",
    "kind": "合同类型",
    "land_class": "地类",
    "area_mu": "面积（亩）",
    "party_kind": "承租方类型",
    "party_name": "承租方",
    "party_id_number": "证件号码",
    "party_phone": "联系电话",
    "start": "起始日期",
    "end": "终止日期",
    "price_mode": "计价方式",
    "price": "单价或总价（元）",
    "escalation_percent": "递增比例（%）",
    "escalation_every": "每几年递增",
    "schedule": "付款方式",
    "due_days": "交款期限（日）",
    "deposit": "保证金（元）",
    "method": "发包方式",
    "signed_on": "签订日期",
    "note": "备注",
}
SIGNATURE_WORDS = ("制表", "审核人", "填报人", "填报日期", "负责人", "签字", "盖章", "经办人")
_SIGNATURE_RE = re.compile(r"^\s*(" + "|".join(r"\s*".join(word) for word in SIGNATURE_WORDS) + ")")

#: The words a choice is written with: each choice's label (and its label before a bracket), its stored
#: value, and the everyday words below.
CHOICES: dict[str, tuple[type[Any], str, dict[str, str]]] = {
    "kind": (
        Kind,
        "合同类型",
        {
            "有偿转让": Kind.TRANSFER,
            "经营权流转": Kind.TRANSFER,
            "流转": Kind.TRANSFER,
            "土地流转": Kind.TRANSFER,
            "出租": Kind.LEASE,
            "租赁合同": Kind.LEASE,
            "承包": Kind.CONTRACTING,
            "发包合同": Kind.CONTRACTING,
            "股份合作": Kind.SHARE,
        },
    ),
    "party_kind": (
        PartyKind,
        "承租方类型",
        {
            "自然人": PartyKind.PERSON,
            "农户": PartyKind.PERSON,
            "个体": PartyKind.PERSON,
            "企业": PartyKind.COMPANY,
            "公司": PartyKind.COMPANY,
            "合作社": PartyKind.COMPANY,
            "法人": PartyKind.COMPANY,
            "组织": PartyKind.COMPANY,
        },
    ),
    "price_mode": (
        PriceMode,
        "计价方式",
        {
            "按亩": PriceMode.PER_MU_YEAR,
            "每亩每年": PriceMode.PER_MU_YEAR,
            "按亩计价": PriceMode.PER_MU_YEAR,
            "每年固定": PriceMode.PER_YEAR,
            "固定年租金": PriceMode.PER_YEAR,
            "按年": PriceMode.PER_YEAR,
            "总价": PriceMode.LUMP_SUM,
            "一次性总价": PriceMode.LUMP_SUM,
            "全期总价": PriceMode.LUMP_SUM,
        },
    ),
    "schedule": (
        Schedule,
        "付款方式",
        {
            "按年": Schedule.ANNUAL,
            "年付": Schedule.ANNUAL,
            "每年": Schedule.ANNUAL,
            "每年一次": Schedule.ANNUAL,
            "半年": Schedule.HALF_YEARLY,
            "半年付": Schedule.HALF_YEARLY,
            "按半年": Schedule.HALF_YEARLY,
            "一次付清": Schedule.UPFRONT,
            "一次性": Schedule.UPFRONT,
            "一次性付清": Schedule.UPFRONT,
        },
    ),
    "method": (
        Method,
        "发包方式",
        {
            "招标": Method.TENDER,
            "公开发包": Method.TENDER,
            "拍卖": Method.AUCTION,
            "竞拍": Method.AUCTION,
            "竞价发包": Method.AUCTION,
            "协议": Method.NEGOTIATION,
            "协商发包": Method.NEGOTIATION,
            "议价": Method.NEGOTIATION,
        },
    ),
}
#: The words the template offers for each choice (a validation list), in order.
CHOICE_WORDS: dict[str, list[str]] = {
    "kind": ["租赁", "发包", "有偿转让", "入股"],
    "party_kind": ["个人", "单位"],
    "price_mode": ["按亩每年", "每年固定金额", "全期一次总价"],
    "schedule": ["每年一付", "半年一付", "全期一次付清"],
    "method": ["公开招标", "竞价", "协商"],
}


@functools.lru_cache(maxsize=8)
def _choice_lookup(name: str) -> dict[str, str]:
    enum, _label, synonyms = CHOICES[name]
    lookup: dict[str, str] = {}
    for value, label in zip(enum.values, enum.labels, strict=True):
        text = normalize_text(str(label))
        lookup.setdefault(text, value)
        lookup.setdefault(re.split(r"[(（]", text)[0], value)
        lookup.setdefault(normalize_text(value), value)
    for word, value in synonyms.items():
        lookup.setdefault(normalize_text(word), str(value))
    return lookup


def read_choice(name: str, value: Any) -> str:
    """The stored value of a choice cell (``"有偿转让"`` → ``"transfer"``), or :class:`CellError`."""
    _enum, label, _synonyms = CHOICES[name]
    text = normalize_text(_text(value))
    if not text:
        raise CellError(f"请填写{label}")
    found = _choice_lookup(name).get(text.casefold()) or _choice_lookup(name).get(text)
    if found is None:
        raise CellError(f"{label}“{text[:20]}”不认识，应为 {'、'.join(CHOICE_WORDS[name])} 之一")
    return found


# ------------------------------------------------------------------------------------------ cells


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _number(value: Any, label: str, *, suffixes: Sequence[str] = ()) -> Decimal:
    """An exact, non-negative decimal from a number cell or text such as ``"25.5"``/``"25.5亩"``."""
    if isinstance(value, bool) or isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        raise CellError(f"{label}必须是数字")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(f"{label}必须是有限的数字")
        number = Decimal(format(value, ".15g"))
    else:
        text = normalize_text(value)
        for suffix in suffixes:
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                break
        if not re.fullmatch(r"\d+(?:\.\d+)?", text):
            raise CellError(f"{label}“{normalize_text(value)[:20]}”不是数字")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only plain decimals
            raise CellError(f"{label}不是数字") from exc
    if number < 0:
        raise CellError(f"{label}不能为负数")
    return number


def read_area(value: Any) -> Decimal:
    number = _number(value, "面积（亩）", suffixes=("亩",))
    if number <= 0:
        raise CellError("面积（亩）必须大于 0")
    if number != number.quantize(Decimal("0.01")):
        raise CellError("面积（亩）最多两位小数")
    return number.quantize(Decimal("0.01"))


def read_percent(value: Any) -> Decimal:
    """Percentage points: ``5``, ``"5"``, ``"5%"`` are 5 %. A number between 0 and 1 is refused: it is
    likely a cell in percent format (5 % stored as 0.05), which the reader cannot tell from 0.05 %."""
    text_form = isinstance(value, str)
    number = _number(value, "递增比例", suffixes=("%", "％"))
    if not text_form and 0 < number < 1:
        raise CellError(
            f"递增比例“{_text(value)}”不明确：请填写百分数的数字，如 5 表示 5%"
            "（单元格若设为百分比格式，请改为常规格式）；确为不到 1% 的，请写成“0.5%”"
        )
    if number > 100:
        raise CellError("递增比例应在 0 到 100 之间")
    if number != number.quantize(Decimal("0.01")):
        raise CellError("递增比例最多两位小数")
    return number.quantize(Decimal("0.01"))


def read_whole(value: Any, label: str, *, suffixes: Sequence[str], high: int) -> int:
    number = _number(value, label, suffixes=suffixes)
    if number != number.to_integral_value():
        raise CellError(f"{label}应为整数")
    if number > high:
        raise CellError(f"{label}应在 0 到 {high} 之间")
    return int(number)


def read_deposit(value: Any, *, wan: bool) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return Decimal("0.00")
    if isinstance(value, str) and normalize_text(value) in ("0", "0.0", "0.00", "0元", "无"):
        return Decimal("0.00")
    return parse_amount_cell(value, wan=wan)


def read_party_id(value: Any, party_kind: str | None) -> str:
    """The counterparty's ID number as text: a person's 居民身份证号码 checked by ``core.pii``; a company's
    统一社会信用代码 checked by the service. A number cell is refused either way (Excel keeps 15 digits)."""
    if isinstance(value, bool) or isinstance(value, int | float):
        raise CellError(ID_AS_NUMBER if party_kind != PartyKind.COMPANY else _USCC_AS_NUMBER)
    if party_kind == PartyKind.PERSON:
        try:
            return read_id_number_cell(value)
        except ValueError as exc:
            raise CellError(str(exc)) from exc
    return normalize_text(value).upper()


_USCC_AS_NUMBER = "证件号码必须以文本格式填写（数字格式会丢失末位或变成科学计数法）"


@functools.lru_cache(maxsize=4096)
def _signature(text: str) -> bool:
    return bool(_SIGNATURE_RE.match(normalize_text(text)))


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class ParsedContract:
    row: int
    village: OrgUnit
    data: ContractInput


@dataclass
class ParsedContracts:
    name: str
    table: Table | None = None
    rows: list[ParsedContract] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class _Villages:
    """Which village a row names, by name or by code — and whether the importer may write there."""

    def __init__(self, actor: Any) -> None:
        self.mine = {v.pk for v in scoped_villages(actor, Action.ASSETS)}
        every = list(OrgUnit.objects.filter(level=Level.VILLAGE))
        self.by_code = {v.code: v for v in every}
        self.in_scope = VillageMatcher([v for v in every if v.pk in self.mine])
        self.anywhere = VillageMatcher(every)

    def by_name(self, raw: Any) -> OrgUnit:
        try:
            return self.in_scope.match(raw)
        except CellError:
            try:
                village = self.anywhere.match(raw)
            except CellError:
                raise CellError(f"没有名为“{normalize_text(raw)[:20]}”的村") from None
            raise CellError(f"{village.name}不在您的管辖范围内，不能导入它的合同") from None

    def by_code_cell(self, raw: Any) -> OrgUnit:
        code = _text(raw)
        if not code:
            raise CellError("村代码为空")
        village = self.by_code.get(normalize_text(code))
        if village is None:
            raise CellError(f"没有代码为“{code[:24]}”的村")
        if village.pk not in self.mine:
            raise CellError(f"{village.name}（{village.code}）不在您的管辖范围内，不能导入它的合同")
        return village


def _columns_or_refuse(table: Table) -> None:
    if "village" not in table.columns and "village_code" not in table.columns:
        raise WorkbookRefused(f"工作表“{table.sheet}”的表头缺少“村名称”或“村代码”列（写其中一列即可）")


def parse_contracts_file(
    path: Path, *, name: str, actor: Any, book: WorkbookValues | None = None
) -> ParsedContracts:
    """Check the file's safety, find its table and read every row; never writes. Raises
    :class:`~qiangcun.core.excel.WorkbookRefused` for a file refused as a whole."""
    if book is None:
        book = read_xlsx(path, name=name)
    return parse_contracts_book(book, name=name, actor=actor)


def parse_contracts_book(book: WorkbookValues, *, name: str, actor: Any) -> ParsedContracts:
    result = ParsedContracts(name=name)
    table, data = find_table(book, fields=FIELDS, required=REQUIRED, labels=HEADERS)
    _columns_or_refuse(table)
    result.table = table
    cols: dict[str, FieldColumn] = table.columns
    villages = _Villages(actor)
    key_at = (cols.get("village") or cols.get("village_code") or cols["code"]).index
    start_at = cols["start"].index
    seen: dict[tuple[int, str], int] = {}
    for number, cells in data:
        first = next((c for c in cells if not is_blank(c)), None)
        if first is None or is_total_row(cells, key=key_at, required=start_at):
            result.skipped += 1
            continue
        if isinstance(first, str) and _signature(first):
            result.skipped += 1
            continue
        if len(result.rows) + len({e.row for e in result.errors}) >= MAX_CONTRACT_ROWS:
            raise WorkbookRefused(f"“{name}”超过 {MAX_CONTRACT_ROWS} 份合同，请拆分后分批导入")
        parsed = _read_row(number, cells, cols, villages)
        if isinstance(parsed, list):
            result.errors.extend(parsed)
            continue
        key = (parsed.village.pk, parsed.data.code)
        if key in seen:
            column = cols["code"]
            result.errors.append(
                RowError(
                    number,
                    column.letter,
                    column.header,
                    f"与第 {seen[key]} 行的合同编号重复（{parsed.village.name}的合同编号不能重复）",
                )
            )
            continue
        seen[key] = number
        result.rows.append(parsed)
    _already_there(result)
    result.errors.sort(key=lambda e: (e.row, e.column))
    return result


def _already_there(result: ParsedContracts) -> None:
    """Rows whose code the village already has: one query for the whole file."""
    if not result.rows or result.table is None:
        return
    column = result.table.columns["code"]
    codes = {r.data.code for r in result.rows}
    villages = {r.village.pk for r in result.rows}
    taken = set(
        Contract.objects.filter(village_id__in=villages, code__in=codes).values_list("village_id", "code")
    )
    keep = []
    for r in result.rows:
        if (r.village.pk, r.data.code) in taken:
            result.errors.append(
                RowError(
                    r.row, column.letter, column.header, f"{r.village.name}已有编号为 {r.data.code} 的合同"
                )
            )
        else:
            keep.append(r)
    result.rows = keep


def _read_row(
    number: int, cells: list[Any], cols: dict[str, FieldColumn], villages: _Villages
) -> ParsedContract | list[RowError]:
    errors: list[RowError] = []
    width = len(cells)
    got = {key: (cells[c.index] if c.index < width else None) for key, c in cols.items()}

    def fail(key: str, reason: str) -> None:
        column = cols.get(key)
        if column is None:
            errors.append(RowError(number, "", "", reason))
        else:
            errors.append(RowError(number, column.letter, column.header, reason))

    for key, value in got.items():
        problem = text_problem(value)
        if problem is not None:
            fail(key, problem)
    if errors:
        return errors

    def read(key: str, reader: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return reader(got.get(key), *args, **kwargs)
        except CellError as exc:
            fail(key, str(exc))
            return None

    village: OrgUnit | None = None
    by_name = "village" in cols and not is_blank(got.get("village"))
    by_code = "village_code" in cols and not is_blank(got.get("village_code"))
    if by_code:
        village = read("village_code", villages.by_code_cell)
    if by_name:
        named = read("village", villages.by_name)
        if village is not None and named is not None and named.pk != village.pk:
            fail(
                "village", f"村名称“{_text(got.get('village'))}”与村代码 {village.code}（{village.name}）不符"
            )
            village = None
        elif village is None and not by_code:
            village = named
    if not by_name and not by_code:
        fail("village" if "village" in cols else "village_code", "请填写村名称或村代码")

    texts: dict[str, str] = {}
    limits = {"code": 40, "title": 100, "land_class": 16, "party_name": 100, "party_phone": 20, "note": 200}
    for key, limit in limits.items():
        value = _text(got.get(key))
        if len(value) > limit:
            fail(key, f"{HEADERS[key]}不能超过 {limit} 字")
        texts[key] = value
    for key in ("code", "title", "party_name"):
        if key in cols and not texts[key]:
            fail(key, f"请填写{HEADERS[key]}")

    choices = {key: read(key, functools.partial(read_choice, key)) for key in CHOICES}
    start = read("start", parse_date_cell)
    end = read("end", parse_date_cell)
    if start is not None and end is not None and end < start:
        fail("end", f"终止日期 {end:%Y-%m-%d} 早于起始日期 {start:%Y-%m-%d}")
    signed_on = read("signed_on", parse_date_cell) if not is_blank(got.get("signed_on")) else None
    price = read("price", parse_amount_cell, wan=cols["price"].wan)
    area = read("area_mu", read_area) if not is_blank(got.get("area_mu")) else None
    if choices["price_mode"] == PriceMode.PER_MU_YEAR and is_blank(got.get("area_mu")):
        fail("area_mu", "按亩计价的合同必须填写面积（亩）")
    escalation = (
        read("escalation_percent", read_percent)
        if not is_blank(got.get("escalation_percent"))
        else Decimal("0")
    )
    every = (
        read("escalation_every", read_whole, "每几年递增", suffixes=("年",), high=30)
        if not is_blank(got.get("escalation_every"))
        else 0
    )
    due_days = (
        read("due_days", read_whole, "交款期限（日）", suffixes=("日", "天"), high=366)
        if not is_blank(got.get("due_days"))
        else 30
    )
    deposit = (
        read("deposit", read_deposit, wan=cols["deposit"].wan)
        if "deposit" in cols and not is_blank(got.get("deposit"))
        else Decimal("0.00")
    )
    party_id = (
        read("party_id_number", read_party_id, choices["party_kind"])
        if not is_blank(got.get("party_id_number"))
        else ""
    )
    if errors or village is None:
        return errors
    data = ContractInput(
        code=texts["code"],
        title=texts["title"],
        kind=choices["kind"],
        party_kind=choices["party_kind"],
        party_name=texts["party_name"],
        start=start,
        end=end,
        price_mode=choices["price_mode"],
        price=price,
        schedule=choices["schedule"],
        method=choices["method"],
        area_mu=area,
        land_class=texts["land_class"],
        party_id_number=party_id,
        party_phone=texts["party_phone"],
        escalation_percent=escalation if escalation is not None else Decimal("0"),
        escalation_every=every if every is not None else 0,
        due_days=due_days if due_days is not None else 30,
        deposit=deposit if deposit is not None else Decimal("0.00"),
        signed_on=signed_on,
        note=texts["note"],
    )
    # The service's own checks (its messages name the field), before anything is written.
    try:
        clean(replace(data))
    except ServiceError as exc:
        fail(exc.field or "", exc.message)
        return errors
    return ParsedContract(row=number, village=village, data=data)


# ------------------------------------------------------------------------------------------ writing


@dataclass
class VillageCount:
    name: str
    contracts: int = 0
    receivables: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class ContractsImported:
    contracts: int = 0
    receivables: int = 0
    amount: Decimal = Decimal("0.00")
    by_village: dict[str, VillageCount] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def contracts_import(
    *, actor: Any, parsed: ParsedContracts, dry_run: bool, columns: dict[str, FieldColumn] | None = None
) -> ContractsImported:
    """Record every parsed row through ``contract_create`` in one transaction. A row the service refuses
    becomes an error of its row (and column, by the field the service names); when any row is refused — or
    for a check (``dry_run``) — the whole transaction is rolled back and nothing stays."""
    cols = columns if columns is not None else (parsed.table.columns if parsed.table else {})
    out = ContractsImported()
    with transaction.atomic():
        for row in parsed.rows:
            try:
                with transaction.atomic():
                    contract = contract_create(actor=actor, village=row.village, data=replace(row.data))
            except ServiceError as exc:
                column = cols.get(exc.field or "")
                if column is None:
                    out.errors.append(RowError(row.row, "", "", exc.message))
                else:
                    out.errors.append(RowError(row.row, column.letter, column.header, exc.message))
                continue
            amounts = list(contract.receivables.values_list("amount", flat=True))
            line = out.by_village.setdefault(row.village.code, VillageCount(row.village.name))
            line.contracts += 1
            line.receivables += len(amounts)
            line.amount += sum(amounts, Decimal("0.00"))
        if out.errors or dry_run:
            transaction.set_rollback(True)
    out.contracts = sum(v.contracts for v in out.by_village.values())
    out.receivables = sum(v.receivables for v in out.by_village.values())
    out.amount = sum((v.amount for v in out.by_village.values()), Decimal("0.00"))
    return out


def check_and_import(
    *, actor: Any, path: Path, name: str, dry_run: bool
) -> tuple[ParsedContracts, ContractsImported | None]:
    """Read the file and import it (or check it): every error of the file, or what was (would be) made.
    The cell errors and the service's refusals are listed together, row by row."""
    parsed = parse_contracts_file(path, name=name, actor=actor)
    done = contracts_import(actor=actor, parsed=parsed, dry_run=dry_run or not parsed.ok)
    if done.errors or parsed.errors:
        parsed.errors = sorted([*parsed.errors, *done.errors], key=lambda e: (e.row, e.column))
        return parsed, None
    return parsed, done


# ------------------------------------------------------------------------------------------ template

TEMPLATE_SHEET = "合同台账"
TEMPLATE_NOTES = [
    "一行一份合同。村名称写全名或不带“村”字均可（如“孙庄村”或“孙庄”），也可以改写“村代码”列（12 位区划代码），"
    "两列都写的须一致；只能导入您管辖范围内的村。",
    "合同编号在同一个村内不能重复，也不能与系统中该村已有的合同重复。",
    "合同类型：租赁、发包、有偿转让、入股。承租方类型：个人、单位。",
    "证件号码：个人填 18 位居民身份证号，单位填 18 位统一社会信用代码，可不填。"
    "必须以文本格式填写（本模板的这一列已设为文本）：数字格式会丢失末位或变成科学计数法，系统会拒绝。",
    "起始日期、终止日期、签订日期：2020-03-01、2020/3/1、2020.3.1、2020年3月1日 或 Excel 日期格式均可。",
    "计价方式：按亩每年（单价×面积为年租金，须填面积）、每年固定金额、全期一次总价（付款方式只能是全期一次付清）。",
    "单价或总价、保证金以元为单位，如 800、12,000.00、1.2万；整列以万元计的，把列名写成“单价或总价（万元）”。",
    "递增比例填百分数，如 5 表示每次递增 5%，同时填每几年递增一次（如 3）；不递增的两列都不填。",
    "付款方式：每年一付、半年一付、全期一次付清。交款期限：每期开始后几日内交清，不填为 30 日。",
    "发包方式：公开招标、竞价、协商。",
    "导入后系统按合同条款自动生成每一期应收款，与在页面上逐份录入完全相同；逾期按工作日计算。",
    "有任何一行出错，整个文件都不会导入；系统列出每处错误（第几行、哪一列、为什么），改正后重新导入即可。"
    "空行、合计行和表尾的制表人、审核人签名行会自动跳过。",
]
TEMPLATE_EXAMPLE = (
    "孙庄村",
    "",
    "SZ-2020-001",
    "村东机动地流转",
    "有偿转让",
    "耕地",
    "25.5",
    "个人",
    "张三",
    "（18 位身份证号，文本格式）",
    "13800000000",
    "2020-01-01",
    "2024-12-31",
    "按亩每年",
    "800",
    "5",
    "3",
    "每年一付",
    "30",
    "2000",
    "公开招标",
    "2019-12-20",
    "",
)
_WIDTHS = {
    "village": 12,
    "village_code": 15,
    "code": 14,
    "title": 22,
    "kind": 10,
    "land_class": 8,
    "area_mu": 10,
    "party_kind": 10,
    "party_name": 16,
    "party_id_number": 21,
    "party_phone": 14,
    "start": 12,
    "end": 12,
    "price_mode": 14,
    "price": 14,
    "escalation_percent": 10,
    "escalation_every": 10,
    "schedule": 13,
    "due_days": 10,
    "deposit": 12,
    "method": 10,
    "signed_on": 12,
    "note": 24,
}
#: Rows of the data sheet given the validation lists and text formats.
TEMPLATE_ROWS = 1000


def template_workbook(villages: Iterable[OrgUnit] = ()) -> bytes:
    """The blank 合同台账 with an instructions sheet (an example row on it, never on the data sheet, where
    it would be read), drop-down lists for the choices and for the villages given, and the ID number,
    phone and code columns formatted as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    keys = list(HEADERS)
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.column_dimensions["A"].width = 110
    notes["A1"] = "合同台账（村集体资产、资源发包租赁合同）· 填表说明"
    notes["A1"].font = Font(bold=True, size=14)
    for index, line in enumerate(TEMPLATE_NOTES, start=3):
        notes.cell(row=index, column=1, value=f"{index - 2}. {line}").alignment = Alignment(wrap_text=True)
    top = len(TEMPLATE_NOTES) + 4
    notes.cell(row=top, column=1, value=f"示例（填在“{TEMPLATE_SHEET}”表里，不要填在本页）：").font = Font(
        bold=True
    )
    for offset, example in enumerate([tuple(HEADERS.values()), TEMPLATE_EXAMPLE], start=1):
        notes.cell(row=top + offset, column=1, value="　|　".join(v or "（不填）" for v in example))

    ws = wb.create_sheet(TEMPLATE_SHEET)
    ws.cell(row=1, column=1, value="合同台账").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(keys))
    ws.cell(row=2, column=1, value="填报单位：")
    ws.cell(row=2, column=len(keys), value="单位：元")
    fill = PatternFill("solid", fgColor="EEEEEE")
    last = 3 + TEMPLATE_ROWS
    for column, key in enumerate(keys, start=1):
        cell = ws.cell(row=3, column=column, value=HEADERS[key])
        cell.font = Font(bold=True)
        cell.fill = fill
        letter = get_column_letter(column)
        ws.column_dimensions[letter].width = _WIDTHS[key]
        if key in ("party_id_number", "party_phone", "code", "village_code"):
            for row in range(4, last + 1):
                ws.cell(row=row, column=column).number_format = "@"
        if key in CHOICE_WORDS:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(CHOICE_WORDS[key]) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=HEADERS[key],
                error="请从下拉列表中选择：" + "、".join(CHOICE_WORDS[key]),
            )
            rule.add(f"{letter}4:{letter}{last}")
            ws.add_data_validation(rule)
    names = [v.name for v in villages]
    if names:
        lists = wb.create_sheet("村名单")
        for row, village_name in enumerate(names, start=1):
            lists.cell(row=row, column=1, value=village_name)
        lists.sheet_state = "hidden"
        letter = get_column_letter(keys.index("village") + 1)
        rule = DataValidation(
            type="list",
            formula1=f"'村名单'!$A$1:$A${len(names)}",
            allow_blank=True,
            showErrorMessage=False,
        )
        rule.add(f"{letter}4:{letter}{last}")
        ws.add_data_validation(rule)
    ws.freeze_panes = "A4"
    wb.active = 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def village_counts(done: ContractsImported) -> list[tuple[str, int, int, Decimal]]:
    """(village, contracts, instalments, amount) per village, in code order: the check's preview."""
    return [(v.name, v.contracts, v.receivables, v.amount) for _code, v in sorted(done.by_village.items())]
