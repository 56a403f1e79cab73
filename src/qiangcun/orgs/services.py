"""Writes to the org tree."""

from __future__ import annotations

from django.db import transaction

from qiangcun.core import audit
from qiangcun.core.errors import ServiceError
from qiangcun.core.scope import Actor
from qiangcun.orgs.models import CHILD_LEVEL, Level, OrgUnit, Tag

_FIELDS = ["level", "parent", "name", "code", "illustrative"]


@transaction.atomic
def unit_create(
    *,
    actor: Actor | None,
    level: str,
    name: str,
    code: str,
    parent: OrgUnit | None = None,
    tags: list[str] | None = None,
    illustrative: bool = False,
) -> OrgUnit:
    """Create a unit under ``parent`` (``None`` for a root county or township)."""
    name = name.strip()
    # Codes are upper case: subtree queries are LIKE 'path%', which SQLite compares without case.
    code = code.strip().upper()
    if not name:
        raise ServiceError("名称不能为空", field="name")
    if not code or "/" in code:
        raise ServiceError("代码不能为空，且不能含“/”", field="code")
    if parent is None:
        if level not in (Level.COUNTY, Level.TOWNSHIP):
            raise ServiceError("只有县或镇可以作为顶级单位", field="parent")
    elif CHILD_LEVEL.get(Level(parent.level)) != level:
        raise ServiceError(
            f"{Level(parent.level).label}下只能建{CHILD_LEVEL[Level(parent.level)].label}", field="level"
        )
    if OrgUnit.objects.filter(code__iexact=code).exists():
        raise ServiceError(f"代码 {code} 已被使用", field="code")
    if OrgUnit.objects.filter(parent=parent, name=name).exists():
        raise ServiceError(f"同一上级下已有名为“{name}”的单位", field="name")
    path = (parent.path if parent else "/") + code + "/"
    unit = OrgUnit.objects.create(
        level=level, parent=parent, name=name, code=code, path=path, illustrative=illustrative
    )
    if tags:
        unit.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
    audit.record(
        actor=actor,
        action="orgunit.create",
        obj=unit,
        after={**audit.snapshot(unit, _FIELDS), "tags": sorted(tags or [])},
        unit_path=unit.path,
    )
    return unit
