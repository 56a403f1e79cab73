from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from qiangcun.api.schemas import replies
from qiangcun.orgs.models import Level
from qiangcun.orgs.selectors import units_visible

router = Router(tags=["组织"])


class UnitOut(Schema):
    """一个单位（县、镇、网格站、管区或行政村）。"""

    code: str = Field(description="单位代码")
    name: str
    level: Level = Field(
        description="层级：county 县 / township 镇 / station 网格站 / district 管区 / village 行政村"
    )
    parent: str | None = Field(description="上级单位的代码；最上层为 null")


@router.get("/units", response=replies({200: list[UnitOut]}, 401), summary="我能查看的单位")
def units(request: HttpRequest) -> list[dict[str, object]]:
    rows = units_visible(user=request.user).select_related("parent").order_by("path")
    return [
        {"code": u.code, "name": u.name, "level": u.level, "parent": u.parent.code if u.parent else None}
        for u in rows
    ]
