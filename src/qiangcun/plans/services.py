"""Writes to 一村一策. Every function checks the actor's scope, validates, writes and records the change
in the same transaction. A plan's list and paths are saved as a whole (the form and the import both
send the whole plan); measures, their notes and their ledger links one at a time."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from qiangcun.accounts.models import SYSTEM_ROLES, RoleGrant
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.money import FEN, MAX_YUAN, yuan_str
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.core.text import text_problem
from qiangcun.ledger.models import DevelopmentPath, Entry
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.plans.models import (
    OPEN_MEASURE_STATUSES,
    Measure,
    MeasureEntry,
    MeasureNote,
    MeasureStatus,
    Plan,
    PlanPath,
    Resource,
    ResourceKind,
)
from qiangcun.targets.models import Campaign

__all__ = [
    "PathInput",
    "ResourceInput",
    "measure_create",
    "measure_link",
    "measure_note_add",
    "measure_status_set",
    "measure_unlink",
    "measure_update",
    "owner_candidates",
    "plan_save",
]

MAX_RESOURCES = 60
MAX_PATHS = 12
MAX_AREA_MU = Decimal("1000000")


@dataclass(frozen=True)
class ResourceInput:
    kind: str
    name: str
    area_mu: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class PathInput:
    path: DevelopmentPath
    expected: Decimal
    note: str = ""


def _text(value: object, label: str, limit: int, field: str, *, required: bool = True) -> str:
    text = (value if isinstance(value, str) else "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise ServiceError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise ServiceError(f"{label}最多 {limit} 个字（现有 {len(text)} 个）", field=field)
    problem = text_problem(text)
    if problem:
        raise ServiceError(f"{label}{problem}", field=field)
    return text


def _money(value: object, label: str, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ServiceError(f"{label}不是金额", field=field)
    if value < 0:
        raise ServiceError(f"{label}不能为负数", field=field)
    if value > MAX_YUAN:
        raise ServiceError(f"{label}超过上限 {MAX_YUAN:,.2f} 元", field=field)
    if value != value.quantize(FEN):
        raise ServiceError(f"{label}最多两位小数（到分）", field=field)
    return value.quantize(FEN)


def _village(village: OrgUnit) -> None:
    if village.level != Level.VILLAGE:
        raise ServiceError("一村一策按行政村编制，请选择一个村", field="village")


def _may_plan(actor: Actor, village: OrgUnit) -> None:
    if not allowed(actor, Action.PLAN, village.path):
        raise PermissionDeniedError("您没有编制该村一村一策的权限")


def _township_of(village: OrgUnit) -> OrgUnit | None:
    codes = village.ancestor_codes()
    return OrgUnit.objects.filter(code__in=codes, level=Level.TOWNSHIP).first()


def plan_snapshot(plan: Plan) -> dict[str, Any]:
    return {
        "summary": plan.summary,
        "resources": [
            {
                "kind": r.kind,
                "name": r.name,
                "area_mu": None if r.area_mu is None else str(r.area_mu),
                "note": r.note,
            }
            for r in plan.resources.all()
        ],
        "paths": [
            {"path": p.path.name, "expected": yuan_str(p.expected), "note": p.note}
            for p in plan.paths.select_related("path")
        ],
    }


@transaction.atomic
def plan_save(
    *,
    actor: Actor,
    village: OrgUnit,
    year: int,
    summary: str = "",
    resources: Sequence[ResourceInput],
    paths: Sequence[PathInput],
) -> Plan:
    """Create or replace a village's plan for ``year``: its summary, the whole list (清单) and the whole
    set of chosen paths with the income each should bring (方案). Measures are kept."""
    _may_plan(actor, village)
    _village(village)
    township = _township_of(village)
    if township is None or not Campaign.objects.filter(township=township, year=year).exists():
        raise ServiceError(f"{year} 年度尚未开启（没有年度任务），不能编制该年的一村一策", field="year")
    summary = _text(summary, "方案概述", 2000, "summary", required=False)
    if len(resources) > MAX_RESOURCES:
        raise ServiceError(f"资源清单最多 {MAX_RESOURCES} 条", field="resources")
    if not paths:
        raise ServiceError("请至少选择一条增收路子", field="paths")
    if len(paths) > MAX_PATHS:
        raise ServiceError(f"增收路子最多 {MAX_PATHS} 条", field="paths")
    clean_resources: list[Resource] = []
    kinds = set(ResourceKind.values)
    for index, r in enumerate(resources, start=1):
        where = f"资源清单第 {index} 条"
        if r.kind not in kinds:
            raise ServiceError(f"{where}：类型应为闲置资产、土地资源、优势或短板问题", field="resources")
        name = _text(r.name, f"{where}的内容", 200, "resources")
        area = r.area_mu
        if area is not None:
            if not isinstance(area, Decimal) or not area.is_finite() or area <= 0 or area > MAX_AREA_MU:
                raise ServiceError(f"{where}：面积应为大于 0 的亩数", field="resources")
            if area != area.quantize(Decimal("0.01")):
                raise ServiceError(f"{where}：面积最多两位小数", field="resources")
        note = _text(r.note, f"{where}的备注", 200, "resources", required=False)
        clean_resources.append(Resource(kind=r.kind, name=name, area_mu=area, note=note, position=index))
    clean_paths: list[PlanPath] = []
    seen: set[int] = set()
    for index, p in enumerate(paths, start=1):
        where = f"增收路子第 {index} 条（{p.path.name}）"
        if p.path.pk in seen:
            raise ServiceError(f"{where}：与前面重复", field="paths")
        seen.add(p.path.pk)
        expected = _money(p.expected, f"{where}的预计收入", "paths")
        note = _text(p.note, f"{where}的做法", 200, "paths", required=False)
        clean_paths.append(PlanPath(path=p.path, expected=expected, note=note))

    plan = Plan.objects.select_for_update().filter(village=village, year=year).first()
    before = plan_snapshot(plan) if plan is not None else None
    if plan is None:
        plan = Plan.objects.create(village=village, year=year, summary=summary, updated_by_id=actor.pk)
    else:
        plan.summary = summary
        plan.updated_by_id = actor.pk
        plan.save(update_fields=["summary", "updated_by", "updated_at"])
        plan.resources.all().delete()
        plan.paths.all().delete()
    for resource in clean_resources:
        resource.plan = plan
    for chosen in clean_paths:
        chosen.plan = plan
    Resource.objects.bulk_create(clean_resources)
    PlanPath.objects.bulk_create(clean_paths)
    audit.record(
        actor=actor,
        action="plan.save",
        obj=plan,
        before=before,
        after=plan_snapshot(plan),
        unit_path=village.path,
    )
    return plan


def owner_candidates(village: OrgUnit) -> list[Any]:
    """People who may own a measure of ``village``: anyone holding a business role on the village or
    on a unit above it (its district, station, township) — not the three system roles."""
    grants = (
        RoleGrant.objects.filter(unit__code__in=village.ancestor_codes(), user__is_active=True)
        .exclude(role__in=SYSTEM_ROLES)
        .select_related("user")
        .order_by("unit__path", "user__username")
    )
    out: list[Any] = []
    for g in grants:
        if g.user not in out:
            out.append(g.user)
    return out


def _check_owner(owner: Any, village: OrgUnit) -> None:
    if owner is None or owner.pk not in {u.pk for u in owner_candidates(village)}:
        raise ServiceError("责任人须是在该村、所在管区、网格站或镇有职务的人员", field="owner")


def _check_deadline(deadline: object, year: int) -> datetime.date:
    if not isinstance(deadline, datetime.date):
        raise ServiceError("请填写完成时限", field="deadline")
    if deadline.year not in (year, year + 1):
        raise ServiceError(f"完成时限应在 {year} 年内（最迟次年）", field="deadline")
    return deadline


_MEASURE_FIELDS = ["title", "path", "owner", "deadline", "expected", "status", "done_on"]


@transaction.atomic
def measure_create(
    *,
    actor: Actor,
    plan: Plan,
    title: str,
    owner: Any,
    deadline: datetime.date,
    expected: Decimal,
    path: DevelopmentPath | None = None,
) -> Measure:
    """Add a measure (措施) to a plan: what, who answers for it, by when, for how much income."""
    _may_plan(actor, plan.village)
    title = _text(title, "措施内容", 200, "title")
    _check_owner(owner, plan.village)
    deadline = _check_deadline(deadline, plan.year)
    expected = _money(expected, "预计增收", "expected")
    measure = Measure.objects.create(
        plan=plan,
        title=title,
        path=path,
        owner=owner,
        deadline=deadline,
        expected=expected,
        created_by_id=actor.pk,
    )
    audit.record(
        actor=actor,
        action="plan.measure_create",
        obj=measure,
        after=audit.snapshot(measure, _MEASURE_FIELDS),
        unit_path=plan.village.path,
    )
    return measure


def _locked(measure: Measure) -> Measure:
    return Measure.objects.select_for_update().select_related("plan__village").get(pk=measure.pk)


@transaction.atomic
def measure_update(
    *,
    actor: Actor,
    measure: Measure,
    title: str,
    owner: Any,
    deadline: datetime.date,
    expected: Decimal,
    path: DevelopmentPath | None = None,
) -> Measure:
    """Change what a measure is, who owns it, its deadline or its expected income (the village or the
    township; a finished or dropped measure is kept as it was)."""
    measure = _locked(measure)
    village = measure.plan.village
    _may_plan(actor, village)
    if measure.status not in OPEN_MEASURE_STATUSES:
        raise ServiceError(f"该措施{measure.get_status_display()}，不能再修改", field="status")
    before = audit.snapshot(measure, _MEASURE_FIELDS)
    measure.title = _text(title, "措施内容", 200, "title")
    _check_owner(owner, village)
    measure.owner = owner
    measure.deadline = _check_deadline(deadline, measure.plan.year)
    measure.expected = _money(expected, "预计增收", "expected")
    measure.path = path
    measure.save()
    audit.record(
        actor=actor,
        action="plan.measure_update",
        obj=measure,
        before=before,
        after=audit.snapshot(measure, _MEASURE_FIELDS),
        unit_path=village.path,
    )
    return measure


def _may_work_on(actor: Actor, measure: Measure) -> None:
    """The measure's owner, or whoever plans for its village."""
    if getattr(actor, "pk", None) == measure.owner_id and allowed(
        actor, Action.VIEW, measure.plan.village.path
    ):
        return
    _may_plan(actor, measure.plan.village)


@transaction.atomic
def measure_status_set(
    *,
    actor: Actor,
    measure: Measure,
    status: str,
    on: datetime.date | None = None,
    note: str = "",
) -> Measure:
    """Move a measure on: 未开始 → 推进中 → 已完成 (on a date), or 已放弃 with a reason. A finished measure
    can be reopened (推进中) by whoever plans for the village, with a reason."""
    measure = _locked(measure)
    _may_work_on(actor, measure)
    if status not in MeasureStatus.values:
        raise ServiceError("状态应为未开始、推进中、已完成或已放弃", field="status")
    if status == measure.status:
        raise ServiceError(f"该措施已经是“{measure.get_status_display()}”", field="status")
    on = on or today()
    if on > today():
        raise ServiceError("日期不能晚于今天", field="on")
    if on.year < measure.plan.year - 1:
        raise ServiceError(f"日期 {on:%Y-%m-%d} 早于 {measure.plan.year} 年的一村一策", field="on")
    note = _text(note, "说明", 500, "note", required=False)
    if status == MeasureStatus.DROPPED and not note:
        raise ServiceError("放弃措施须写明原因", field="note")
    reopening = measure.status not in OPEN_MEASURE_STATUSES
    if reopening:
        _may_plan(actor, measure.plan.village)
        if status == MeasureStatus.PLANNED:
            raise ServiceError("重新打开的措施记为“推进中”", field="status")
        if not note:
            raise ServiceError("重新打开措施须写明原因", field="note")
    before = audit.snapshot(measure, _MEASURE_FIELDS)
    measure.status = status
    measure.done_on = on if status == MeasureStatus.DONE else None
    measure.save(update_fields=["status", "done_on"])
    if note:
        MeasureNote.objects.create(
            measure=measure,
            date=on,
            text=f"【{measure.get_status_display()}】{note}",
            author_id=actor.pk,
        )
    audit.record(
        actor=actor,
        action="plan.measure_status",
        obj=measure,
        before=before,
        after=audit.snapshot(measure, _MEASURE_FIELDS),
        unit_path=measure.plan.village.path,
        note=note,
    )
    return measure


@transaction.atomic
def measure_note_add(*, actor: Actor, measure: Measure, date: datetime.date, text: str) -> MeasureNote:
    """A dated progress note (进展) on a measure, by its owner or whoever plans for the village."""
    measure = _locked(measure)
    _may_work_on(actor, measure)
    if not isinstance(date, datetime.date):
        raise ServiceError("请填写日期", field="date")
    if date > today():
        raise ServiceError("进展日期不能晚于今天", field="date")
    if date.year < measure.plan.year - 1:
        raise ServiceError(f"进展日期 {date:%Y-%m-%d} 早于 {measure.plan.year} 年的一村一策", field="date")
    text = _text(text, "进展情况", 500, "text")
    note = MeasureNote.objects.create(measure=measure, date=date, text=text, author_id=actor.pk)
    audit.record(
        actor=actor,
        action="plan.measure_note",
        obj=note,
        after={"measure": measure.pk, "date": date.isoformat(), "text": text},
        unit_path=measure.plan.village.path,
    )
    return note


@transaction.atomic
def measure_link(*, actor: Actor, measure: Measure, entries: Iterable[Entry]) -> int:
    """Count ledger rows as the result of a measure (一抓到底): rows of the measure's own village and
    plan year, not reversals, each linked to at most one measure. The rows themselves are untouched."""
    measure = _locked(measure)
    village = measure.plan.village
    _may_plan(actor, village)
    rows = list(entries)
    if not rows:
        raise ServiceError("请选择要关联的台账记录", field="entries")
    ids = [e.pk for e in rows]
    # Locked: two people linking the same row to two measures at once — the second waits, then is told.
    found = {e.pk: e for e in Entry.objects.select_for_update().filter(pk__in=ids).select_related("village")}
    for pk in ids:
        e = found.get(pk)
        if e is None or e.village_id != village.pk:
            raise ServiceError(f"台账记录 {pk} 不是{village.name}的记录", field="entries")
        if e.date.year != measure.plan.year:
            raise ServiceError(
                f"台账记录 {pk}（{e.date:%Y-%m-%d}）不在 {measure.plan.year} 年，不能关联到该年的措施",
                field="entries",
            )
        if e.reverses_id is not None:
            raise ServiceError(f"台账记录 {pk} 是冲销记录，不能单独关联", field="entries")
    taken = dict(MeasureEntry.objects.filter(entry_id__in=ids).values_list("entry_id", "measure__title"))
    if taken:
        pk, title = next(iter(sorted(taken.items())))
        raise ServiceError(f"台账记录 {pk} 已关联到措施“{title}”", field="entries")
    try:
        with transaction.atomic():
            links = MeasureEntry.objects.bulk_create(
                [
                    MeasureEntry(measure=measure, entry_id=pk, linked_by_id=actor.pk)
                    for pk in dict.fromkeys(ids)
                ]
            )
    except IntegrityError:
        raise ServiceError("所选台账记录刚刚被关联到别的措施，请刷新后重试", field="entries") from None
    audit.record(
        actor=actor,
        action="plan.measure_link",
        obj=measure,
        after={"entries": sorted(dict.fromkeys(ids))},
        unit_path=village.path,
    )
    return len(links)


@transaction.atomic
def measure_unlink(*, actor: Actor, measure: Measure, entry: Entry) -> None:
    """Take a wrongly linked row off a measure (the row itself is untouched)."""
    measure = _locked(measure)
    _may_plan(actor, measure.plan.village)
    deleted, _ = MeasureEntry.objects.filter(measure=measure, entry=entry).delete()
    if not deleted:
        raise ServiceError("该台账记录没有关联到这项措施", field="entry")
    audit.record(
        actor=actor,
        action="plan.measure_unlink",
        obj=measure,
        before={"entries": [entry.pk]},
        unit_path=measure.plan.village.path,
    )
