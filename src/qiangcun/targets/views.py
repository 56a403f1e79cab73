"""Pages: the progress table (擂台), a village's page, the year's targets grid."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.money import AmountError, parse_amount
from qiangcun.core.web import require
from qiangcun.ledger.models import Status
from qiangcun.ledger.selectors import entries_visible
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import ancestors, station_and_district, widest_units
from qiangcun.reports.excel import progress_workbook, targets_workbook, units_workbook
from qiangcun.reports.http import xlsx_response
from qiangcun.targets import services
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import BAND_LABELS, Progress, pct1, progress, village_monthly

SORTS = {
    "rank": lambda r: (r.rank, r.code),
    "income": lambda r: (-r.income, r.code),
    "completion": lambda r: (-r.completion_exact, r.code),
    "gap": lambda r: (r.gap, r.code),
    "shortfall": lambda r: (-r.shortfall, r.code),
    "name": lambda r: (r.name,),
    "target": lambda r: (-r.target, r.code),
}


def _year(request: HttpRequest, user: Any) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    latest = Campaign.objects.restrict(user, "view").aggregate(y=Max("year"))["y"]
    now = today().year
    return now if latest is None or latest >= now else latest


def _as_of(request: HttpRequest, year: int) -> datetime.date | None:
    raw = request.GET.get("as_of", "")
    if not raw:
        now = today()
        return now if now.year == year else None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise Http404("截止日期格式应为 2020-04-17") from exc


def _unit(request: HttpRequest, user: Any) -> OrgUnit:
    code = request.GET.get("unit", "")
    if code:
        unit = get_object_or_404(OrgUnit, code=code)
        if not user.can("view", unit):
            raise PermissionDenied("该单位不在您的管辖范围内")
        return unit
    tops = widest_units(user, "view")
    if not tops:
        raise PermissionDenied("您没有可查看的单位")
    return tops[0]


def _chart(p: Progress, rows: list[Any]) -> dict[str, Any]:
    ordered = sorted(rows, key=lambda r: (r.completion_exact, -r.rank))
    return {
        "names": [r.name for r in ordered],
        "values": [f"{r.completion_pct}" for r in ordered],
        "bands": [r.band for r in ordered],
        "time_progress": f"{pct1(p.time_progress)}",
    }


def _station_groups(p: Progress) -> list[tuple[Any, list[Any]]]:
    station_of = {r.district_code: r.station_code for r in p.villages}
    return [(s, [d for d in p.districts if station_of.get(d.code) == s.code]) for s in p.stations]


def _progress_rows(request: HttpRequest) -> tuple[Progress, list[Any], dict[str, str]]:
    """The progress table as the page shows it: unit, year, as-of date, filters and sort from the URL."""
    user = request.user
    year = _year(request, user)
    unit = _unit(request, user)
    try:
        p = progress(user=user, unit=unit, year=year, as_of=_as_of(request, year))
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    f = {k: request.GET.get(k, "") for k in ("station", "district", "band", "tag", "sort", "q")}
    rows = p.villages
    if f["station"]:
        rows = [r for r in rows if r.station_code == f["station"]]
    if f["district"]:
        rows = [r for r in rows if r.district_code == f["district"]]
    if f["band"] in BAND_LABELS:
        rows = [r for r in rows if r.band == f["band"]]
    if f["tag"]:
        rows = [r for r in rows if f["tag"] in r.tags]
    if f["q"]:
        rows = [r for r in rows if f["q"] in r.name]
    return p, sorted(rows, key=SORTS.get(f["sort"], SORTS["rank"])), f


@require("view")
def progress_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    p, rows, f = _progress_rows(request)
    tags = sorted({t for r in p.villages for t in r.tags})
    years = sorted(set(Campaign.objects.restrict(user, "view").values_list("year", flat=True)) | {p.year})
    context = {
        "p": p,
        "rows": rows,
        "f": f,
        "tags": tags,
        "years": years,
        "bands": BAND_LABELS,
        "chart": _chart(p, rows),
        "filtered": len(rows) != len(p.villages),
        "station_groups": _station_groups(p),
        "campaign": p.campaign,
    }
    if getattr(request, "htmx", False):
        return render(request, "targets/partials/progress_body.html", context)
    return render(request, "targets/progress.html", context)


@require("view")
def progress_export(request: HttpRequest) -> HttpResponse:
    """The progress table as shown (same filters, same order, same figures) as .xlsx."""
    p, rows, f = _progress_rows(request)
    names = {s.code: s.name for s in [*p.stations, *p.districts]}
    described = "，".join(
        f"{label}：{names.get(f[key], BAND_LABELS.get(f[key], f[key]))}"
        for key, label in (
            ("station", "网格站"),
            ("district", "管区"),
            ("band", "状态"),
            ("tag", "标签"),
            ("q", "村名"),
        )
        if f[key]
    )
    body = progress_workbook(p, rows, described)
    return xlsx_response(body, f"{p.unit.name}{p.year}年进度表（截至{p.as_of:%Y-%m-%d}）.xlsx")


@require("view")
def village_page(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    village = get_object_or_404(OrgUnit, code=code, level=Level.VILLAGE)
    if not user.can("view", village):  # type: ignore[union-attr]
        raise Http404("该村不在您的管辖范围内")
    year = _year(request, user)
    as_of = _as_of(request, year)
    # Rank among the widest unit above the village that the user may see.
    chain = [*ancestors(village), village]
    scope_unit = next(u for u in chain if user.can("view", u))  # type: ignore[union-attr]
    try:
        p = progress(user=user, unit=scope_unit, year=year, as_of=as_of)
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    row = next((r for r in p.villages if r.id == village.pk), None)
    months = village_monthly(user=user, village=village, year=year, as_of=p.as_of)
    status = request.GET.get("status", "")
    in_view = entries_visible(user=user).filter(village=village, date__year=year, date__lte=p.as_of)
    entries = in_view.prefetch_related("evidence")
    if status in Status.values:
        entries = entries.filter(status=status)
    entries = entries.order_by("-date", "-id")
    counts = {s: 0 for s in Status.values}
    for s in (
        entries_visible(user=user).filter(village=village, date__year=year).values_list("status", flat=True)
    ):
        counts[s] += 1
    # original row → the state of its reversal (待审核, 已审核 or 已退回)
    reversals = dict(
        entries_visible(user=user)
        .filter(village=village, reverses__isnull=False)
        .values_list("reverses_id", "status")
    )
    chart = {
        "months": [f"{m.month}月" for m in months],
        "cumulative": [f"{m.cumulative:.2f}" for m in months if m.month <= p.as_of.month],
        "time_line": [f"{m.time_line:.2f}" for m in months],
        "target": f"{row.target:.2f}" if row else None,
    }
    return render(
        request,
        "targets/village.html",
        {
            "village": village,
            "chain": chain[:-1],
            "row": row,
            "p": p,
            "scope_unit": scope_unit,
            "entries": entries,
            "status": status,
            "counts": counts,
            "statuses": Status.choices,
            "chart": chart,
            "year": year,
            "can_enter": user.can("enter", village),  # type: ignore[union-attr]
            "can_verify": user.can("verify", village),  # type: ignore[union-attr]
            "reversals": reversals,
            "months": months,
            "can_reverse": user.can("enter", village) or user.can("verify", village),  # type: ignore[union-attr]
        },
    )


@require("manage_targets")
@require_http_methods(["GET", "POST"])
def targets_page(request: HttpRequest, year: int) -> HttpResponse:
    user = request.user
    campaigns = Campaign.objects.restrict(user, "manage_targets").filter(year=year).select_related("township")
    campaign = campaigns.first()
    townships = list(OrgUnit.objects.restrict(user, "manage_targets").filter(level=Level.TOWNSHIP))
    errors: dict[str, str] = {}
    if request.method == "POST" and request.POST.get("action") == "create":
        township = next((t for t in townships if t.code == request.POST.get("township")), None)
        if township is None:
            raise Http404
        try:
            services.campaign_create(
                actor=user,
                township=township,
                year=year,
                baseline=parse_amount(request.POST.get("baseline", "30000")),
                top_tier=parse_amount(request.POST.get("top_tier", "100000")),
                goal_top_tier_villages=int(request.POST.get("goal", "0") or 0),
            )
            messages.success(request, f"已建立 {township.name}{year} 年度任务，各村目标默认为基础线")
        except (ServiceError, AmountError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("targets", year=year)
    if request.method == "POST" and campaign is not None:
        amounts: dict[int, Decimal] = {}
        names = {t.village_id: t.village.name for t in campaign.targets.select_related("village")}
        for key, value in request.POST.items():
            if key.startswith("target-") and key[7:].isdigit():
                vid = int(key[7:])
                try:
                    amounts[vid] = parse_amount(value)
                except AmountError as exc:
                    errors[key] = f"{names.get(vid, vid)}：{exc}"
        settings_ok = True
        try:
            baseline = parse_amount(request.POST.get("baseline", ""))
            top_tier = parse_amount(request.POST.get("top_tier", ""))
            margin = Decimal(request.POST.get("band_margin", "10") or "10")
            goal = int(request.POST.get("goal", "0") or 0)
        except (AmountError, ArithmeticError, ValueError) as exc:
            errors["campaign"] = f"年度设置：{exc}"
            settings_ok = False
        if not errors and settings_ok:
            try:
                with transaction.atomic():
                    services.campaign_update(
                        actor=user,
                        campaign=campaign,
                        baseline=baseline,
                        top_tier=top_tier,
                        goal_top_tier_villages=goal,
                        band_margin=margin,
                    )
                    changed = services.targets_set(actor=user, campaign=campaign, amounts=amounts)
            except ServiceError as exc:
                errors[exc.field or "campaign"] = exc.message
            else:
                messages.success(request, f"已保存：{changed} 个村的目标有改动")
                return redirect("targets", year=year)
        for message in errors.values():
            messages.error(request, message)
    rows = []
    if campaign is not None:
        targets = list(
            VillageTarget.objects.filter(campaign=campaign)
            .select_related("village", "campaign")
            .order_by("village__path")
        )
        placement = station_and_district(t.village for t in targets)
        for t in targets:
            station, district = placement[t.village_id]
            key = f"target-{t.village_id}"
            rows.append(
                {
                    "t": t,
                    "key": key,
                    "value": request.POST.get(key, f"{t.amount:.2f}"),
                    "station": station.name if station else "",
                    "district": district.name if district else "",
                    "error": errors.get(key, ""),
                }
            )
    top_count = sum(1 for r in rows if r["t"].amount >= r["t"].campaign.top_tier)
    return render(
        request,
        "targets/targets.html",
        {
            "campaign": campaign,
            "year": year,
            "rows": rows,
            "townships": townships,
            "top_count": top_count,
            "years": sorted(
                set(Campaign.objects.restrict(user, "manage_targets").values_list("year", flat=True)) | {year}
            ),
        },
    )


@require()
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.can("view"):  # type: ignore[union-attr]
        tops = widest_units(user, "view")
        if len(tops) == 1 and tops[0].level == Level.VILLAGE:
            return redirect("village", code=tops[0].code)
        return redirect("progress")
    if user.can("audit"):  # type: ignore[union-attr]
        return redirect("audit_log")
    if user.can("manage_users"):  # type: ignore[union-attr]
        return render(
            request,
            "core/no_pages.html",
            {"message": "账号管理页面尚未上线。系统管理员不查看业务数据。"},
        )
    return render(request, "core/no_pages.html", {"message": "您的账号还没有分配角色，请联系镇党建办。"})


@require("view")
def targets_export(request: HttpRequest, year: int) -> HttpResponse:
    user = request.user
    unit = _unit(request, user)
    targets = (
        VillageTarget.objects.restrict(user, "view")
        .filter(campaign__year=year, village__path__startswith=unit.path)
        .select_related("village")
        .order_by("village__path")
    )
    chosen = list(targets)
    placement = station_and_district(t.village for t in chosen)
    rows = []
    for t in chosen:
        station, district = placement[t.village_id]
        rows.append(
            (t.village.name, station.name if station else "", district.name if district else "", t.amount)
        )
    body = targets_workbook(rows, title=f"{unit.name}{year}年村集体经济收入目标")
    return xlsx_response(body, f"{unit.name}{year}年目标.xlsx")


@require("view")
def units_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    unit = _unit(request, user)
    villages = list(OrgUnit.objects.under(unit).filter(level=Level.VILLAGE).order_by("path"))
    tags: dict[int, list[str]] = {}
    for unit_id, tag in OrgUnit.tags.through.objects.filter(orgunit__in=villages).values_list(
        "orgunit_id", "tag__name"
    ):
        tags.setdefault(unit_id, []).append(tag)
    body = units_workbook(unit, villages, station_and_district(villages), tags)
    return xlsx_response(body, f"{unit.name}组织结构.xlsx")
