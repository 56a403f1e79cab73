"""Pages of 一村一策: the township's table of plans, a village's plan, its edit form, measures."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.money import AmountError, parse_amount
from qiangcun.core.params import date_param, text_param, year_param
from qiangcun.core.scope import Action, allowed
from qiangcun.core.text import text_problem
from qiangcun.core.web import require
from qiangcun.core.workdays import calendar_known, overdue_workdays
from qiangcun.ledger.models import DevelopmentPath, Entry
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import unit_for
from qiangcun.plans import selectors, services
from qiangcun.plans.models import OPEN_MEASURE_STATUSES, Measure, MeasureStatus, ResourceKind
from qiangcun.targets.models import VillageTarget
from qiangcun.targets.selectors import board_year, default_as_of

#: An area typed in the form: plain ASCII digits, thousands commas, at most two decimals.
AREA = re.compile(r"\d{1,3}(,\d{3})*(\.\d{1,2})?|\d+(\.\d{1,2})?", re.ASCII)

#: Blank lines the list form offers below the plan's own.
BLANK_RESOURCES = 3


def _village(request: AuthedRequest, code: str) -> OrgUnit:
    if text_problem(code) is not None:
        raise Http404("没有这个村")
    village = OrgUnit.objects.filter(code=code, level=Level.VILLAGE).first()
    if village is None or not request.user.can(Action.VIEW, village):
        raise Http404("该村不在您的管辖范围内")
    return village


def _pk(raw: object) -> int | None:
    """A primary key typed in a form: plain ASCII digits that fit the database, else ``None``."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9:
        return int(raw)
    return None


def _year(raw: int) -> int:
    year = year_param(str(raw))
    if year is None:
        raise Http404("年度不正确")
    return year


def _as_of(request: AuthedRequest, year: int) -> datetime.date:
    as_of = date_param(request.GET.get("as_of"), field="as_of", label="截止日期") or default_as_of(year)
    if as_of.year != year:
        as_of = default_as_of(year)
    return as_of


@require(Action.VIEW)
@require_GET
def plans_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unit = unit_for(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    year = board_year(user, request.GET.get("year"))
    as_of = _as_of(request, year)
    table = selectors.plan_table(user, unit, year, as_of)
    tabs = {
        "short": [r for r in table.rows if r.short],
        "overdue": [r for r in table.rows if r.overdue],
        "missing": [r for r in table.rows if r.plan is None],
    }
    show = request.GET.get("show", "")
    if show not in tabs:
        show = ""
    shown = table.only(tabs[show]) if show else table
    return render(
        request,
        "plans/plans.html",
        {
            "t": shown,
            "all": table,
            "show": show,
            "counts": {key: len(rows) for key, rows in tabs.items()},
            "calendar_known": calendar_known(as_of.year),
        },
    )


def _measure_rows(measures: list[Measure], as_of: datetime.date) -> list[dict[str, Any]]:
    actual = selectors.measure_actuals(measures, as_of)
    out = []
    for m in measures:
        late = overdue_workdays(m.deadline, as_of) if m.status in OPEN_MEASURE_STATUSES else 0
        out.append({"m": m, "actual": actual.get(m.pk, Decimal("0.00")), "overdue": late})
    return out


@require(Action.VIEW)
@require_GET
def plan_page(request: AuthedRequest, code: str, year: int) -> HttpResponse:
    user = request.user
    village = _village(request, code)
    year = _year(year)
    as_of = _as_of(request, year)
    plan = selectors.plan_get(user, village, year)
    target = VillageTarget.objects.filter(village=village, campaign__year=year).values_list(
        "amount", flat=True
    )
    target_amount = target.first()
    measures = (
        list(plan.measures.select_related("owner", "path", "plan").order_by("deadline", "pk")) if plan else []
    )
    rows = _measure_rows(measures, as_of)
    expected = sum((p.expected for p in plan.paths.all()), Decimal("0.00")) if plan else Decimal("0.00")
    table = selectors.plan_table(user, village, year, as_of)
    return render(
        request,
        "plans/plan.html",
        {
            "village": village,
            "year": year,
            "as_of": as_of,
            "plan": plan,
            "target": target_amount,
            "expected": expected,
            "actual": table.rows[0].actual if table.rows else Decimal("0.00"),
            "short": target_amount is not None and plan is not None and expected < target_amount,
            "shortfall": max(target_amount - expected, Decimal("0.00"))
            if target_amount is not None
            else None,
            "measures": rows,
            "may_plan": allowed(user, Action.PLAN, village.path),
            "measures_expected": sum(
                (m.expected for m in measures if m.status != MeasureStatus.DROPPED), Decimal("0.00")
            ),
            "measures_actual": sum((r["actual"] for r in rows), Decimal("0.00")),
        },
    )


def _decimal_area(raw: str, where: str) -> Decimal | None:
    raw = raw.strip()
    if not raw:
        return None
    if not AREA.fullmatch(raw):
        raise ServiceError(f"{where}：面积“{raw[:20]}”不是数字（单位：亩，如 35.5）", field="resources")
    return Decimal(raw.replace(",", ""))


@require(Action.PLAN)
@require_http_methods(["GET", "POST"])
def plan_edit(request: AuthedRequest, code: str, year: int) -> HttpResponse:
    user = request.user
    village = _village(request, code)
    year = _year(year)
    if not user.can(Action.PLAN, village):
        raise Http404("您不能编制该村的一村一策")
    plan = selectors.plan_get(user, village, year)
    all_paths = list(DevelopmentPath.objects.all())
    error = field = ""
    if request.method == "POST":
        post = request.POST
        kinds, names = post.getlist("r_kind"), post.getlist("r_name")
        areas, notes = post.getlist("r_area"), post.getlist("r_note")
        try:
            if not len(kinds) == len(names) == len(areas) == len(notes):
                raise ServiceError("资源清单的表单不完整，请刷新页面后重填", field="resources")
            resources: list[services.ResourceInput] = []
            for index, (kind, name, area, note) in enumerate(
                zip(kinds, names, areas, notes, strict=False), 1
            ):
                if not name.strip() and not area.strip() and not note.strip():
                    continue
                where = f"资源清单第 {index} 行"
                resources.append(
                    services.ResourceInput(
                        kind=kind, name=name, area_mu=_decimal_area(area, where), note=note
                    )
                )
            chosen: list[services.PathInput] = []
            for p in all_paths:
                if post.get(f"p_{p.pk}") != "on":
                    continue
                raw = post.get(f"p_{p.pk}_expected", "")
                try:
                    amount = parse_amount(raw)
                except AmountError as exc:
                    raise ServiceError(f"增收路子“{p.name}”的预计收入：{exc}", field="paths") from None
                chosen.append(
                    services.PathInput(path=p, expected=amount, note=post.get(f"p_{p.pk}_note", ""))
                )
            services.plan_save(
                actor=user,
                village=village,
                year=year,
                summary=post.get("summary", ""),
                resources=resources,
                paths=chosen,
            )
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(request, f"已保存{village.name} {year} 年一村一策")
            return redirect("plan", code=village.code, year=year)
        resource_rows = [
            {"kind": k, "name": n, "area": a, "note": o}
            for k, n, a, o in zip(kinds, names, areas, notes, strict=False)
        ]
        path_rows = [
            {
                "path": p,
                "on": post.get(f"p_{p.pk}") == "on",
                "expected": post.get(f"p_{p.pk}_expected", ""),
                "note": post.get(f"p_{p.pk}_note", ""),
            }
            for p in all_paths
        ]
        summary = post.get("summary", "")
    else:
        resource_rows = [
            {
                "kind": r.kind,
                "name": r.name,
                "area": "" if r.area_mu is None else f"{r.area_mu}",
                "note": r.note,
            }
            for r in (plan.resources.all() if plan else [])
        ]
        mine = {pp.path_id: pp for pp in plan.paths.all()} if plan else {}
        path_rows = [
            {
                "path": p,
                "on": p.pk in mine,
                "expected": f"{mine[p.pk].expected:.2f}" if p.pk in mine else "",
                "note": mine[p.pk].note if p.pk in mine else "",
            }
            for p in all_paths
        ]
        summary = plan.summary if plan else ""
    resource_rows += [{"kind": "asset", "name": "", "area": "", "note": ""}] * BLANK_RESOURCES
    target = VillageTarget.objects.filter(village=village, campaign__year=year).values_list(
        "amount", flat=True
    )
    return render(
        request,
        "plans/plan_edit.html",
        {
            "village": village,
            "year": year,
            "plan": plan,
            "summary": summary,
            "resources": resource_rows,
            "paths": path_rows,
            "kinds": ResourceKind.choices,
            "target": target.first(),
            "error": error,
            "field": field,
        },
    )


def _owner(village: OrgUnit, raw: str) -> Any:
    candidates = services.owner_candidates(village)
    for u in candidates:
        if str(u.pk) == raw:
            return u
    return None


def _measure_inputs(request: AuthedRequest, village: OrgUnit) -> dict[str, Any]:
    post = request.POST
    deadline = date_param(post.get("deadline"), field="deadline", label="完成时限")
    if deadline is None:
        raise ServiceError("请填写完成时限", field="deadline")
    try:
        expected = parse_amount(post.get("expected", "") or "0")
    except AmountError as exc:
        raise ServiceError(f"预计增收：{exc}", field="expected") from None
    raw_path = post.get("path", "")
    path = None
    if raw_path:
        path_id = _pk(raw_path)
        path = DevelopmentPath.objects.filter(pk=path_id).first() if path_id is not None else None
        if path is None:
            raise ServiceError("增收路子不存在，请重新选择", field="path")
    return {
        "title": post.get("title", ""),
        "owner": _owner(village, post.get("owner", "")),
        "deadline": deadline,
        "expected": expected,
        "path": path,
    }


@require(Action.PLAN)
@require_http_methods(["GET", "POST"])
def measure_new(request: AuthedRequest, code: str, year: int) -> HttpResponse:
    user = request.user
    village = _village(request, code)
    year = _year(year)
    if not user.can(Action.PLAN, village):
        raise Http404("您不能编制该村的一村一策")
    plan = selectors.plan_get(user, village, year)
    if plan is None:
        messages.error(request, "请先编制该村的资源清单和增收方案，再添加措施")
        return redirect("plan_edit", code=village.code, year=year)
    error = field = ""
    values = {k: request.POST.get(k, "") for k in ("title", "owner", "deadline", "expected", "path")}
    if request.method == "POST":
        try:
            services.measure_create(actor=user, plan=plan, **_measure_inputs(request, village))
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(request, "已添加措施")
            return redirect("plan", code=village.code, year=year)
    return render(
        request,
        "plans/measure_form.html",
        {
            "village": village,
            "year": year,
            "plan": plan,
            "v": values,
            "owners": services.owner_candidates(village),
            "paths": plan.paths.select_related("path"),
            "all_paths": DevelopmentPath.objects.all(),
            "error": error,
            "field": field,
        },
    )


MEASURE_ACTIONS = ("status", "note", "link", "unlink", "edit")


def _next_statuses(measure: Measure, may_plan: bool) -> list[tuple[str, str]]:
    """Where the measure can go from here: on from 未开始/推进中; a finished or dropped one only back to
    推进中, by whoever plans for the village."""
    labels = dict(MeasureStatus.choices)
    if measure.status == MeasureStatus.PLANNED:
        keys = [MeasureStatus.ACTIVE, MeasureStatus.DONE, MeasureStatus.DROPPED]
    elif measure.status == MeasureStatus.ACTIVE:
        keys = [MeasureStatus.DONE, MeasureStatus.DROPPED]
    else:
        keys = [MeasureStatus.ACTIVE] if may_plan else []
    return [(k.value, str(labels[k])) for k in keys]


@require(Action.VIEW)
@require_http_methods(["GET", "POST"])
def measure_page(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    try:
        measure = selectors.measure_get(user, pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    village = measure.plan.village
    may_plan = allowed(user, Action.PLAN, village.path)
    may_work = may_plan or measure.owner_id == user.pk
    error = field = ""
    action = request.POST.get("action", "")
    if request.method == "POST":
        if action not in MEASURE_ACTIONS:
            error = "不认识的操作"
        elif not may_work or (action in ("link", "unlink", "edit") and not may_plan):
            raise Http404("您不能修改这项措施")
        else:
            try:
                if action == "status":
                    on = date_param(request.POST.get("on"), field="on", label="日期")
                    services.measure_status_set(
                        actor=user,
                        measure=measure,
                        status=request.POST.get("status", ""),
                        on=on,
                        note=request.POST.get("note", ""),
                    )
                    done = "状态已更新"
                elif action == "note":
                    on = date_param(request.POST.get("date"), field="date", label="日期") or today()
                    services.measure_note_add(
                        actor=user, measure=measure, date=on, text=request.POST.get("text", "")
                    )
                    done = "已记录进展"
                elif action == "link":
                    ids = [pk for pk in map(_pk, request.POST.getlist("entries")[:500]) if pk is not None]
                    n = services.measure_link(
                        actor=user,
                        measure=measure,
                        entries=list(Entry.objects.filter(pk__in=ids)) if ids else [],
                    )
                    done = f"已关联 {n} 条台账"
                elif action == "unlink":
                    entry_pk = _pk(request.POST.get("entry", ""))
                    entry = Entry.objects.filter(pk=entry_pk).first() if entry_pk is not None else None
                    if entry is None:
                        raise ServiceError("该台账记录没有关联到这项措施", field="entry")
                    services.measure_unlink(actor=user, measure=measure, entry=entry)
                    done = "已取消关联"
                else:
                    services.measure_update(actor=user, measure=measure, **_measure_inputs(request, village))
                    done = "措施已修改"
            except ServiceError as exc:
                error, field = exc.message, exc.field or ""
            else:
                messages.success(request, done)
                return redirect("measure", pk=measure.pk)
        measure = selectors.measure_get(user, pk)
    as_of = (
        today()
        if today().year in (measure.plan.year, measure.plan.year + 1)
        else default_as_of(measure.plan.year)
    )
    row = _measure_rows([measure], as_of)[0]
    linked = list(selectors.linked_entries(measure))
    return render(
        request,
        "plans/measure.html",
        {
            "m": measure,
            "row": row,
            "village": village,
            "notes": measure.notes.select_related("author").order_by("-date", "-pk"),
            "linked": linked,
            "linkable": list(selectors.linkable_entries(measure)[:100]) if may_plan else [],
            "may_plan": may_plan,
            "may_work": may_work,
            "statuses": _next_statuses(measure, may_plan),
            "owners": services.owner_candidates(village) if may_plan else [],
            "all_paths": DevelopmentPath.objects.all(),
            "today": today(),
            "expected_text": f"{measure.expected:.2f}",
            "error": error,
            "field": field,
            "action": action,
        },
    )
