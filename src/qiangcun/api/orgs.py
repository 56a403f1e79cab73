from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from qiangcun.orgs.selectors import units_visible

router = Router(tags=["组织"])


class UnitOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None


@router.get("/units", response=list[UnitOut], summary="我能查看的单位")
def units(request: HttpRequest) -> list[dict[str, object]]:
    rows = units_visible(user=request.user).select_related("parent").order_by("path")
    return [
        {"code": u.code, "name": u.name, "level": u.level, "parent": u.parent.code if u.parent else None}
        for u in rows
    ]
