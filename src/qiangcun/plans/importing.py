"""Read 一村一策 from the lists townships already keep, and import them whole or not at all.

Two layouts are recognised in a workbook (.xlsx) and in a Word document (.docx, see (c)), sheet by
sheet, by what the sheet holds (its name does not matter, and one workbook may mix them). Header
words are matched as the ledger import matches them: width, spaces and a unit in brackets do not
matter (``预计收入（万元）`` counts in 万元, as does a ``单位：万元`` line above the header); title rows
above the header, 合计/小计 rows, blank rows and signature lines are skipped; a merged cell counts for
every row it covers.

(a) 按行填 — one long sheet, one row per measure, under a header row (within the first 30 rows) that
    names the village and at least one more column::

        村名 | 增收路子 | 预计收入 | 措施 | 责任人 | 完成时限 | 预计增收 | 闲置资产 | 土地（亩） | 优势 | 短板 | 方案概述

    Rows of the same village make one plan. A blank 村名 continues the village of the row above (the
    name written, or merged, once for its rows). 增收路子 and 预计收入 are the plan's (一个方案): every
    path named on the village's rows is one of its paths, with the 预计收入 written on its rows (every
    row that gives one must give the same; merged cells do) or, when none does, the sum of its
    measures' 预计增收. 措施, 责任人, 完成时限, 预计增收 make one measure (预计增收 blank is 0). The
    optional columns 闲置资产/资源, 土地 (a number of 亩, or text such as ``机动地120亩``), 优势, 短板
    make the list (一张清单); one cell may hold several items, one a line or separated by ；.
    The same workbook may carry the plan's parts on further long sheets, as the export does:
    村名 | 增收路子 | 预计收入 | 做法 (the paths, no 措施 column); 村名 | 类型 | 内容 | 面积（亩） | 备注
    (the list: 类型 is 闲置资产, 土地资源, 优势 or 短板问题); and a summary sheet (one with 年度目标 or
    措施数 columns, like the export's 一村一策汇总), read for its 方案概述 column only.

(b) 按村填 — one sheet per village. The village is a cell ``村名：孙庄村`` (or 村名 | 孙庄村) at the top,
    else the sheet's name, else the one village the title names. Blocks open with a line such as
    ``一、资源清单`` / ``二、增收方案`` / ``三、措施`` and go on under their own header row::

        一、资源清单      类型 | 内容 | 面积（亩） | 备注     (or columns 闲置资产 | 土地 | 优势 | 短板,
                                                            or lines 闲置资产 | 旧小学校舍 5 间)
        二、增收方案      增收路子 | 预计收入 | 做法
        三、措施          措施 | 增收路子 | 责任人 | 完成时限 | 预计增收

    A line ``方案概述：……`` (or 发展思路) anywhere gives the plan's summary.

(c) A Word document (.docx), read as the sheets above: its body in order, a paragraph as a row of one
    cell, a table as its rows of cell texts (a merged cell repeats its text over the columns and rows
    it covers, as a merged cell of a sheet counts for every row). The body is cut into parts, each
    read as one sheet:

    * a part per village (as (b)): a paragraph ``村名：孙庄村``, or a short title naming one village
      (``孙庄村一村一策``, ``2020年孙庄村一村一策``, ``孙庄村……方案``), opens the village's part;
      then ``一、资源清单`` / ``二、增收方案`` / ``三、措施`` each followed by its table (the list may
      also be paragraphs ``闲置资产：旧小学校舍``), and ``方案概述：……`` as a paragraph. A
      ``单位：万元`` paragraph before the first village counts for every part.
    * a table whose header (in its first three rows) is a long header (as (a)) is a part of its own,
      with the paragraphs just above it when they open no village (a title, ``单位：万元``).

    Errors name their place as Word shows it: ``第 2 个表格第 3 行，“责任人”列``, ``第 4 段“村名：王家村”``
    (``ParsedPlans.places``; tables and non-blank paragraphs counted from the top). Word files get no
    red-marked report: the errors are listed.

Values: 增收路子 as the ledger names them, with the ledger's aliases and the article's model words
(领办实体 → 合作社, 提供服务 → 有偿服务); 责任人 by name or account among the people who may own a
measure of the village (``owner_candidates``), ``张伟（zhangwei）`` when two share a name; 完成时限 as a
date (2020-06-30, 2020年6月30日) or as townships write it (6月底, 年底前, 上半年, 三季度), within the
plan year or the next; money as the ledger reads it (0 allowed, never negative).

What an import does, in one transaction (any error anywhere: nothing is written): for every village
named, the plan of the year is saved (``plan_save``) — its paths replaced by the file's, its list and
summary replaced when the file has any for it (kept otherwise); measures are added
(``measure_create``), and a measure with the same name as one the village already has in that plan is
that measure: updated (``measure_update``) when something changed, left alone when nothing did. So
importing the same file twice adds nothing. A finished or dropped measure is not changed by an import;
its status, notes and ledger links never are. Measures the file does not name are kept. Permission:
``Action.PLAN`` on every village (a township admin for the township, a clerk for their own village).
"""

from __future__ import annotations

import calendar
import datetime
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from qiangcun.accounts.models import SYSTEM_ROLES, RoleGrant
from qiangcun.core.cells import CellError, NameMatcher, is_blank, parse_amount_cell, parse_date_cell
from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import (
    FieldColumn,
    RowError,
    Table,
    WorkbookRefused,
    header_columns,
    inspect_xlsx,
    is_total_row,
    iter_sheets,
    normalize_text,
    split_header,
)
from qiangcun.core.money import FEN
from qiangcun.core.scope import Action, Actor
from qiangcun.core.text import text_problem
from qiangcun.core.word import Paragraph, docx_body, inspect_docx, is_word_file
from qiangcun.core.word import Table as WordTable
from qiangcun.ledger.importing.ledger import SIGNATURE_WORDS
from qiangcun.ledger.importing.names import PATH_SYNONYMS
from qiangcun.ledger.models import DevelopmentPath
from qiangcun.orgs.importing import VillageMatcher
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.plans.models import OPEN_MEASURE_STATUSES, Measure, Plan
from qiangcun.plans.services import (
    MAX_AREA_MU,
    MAX_PATHS,
    MAX_RESOURCES,
    PathInput,
    ResourceInput,
    measure_create,
    measure_update,
    plan_save,
)

__all__ = [
    "ParsedPlans",
    "PlansImported",
    "owner_candidates_by_village",
    "owner_label",
    "parse_deadline",
    "parse_plans_file",
    "plan_villages",
    "plans_import",
]

# ---------------------------------------------------------------------------------------------- words

VILLAGE = ["村名", "村", "村庄", "行政村", "村居", "村名称", "村庄名称", "单位"]
PATH = [
    "增收路子",
    "路子",
    "增收途径",
    "增收路径",
    "发展路径",
    "路径",
    "途径",
    "增收项目",
    "项目类型",
    "产业项目",
]
PATH_EXPECTED = ["预计收入", "预期收入", "计划收入", "预计年收入", "路子预计收入", "预计集体收入", "预计收益"]
PATH_NOTE = ["做法", "具体做法", "方案内容", "实施方案"]
MEASURE = ["措施", "具体措施", "工作措施", "主要措施", "措施内容", "推进措施", "重点措施", "措施名称"]
OWNER = ["责任人", "负责人", "包保责任人", "责任领导", "牵头人", "具体责任人"]
DEADLINE = ["完成时限", "时限", "完成时间", "时间节点", "完成期限", "截止时间", "期限"]
MEASURE_EXPECTED = ["预计增收", "预期增收", "增收金额", "预计增收金额", "措施预计增收", "预计增加收入"]
SUMMARY = ["方案概述", "发展思路", "总体思路", "方案说明", "思路"]
RESOURCE_KIND = ["类型", "类别", "资源类型", "清单类型"]
RESOURCE_NAME = ["内容", "名称", "资源名称", "清单内容", "具体内容", "资源内容"]
AREA = ["面积", "亩数", "面积亩", "土地面积"]
NOTE = ["备注", "说明", "位置"]
#: Columns of the list written one kind a column (a long sheet, or a village sheet's list block).
KIND_COLUMNS: dict[str, list[str]] = {
    "asset": ["闲置资产", "资产", "资源", "闲置资源", "集体资产", "闲置资产资源", "资产资源"],
    "land": ["土地", "土地资源", "可流转土地", "机动地", "集体土地", "闲置土地", "土地亩"],
    "advantage": ["优势", "资源优势", "优势条件", "发展优势", "有利条件"],
    "weakness": ["短板", "短板问题", "存在问题", "问题", "劣势", "制约因素", "短板弱项"],
}
#: What a 类型 cell may say.
KIND_WORDS: dict[str, str] = {
    **{w: "asset" for w in ["闲置资产", "资产", "闲置资源", "集体资产", "资源", "房产", "闲置房产"]},
    **{w: "land" for w in ["土地资源", "土地", "可流转土地", "机动地", "集体土地", "闲置土地"]},
    **{w: "advantage" for w in ["优势", "资源优势", "优势条件", "有利条件", "发展优势"]},
    **{w: "weakness" for w in ["短板问题", "短板", "问题", "存在问题", "劣势", "制约因素"]},
}
#: Columns of the export's summary sheet: such a sheet is read for its 方案概述 only.
SUMMARY_SHEET = ["年度目标", "措施数", "是否达到目标", "已完成", "实际计入收入"]

#: The article's model words and what else townships call the paths, on top of the ledger's aliases.
PLAN_PATH_SYNONYMS: dict[str, str] = {
    **PATH_SYNONYMS,
    "领办实体": "合作社",
    "领办": "合作社",
    "党支部领办合作社": "合作社",
    "村党组织领办合作社": "合作社",
    "提供服务": "有偿服务",
    "服务创收": "有偿服务",
    "为农服务": "有偿服务",
    "光伏扶贫": "光伏发电",
    "特色产业": "现代农业",
}

LONG_FIELDS: dict[str, list[str]] = {
    "village": VILLAGE,
    "path": PATH,
    "path_expected": PATH_EXPECTED,
    "path_note": PATH_NOTE,
    "measure": MEASURE,
    "owner": OWNER,
    "deadline": DEADLINE,
    "measure_expected": MEASURE_EXPECTED,
    "summary": SUMMARY,
    "kind": RESOURCE_KIND,
    "name": RESOURCE_NAME,
    "area": AREA,
    "note": NOTE,
    **{f"res_{kind}": words for kind, words in KIND_COLUMNS.items()},
    **{f"sheet_{i}": [w] for i, w in enumerate(SUMMARY_SHEET)},
}
#: The block of a village sheet each field opens.
BLOCK_KEYS = {"measure": "measures", "path": "paths", "kind": "resources", "name": "resources"}
LABELS = {
    "village": "村名",
    "path": "增收路子",
    "measure": "措施",
    "owner": "责任人",
    "deadline": "完成时限",
}


def _lookup(fields: dict[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, words in fields.items():
        for word in words:
            out.setdefault(normalize_text(word), key)
    return out


LONG_LOOKUP = _lookup(LONG_FIELDS)
BLOCK_LOOKUP = _lookup({k: v for k, v in LONG_FIELDS.items() if k != "village"})
_KIND_LOOKUP = {normalize_text(w): k for w, k in KIND_WORDS.items()}
_SIGNATURE_RE = re.compile(r"^\s*(" + "|".join(r"\s*".join(word) for word in SIGNATURE_WORDS) + ")")
_MARKER_RE = re.compile(
    r"^(?P<enum>[一二三四五六七八九十]+[、.．,，]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．])?(?P<text>.+)$"
)
_SUMMARY_LINE = re.compile(r"^(方案概述|发展思路|总体思路)[:：]?(?P<rest>.*)$")
_VILLAGE_LINE = re.compile(r"^(村名|村名称|行政村|村庄)[:：](?P<rest>.*)$")
_SPLIT_ITEMS = re.compile(r"[\n；;]+")
HEAD_ROWS = 30


# ---------------------------------------------------------------------------------------------- cells


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
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


_ZERO_TEXT = {"0", "0.0", "0.00", "0元", "0.00元", "0万", "0万元", "无", "零"}


def parse_money(value: Any, *, wan: bool, label: str) -> Decimal:
    """Yuan (2 places) from a money cell, read as the ledger reads amounts, but 0 is allowed (a measure
    that brings no income of its own) and a negative is refused by name."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError(f"{label}必须是有限的数字")
        if value == 0:
            return Decimal("0.00")
        if value < 0:
            raise CellError(f"{label}不能为负数")
    if isinstance(value, str):
        text = normalize_text(value)
        if text in _ZERO_TEXT:
            return Decimal("0.00")
        if text[:1] in ("-", "−") and any(ch.isdigit() for ch in text):
            raise CellError(f"{label}不能为负数")
    return parse_amount_cell(value, wan=wan)


_NUMBER_TEXT = re.compile(r"\d+(?:\.\d+)?")
_AREA_TEXT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?:亩)?$")
_LAND_TEXT = re.compile(r"^(?P<name>.*?)[:：]?(?P<n>\d+(?:\.\d+)?)亩(?P<rest>.*)$")


def parse_area(value: Any) -> Decimal:
    """亩 as a number > 0 with at most two decimals."""
    if isinstance(value, bool) or isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        raise CellError("面积应为亩数，如 120 或 35.5")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError("面积必须是有限的数字")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if isinstance(value, float):
            shown = Decimal(format(value, ".15g"))
            # quantize raises InvalidOperation past 28 digits: only numbers within the bound are compared
            if abs(shown) <= MAX_AREA_MU:
                number = shown if shown == shown.quantize(FEN) else number
    else:
        text = normalize_text(value)
        match = _AREA_TEXT.fullmatch(text)
        if match is None:
            raise CellError(f"面积“{text}”无法识别，应为亩数，如 120 或 35.5")
        number = Decimal(match["n"])
    if number <= 0:
        raise CellError("面积应大于 0")
    if number > MAX_AREA_MU:
        raise CellError(f"面积超过上限 {MAX_AREA_MU:,} 亩")
    if number != number.quantize(FEN):
        raise CellError("面积最多两位小数")
    return number.quantize(FEN)


_MONTH = re.compile(r"^(?:(?P<y>\d{4})年?)?(?P<m>\d{1,2})月(?:份)?(?P<part>底|末|上旬|中旬|下旬|内)?$")
_YEAR_END = re.compile(r"^(?:(?P<y>\d{4})年?)?(?:年底|年末|年内|全年|年终|底|末)$")
_YEAR_MONTH = re.compile(r"^(?P<y>\d{4})[./-](?P<m>\d{1,2})$")
_HALF = re.compile(r"^(?:(?P<y>\d{4})年?)?(?P<h>上|下)半年(?:末|底)?$")
_QUARTER = re.compile(r"^(?:(?P<y>\d{4})年?)?第?(?P<q>[一二三四1-4])季度(?:末|底)?$")
_BEFORE = re.compile(r"(?:以前|之前|前)$")
_DEADLINE_HINT = "请填写如 2020-06-30、2020年6月30日 或 6月底、年底前 的完成时限"


def _month_end(year: int, month: int) -> datetime.date:
    if not 1 <= month <= 12:
        raise CellError(f"月份 {month} 不存在，{_DEADLINE_HINT}")
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def parse_deadline(value: Any, *, year: int) -> datetime.date:
    """A deadline as townships write it: a date, or 6月底 / 2020年6月 / 年底前 / 上半年 / 三季度 (the
    last day of that month, half or quarter; ``year`` when no year is written). Within ``year`` or the
    next (as ``measure_create`` asks)."""
    if is_blank(value):
        raise CellError("完成时限不能为空")
    if isinstance(value, str):
        text = normalize_text(value)
        text = _BEFORE.sub("", text) or text
        day: datetime.date | None = None
        if m := _MONTH.fullmatch(text):
            y, month = int(m["y"] or year), int(m["m"])
            part = m["part"] or ""
            if part in ("上旬", "中旬"):
                if not 1 <= month <= 12:
                    raise CellError(f"月份 {month} 不存在，{_DEADLINE_HINT}")
                day = datetime.date(y, month, 10 if part == "上旬" else 20)
            else:
                day = _month_end(y, month)
        elif m := _YEAR_MONTH.fullmatch(text):
            day = _month_end(int(m["y"]), int(m["m"]))
        elif m := _YEAR_END.fullmatch(text):
            day = datetime.date(int(m["y"] or year), 12, 31)
        elif m := _HALF.fullmatch(text):
            day = _month_end(int(m["y"] or year), 6 if m["h"] == "上" else 12)
        elif m := _QUARTER.fullmatch(text):
            q = "一二三四".find(m["q"]) + 1 if m["q"] in "一二三四" else int(m["q"])
            day = _month_end(int(m["y"] or year), q * 3)
        if day is None:
            if text in ("长期", "持续", "长期坚持", "常态化", "持续推进"):
                raise CellError(f"完成时限“{text}”不是日期：每项措施要有完成时限，{_DEADLINE_HINT}")
            try:
                day = parse_date_cell(text)
            except CellError as exc:
                raise CellError(f"完成时限“{text}”无法识别，{_DEADLINE_HINT}") from exc
    else:
        day = parse_date_cell(value)
    if day.year not in (year, year + 1):
        raise CellError(f"完成时限 {day.isoformat()} 不在 {year} 年内（最迟次年）")
    return day


# ---------------------------------------------------------------------------------------------- people


def owner_candidates_by_village(villages: Iterable[OrgUnit]) -> dict[int, list[Any]]:
    """``plans.services.owner_candidates`` for many villages in one query: people holding a business
    role on the village or on a unit above it, in the same order."""
    villages = list(villages)
    codes = {code for v in villages for code in v.ancestor_codes()}
    grants = list(
        RoleGrant.objects.filter(unit__code__in=codes, user__is_active=True)
        .exclude(role__in=SYSTEM_ROLES)
        .select_related("user", "unit")
        .order_by("unit__path", "user__username")
    )
    out: dict[int, list[Any]] = {}
    for v in villages:
        mine = set(v.ancestor_codes())
        people: list[Any] = []
        seen: set[int] = set()
        for g in grants:
            if g.unit.code in mine and g.user_id not in seen:
                seen.add(g.user_id)
                people.append(g.user)
        out[v.pk] = people
    return out


def owner_label(user: Any, candidates: Sequence[Any]) -> str:
    """How a measure's owner is written in a sheet: the name, or ``名字（账号）`` when two of the
    village's candidates share it (so that the sheet imports back to the same person)."""
    name = user.display_name or user.username
    same = [u for u in candidates if (u.display_name or u.username) == name]
    return name if len(same) <= 1 else f"{name}（{user.username}）"


_OWNER_WITH_ACCOUNT = re.compile(r"^(?P<name>.*?)[(（](?P<account>[^()（）]+)[)）]$")


class OwnerMatcher:
    def __init__(self, candidates: Sequence[Any]) -> None:
        self.by_name: dict[str, list[Any]] = defaultdict(list)
        self.by_account: dict[str, Any] = {}
        for u in candidates:
            self.by_name[normalize_text(u.display_name or u.username).casefold()].append(u)
            self.by_account[normalize_text(u.username).casefold()] = u

    def match(self, raw: Any) -> Any:
        text = _text(raw)
        key = normalize_text(text).casefold()
        if not key:
            raise CellError("责任人不能为空")
        if re.search(r"[、，,/;；]|和", text) and key not in self.by_name and key not in self.by_account:
            raise CellError(f"责任人“{text}”只能写一个人；其他人可写进措施内容")
        m = _OWNER_WITH_ACCOUNT.fullmatch(key)
        if m and m["account"].strip() in self.by_account:
            return self.by_account[m["account"].strip()]
        found = self.by_name.get(key, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            accounts = "、".join(u.username for u in found)
            raise CellError(f"有 {len(found)} 人叫“{text}”（账号 {accounts}），请写成“{text}（账号）”")
        if key in self.by_account:
            return self.by_account[key]
        raise CellError(f"“{text}”不是该村、所在管区、网格站或镇有职务的人员（责任人须有账号和职务）")


# ---------------------------------------------------------------------------------------------- drafts


@dataclass(frozen=True)
class Ref:
    sheet: str
    row: int
    column: FieldColumn | None = None

    def error(self, reason: str, column: FieldColumn | None = None) -> RowError:
        col = column or self.column
        return RowError(
            self.row, col.letter if col else "", col.header if col else "", reason, sheet=self.sheet
        )


@dataclass
class PathDraft:
    path: DevelopmentPath
    expected: Decimal | None
    note: str
    ref: Ref


@dataclass
class MeasureDraft:
    title: str
    owner: Any
    deadline: datetime.date
    expected: Decimal
    path: DevelopmentPath | None
    ref: Ref


@dataclass
class VillageDraft:
    village: OrgUnit
    ref: Ref
    summary: str | None = None
    summary_ref: Ref | None = None
    resources: list[ResourceInput] | None = None
    paths: dict[int, PathDraft] = field(default_factory=dict)
    measures: dict[str, MeasureDraft] = field(default_factory=dict)

    def add_resource(self, kind: str, name: str, area: Decimal | None = None, note: str = "") -> None:
        if self.resources is None:
            self.resources = []
        key = (kind, normalize_text(name))
        if any((r.kind, normalize_text(r.name)) == key for r in self.resources):
            return  # a merged cell read once per row it covers
        self.resources.append(ResourceInput(kind=kind, name=name, area_mu=area, note=note))


@dataclass
class ParsedPlans:
    name: str
    year: int
    tables: list[Table] = field(default_factory=list)
    drafts: dict[int, VillageDraft] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0
    #: A Word file's places (“第 2 个表格第 5 行”) by the row numbers its errors carry; None for a workbook.
    places: dict[int, str] | None = None

    def locate(self, errors: list[RowError]) -> list[RowError]:
        """The errors with their place in a Word file named (a workbook's are left as they are)."""
        if self.places is None:
            return errors
        return [replace(e, place=self.places.get(e.row, f"第 {e.row} 处")) for e in errors]


def plan_villages(actor: Any) -> tuple[list[OrgUnit], set[int]]:
    """The villages an import may name (every village of the actor's townships, so that a name is
    found and then refused by scope, not "unknown") and the ids of those the actor may plan for."""
    units = list(OrgUnit.objects.restrict(actor, Action.PLAN))
    if not units:
        return [], set()
    codes = {code for u in units for code in u.ancestor_codes()}
    townships = list(OrgUnit.objects.filter(code__in=codes, level=Level.TOWNSHIP))
    plannable = {
        v.pk for v in OrgUnit.objects.restrict(actor, Action.PLAN).filter(level=Level.VILLAGE).only("pk")
    }
    villages: list[OrgUnit] = []
    for t in townships:
        villages += list(OrgUnit.objects.under(t).filter(level=Level.VILLAGE))
    if not townships:  # a grant above any township (a county): its villages only
        villages = list(OrgUnit.objects.filter(pk__in=plannable))
    return villages, plannable


class _Reader:
    def __init__(self, *, year: int, villages: list[OrgUnit], plannable: set[int], result: ParsedPlans):
        self.places: dict[int, str] | None = None  # a Word file's, see ParsedPlans.places
        self.year = year
        self.result = result
        self.villages = villages
        self.plannable = plannable
        self.matcher = VillageMatcher(villages)
        paths = {p.name: p for p in DevelopmentPath.objects.all()}
        self.paths = paths
        self.match_path = NameMatcher(paths, PLAN_PATH_SYNONYMS)
        self.candidates = owner_candidates_by_village(villages)
        self.owners: dict[int, OwnerMatcher] = {}
        self.measure_rows: dict[tuple[int, str], Ref] = {}
        self.path_expected_at: dict[tuple[int, int], Ref] = {}
        #: Villages with an error on a row already: a missing path is then that error's consequence.
        self.troubled: set[int] = set()

    # -- helpers
    def where(self, ref: Ref, here: Ref) -> str:
        """Where ``ref`` is, for a message about a row at ``here``: 第 3 行 (工作表“刘道”第 3 行 on
        another sheet), or in a Word file 第 2 个表格第 3 行."""
        if self.places is not None:
            return self.places.get(ref.row, f"第 {ref.row} 处")
        return ("" if ref.sheet == here.sheet else f"工作表“{ref.sheet}”") + f"第 {ref.row} 行"

    def fail(self, error: RowError) -> None:
        self.result.errors.append(error)

    def village(self, raw: Any, ref: Ref) -> OrgUnit | None:
        try:
            village = self.matcher.match(raw)
        except CellError as exc:
            self.fail(ref.error(str(exc)))
            return None
        if village.pk not in self.plannable:
            self.fail(ref.error(f"您没有编制{village.name}一村一策的权限（只能导入您负责的村）"))
            return None
        return village

    def draft(self, village: OrgUnit, ref: Ref) -> VillageDraft:
        found = self.result.drafts.get(village.pk)
        if found is None:
            found = self.result.drafts[village.pk] = VillageDraft(village=village, ref=ref)
        return found

    def owner(self, village: OrgUnit) -> OwnerMatcher:
        if village.pk not in self.owners:
            self.owners[village.pk] = OwnerMatcher(self.candidates.get(village.pk, []))
        return self.owners[village.pk]

    # -- one row, whatever sheet it is on
    def row(
        self,
        village: OrgUnit,
        cols: dict[str, FieldColumn],
        cells: list[Any],
        ref: Ref,
        *,
        summary_only: bool = False,
    ) -> None:
        def cell(key: str) -> Any:
            column = cols.get(key)
            if column is None or column.index >= len(cells):
                return None
            return cells[column.index]

        errors: list[RowError] = []
        for key, column in cols.items():
            problem = text_problem(cell(key))
            if problem is not None:
                errors.append(ref.error(problem, column))
        if errors:  # a cell with a control character: the row is not read further
            self.result.errors.extend(errors)
            return
        d = self.draft(village, ref)
        if "summary" in cols and not is_blank(cell("summary")):
            self.summary(d, _text(cell("summary")), Ref(ref.sheet, ref.row, cols["summary"]))
        if summary_only:
            return
        self._resources(d, cols, cell, ref, errors)
        path = self._path(d, cols, cell, ref, errors)
        self._measure(d, cols, cell, ref, errors, path)
        if errors:
            self.troubled.add(village.pk)
        self.result.errors.extend(errors)

    def summary(self, d: VillageDraft, text: str, ref: Ref) -> None:
        if len(text) > 2000:
            self.fail(ref.error(f"方案概述最多 2000 个字（现有 {len(text)} 个）"))
        elif d.summary is None:
            d.summary, d.summary_ref = text, ref
        elif normalize_text(d.summary) != normalize_text(text) and d.summary_ref is not None:
            where = d.summary_ref
            place = (
                self.where(where, ref)
                if self.places is not None
                else f"工作表“{where.sheet}”第 {where.row} 行"
            )
            self.fail(ref.error(f"与{place}的方案概述不一致"))

    def _resources(
        self,
        d: VillageDraft,
        cols: dict[str, FieldColumn],
        cell: Callable[[str], Any],
        ref: Ref,
        errors: list[RowError],
    ) -> None:
        if "kind" in cols or ("name" in cols and "measure" not in cols and "path" not in cols):
            raw_kind, raw_name = cell("kind"), cell("name")
            if is_blank(raw_kind) and is_blank(raw_name):
                pass
            else:
                kind = _KIND_LOOKUP.get(normalize_text(raw_kind)) if "kind" in cols else None
                if kind is None:
                    column = cols.get("kind") or cols["name"]
                    errors.append(
                        ref.error(
                            f"类型“{_text(raw_kind)}”不认识，应为闲置资产、土地资源、优势或短板问题", column
                        )
                    )
                name = _text(raw_name)
                if not name:
                    errors.append(ref.error("内容不能为空", cols.get("name") or cols.get("kind")))
                elif len(name) > 200:
                    errors.append(ref.error("内容最多 200 个字", cols["name"]))
                area = None
                if "area" in cols and not is_blank(cell("area")):
                    try:
                        area = parse_area(cell("area"))
                    except CellError as exc:
                        errors.append(ref.error(str(exc), cols["area"]))
                note = _text(cell("note")) if "note" in cols else ""
                if len(note) > 200:
                    errors.append(ref.error("备注最多 200 个字", cols["note"]))
                if kind is not None and name and not errors:
                    d.add_resource(kind, name, area, note[:200])
        for kind in KIND_COLUMNS:
            key = f"res_{kind}"
            if key not in cols:
                continue
            raw = cell(key)
            if is_blank(raw):
                d.resources = d.resources if d.resources is not None else []
                continue
            column = cols[key]
            bare = isinstance(raw, str) and _NUMBER_TEXT.fullmatch(normalize_text(raw)) is not None
            if kind == "land" and (bare or (isinstance(raw, int | float) and not isinstance(raw, bool))):
                try:
                    area = parse_area(raw)
                except CellError as exc:
                    errors.append(ref.error(str(exc), column))
                    continue
                d.add_resource(kind, split_header(column.header)[0] or "集体土地", area)
                continue
            for item in _SPLIT_ITEMS.split(_text(raw)):
                item = item.strip()
                if not item:
                    continue
                if len(item) > 200:
                    errors.append(ref.error("一项最多 200 个字（多项请分行或用；隔开）", column))
                    continue
                area = None
                if kind == "land" and (m := _LAND_TEXT.fullmatch(normalize_text(item))):
                    try:
                        area = parse_area(m["n"])
                    except CellError as exc:
                        errors.append(ref.error(str(exc), column))
                        continue
                    item = (m["name"] + m["rest"]).strip("，,：: ") or "集体土地"
                d.add_resource(kind, item, area)

    def _path(
        self,
        d: VillageDraft,
        cols: dict[str, FieldColumn],
        cell: Callable[[str], Any],
        ref: Ref,
        errors: list[RowError],
    ) -> DevelopmentPath | None:
        if "path" not in cols or is_blank(cell("path")):
            if "path_expected" in cols and not is_blank(cell("path_expected")) and "path" in cols:
                errors.append(ref.error("填了预计收入，却没有写是哪条增收路子", cols["path"]))
            return None
        name = self.match_path(cell("path"))
        if name is None:
            errors.append(
                ref.error(
                    f"增收路子“{_text(cell('path'))}”不认识，应为 {'、'.join(self.paths)} 之一", cols["path"]
                )
            )
            return None
        path = self.paths[name]
        expected: Decimal | None = None
        expected_col = cols.get("path_expected")
        if "measure" not in cols and expected_col is None:
            expected_col = cols.get("measure_expected")  # a paths sheet headed 预计增收
        if expected_col is not None:
            raw = cell(expected_col.field)
            if not is_blank(raw):
                try:
                    expected = parse_money(raw, wan=expected_col.wan, label="预计收入")
                except CellError as exc:
                    errors.append(ref.error(str(exc), expected_col))
                    return path
        note = _text(cell("path_note")) if "path_note" in cols else ""
        if len(note) > 200:
            errors.append(ref.error("做法最多 200 个字", cols["path_note"]))
            note = ""
        chosen = d.paths.get(path.pk)
        if chosen is None:
            d.paths[path.pk] = PathDraft(path=path, expected=expected, note=note, ref=ref)
            if expected is not None:
                self.path_expected_at[(d.village.pk, path.pk)] = Ref(ref.sheet, ref.row, expected_col)
            return path
        if expected is not None:
            if chosen.expected is None:
                chosen.expected = expected
                self.path_expected_at[(d.village.pk, path.pk)] = Ref(ref.sheet, ref.row, expected_col)
            elif chosen.expected != expected:
                first = self.path_expected_at[(d.village.pk, path.pk)]
                errors.append(
                    ref.error(
                        f"{d.village.name}“{path.name}”的预计收入 {expected:,.2f} 元与{self.where(first, first)}的 "
                        f"{chosen.expected:,.2f} 元不一致（一条路子只有一个预计收入）",
                        expected_col,
                    )
                )
        if note and not chosen.note:
            chosen.note = note
        return path

    def _measure(
        self,
        d: VillageDraft,
        cols: dict[str, FieldColumn],
        cell: Callable[[str], Any],
        ref: Ref,
        errors: list[RowError],
        path: DevelopmentPath | None,
    ) -> None:
        if "measure" not in cols:
            return
        title = _text(cell("measure"))
        others = [k for k in ("owner", "deadline", "measure_expected") if k in cols and not is_blank(cell(k))]
        if not title:
            if others:
                errors.append(ref.error("措施为空：填了责任人或时限，却没有写措施内容", cols["measure"]))
            return
        if len(title) > 200:
            errors.append(ref.error(f"措施内容最多 200 个字（现有 {len(title)} 个）", cols["measure"]))
            return
        owner = None
        if "owner" not in cols:
            errors.append(ref.error("表中没有“责任人”列：每项措施都要有责任人", cols["measure"]))
        else:
            try:
                owner = self.owner(d.village).match(cell("owner"))
            except CellError as exc:
                errors.append(ref.error(str(exc), cols["owner"]))
        deadline = None
        if "deadline" not in cols:
            errors.append(ref.error("表中没有“完成时限”列：每项措施都要有完成时限", cols["measure"]))
        else:
            try:
                deadline = parse_deadline(cell("deadline"), year=self.year)
            except CellError as exc:
                errors.append(ref.error(str(exc), cols["deadline"]))
        expected = Decimal("0.00")
        column = cols.get("measure_expected")
        if column is not None and not is_blank(cell("measure_expected")):
            try:
                expected = parse_money(cell("measure_expected"), wan=column.wan, label="预计增收")
            except CellError as exc:
                errors.append(ref.error(str(exc), column))
        key = normalize_text(title)
        first = self.measure_rows.get((d.village.pk, key))
        if first is not None:
            errors.append(
                ref.error(
                    f"与{self.where(first, ref)}的措施重复（同一村的措施不能同名）",
                    cols["measure"],
                )
            )
            return
        self.measure_rows[(d.village.pk, key)] = Ref(ref.sheet, ref.row, cols["measure"])
        if errors or owner is None or deadline is None:
            return
        d.measures[key] = MeasureDraft(
            title=title,
            owner=owner,
            deadline=deadline,
            expected=expected,
            path=path,
            ref=Ref(ref.sheet, ref.row, cols["measure"]),
        )

    # -- sheets
    def sheet(self, name: str, col_offset: int, rows: Iterable[tuple[int, list[Any]]]) -> None:
        iterator = iter(rows)
        head: list[tuple[int, list[Any]]] = []
        for number, cells in iterator:
            head.append((number, cells))
            if len(head) >= HEAD_ROWS:
                break
        wan = False
        for index, (number, cells) in enumerate(head):
            cols = header_columns(cells, LONG_LOOKUP, col_offset=col_offset, wan=wan)
            if _is_long_header(cols):
                rest = _chain(head[index + 1 :], iterator)
                self.long_sheet(name, col_offset, number, len(cells), cols, rest)
                return
            text = "".join(normalize_text(c) for c in cells if isinstance(c, str))
            if "单位" in text and "万元" in text:
                wan = True
        self.village_sheet(name, col_offset, _chain(head, iterator))

    def long_sheet(
        self,
        name: str,
        col_offset: int,
        header_row: int,
        width: int,
        cols: dict[str, FieldColumn],
        rows: Iterable[tuple[int, list[Any]]],
    ) -> None:
        summary_only = any(k.startswith("sheet_") for k in cols)
        cols = {k: c for k, c in cols.items() if not k.startswith("sheet_")}
        if summary_only:
            cols = {k: c for k, c in cols.items() if k in ("village", "summary")}
        self.result.tables.append(Table(name, header_row, cols, width, col_offset))
        village_col = cols["village"]
        required = next((cols[k].index for k in ("measure", "path", "name") if k in cols), None)
        previous: OrgUnit | None = None
        for number, cells in rows:
            width = max(width, len(cells))
            if self._skip(cells, key=village_col.index, required=required):
                self.result.skipped += 1
                continue
            ref = Ref(name, number, village_col)
            raw = cells[village_col.index] if village_col.index < len(cells) else None
            if all(
                is_blank(cells[c.index]) for k, c in cols.items() if k != "village" and c.index < len(cells)
            ):
                self.result.skipped += (
                    1  # a village listed with nothing for it (the summary's other villages)
                )
                continue
            if is_blank(raw) and previous is not None:
                village: OrgUnit | None = previous
            else:
                problem = text_problem(raw)
                if problem is not None:
                    self.fail(ref.error(problem))
                    previous = None
                    continue
                village = self.village(raw, ref)
                previous = village
            if village is None:
                continue
            self.row(village, cols, cells, ref, summary_only=summary_only)
        self.result.tables[-1].width = width

    @staticmethod
    def _skip(cells: list[Any], *, key: int | None, required: int | None) -> bool:
        if all(is_blank(c) for c in cells):
            return True
        if is_total_row(cells, key=key, required=required):
            return True
        first = next((c for c in cells if not is_blank(c)), None)
        return isinstance(first, str) and bool(_SIGNATURE_RE.match(normalize_text(first)))

    def _sheet_village(self, name: str, rows: list[tuple[int, list[Any]]]) -> tuple[Any, Ref] | None:
        """The village a per-village sheet is about: a 村名 cell at the top, the sheet's name, the title."""
        for number, cells in rows:
            for position, value in enumerate(cells):
                text = normalize_text(value) if isinstance(value, str) else ""
                if not text:
                    continue
                if m := _VILLAGE_LINE.fullmatch(text):
                    if m["rest"]:
                        return m["rest"], Ref(name, number)
                    following = next((v for v in cells[position + 1 :] if not is_blank(v)), None)
                    if following is not None:
                        return following, Ref(name, number)
                if text in ("村名", "村名称", "行政村", "村庄"):
                    following = next((v for v in cells[position + 1 :] if not is_blank(v)), None)
                    if following is not None:
                        return following, Ref(name, number)
        try:
            self.matcher.match(name)
            return name, Ref(name, 1)
        except CellError:
            pass
        for number, cells in rows[:5]:
            for value in cells:
                text = normalize_text(value) if isinstance(value, str) else ""
                named = {v.pk: v for v in self.villages if v.name in text} if text else {}
                if len(named) == 1:
                    return next(iter(named.values())).name, Ref(name, number)
        return None

    def village_sheet(self, name: str, col_offset: int, rows: Iterable[tuple[int, list[Any]]]) -> None:
        block: str | None = None
        cols: dict[str, FieldColumn] = {}
        buffered: list[tuple[int, list[Any]]] = []
        village: OrgUnit | None = None
        decided = False
        table: Table | None = None
        wan = False
        width = 0
        reads = 0
        for number, cells in rows:
            width = max(width, len(cells))
            values = [normalize_text(c) if isinstance(c, str) else c for c in cells if not is_blank(c)]
            if not values:
                continue
            distinct = {str(v) for v in values}
            text = (
                normalize_text(next(iter(values)))
                if len(distinct) == 1 and isinstance(values[0], str)
                else ""
            )
            marker = _marker(text) if text else None
            if text and "单位" in text and "万元" in text:
                wan = True
            if marker is not None:
                block, cols = marker, {}
                if table is None:
                    table = Table(name, number, {}, 0, col_offset)
                buffered.append((number, cells))
                continue
            first = next(c for c in cells if not is_blank(c))
            first_text = normalize_text(first) if isinstance(first, str) else ""
            if _SUMMARY_LINE.fullmatch(first_text):
                raw_first = _text(first)
                parts = re.split("[:：]", raw_first, maxsplit=1)
                rest = parts[1].strip() if len(parts) == 2 else ""
                if not rest:
                    rest = next((_text(c) for c in cells[cells.index(first) + 1 :] if not is_blank(c)), "")
                buffered.append((number, cells))
                if rest:
                    if not decided:
                        village, decided = self._decide(name, buffered)
                    if village is not None:
                        problem = text_problem(rest)
                        if problem:
                            self.fail(Ref(name, number).error(problem))
                        else:
                            d = self.draft(village, Ref(name, number))
                            self.summary(d, rest, Ref(name, number))
                    reads += 1
                continue
            header = header_columns(cells, BLOCK_LOOKUP, col_offset=col_offset, wan=wan)
            kind_cols = [k for k in header if k.startswith("res_")]
            opens = (
                ("measure" in header and len(header) >= 2 and "measures")
                or ("path" in header and len(header) >= 2 and "measure" not in header and "paths")
                or (("kind" in header and "name" in header) and "resources")
                or (len(kind_cols) >= 2 and "resources")
                or None
            )
            if opens and (not cols or opens != block):
                block, cols = opens, header
                if table is None:
                    table = Table(name, number, {}, 0, col_offset)
                buffered.append((number, cells))
                continue
            buffered.append((number, cells))
            if block is None:
                continue
            if not decided:
                village, decided = self._decide(name, buffered)
            if village is None:
                continue
            if self._skip(cells, key=None, required=None):
                self.result.skipped += 1
                continue
            ref = Ref(name, number)
            if cols:
                if block == "measures" and "measure" in cols:
                    self.row(village, cols, cells, Ref(name, number, cols["measure"]))
                elif block == "paths":
                    self.row(village, {k: c for k, c in cols.items() if k != "measure"}, cells, ref)
                else:
                    self.row(village, cols, cells, ref)
                reads += 1
            elif block == "resources":
                self._resource_line(village, cells, ref)
                reads += 1
        if table is not None:
            table.width = width
            self.result.tables.append(table)
        if not decided and table is not None and reads == 0:
            return  # an empty village sheet (the template's, unfilled)
        if table is not None and not decided:
            self._decide(name, buffered)

    def _decide(self, name: str, rows: list[tuple[int, list[Any]]]) -> tuple[OrgUnit | None, bool]:
        found = self._sheet_village(name, rows)
        if found is None and self.places is not None:
            places = self.places
            first = next((n for n, _ in rows if "表格" in places.get(n, "")), rows[0][0] if rows else 1)
            self.fail(
                RowError(
                    first,
                    "",
                    "",
                    "这一部分没有写是哪个村：请在它的表格前面写一段“村名：XX村”（或以“XX村一村一策”为标题）",
                    sheet=name,
                )
            )
            return None, True
        if found is None:
            self.fail(
                RowError(
                    rows[0][0] if rows else 1,
                    "",
                    "",
                    f"工作表“{name}”没有写是哪个村：请在表头写“村名：XX村”，或把工作表改名为村名",
                    sheet=name,
                )
            )
            return None, True
        raw, ref = found
        return self.village(raw, ref), True

    def _resource_line(self, village: OrgUnit, cells: list[Any], ref: Ref) -> None:
        """A list line written as label and value: ``闲置资产 | 旧小学校舍 5 间`` or ``优势：临近县城``."""
        filled = [c for c in cells if not is_blank(c)]
        label = _text(filled[0])
        rest = "；".join(_text(c) for c in filled[1:])
        if not rest and re.search("[:：]", label):
            label, rest = re.split("[:：]", label, maxsplit=1)
        kind = None
        for k, words in KIND_COLUMNS.items():
            if normalize_text(label) in {normalize_text(w) for w in words}:
                kind = k
        if kind is None:
            kind = _KIND_LOOKUP.get(normalize_text(label))
        problem = text_problem(label) or text_problem(rest)
        if problem:
            self.fail(ref.error(problem))
            return
        if kind is None or not rest.strip():
            self.fail(
                ref.error(
                    "资源清单这一行看不出类型：请写成“闲置资产 | 内容”“土地 | 120亩”“优势 | 内容”或“短板 | 内容”"
                )
            )
            return
        d = self.draft(village, ref)
        cols = {f"res_{kind}": FieldColumn(f"res_{kind}", 1, "", label, False)}
        self._resources(d, cols, lambda key: rest if key == f"res_{kind}" else None, ref, self.result.errors)

    def finish(self) -> None:
        """Paths with no 预计收入 take the sum of their measures'; every plan must have a path."""
        existing = {
            p.village_id: p
            for p in Plan.objects.filter(
                year=self.year, village_id__in=list(self.result.drafts)
            ).prefetch_related("paths__path", "resources")
        }
        for d in self.result.drafts.values():
            for chosen in d.paths.values():
                if chosen.expected is None:
                    chosen.expected = sum(
                        (
                            m.expected
                            for m in d.measures.values()
                            if m.path is not None and m.path.pk == chosen.path.pk
                        ),
                        Decimal("0.00"),
                    )
            plan = existing.get(d.village.pk)
            if not d.paths:
                if (plan is not None and plan.paths.all()) or d.village.pk in self.troubled:
                    continue  # the file has measures only: the plan's paths are kept
                self.fail(
                    d.ref.error(
                        f"{d.village.name}没有增收路子：一村一策至少要有一条增收路子（填“增收路子”和“预计收入”）"
                    )
                )
            elif len(d.paths) > MAX_PATHS:
                self.fail(d.ref.error(f"{d.village.name}的增收路子有 {len(d.paths)} 条，最多 {MAX_PATHS} 条"))
            if d.resources is not None and len(d.resources) > MAX_RESOURCES:
                self.fail(
                    d.ref.error(
                        f"{d.village.name}的资源清单有 {len(d.resources)} 条，最多 {MAX_RESOURCES} 条"
                    )
                )


@dataclass
class _Section:
    """A part of a Word file read as one sheet: a village's part, or a table with a 村名 column."""

    name: str
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    village: int | None = None  # the village its title names
    blocks: bool = False  # it has a table or a line such as 一、资源清单


class _WordSections:
    """Cut a Word file's body into the sheets :class:`_Reader` reads (see the module's docstring)."""

    def __init__(self, villages: list[OrgUnit]) -> None:
        self.villages = villages
        self.names = sorted(
            {(normalize_text(v.name), v.pk) for v in villages}
            | {(VillageMatcher.key(v.name), v.pk) for v in villages if len(VillageMatcher.key(v.name)) >= 2},
            key=lambda item: -len(item[0]),
        )
        self.places: dict[int, str] = {}
        self.sections: list[_Section] = []
        self.carry: list[tuple[int, list[Any]]] = []  # a 单位：万元 line above every village's part
        self.number = 0

    def title(self, text: str) -> tuple[int, str] | None:
        """The village a paragraph opens a part for: ``村名：孙庄村``, or a short title naming one village
        (``孙庄村一村一策``, ``2020年孙庄村一村一策``, ``孙庄村发展村级集体经济方案``)."""
        norm = normalize_text(text)
        if not norm or _marker(norm) is not None or _SUMMARY_LINE.fullmatch(norm):
            return None
        if m := _VILLAGE_LINE.fullmatch(norm):
            return self.named(m["rest"])
        if len(norm) > 40:
            return None
        hits: dict[int, str] = {}
        taken: list[tuple[int, int]] = []
        for name, pk in self.names:  # longest names first: 大王庄村 is not also 王庄
            start = norm.find(name)
            if start < 0 or any(a <= start < b for a, b in taken):
                continue
            taken.append((start, start + len(name)))
            hits.setdefault(pk, name)
        if len(hits) != 1:
            return None
        pk, name = next(iter(hits.items()))
        numbered = _MARKER_RE.fullmatch(norm)
        body = numbered["text"] if numbered else norm  # 一、孙庄村 / （一）孙庄村
        if body.startswith(name) or any(w in norm for w in ("一村一策", "方案", "村名")):
            return pk, name
        return None

    def named(self, raw: str) -> tuple[int, str] | None:
        """The village a 村名 line names (-1 for one the reader will refuse as unknown or ambiguous)."""
        if not raw:
            return None
        keys = {normalize_text(raw), VillageMatcher.key(raw)}
        found = {pk for name, pk in self.names if name in keys}
        return (found.pop() if len(found) == 1 else -1), raw

    def table_title(self, rows: list[list[str]]) -> tuple[int, str] | None:
        """The village a table's first rows name: a cell ``村名：孙庄村``, or ``村名`` | ``孙庄村``."""
        for cells in rows[:2]:
            for position, cell in enumerate(cells):
                text = normalize_text(cell)
                if m := _VILLAGE_LINE.fullmatch(text):
                    if m["rest"]:
                        return self.named(m["rest"])
                    text = m[1]
                if text in ("村名", "村名称", "行政村", "村庄"):
                    following = next(
                        (c for c in cells[position + 1 :] if normalize_text(c) not in ("", text, text + ":")),
                        "",
                    )
                    found = self.named(following)
                    if found is not None and found[0] != -1:
                        return found
        return None

    def add(self, place: str, cells: list[Any]) -> tuple[int, list[Any]]:
        self.number += 1
        self.places[self.number] = place
        return self.number, cells

    def open(self, name: str, village: int | None = None) -> _Section:
        section = _Section(name=name, rows=list(self.carry), village=village)
        self.sections.append(section)
        return section

    def cut(self, body: Iterable[Paragraph | WordTable]) -> list[_Section]:
        current = self.open("正文开头")
        for item in body:
            if isinstance(item, Paragraph):
                shown = item.text if len(item.text) <= 16 else item.text[:15] + "…"
                titled = self.title(item.text)
                if (
                    titled is not None
                    and titled[0] != current.village
                    and (current.blocks or current.village)
                ):
                    current = self.open(titled[1], titled[0])
                elif titled is not None and current.village is None:
                    current.village, current.name = titled
                if _marker(normalize_text(item.text)) is not None:
                    current.blocks = True
                row = self.add(f"第 {item.number} 段“{shown}”", [item.text])
                current.rows.append(row)
                norm = normalize_text(item.text)
                if not current.blocks and current.village is None and "单位" in norm and "万元" in norm:
                    self.carry.append(row)  # above every part: 单位：万元 for the whole file
                continue
            long = any(
                _is_long_header(header_columns(row, LONG_LOOKUP, col_offset=0)) for row in item.rows[:3]
            )
            titled = None if long else self.table_title(item.rows)
            if long and (current.blocks or current.village is not None):
                current = self.open(f"第 {item.number} 个表格")
            elif titled is not None and titled[0] != current.village and (current.blocks or current.village):
                current = self.open(titled[1], titled[0])
            elif titled is not None and current.village is None:
                current.village, current.name = titled
            current.blocks = True
            for r, cells in enumerate(item.rows, start=1):
                current.rows.append(self.add(f"第 {item.number} 个表格第 {r} 行", list(cells)))
            if long:
                current = self.open(f"第 {item.number} 个表格之后")
        return [s for s in self.sections if s.blocks]


def _chain(
    head: list[tuple[int, list[Any]]], rest: Iterable[tuple[int, list[Any]]]
) -> Iterable[tuple[int, list[Any]]]:
    yield from head
    yield from rest


def _is_long_header(cols: dict[str, FieldColumn]) -> bool:
    """A header row of a long sheet: the village and what makes a plan (a ledger's 村名 | 增收路子 is
    not one: a path without its expected income or a measure is not a plan)."""
    keys = set(cols)
    if "village" not in keys:
        return False
    if any(k.startswith("sheet_") for k in keys):
        return "summary" in keys
    return bool(
        "measure" in keys
        or {"path", "path_expected"} <= keys
        or {"kind", "name"} <= keys
        or any(k.startswith("res_") for k in keys)
        or "summary" in keys
    )


def _marker(text: str) -> str | None:
    """The block a line such as ``一、资源清单`` or ``三、具体措施`` opens, if it is one."""
    m = _MARKER_RE.fullmatch(text)
    if m is None:
        return None
    body = m["text"]
    if not m["enum"] and (len(body) > 10 or re.search("[:：].", body)):
        return None  # a sentence, or a list line written in one cell (闲置资产：老村委大院)
    if len(body) > 40:
        return None
    if "措施" in body:
        return "measures"
    if any(w in body for w in ("清单", "资源", "资产", "家底")):
        return "resources"
    if any(w in body for w in ("方案", "路子", "路径", "途径")):
        return "paths"
    return None


# ---------------------------------------------------------------------------------------------- parse


def parse_plans_file(
    path: Path,
    *,
    name: str,
    year: int,
    villages: list[OrgUnit],
    plannable: set[int],
    progress: Callable[[int, int], None] | None = None,
) -> ParsedPlans:
    """Check the file's safety and read every sheet it has (every part of a Word file). Never writes
    anything."""
    word = is_word_file(name)
    total = inspect_docx(path, name=name) if word else inspect_xlsx(path, name=name)
    result = ParsedPlans(name=name, year=year)
    reader = _Reader(year=year, villages=villages, plannable=plannable, result=result)
    sheets: Iterable[tuple[str, int, Iterable[tuple[int, list[Any]]]]]
    if word:
        cutter = _WordSections(villages)
        sections = cutter.cut(docx_body(path))
        result.places = reader.places = cutter.places
        total = cutter.number
        sheets = [(s.name, 0, s.rows) for s in sections]
    else:
        sheets = iter_sheets(path)
    for sheet_name, col_offset, rows in sheets:
        reader.sheet(sheet_name, col_offset, rows)
        if progress is not None:
            progress(max((t.header_row for t in result.tables), default=0), total)
    if not result.drafts and not result.errors:
        if word:
            raise WorkbookRefused(
                "没有找到一村一策：Word 文件里需要一个按行填的表格（表头写有“村名”“增收路子”“措施”“责任人”"
                "“完成时限”等列），或按村分段（每村先写“村名：XX村”或“XX村一村一策”，再写“一、资源清单”"
                "“二、增收方案”“三、措施”，各接一个表格）。可下载模板对照"
            )
        raise WorkbookRefused(
            "没有找到一村一策：需要一张按行填的表（表头写有“村名”“增收路子”“措施”“责任人”“完成时限”等列），"
            "或按村一页的表（写有“一、资源清单”“二、增收方案”“三、措施”）。可下载模板对照"
        )
    reader.finish()
    result.errors = result.locate(result.errors)
    return result


# ---------------------------------------------------------------------------------------------- import


@dataclass
class VillageOutcome:
    name: str
    paths: int
    expected: Decimal
    resources: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class PlansImported:
    villages: list[VillageOutcome]
    errors: list[RowError]

    @property
    def added(self) -> int:
        return sum(v.added for v in self.villages)

    @property
    def updated(self) -> int:
        return sum(v.updated for v in self.villages)

    @property
    def unchanged(self) -> int:
        return sum(v.unchanged for v in self.villages)

    @property
    def expected(self) -> Decimal:
        return sum((v.expected for v in self.villages), Decimal("0.00"))

    @property
    def paths(self) -> int:
        return sum(v.paths for v in self.villages)

    @property
    def resources(self) -> int:
        return sum(v.resources for v in self.villages)


def _same(measure: Measure, m: MeasureDraft) -> bool:
    return (
        measure.title == m.title
        and measure.owner_id == m.owner.pk
        and measure.deadline == m.deadline
        and measure.expected == m.expected
        and measure.path_id == (m.path.pk if m.path else None)
    )


def plans_import(*, actor: Actor, parsed: ParsedPlans, dry_run: bool) -> PlansImported:
    """Save every village's plan and measures through the plans services, in one transaction: any
    error (the services check scope and values again) and nothing is kept; a dry run keeps nothing
    either, and says exactly what the import would do."""
    year = parsed.year
    outcome = PlansImported(villages=[], errors=[])
    with transaction.atomic():
        existing_plans = {
            p.village_id: p
            for p in Plan.objects.filter(year=year, village_id__in=list(parsed.drafts)).prefetch_related(
                "paths__path", "resources"
            )
        }
        existing: dict[int, dict[str, list[Measure]]] = defaultdict(lambda: defaultdict(list))
        for measure in Measure.objects.filter(
            plan__year=year, plan__village_id__in=list(parsed.drafts)
        ).select_related("plan"):
            existing[measure.plan.village_id][normalize_text(measure.title)].append(measure)
        for d in sorted(parsed.drafts.values(), key=lambda d: d.village.path):
            before = existing_plans.get(d.village.pk)
            if d.paths:
                paths = [
                    PathInput(path=p.path, expected=p.expected or Decimal("0.00"), note=p.note)
                    for p in d.paths.values()
                ]
            else:
                paths = (
                    [PathInput(path=p.path, expected=p.expected, note=p.note) for p in before.paths.all()]
                    if before
                    else []
                )
            if d.resources is not None:
                resources = d.resources
            else:
                resources = [
                    ResourceInput(kind=r.kind, name=r.name, area_mu=r.area_mu, note=r.note)
                    for r in (before.resources.all() if before else [])
                ]
            summary = d.summary if d.summary is not None else (before.summary if before else "")
            try:
                plan = plan_save(
                    actor=actor,
                    village=d.village,
                    year=year,
                    summary=summary,
                    resources=resources,
                    paths=paths,
                )
            except ServiceError as exc:
                outcome.errors.append(d.ref.error(f"{d.village.name}：{exc.message}"))
                continue
            done = VillageOutcome(
                name=d.village.name,
                paths=len(paths),
                expected=sum((p.expected for p in paths), Decimal("0.00")),
                resources=len(resources),
            )
            outcome.villages.append(done)
            for key, m in d.measures.items():
                same_name = existing[d.village.pk].get(key, [])
                try:
                    if len(same_name) > 1:
                        raise ServiceError(
                            f"该村已有 {len(same_name)} 项同名措施，无法确定更新哪一项；请先在措施页面改名"
                        )
                    if not same_name:
                        measure_create(
                            actor=actor,
                            plan=plan,
                            title=m.title,
                            owner=m.owner,
                            deadline=m.deadline,
                            expected=m.expected,
                            path=m.path,
                        )
                        done.added += 1
                        continue
                    measure = same_name[0]
                    if _same(measure, m):
                        done.unchanged += 1
                        continue
                    if measure.status not in OPEN_MEASURE_STATUSES:
                        raise ServiceError(
                            f"该措施{measure.get_status_display()}，导入不能修改它；如确需改动，请先在措施页面重新打开"
                        )
                    measure_update(
                        actor=actor,
                        measure=measure,
                        title=m.title,
                        owner=m.owner,
                        deadline=m.deadline,
                        expected=m.expected,
                        path=m.path,
                    )
                    done.updated += 1
                except ServiceError as exc:
                    outcome.errors.append(m.ref.error(exc.message))
        if dry_run or outcome.errors:
            transaction.set_rollback(True)
    outcome.errors = parsed.locate(outcome.errors)
    return outcome
