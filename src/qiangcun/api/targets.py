from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Max
from django.http import HttpRequest
from ninja import Router

from qiangcun.core.clock import today
from qiangcun.core.errors import NotFoundError, PermissionDeniedError
from qiangcun.orgs.models import OrgUnit
from qiangcun.orgs.selectors import widest_units
from qiangcun.targets.models import Campaign
from qiangcun.targets.selectors import progress, progress_document

router = Router(tags=["进度"])


@router.get("/progress", summary="进度表（擂台）")
def progress_view(
    request: HttpRequest, year: int | None = None, unit: str | None = None, as_of: datetime.date | None = None
) -> dict[str, Any]:
    user = request.user
    if unit:
        target = OrgUnit.objects.filter(code=unit).first()
        if target is None:
            raise NotFoundError(f"没有代码为 {unit} 的单位")
        if not user.can("view", target):  # type: ignore[union-attr]
            raise PermissionDeniedError("该单位不在您的管辖范围内")
    else:
        tops = widest_units(user, "view")
        if not tops:
            raise PermissionDeniedError("您没有可查看的单位")
        target = tops[0]
    if year is None:
        latest = Campaign.objects.restrict(user, "view").aggregate(y=Max("year"))["y"]
        year = min(latest, today().year) if latest else today().year
    return progress_document(progress(user=user, unit=target, year=year, as_of=as_of))
