from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router

from qiangcun.core.params import date_param, text_param
from qiangcun.targets.selectors import board_unit, board_year, progress, progress_document

router = Router(tags=["进度"])


@router.get("/progress", summary="进度表（擂台）")
def progress_view(
    request: HttpRequest,
    year: int | None = None,
    unit: str | None = None,
    as_of: datetime.date | None = None,
) -> dict[str, Any]:
    """Every village of the unit (by default the user's township: the 擂台 is public to every user of
    the township) with its township rank; ledger rows stay within the user's scope."""
    user = request.user
    target = board_unit(user, text_param(unit, field="unit", label="单位代码") or None)
    year = board_year(user, year)
    return progress_document(progress(user=user, unit=target, year=year, as_of=date_param(as_of)))
