"""Reads of the supervision app. Bulletins follow the 擂台's rule: everyone who may see a township's
progress table may read its bulletins."""

from __future__ import annotations

from typing import Any

from qiangcun.core.errors import NotFoundError, PermissionDeniedError
from qiangcun.core.params import ParamError
from qiangcun.core.scope import Action, allowed
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.supervision.models import Bulletin, Meeting
from qiangcun.targets.selectors import board_unit, can_see_board


def bulletin_township(user: Any, code: str | None = None) -> OrgUnit:
    """The township whose bulletins the user asks for (``code``) or belongs to."""
    unit = board_unit(user, code)
    if unit.level == Level.COUNTY and not code:  # a county's leader: its first township they may see
        first = next(
            (
                t
                for t in OrgUnit.objects.filter(level=Level.TOWNSHIP, path__startswith=unit.path).order_by(
                    "code"
                )
                if can_see_board(user, t)
            ),
            None,
        )
        if first is not None:
            return first
    if unit.level != Level.TOWNSHIP:
        raise ParamError("通报、会议屏按镇查看：请在地址中用 ?unit= 选择一个镇", field="unit")
    return unit


def bulletins(user: Any, township: OrgUnit) -> list[Bulletin]:
    if not can_see_board(user, township):
        raise PermissionDeniedError("您无权查看该镇的通报")
    return list(
        Bulletin.objects.filter(township=township)
        .select_related("township", "issued_by")
        .defer("docx", "pdf", "snapshot")
        .order_by("-year", "-number")
    )


def bulletin_get(user: Any, pk: int, *, files: bool = False) -> Bulletin:
    query = Bulletin.objects.select_related("township", "issued_by")
    if not files:
        query = query.defer("docx", "pdf")
    bulletin = query.filter(pk=pk).first()
    if bulletin is None or not can_see_board(user, bulletin.township):
        raise NotFoundError("没有这期通报，或它不在您的管辖范围内")
    return bulletin


def may_publish(user: Any, township: OrgUnit) -> bool:
    return allowed(user, Action.PUBLISH, township.path)


def meetings(user: Any, township: OrgUnit) -> list[Meeting]:
    if not can_see_board(user, township):
        raise PermissionDeniedError("您无权查看该镇的会议记录")
    return list(
        Meeting.objects.filter(township=township)
        .select_related("created_by")
        .defer("snapshot")
        .order_by("-held_on", "-id")
    )


def meeting_get(user: Any, pk: int) -> Meeting:
    meeting = Meeting.objects.select_related("township", "created_by").filter(pk=pk).first()
    if meeting is None or not can_see_board(user, meeting.township):
        raise NotFoundError("没有这条会议记录，或它不在您的管辖范围内")
    return meeting
