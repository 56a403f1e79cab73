"""Reads of the org tree, restricted to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from qiangcun.core.errors import NotFoundError, PermissionDeniedError
from qiangcun.core.scope import Action, path_q, scope_paths
from qiangcun.orgs.models import Level, OrgUnit, OrgUnitQuerySet, VillageGeometry


def units_visible(*, user: Any, action: str = Action.VIEW) -> OrgUnitQuerySet:
    return OrgUnit.objects.restrict(user, action)


def villages_under(unit: OrgUnit) -> OrgUnitQuerySet:
    return OrgUnit.objects.under(unit).filter(level=Level.VILLAGE)


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors from the root down, in one query."""
    codes = unit.ancestor_codes()[:-1]
    by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def widest_units(user: Any, action: str = Action.VIEW) -> list[OrgUnit]:
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


def township_codes_seen(user: Any) -> tuple[tuple[str, ...], set[str]]:
    """What locates the townships a user belongs to: the paths they may view (townships at or under
    them) and the codes above those paths (the township a station, district or village lies in)."""
    paths = scope_paths(user, Action.VIEW)
    return paths, {code for path in paths for code in path.strip("/").split("/") if code}


def townships_seen(user: Any) -> OrgUnitQuerySet:
    """The townships of which the user sees the 擂台: those they may view, and those holding a unit
    they may view."""
    paths, codes = township_codes_seen(user)
    if not paths:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(level=Level.TOWNSHIP).filter(path_q("path", paths) | Q(code__in=codes))


def unit_for(user: Any, code: str | None, action: str = Action.VIEW) -> OrgUnit:
    """The unit a page, API call or command names by ``code`` (if the user may ``action`` on it), or the
    widest unit of the user's scope. Raises :class:`NotFoundError` / :class:`PermissionDeniedError`."""
    if code:
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise NotFoundError(f"没有代码为 {code[:24]} 的单位")
        if not any(unit.path.startswith(p) for p in scope_paths(user, action)):
            raise PermissionDeniedError("该单位不在您的管辖范围内")
        return unit
    tops = widest_units(user, action)
    if not tops and "/" in scope_paths(user, action):  # the whole tree: the command line's operator
        tops = list(OrgUnit.objects.filter(level=Level.TOWNSHIP)[:2])
        if len(tops) != 1:
            raise PermissionDeniedError("有多个镇（或没有镇），请用 --unit 指定单位代码")
    if not tops:
        raise PermissionDeniedError("您没有可查看的单位")
    return tops[0]


def geometries_of(village_ids: Iterable[int]) -> list[VillageGeometry]:
    """The shapes of the given villages (those that have one), in one query. The caller has checked that
    the user may see these villages (the 擂台's rule: a shape says no more than the board)."""
    return list(VillageGeometry.objects.filter(village_id__in=list(village_ids)).order_by("village__path"))
