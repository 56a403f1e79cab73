"""Read a township's people from a workbook: 姓名, 手机, 账号, 角色, 单位 (a 网格站, 管区 or 村 by name).

Laid out any reasonable way, like the other readers (``core.excel.find_table``): title rows and a
"填报单位" line above the header, header synonyms (手机号/联系电话, 用户名/登录名, 职务/岗位, 所在单位 …),
blank rows, 合计 rows and signature lines skipped. The unit is one column (单位) or the roster's own
columns 网格站 / 管区 / 村: then the column that fits the person's role is read (a 网格站长's 网格站, a
村报账员's 村), and the columns beside it tell two villages of the same name apart.

Every cell is checked here and every bad one is named by row and column; nothing is written. The
accounts are made by :func:`qiangcun.accounts.services.people_import`, all or none."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qiangcun.accounts.models import ROLE_LEVELS, Role, User
from qiangcun.accounts.services import USERNAME_MAX, check_name, check_phone, check_username
from qiangcun.core.cells import CellError, is_blank
from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import (
    FieldColumn,
    RowError,
    Table,
    WorkbookRefused,
    find_table,
    inspect_xlsx,
    is_total_row,
    normalize_text,
)
from qiangcun.core.text import text_problem
from qiangcun.orgs.models import Level, OrgUnit

FIELDS: dict[str, list[str]] = {
    "name": ["姓名", "名字", "人员姓名", "真实姓名", "用户姓名", "干部姓名"],
    "phone": ["手机", "手机号", "手机号码", "联系电话", "电话", "电话号码", "联系方式", "移动电话"],
    "username": ["账号", "帐号", "用户名", "登录名", "登录账号", "登录帐号", "用户账号", "账户", "帐户"],
    "role": ["角色", "职务", "岗位", "身份", "职位", "系统角色"],
    "unit": ["单位", "所在单位", "所属单位", "工作单位", "单位名称", "所在组织"],
    "station": ["网格站", "所在网格站", "网格站名称", "网格化服务管理站"],
    "district": ["管区", "所在管区", "管区名称", "片区", "包区"],
    "village": ["村", "村名", "行政村", "村庄", "村居", "所在村", "村委会"],
}
LABELS = {
    "name": "姓名",
    "phone": "手机",
    "username": "账号",
    "role": "角色",
    "unit": "单位",
    "station": "网格站",
    "district": "管区",
    "village": "村",
}
#: The columns that may name a person's unit, the most specific first.
UNIT_FIELDS = ("unit", "village", "district", "station")
_LEVEL_FIELD: dict[str, str] = {
    Level.VILLAGE: "village",
    Level.DISTRICT: "district",
    Level.STATION: "station",
}

#: "书记" alone means the secretary of whatever unit the row names.
SECRETARY = "secretary"
_SECRETARY_BY_LEVEL: dict[str, str] = {
    Level.VILLAGE: Role.VILLAGE_SECRETARY,
    Level.DISTRICT: Role.DISTRICT_SECRETARY,
    Level.TOWNSHIP: Role.LEADER,
    Level.COUNTY: Role.LEADER,
}

#: Role words as people write them (besides each role's own label and code), normalized.
ROLE_SYNONYMS: dict[str, str] = {
    "党建办": Role.TOWNSHIP_ADMIN,
    "镇党建办公室": Role.TOWNSHIP_ADMIN,
    "党建办公室": Role.TOWNSHIP_ADMIN,
    "党建办管理员": Role.TOWNSHIP_ADMIN,
    "领导": Role.LEADER,
    "镇长": Role.LEADER,
    "副镇长": Role.LEADER,
    "党委书记": Role.LEADER,
    "镇党委书记": Role.LEADER,
    "党委副书记": Role.LEADER,
    "分管领导": Role.LEADER,
    "站长": Role.STATION_HEAD,
    "网格站站长": Role.STATION_HEAD,
    "网格站负责人": Role.STATION_HEAD,
    "管区书记": Role.DISTRICT_SECRETARY,
    "包区领导": Role.DISTRICT_SECRETARY,
    "指导员": Role.INSTRUCTOR,
    "包村指导员": Role.INSTRUCTOR,
    "支书": Role.VILLAGE_SECRETARY,
    "村支书": Role.VILLAGE_SECRETARY,
    "支部书记": Role.VILLAGE_SECRETARY,
    "党支部书记": Role.VILLAGE_SECRETARY,
    "村党支部书记": Role.VILLAGE_SECRETARY,
    "村党组织书记": Role.VILLAGE_SECRETARY,
    "报账员": Role.VILLAGE_CLERK,
    "村级报账员": Role.VILLAGE_CLERK,
    "会计": Role.VILLAGE_CLERK,
    "村会计": Role.VILLAGE_CLERK,
    "报账会计": Role.VILLAGE_CLERK,
    "系统管理": Role.SYSTEM_ADMIN,
    "安全保密管理员": Role.SECURITY_ADMIN,
    "审计员": Role.AUDITOR,
    "安全审计员": Role.AUDITOR,
    "书记": SECRETARY,
}

#: Suffixes a name may carry or leave off, by level (孙庄 = 孙庄村 = 孙庄村委会), longest first.
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    Level.VILLAGE: ("村民委员会", "村委会", "村"),
    Level.DISTRICT: ("管理区", "管区", "片区"),
    Level.STATION: ("网格化服务管理站", "网格工作站", "网格站", "工作站", "站"),
    Level.TOWNSHIP: ("人民政府", "镇政府", "镇", "乡", "街道"),
    Level.COUNTY: ("人民政府", "县", "区", "市"),
}
_SIGNATURE_RE = re.compile(r"^(制表|审核人|填报人|填报日期|负责人|签字|盖章|经办人)")
_PHONE_PREFIX = re.compile(r"^(\+?86)(?=1\d{10}$)")


@dataclass(frozen=True)
class PersonRow:
    """One person of the sheet, checked: their account and (when ``role``) the role on ``unit``."""

    row: int  # Excel row number
    name: str
    phone: str
    username: str
    username_made: bool  # made from the name's pinyin (the sheet left it empty)
    role: str  # a Role value, or "" for an account without a role yet
    unit: OrgUnit
    unit_field: str  # the column the unit was read from ("" when the township was taken by default)


@dataclass
class ParsedPeople:
    name: str
    table: Table | None = None
    rows: list[PersonRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


# ---------------------------------------------------------------------------------------------- units


def _strip_suffix(text: str, level: str) -> str:
    for suffix in NAME_SUFFIXES.get(level, ()):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


class UnitMatcher:
    """Units by name within the ones given (those the actor manages): the full name, the code, or the
    name without its suffix (孙庄 for 孙庄村, 一号 for 一号网格站). ``levels`` narrows the candidates
    to the levels a role fits; names of the units above (a roster's 网格站 and 管区 columns) tell two
    units of the same name apart. No match, or more than one, is a :class:`CellError`."""

    def __init__(self, units: Iterable[OrgUnit]) -> None:
        self.units = list(units)
        self.by_code = {u.code: u for u in self.units}
        self.exact: dict[str, list[OrgUnit]] = defaultdict(list)
        self.by_key: dict[tuple[str, str], list[OrgUnit]] = defaultdict(list)
        for unit in self.units:
            name = normalize_text(unit.name)
            self.exact[name].append(unit)
            self.by_key[(unit.level, _strip_suffix(name, unit.level))].append(unit)

    @property
    def townships(self) -> list[OrgUnit]:
        return [u for u in self.units if u.level == Level.TOWNSHIP]

    def _names_above(self, unit: OrgUnit) -> set[str]:
        """The names (full and without suffix) of every unit above ``unit`` that the matcher knows."""
        names: set[str] = set()
        for code in unit.ancestor_codes()[:-1]:
            above = self.by_code.get(code)
            if above is not None:
                name = normalize_text(above.name)
                names |= {name, _strip_suffix(name, above.level)}
        return names

    def candidates(self, text: str) -> list[OrgUnit]:
        found = list(self.exact.get(text, []))
        if not found and text in self.by_code:
            found = [self.by_code[text]]
        if not found:
            for level in NAME_SUFFIXES:
                for unit in self.by_key.get((level, _strip_suffix(text, level)), []):
                    if unit not in found:
                        found.append(unit)
        return found

    def match(
        self, raw: object, *, levels: Iterable[str] | None = None, above: Sequence[object] = ()
    ) -> OrgUnit:
        text = normalize_text(_cell_text(raw))  # a code typed as a number reads without ".0"
        if not text:
            raise CellError("单位不能为空：请写网格站、管区或村的名称")
        found = self.candidates(text)
        if not found:
            raise CellError(f"没有名为“{text}”的网格站、管区或村（或不在您管理的范围内）")
        wanted = set(levels or ())
        fitting = [u for u in found if u.level in wanted]
        if wanted and fitting:  # a unit of another level is kept, so the role's error can name it
            found = fitting
        for name in (normalize_text(a) for a in above):
            if len(found) > 1 and name:
                under = [u for u in found if name in self._names_above(u)]
                found = under or found
        if len(found) > 1:
            shown = "、".join(self._describe(u) for u in found[:5])
            raise CellError(
                f"“{text}”对应多个单位（{shown}），请写全名，或写明所属管区、网格站，或改写单位代码"
            )
        return found[0]

    def _describe(self, unit: OrgUnit) -> str:
        parent = self.by_code.get(unit.ancestor_codes()[-2]) if unit.depth > 1 else None
        return f"{parent.name}{unit.name}" if parent is not None else unit.name


# ---------------------------------------------------------------------------------------------- cells


def _cell_text(value: Any) -> str:
    """A cell as text: a whole number stored by Excel as a float reads without ``.0`` and exactly."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    return str(value)


def read_phone(value: Any) -> str:
    """A mobile number as stored: 13800000000, "138 0000 0000", "138-0000-0000", "+86 138…", or a
    number cell (read exactly, never 1.38E+10); empty is allowed. :class:`CellError` otherwise."""
    if isinstance(value, bool) or (
        value is not None and not isinstance(value, str | int | float)
    ):  # a date or time cell
        raise CellError("手机号应为 11 位数字（这一格是日期或其他格式）")
    if isinstance(value, float) and not value.is_integer():
        raise CellError(f"手机号应为 11 位数字（读到 {value!r}）")
    text = normalize_text(_cell_text(value)).replace("-", "").replace("(", "").replace(")", "")
    text = _PHONE_PREFIX.sub("", text)
    try:
        return check_phone(text)
    except ServiceError as exc:
        raise CellError(f"{exc.message}，读到“{_cell_text(value).strip()}”") from exc


def read_role(value: Any) -> str:
    """A Role value (or :data:`SECRETARY`, or "" for none) from its Chinese label, code or a synonym."""
    text = normalize_text(_cell_text(value)).casefold()
    if not text or text in ("无", "暂无", "-", "—", "/"):
        return ""
    for role in Role:
        if text in (normalize_text(str(role.label)), role.value):
            return role.value
    found = ROLE_SYNONYMS.get(text)
    if found is None:
        labels = "、".join(str(r.label) for r in Role)
        raise CellError(
            f"不认识的角色“{normalize_text(_cell_text(value))}”；可填：{labels}（也可不填，以后再授予）"
        )
    return found


# ---------------------------------------------------------------------------------------------- usernames

#: Surnames read otherwise than the character's commonest reading (曾 zeng, not ceng).
SURNAMES = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "查": "zha",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "乐": "yue",
    "覃": "qin",
    "翟": "zhai",
    "盖": "ge",
    "缪": "miao",
    "尉": "yu",
    "员": "yun",
    "种": "chong",
    "秘": "bi",
    "召": "shao",
    "长": "chang",
    "藏": "zang",
    "宁": "ning",
    "柏": "bai",
    "薄": "bo",
}


def username_from_name(name: str) -> str:
    """A username from a person's name: its pinyin without tones, lowercase (张伟 → zhangwei, 吕布 →
    lvbu, 曾国强 → zengguoqiang); Latin letters and digits of the name are kept. "" when nothing is left."""
    from pypinyin import Style, lazy_pinyin

    name = normalize_text(name)
    head = SURNAMES.get(name[:1], "")
    rest = name[1:] if head else name
    parts = [head, *lazy_pinyin(rest, style=Style.NORMAL)]
    text = "".join(parts).casefold().replace("ü", "v")
    return re.sub(r"[^a-z0-9]", "", text)[: USERNAME_MAX - 4]


class UsernameMaker:
    """Usernames for the rows that left 账号 empty: the name's pinyin, then 2, 3 … when it is taken by
    an existing account (case-insensitive) or by any other row of the file."""

    def __init__(self, taken_in_file: Iterable[str]) -> None:
        self.taken = {u.casefold() for u in taken_in_file}
        self.existing: dict[str, set[str]] = {}

    def _existing(self, base: str) -> set[str]:
        if base not in self.existing:
            found = User.objects.filter(username__istartswith=base).values_list("username", flat=True)
            self.existing[base] = {u.casefold() for u in found}
        return self.existing[base]

    def make(self, name: str) -> str:
        base = username_from_name(name)
        if not base:
            raise CellError("无法由姓名生成账号（姓名里没有汉字或字母），请在“账号”列填写")
        existing = self._existing(base)
        candidate, n = base, 1
        while candidate in self.taken or candidate in existing:
            n += 1
            candidate = f"{base}{n}"
        self.taken.add(candidate)
        return candidate


# ---------------------------------------------------------------------------------------------- the sheet


def _skip(cells: list[Any], name_index: int) -> bool:
    """Blank rows, 合计 rows and signature lines (制表人、审核人 …) are not people."""
    if all(is_blank(c) for c in cells):
        return True
    if is_total_row(cells, key=name_index, required=name_index):
        return True
    first = next((c for c in cells if not is_blank(c)), None)
    return isinstance(first, str) and bool(_SIGNATURE_RE.match(normalize_text(first)))


def parse_people_file(path: Path, *, name: str, units: Iterable[OrgUnit]) -> ParsedPeople:
    """The people of a workbook, each checked against ``units`` (the units the importing admin manages:
    a person's unit is found among them by name) and against the accounts already there."""
    inspect_xlsx(path, name=name)
    table, data = find_table(path, fields=FIELDS, required=["name"], labels=LABELS)
    cols = table.columns
    if not any(f in cols for f in UNIT_FIELDS):
        raise WorkbookRefused(
            f"工作表“{table.sheet}”第 {table.header_row} 行的表头缺少“单位”列：请写明每人所在的网格站、管区或村"
            "（列名“单位”，或分列写“网格站”“管区”“村”）"
        )
    result = ParsedPeople(name=name, table=table)
    matcher = UnitMatcher(units)
    townships = matcher.townships
    explicit_names: dict[str, int] = {}  # username (casefolded) → first row
    pending: list[PersonRow] = []  # usernames left empty are made once every row is read

    def cell(cells: list[Any], key: str) -> Any:
        column = cols.get(key)
        return cells[column.index] if column is not None and column.index < len(cells) else None

    for number, cells in data:
        if _skip(cells, cols["name"].index):
            result.skipped += 1
            continue
        errors: list[RowError] = []

        def fail(key: str, reason: str, number: int = number, errors: list[RowError] = errors) -> None:
            column = cols.get(key) or cols["name"]
            errors.append(RowError(number, column.letter, column.header, reason))

        for key in cols:
            problem = text_problem(cell(cells, key))
            if problem is not None:
                fail(key, problem)
        if errors:  # a cell with a control character: the row is not read further
            result.errors.extend(errors)
            continue

        person_name = ""
        try:
            person_name = check_name(normalize_text(_cell_text(cell(cells, "name"))), field="name")
        except ServiceError as exc:
            fail("name", exc.message)
        phone = ""
        try:
            phone = read_phone(cell(cells, "phone"))
        except CellError as exc:
            fail("phone", str(exc))
        role = ""
        try:
            role = read_role(cell(cells, "role"))
        except CellError as exc:
            fail("role", str(exc))

        unit, unit_field = _row_unit(cells, cell, cols, matcher, townships, role, fail)
        if unit is not None and role == SECRETARY:
            role = _SECRETARY_BY_LEVEL.get(unit.level, "")
            if not role:
                fail(
                    "role",
                    f"“书记”在{Level(unit.level).label}（{unit.name}）上对应哪个角色不清楚，请写明角色",
                )
        if unit is not None and role and role != SECRETARY and unit.level not in ROLE_LEVELS[role]:
            where = "、".join(str(Level(level).label) for level in sorted(ROLE_LEVELS[role]))
            fail(
                "role",
                f"{Role(role).label}只能授予在{where}上（{unit.name}是{Level(unit.level).label}）",
            )

        raw_username = normalize_text(_cell_text(cell(cells, "username")))
        username = ""
        if raw_username:
            try:
                username = check_username(raw_username, field="username")
            except ServiceError as exc:
                fail("username", exc.message)
            else:
                first = explicit_names.setdefault(username.casefold(), number)
                if first != number:
                    fail("username", f"账号 {username} 与第 {first} 行重复（不区分大小写）")
        if errors or unit is None:
            result.errors.extend(errors)
            continue
        pending.append(PersonRow(number, person_name, phone, username, not username, role, unit, unit_field))

    maker = UsernameMaker(explicit_names)
    for person in pending:
        if person.username_made:
            try:
                person = replace(person, username=maker.make(person.name))
            except CellError as exc:
                column = cols.get("username") or cols["name"]
                result.errors.append(RowError(person.row, column.letter, column.header, str(exc)))
                continue
        result.rows.append(person)
    result.errors.sort(key=lambda e: e.row)
    return result


def _row_unit(
    cells: list[Any],
    cell: Any,
    cols: dict[str, FieldColumn],
    matcher: UnitMatcher,
    townships: list[OrgUnit],
    role: str,
    fail: Any,
) -> tuple[OrgUnit | None, str]:
    """The unit a row names and the column it came from; ``(None, …)`` after reporting why not."""
    levels = ROLE_LEVELS.get(role) if role and role != SECRETARY else None
    filled = [f for f in UNIT_FIELDS if f in cols and not is_blank(cell(cells, f))]
    chosen = ""
    if "unit" in filled:
        chosen = "unit"
    elif levels is not None:
        chosen = next((_LEVEL_FIELD[lv] for lv in levels if _LEVEL_FIELD.get(lv) in filled), "")
    if not chosen and filled:
        chosen = filled[0]
    if not chosen:
        if levels is not None and Level.TOWNSHIP in levels and len(townships) == 1:
            return townships[0], ""  # a township role with the unit left empty: the township itself
        fail(next(f for f in UNIT_FIELDS if f in cols), "单位不能为空：请写网格站、管区或村的名称")
        return None, ""
    order = ["village", "district", "station"]
    above = [cell(cells, f) for f in order[order.index(chosen) + 1 :]] if chosen in order else []
    try:
        return matcher.match(cell(cells, chosen), levels=levels, above=above), chosen
    except CellError as exc:
        fail(chosen, str(exc))
        return None, chosen
