"""Import the org structure of a township (网格站, 管区, 行政村, tags) from a workbook."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from qiangcun.core import audit
from qiangcun.core.cells import CellError
from qiangcun.core.errors import PermissionDeniedError
from qiangcun.core.excel import RowError, Table, find_table, inspect_xlsx, is_total_row, normalize_text
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.core.text import text_problem
from qiangcun.orgs.models import Level, OrgUnit, Tag
from qiangcun.orgs.services import unit_create

FIELDS = {
    "station": ["网格站", "网格化服务管理站", "网格工作站", "工作站", "站"],
    "district": ["管区", "片区", "包区"],
    "village": ["村名", "行政村", "村庄", "村", "村居"],
    "code": ["代码", "区划代码", "统计代码", "村代码", "编码"],
    "tags": ["标签", "村类型", "类型"],
}
REQUIRED = ["station", "district", "village"]
LABELS = {"station": "网格站", "district": "管区", "village": "村名", "code": "代码", "tags": "标签"}
_CODE = re.compile(r"^[0-9A-Za-z-]{1,24}$")
_TAG_SPLIT = re.compile(r"[、,，;；/]+")


@dataclass(frozen=True)
class UnitRow:
    row: int
    station: str
    district: str
    village: str
    code: str
    tags: tuple[str, ...]


@dataclass
class ParsedUnits:
    name: str
    table: Table | None = None
    rows: list[UnitRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


def _clean_name(value: Any) -> str:
    return normalize_text(value)


def parse_units_file(path: Path, *, name: str) -> ParsedUnits:
    inspect_xlsx(path, name=name)
    table, data = find_table(path, fields=FIELDS, required=REQUIRED, labels=LABELS)
    result = ParsedUnits(name=name, table=table)
    cols = table.columns
    seen_villages: dict[str, int] = {}
    seen_codes: dict[str, int] = {}

    def cell(cells: list[Any], key: str) -> Any:
        column = cols.get(key)
        return cells[column.index] if column is not None and column.index < len(cells) else None

    for number, cells in data:
        texts = [normalize_text(c) for c in cells]
        if not any(texts) or is_total_row(cells, key=cols["village"].index, required=cols["district"].index):
            result.skipped += 1
            continue
        errors: list[RowError] = []

        def fail(key: str, reason: str, number: int = number, errors: list[RowError] = errors) -> None:
            column = cols[key]
            errors.append(RowError(number, column.letter, column.header, reason))

        for key in cols:
            problem = text_problem(cell(cells, key))
            if problem is not None:
                fail(key, problem)
        if errors:  # a cell with a control character: the row is not read further
            result.errors.extend(errors)
            continue
        station, district, village = (_clean_name(cell(cells, k)) for k in ("station", "district", "village"))
        for key, value in (("station", station), ("district", district), ("village", village)):
            if not value:
                fail(key, f"{LABELS[key]}不能为空")
            elif len(value) > 64:
                fail(key, f"{LABELS[key]}超过 64 字")
        code = normalize_text(cell(cells, "code"))
        if isinstance(cell(cells, "code"), float) and float(cell(cells, "code")).is_integer():
            code = str(int(cell(cells, "code")))
        if code and not _CODE.match(code):
            fail("code", f"代码“{code}”只能由数字、字母和“-”组成，不超过 24 位")
        if village:
            if village in seen_villages:
                fail("village", f"村名“{village}”与第 {seen_villages[village]} 行重复")
            seen_villages.setdefault(village, number)
        if code:
            if code in seen_codes:
                fail("code", f"代码 {code} 与第 {seen_codes[code]} 行重复")
            seen_codes.setdefault(code, number)
        tags = tuple(t for t in _TAG_SPLIT.split(normalize_text(cell(cells, "tags"))) if t)
        if errors:
            result.errors.extend(errors)
            continue
        result.rows.append(UnitRow(number, station, district, village, code, tags))
    return result


@dataclass
class UnitsOutcome:
    created: dict[str, int]  # level label → count
    unchanged: int
    tagged: int


def units_import(
    *, actor: Actor, township: OrgUnit, parsed: ParsedUnits, dry_run: bool = False
) -> UnitsOutcome:
    """Create the stations, districts and villages a file names under ``township``, all or none.
    Units already there (same name under the same parent) are kept; their tags are added to."""
    if township.level != Level.TOWNSHIP:
        raise PermissionDeniedError("组织结构只能导入到镇")
    if not allowed(actor, Action.IMPORT, township.path):
        raise PermissionDeniedError(f"您没有向{township.name}导入组织结构的权限")
    existing = {(u.parent_id, u.name): u for u in OrgUnit.objects.under(township).exclude(pk=township.pk)}
    villages_elsewhere = {
        u.name: u
        for u in OrgUnit.objects.under(township).filter(level=Level.VILLAGE).select_related("parent")
    }
    taken_codes = set(
        OrgUnit.objects.filter(code__in=[r.code for r in parsed.rows if r.code]).values_list(
            "code", flat=True
        )
    )
    errors: list[RowError] = []
    for r in parsed.rows:
        current = villages_elsewhere.get(r.village)
        if current is not None and current.parent and current.parent.name != r.district:
            errors.append(
                RowError(r.row, "", "", f"“{r.village}”已在{current.parent.name}，不能同时放在{r.district}")
            )
        elif current is None and r.code in taken_codes:
            errors.append(RowError(r.row, "", "", f"代码 {r.code} 已被其他单位使用"))
    if errors:
        parsed.errors.extend(errors)
        raise UnitsImportError(errors)
    created = {"网格站": 0, "管区": 0, "行政村": 0}
    unchanged = 0
    tagged = 0
    with transaction.atomic():
        counters: dict[str, int] = {
            Level.STATION: OrgUnit.objects.filter(parent=township).count(),
            Level.DISTRICT: OrgUnit.objects.under(township).filter(level=Level.DISTRICT).count(),
            Level.VILLAGE: OrgUnit.objects.under(township).filter(level=Level.VILLAGE).count(),
        }

        def get_or_make(level: str, parent: OrgUnit, name: str, code: str = "") -> OrgUnit:
            nonlocal unchanged
            unit = existing.get((parent.pk, name))
            if unit is not None:
                if level == Level.VILLAGE:
                    unchanged += 1
                return unit
            counters[level] += 1
            prefix = {"station": "S", "district": "D", "village": "V"}[level]
            new_code = code or f"{township.code}-{prefix}{counters[level]:03d}"
            while not code and OrgUnit.objects.filter(code=new_code).exists():
                counters[level] += 1
                new_code = f"{township.code}-{prefix}{counters[level]:03d}"
            unit = unit_create(actor=actor, level=level, name=name, code=new_code, parent=parent)
            existing[(parent.pk, name)] = unit
            created[str(Level(level).label)] += 1
            return unit

        for r in parsed.rows:
            station = get_or_make(Level.STATION, township, r.station)
            district = get_or_make(Level.DISTRICT, station, r.district)
            village = get_or_make(Level.VILLAGE, district, r.village, r.code)
            if r.tags:
                before = set(village.tags.values_list("name", flat=True))
                new = [t for t in r.tags if t not in before]
                if new:
                    village.tags.add(*[Tag.objects.get_or_create(name=t)[0] for t in new])
                    audit.record(
                        actor=actor,
                        action="orgunit.tag",
                        obj=village,
                        before={"tags": sorted(before)},
                        after={"tags": sorted(before | set(new))},
                        unit_path=village.path,
                    )
                    tagged += 1
        if dry_run:
            transaction.set_rollback(True)
    return UnitsOutcome(created, unchanged, tagged)


class UnitsImportError(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("；".join(str(e) for e in errors))
        self.errors = errors


class VillageMatcher:
    """Names match with or without the suffix 村, spaces and widths ignored; ambiguity is an error."""

    def __init__(self, villages: list[OrgUnit]) -> None:
        self.by_key: dict[str, list[OrgUnit]] = defaultdict(list)
        for v in villages:
            key = self.key(v.name)
            if v not in self.by_key[key]:
                self.by_key[key].append(v)
        self.cache: dict[object, OrgUnit | str] = {}

    @staticmethod
    def key(name: str) -> str:
        text = normalize_text(name)
        return text[:-1] if text.endswith("村") and len(text) > 1 else text

    def match(self, raw: object) -> OrgUnit:
        """The village a cell names; cached by the raw value (a ledger names few villages many times)."""
        try:
            found = self.cache[raw]
        except KeyError:
            try:
                found = self._lookup(raw)
            except CellError as exc:
                found = str(exc)
            self.cache[raw] = found
        except TypeError:  # an unhashable cell: no cache
            return self._lookup(raw)
        if isinstance(found, str):
            raise CellError(found)
        return found

    def _lookup(self, raw: object) -> OrgUnit:
        text = normalize_text(raw)
        if not text:
            raise CellError("村名为空")
        found = self.by_key.get(self.key(text), [])
        if not found:
            raise CellError(f"没有名为“{text}”的村（或不在您的管辖范围内）")
        if len(found) > 1:
            raise CellError(f"“{text}”对应多个村（{'、'.join(v.name for v in found)}），请写全名")
        return found[0]
