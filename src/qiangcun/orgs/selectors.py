"""Reads of the org tree, restricted to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qiangcun.core.scope import scope_paths
from qiangcun.orgs.models import Level, OrgUnit, OrgUnitQuerySet


def units_visible(*, user: Any, action: str = "view") -> OrgUnitQuerySet:
    return OrgUnit.objects.restrict(user, action)


def villages_under(unit: OrgUnit) -> OrgUnitQuerySet:
    return OrgUnit.objects.under(unit).filter(level=Level.VILLAGE)


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors from the root down, in one query."""
    codes = unit.ancestor_codes()[:-1]
    by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def widest_units(user: Any, action: str = "view") -> list[OrgUnit]:
    """The top units of the user's scope for ``action`` (those not under another), in one query."""
    paths = scope_paths(user, action)
    tops = sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
    units = {u.path: u for u in OrgUnit.objects.filter(path__in=tops)}
    return [units[p] for p in tops if p in units]


def station_and_district(villages: Iterable[OrgUnit]) -> dict[int, tuple[OrgUnit | None, OrgUnit | None]]:
    """Each village's 网格站 and 管区 (village id → (station, district)), read from the codes in the
    villages' paths in one query."""
    villages = list(villages)
    codes = {code for village in villages for code in village.ancestor_codes()}
    above = {
        u.code: u for u in OrgUnit.objects.filter(code__in=codes, level__in=[Level.STATION, Level.DISTRICT])
    }
    placement: dict[int, tuple[OrgUnit | None, OrgUnit | None]] = {}
    for village in villages:
        found = [above[c] for c in village.ancestor_codes() if c in above]
        placement[village.pk] = (
            next((u for u in found if u.level == Level.STATION), None),
            next((u for u in found if u.level == Level.DISTRICT), None),
        )
    return placement
