"""Writes to the org tree."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from qiangcun.core import audit
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.orgs.geometry import read_geometries
from qiangcun.orgs.models import (
    ABOVE_TOWNSHIP,
    CHILD_LEVEL,
    GeometryKind,
    Level,
    OrgUnit,
    Tag,
    VillageGeometry,
)

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
    """Create a unit under ``parent`` (``None`` for a root province, city, county or township)."""
    name = name.strip()
    # Codes are upper case: subtree queries are LIKE 'path%', which SQLite compares without case.
    code = code.strip().upper()
    if not name:
        raise ServiceError("名称不能为空", field="name")
    if not code or "/" in code:
        raise ServiceError("代码不能为空，且不能含“/”", field="code")
    if parent is None:
        if level not in (*ABOVE_TOWNSHIP, Level.TOWNSHIP):
            raise ServiceError("只有省、市、县或镇可以作为顶级单位", field="parent")
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


@dataclass
class GeometryOutcome:
    saved: int
    kinds: dict[str, int]
    #: Villages of the township the file does not cover: told as a warning, the rest is saved.
    missing: list[str]
    replaced: int


@transaction.atomic
def geometry_import(
    *, actor: Actor | None, township: OrgUnit, data: bytes, illustrative: bool = False
) -> GeometryOutcome:
    """Replace the shapes of ``township``'s villages with those of the GeoJSON ``data``, all or nothing
    (a bad file raises :class:`~qiangcun.orgs.geometry.GeometryError` naming each fault). Villages the
    file leaves out lose their old shape and are listed in ``missing``."""
    if township.level != Level.TOWNSHIP:
        raise ServiceError("村界只能按镇上传", field="township")
    if not allowed(actor, Action.IMPORT, township.path):
        raise PermissionDeniedError(f"您没有上传{township.name}村界的权限")
    read = read_geometries(data, township)
    old = VillageGeometry.objects.filter(village__path__startswith=township.path)
    replaced = old.count()
    before = {"shapes": replaced, "sketch": old.filter(illustrative=True).exists()}
    old.delete()
    now = timezone.now()
    VillageGeometry.objects.bulk_create(
        VillageGeometry(
            village=s.village,
            kind=s.kind,
            geometry=json.dumps(s.geometry, separators=(",", ":")),
            illustrative=illustrative,
            uploaded_by_id=getattr(actor, "pk", None),
            uploaded_at=now,
        )
        for s in read.shapes
    )
    kinds = dict(Counter(s.kind for s in read.shapes))
    missing = [v.name for v in read.missing]
    audit.record(
        actor=actor,
        action="geometry.import",
        obj=township,
        before=before,
        after={
            "shapes": len(read.shapes),
            "kinds": "，".join(f"{k.label} {kinds[k]} 个" for k in GeometryKind if k in kinds),
            "sketch": illustrative,
            "missing": "、".join(missing),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        unit_path=township.path,
    )
    return GeometryOutcome(saved=len(read.shapes), kinds=kinds, missing=missing, replaced=replaced)
