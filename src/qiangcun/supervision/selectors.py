"""Reads of the supervision app. Bulletins follow the 擂台's rule: everyone who may see a township's
progress table may read its bulletins. Inspections and rectification items are read within the reader's
scope (a village's people see their village's); interviews only by those with 督查 (INSPECT) over the
village.

Overdue is counted on the working calendar (:mod:`qiangcun.core.workdays`): a deadline on a rest day
is met on the next working day, and an item not closed is "逾期 N 个工作日" after that day."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from qiangcun.core.clock import today
from qiangcun.core.errors import NotFoundError, PermissionDeniedError
from qiangcun.core.params import ParamError
from qiangcun.core.scope import Action, allowed, path_q, scope_paths
from qiangcun.core.workdays import effective_deadline, overdue_workdays
from qiangcun.orgs.models import ABOVE_TOWNSHIP, Level, OrgUnit
from qiangcun.supervision.models import (
    Bulletin,
    Inspection,
    Interview,
    Meeting,
    Rectification,
    RectificationStatus,
)
from qiangcun.targets.selectors import board_unit, can_see_board


def bulletin_township(user: Any, code: str | None = None) -> OrgUnit:
    """The township whose bulletins the user asks for (``code``) or belongs to."""
    unit = board_unit(user, code)
    if unit.level in ABOVE_TOWNSHIP and not code:  # a county's leader: its first township they may see
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


# ------------------------------------------------------------------------------ 一月一督查 · 整改 · 约谈

INSPECT = Action.INSPECT
S = RectificationStatus


def may_inspect(user: Any, unit: OrgUnit) -> bool:
    """Whether ``user`` holds 督查 (INSPECT) over ``unit``."""
    return allowed(user, INSPECT, unit.path)


def inspectable_villages(user: Any, within: OrgUnit | None = None) -> QuerySet[OrgUnit]:
    """The villages ``user`` may inspect (record visits, open items, interview), in tree order."""
    villages = OrgUnit.objects.filter(level=Level.VILLAGE).restrict(user, INSPECT)
    if within is not None:
        villages = villages.under(within)
    return villages.order_by("path")


def owners_for(village: OrgUnit) -> list[Any]:
    """Who may be made responsible for an item of ``village``: the active users holding a role on the
    village itself (its secretary, its clerk, its instructor), by name."""
    from qiangcun.accounts.models import RoleGrant, User

    ids = RoleGrant.objects.filter(unit=village).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "username"))


def _day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of ``day`` in local time (Asia/Shanghai)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _day_after(day: datetime.date) -> datetime.datetime:
    return _day_start(day + datetime.timedelta(days=1))


def month_span(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the month ``month`` falls in."""
    first = month.replace(day=1)
    nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, nxt - datetime.timedelta(days=1)


def inspections(user: Any, *, unit: OrgUnit, month: datetime.date | None = None) -> QuerySet[Inspection]:
    """Visits of villages under ``unit`` that ``user`` may see (VIEW), newest first; within ``month``
    when given. Findings and items counted on each row (``n_findings``, ``n_items``, ``n_closed``)."""
    rows = Inspection.objects.restrict(user, Action.VIEW).filter(village__path__startswith=unit.path)
    if month is not None:
        first, last = month_span(month)
        rows = rows.filter(visited_on__gte=first, visited_on__lte=last)
    return (
        rows.select_related("village", "village__parent", "inspector")
        .annotate(
            n_findings=Count("findings", distinct=True),
            n_items=Count("findings__rectification", distinct=True),
            n_closed=Count(
                "findings__rectification", filter=Q(findings__rectification__status=S.CLOSED), distinct=True
            ),
        )
        .order_by("-visited_on", "-id")
    )


def inspection_get(user: Any, pk: int) -> Inspection:
    """One visit the user may see, or :class:`NotFoundError`."""
    found = (
        Inspection.objects.restrict(user, Action.VIEW)
        .select_related("village", "inspector", "created_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFoundError("没有这条督查记录，或它不在您的管辖范围内")
    return found


@dataclass(frozen=True)
class VillageRound:
    """One village in a month's inspection round: who is to inspect it (from role grants: its 党建指导员,
    its 包区书记, its 网格站长), and the visits made that month."""

    village: OrgUnit
    inspectors: list[str]
    visits: list[Inspection]


def month_round(user: Any, *, township: OrgUnit, month: datetime.date) -> list[VillageRound]:
    """The month's round over the villages of ``township`` the user may see: every village, its
    inspectors and its visits of the month (none yet: 未督查). Three queries whatever the size."""
    from qiangcun.accounts.models import Role, RoleGrant

    villages = list(
        OrgUnit.objects.filter(level=Level.VILLAGE, path__startswith=township.path)
        .restrict(user, Action.VIEW)
        .order_by("path")
    )
    kinds: dict[str, str] = {
        Role.INSTRUCTOR: "指导员",
        Role.DISTRICT_SECRETARY: "包区书记",
        Role.STATION_HEAD: "站长",
    }
    grants = (
        RoleGrant.objects.filter(
            role__in=list(kinds), unit__path__startswith=township.path, user__is_active=True
        )
        .select_related("user", "unit")
        .order_by("role", "user__display_name")
    )
    order = list(kinds)
    by_path: list[tuple[str, str]] = [
        (g.unit.path, f"{kinds[g.role]} {g.user}")
        for g in sorted(grants, key=lambda g: (order.index(g.role), str(g.user)))
    ]
    visits: dict[int, list[Inspection]] = {}
    for row in inspections(user, unit=township, month=month).order_by("visited_on", "id"):
        visits.setdefault(row.village_id, []).append(row)
    return [
        VillageRound(
            village=v,
            inspectors=[who for path, who in by_path if v.path.startswith(path)],
            visits=visits.get(v.pk, []),
        )
        for v in villages
    ]


def _items(qs: QuerySet[Rectification]) -> QuerySet[Rectification]:
    return qs.select_related(
        "village", "village__parent", "owner", "finding__inspection", "finding__inspection__inspector"
    )


def rectifications(
    user: Any,
    *,
    unit: OrgUnit | None = None,
    status: str = "",
    overdue: bool = False,
    as_of: datetime.date | None = None,
) -> list[Rectification]:
    """The rectification items ``user`` may see (VIEW), under ``unit`` when given, of one ``status``
    when given, only the overdue ones when ``overdue``; each with ``overdue_days`` and
    ``effective_deadline`` set as of ``as_of`` (default today). Ordered by deadline."""
    as_of = as_of or today()
    rows = Rectification.objects.restrict(user, Action.VIEW)
    if unit is not None:
        rows = rows.filter(village__path__startswith=unit.path)
    if status:
        rows = rows.filter(status=status)
    if overdue:
        rows = rows.exclude(status=S.CLOSED).filter(deadline__lt=as_of)
    found = [_with_overdue(item, as_of) for item in _items(rows).order_by("deadline", "id")]
    return [item for item in found if item.overdue_days > 0] if overdue else found


def _with_overdue(item: Rectification, as_of: datetime.date) -> Rectification:
    item.effective_deadline = effective_deadline(item.deadline)
    closed = item.closed_at is not None and timezone.localtime(item.closed_at).date() <= as_of
    item.overdue_days = 0 if closed else overdue_workdays(item.deadline, as_of)
    return item


def rectification_get(user: Any, pk: int) -> Rectification:
    """One item the user may see (VIEW), with its history and files, or :class:`NotFoundError`."""
    found = (
        _items(Rectification.objects.restrict(user, Action.VIEW))
        .select_related("opened_by", "submitted_by", "closed_by")
        .prefetch_related("events__actor", "evidence")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFoundError("没有这个整改事项，或它不在您的管辖范围内")
    return _with_overdue(found, today())


def may_act_for_village(actor: Any, item: Rectification) -> bool:
    """Whether ``actor`` acts for the village on ``item``: its owner, or one of the village's own people
    (who may enter its ledger)."""
    return getattr(actor, "pk", None) == item.owner_id or allowed(actor, Action.ENTER, item.village.path)


def may_close(actor: Any, item: Rectification) -> bool:
    """销号 and 退回 are for someone with 督查 over the village who is neither the owner nor the submitter."""
    pk = getattr(actor, "pk", None)
    return (
        allowed(actor, INSPECT, item.village.path)
        and pk != item.owner_id
        and (item.submitted_by_id is None or pk != item.submitted_by_id)
    )


def rectification_actions(user: Any, item: Rectification) -> set[str]:
    """What ``user`` may do to ``item`` now: a subset of start, submit, close, reopen, update."""
    if item.status == S.CLOSED:
        return set()
    actions: set[str] = set()
    if may_act_for_village(user, item):
        if item.status == S.OPEN:
            actions.add("start")
        if item.status in (S.OPEN, S.RECTIFYING):
            actions.add("submit")
    if item.status == S.SUBMITTED and may_close(user, item):
        actions |= {"close", "reopen"}
    if may_inspect(user, item.village):
        actions.add("update")
    return actions


@dataclass(frozen=True)
class DueItem:
    """An item on someone's list: the item, its effective deadline (a rest day moved to the next working
    day), the working days it is overdue (0: not yet), and why it is on the list — ``owner`` (theirs to
    put right), ``close`` (submitted, theirs to close or send back), ``watch`` (overdue under their 督查)."""

    item: Rectification
    effective_deadline: datetime.date
    overdue_days: int
    why: str

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def _open_on(qs: QuerySet[Rectification], as_of: datetime.date) -> QuerySet[Rectification]:
    """Items opened by the end of ``as_of`` and not closed by then."""
    end = _day_after(as_of)
    return qs.filter(opened_at__lt=end).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end))


def rectifications_due(user: Any, *, as_of: datetime.date | None = None) -> list[DueItem]:
    """The items waiting on ``user`` on ``as_of`` (default today), most urgent first:

    - ``owner``: items the user owns that are 待整改 or 整改中 (theirs to put right and submit);
    - ``close``: items 待销号 under the user's 督查 that the user may close or send back (not their own,
      not submitted by them);
    - ``watch``: items not closed under the user's 督查 whose deadline has passed (the escalation: a
      包区书记 or 网格站长 sees the overdue items of the villages below, the township all of them).

    Each item appears once, under the first reason that applies. For a "my work" page."""
    as_of = as_of or today()
    paths = scope_paths(user, INSPECT)
    pk = getattr(user, "pk", None)
    if pk is None:
        return []
    scope = path_q("village__path", paths)
    # An owner whose role on the village was withdrawn no longer reads (or is asked about) its items.
    mine = Q(owner_id=pk) & path_q("village__path", scope_paths(user, Action.VIEW))
    rows = _items(
        _open_on(Rectification.objects.all(), as_of).filter(
            mine | (scope & (Q(status=S.SUBMITTED) | Q(deadline__lt=as_of)))
        )
    )
    out: list[DueItem] = []
    for item in rows:
        days = overdue_workdays(item.deadline, as_of)
        if item.owner_id == pk and item.status in (S.OPEN, S.RECTIFYING):
            why = "owner"
        elif item.status == S.SUBMITTED and item.owner_id != pk and item.submitted_by_id != pk and paths:
            why = "close"
        elif days > 0 and any(item.village.path.startswith(p) for p in paths):
            why = "watch"
        elif days > 0 and item.owner_id == pk:
            why = "watch"
        else:
            continue
        out.append(DueItem(item, effective_deadline(item.deadline), days, why))
    out.sort(key=lambda d: (-d.overdue_days, d.effective_deadline, d.item.pk))
    return out


def rectifications_overdue_for(user: Any, *, as_of: datetime.date | None = None) -> list[DueItem]:
    """The overdue items (not closed, effective deadline passed on ``as_of``, default today) that concern
    ``user``: those they own and those under their 督查 — for the owner, for the 包区书记/网格站长 over
    the village, for the township. Most overdue first; ``why`` is ``owner`` or ``watch``."""
    as_of = as_of or today()
    pk = getattr(user, "pk", None)
    if pk is None:
        return []
    scope = path_q("village__path", scope_paths(user, INSPECT))
    rows = _items(
        _open_on(Rectification.objects.all(), as_of)
        .filter(deadline__lt=as_of)
        .filter((Q(owner_id=pk) & path_q("village__path", scope_paths(user, Action.VIEW))) | scope)
    )
    out = [
        DueItem(item, effective_deadline(item.deadline), days, "owner" if item.owner_id == pk else "watch")
        for item in rows
        if (days := overdue_workdays(item.deadline, as_of)) > 0
    ]
    out.sort(key=lambda d: (-d.overdue_days, d.effective_deadline, d.item.village.path, d.item.pk))
    return out


def status_on(item: Rectification, day: datetime.date) -> tuple[str, datetime.date | None]:
    """The item's status at the end of ``day``, from its history (the last step taken by then), and —
    when it then stood 待销号 — the day it was submitted. Uses ``item.events`` (prefetch it)."""
    end = _day_after(day)
    status, submitted = "", None
    for event in sorted(item.events.all(), key=lambda e: (e.at, e.pk)):
        if event.at >= end:
            break
        status = event.to_status
        submitted = timezone.localtime(event.at).date() if event.to_status == S.SUBMITTED else None
    return status or item.status, submitted


def status_on_label(item: Rectification, day: datetime.date) -> str:
    """``status_on`` in words: 待整改 / 整改中 / 待销号（4月2日已提交） / 已销号."""
    status, submitted = status_on(item, day)
    label = str(S(status).label)
    if submitted is not None:
        return f"{label}（{submitted.month}月{submitted.day}日已提交）"
    return label


def rectifications_overdue(township: OrgUnit, as_of: datetime.date) -> list[DueItem]:
    """Every item of ``township`` overdue at the end of ``as_of``: opened by then, not closed by then,
    its effective deadline passed — for the bulletin's annex (the caller has checked the reader's right).
    Ordered by village, then deadline."""
    rows = _items(
        _open_on(Rectification.objects.filter(village__path__startswith=township.path), as_of).filter(
            deadline__lt=as_of
        )
    ).prefetch_related("events")
    out = [
        DueItem(item, effective_deadline(item.deadline), days, "watch")
        for item in rows
        if (days := overdue_workdays(item.deadline, as_of)) > 0
    ]
    out.sort(key=lambda d: (d.item.village.path, d.item.deadline, d.item.pk))
    return out


def interviews(user: Any, *, unit: OrgUnit | None = None) -> QuerySet[Interview]:
    """The interviews ``user`` may read — those of villages under their 督查 — newest first."""
    rows = Interview.objects.restrict(user, INSPECT)
    if unit is not None:
        rows = rows.filter(village__path__startswith=unit.path)
    return rows.select_related("village", "village__parent", "interviewer", "followed_up_by").order_by(
        "-held_on", "-id"
    )


def interview_get(user: Any, pk: int) -> Interview:
    found = interviews(user).filter(pk=pk).first()
    if found is None:
        raise NotFoundError("没有这条约谈记录，或它不在您的管辖范围内")
    return found


@dataclass(frozen=True)
class DueInterview:
    """An interview whose follow-up is not recorded: due on ``effective_deadline``, ``overdue_days``
    working days late (0: not yet)."""

    interview: Interview
    effective_deadline: datetime.date
    overdue_days: int


def interview_overdue_days(interview: Interview, as_of: datetime.date) -> int:
    if interview.followed_up_at is not None and timezone.localtime(interview.followed_up_at).date() <= as_of:
        return 0
    return overdue_workdays(interview.follow_up_on, as_of)


def interviews_follow_up_due(
    user: Any, *, as_of: datetime.date | None = None, within_workdays: int = 5
) -> list[DueInterview]:
    """Interviews under the user's 督查 whose follow-up is not recorded and falls due within
    ``within_workdays`` working days of ``as_of`` (default today) or is overdue — most overdue first.
    For a "my work" page."""
    from qiangcun.core.workdays import add_workdays

    as_of = as_of or today()
    horizon = add_workdays(as_of, within_workdays)
    rows = interviews(user).filter(followed_up_at__isnull=True, follow_up_on__lte=horizon, held_on__lte=as_of)
    out = [
        DueInterview(i, effective_deadline(i.follow_up_on), overdue_workdays(i.follow_up_on, as_of))
        for i in rows
    ]
    out.sort(key=lambda d: (-d.overdue_days, d.effective_deadline, d.interview.pk))
    return out
