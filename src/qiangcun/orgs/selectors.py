"""Reads of the org tree, restricted to the user's scope."""

from __future__ import annotations

from typing import Any

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
    """The top units of the user's scope (those not under another unit of the scope)."""
    units = list(OrgUnit.objects.restrict(user, action).order_by("path"))
    tops: list[OrgUnit] = []
    for unit in units:
        if not any(unit.path.startswith(top.path) for top in tops):
            tops.append(unit)
    return tops
