"""Pages: the progress table (擂台), a village's page, the year's targets grid."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.params import ParamError, choice_param, date_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.templatetags.qc import pct, step
from qiangcun.core.text import text_problem
from qiangcun.core.web import require
from qiangcun.ledger.models import Status
from qiangcun.ledger.selectors import VILLAGE_PAGE_ROWS, entries_visible, list_totals
from qiangcun.orgs.models import ABOVE_TOWNSHIP, Level, OrgUnit
from qiangcun.orgs.selectors import ancestors, station_and_district, unit_for
from qiangcun.reports.http import xlsx_response
from qiangcun.reports.xlsx import Column, write_table
from qiangcun.targets import defaults, services
from qiangcun.targets.forms import CampaignForm, TargetFormSet
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import (
    BAND_LABELS,
    Progress,
    board_root,
    board_summary,
    board_unit,
    board_year,
    campaigns_seen,
    child_rollups,
    pct1,
    progress,
    settings_lock,
    village_monthly,
)

SORTS = {
    "rank": lambda r: (r.rank, r.code),
    "income": lambda r: (-r.income, r.code),
    "completion": lambda r: (-r.completion_exact, r.code),
    "gap": lambda r: (r.gap, r.code),
    "shortfall": lambda r: (-r.shortfall, r.code),
    "name": lambda r: (r.name,),
    "target": lambda r: (-r.target, r.code),
}


def _as_of(request: AuthedRequest, year: int) -> datetime.date | None:
    as_of = date_param(request.GET.get("as_of"))
    if as_of is None and today().year == year:
        return today()
    return as_of


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


FILTERS = ("station", "district", "band", "tag", "q")


def _progress_rows(
    request: AuthedRequest, unit: OrgUnit | None = None
) -> tuple[Progress, Progress, dict[str, str]]:
    """The progress table as the page shows it: unit, year, as-of date, filters and sort from the URL.

    Returns the whole table, the table as shown (the filtered rows, in the chosen order, with totals
    and roll-ups of exactly those rows) and the filters. Filters hide rows; ranks stay the township's."""
    user = request.user
    year = board_year(user, request.GET.get("year"))
    unit = unit or board_unit(
        user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None
    )
    try:
        whole = progress(user=user, unit=unit, year=year, as_of=_as_of(request, year))
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    f = {k: text_param(request.GET.get(k), field=k, label="筛选条件") for k in FILTERS}
    f["band"] = choice_param(f["band"], BAND_LABELS, field="band", label="状态")
    f["sort"] = choice_param(request.GET.get("sort"), SORTS, field="sort", label="排序")
    rows = whole.villages
    if f["station"]:
        rows = [r for r in rows if r.station_code == f["station"]]
    if f["district"]:
        rows = [r for r in rows if r.district_code == f["district"]]
    if f["band"]:
        rows = [r for r in rows if r.band == f["band"]]
    if f["tag"]:
        rows = [r for r in rows if f["tag"] in r.tags]
    if f["q"]:
        rows = [r for r in rows if f["q"] in r.name]
    return whole, whole.only(sorted(rows, key=SORTS[f["sort"] or "rank"])), f


def _summary_page(request: AuthedRequest, unit: OrgUnit) -> HttpResponse:
    """A city's or a province's table: one line per unit under it (tens of thousands of villages are
    not listed on one page); each line opens the table of that unit."""
    user = request.user
    year = board_year(user, request.GET.get("year"))
    try:
        summary = board_summary(user=user, unit=unit, year=year, as_of=_as_of(request, year))
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    years = sorted(set(campaigns_seen(user).values_list("year", flat=True)) | {year})
    when = f"year={summary.year}&as_of={summary.as_of:%Y-%m-%d}"
    return render(request, "targets/progress_summary.html", {"s": summary, "years": years, "when": when})


def _described(whole: Progress, f: dict[str, str]) -> str:
    """The filters in words, for the page and the export's subtitle."""
    names = {s.code: s.name for s in [*whole.stations, *whole.districts]}
    return "，".join(
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


#: Villages a page of the progress table lists (a township has fewer; a county a thousand).
PROGRESS_PAGE_SIZE = 100


@require(Action.VIEW)
def progress_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unit = board_unit(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    if unit.level in (Level.PROVINCE, Level.CITY):
        return _summary_page(request, unit)
    whole, shown, f = _progress_rows(request, unit)
    page = Paginator(shown.villages, PROGRESS_PAGE_SIZE).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    tags = sorted({t for r in whole.villages for t in r.tags})
    years = sorted(set(campaigns_seen(user).values_list("year", flat=True)) | {whole.year})
    context = {
        "p": shown,
        "whole": whole,
        "rows": listed,
        "page": page if page.paginator.num_pages > 1 else None,
        "children": child_rollups(shown.unit, shown.villages) if shown.unit.level in ABOVE_TOWNSHIP else [],
        "poster": shown.unit.level not in ABOVE_TOWNSHIP,  # a poster is one township's wall
        "f": f,
        "described": _described(whole, f),
        "tags": tags,
        "years": years,
        "bands": BAND_LABELS,
        "chart": _chart(shown, listed),
        "filtered": len(shown.villages) != len(whole.villages),
        "station_groups": _station_groups(shown),
        "campaign": shown.campaign,
        "stations": whole.stations,
        "districts": whole.districts,
        # Worked out once for the page, not once a row: each row's links to its village and the time
        # progress drawn on its bar (reversing a URL for each of 67 rows cost about 8 ms a page).
        "village_url": reverse("village", args=["-"]).removesuffix("-/"),
        "when": f"year={shown.year}&as_of={shown.as_of:%Y-%m-%d}",
        "tp_pct": pct(shown.time_progress),
        "tp_step": step(shown.time_progress),
    }
    if getattr(request, "htmx", False):
        return render(request, "targets/partials/progress_body.html", context)
    return render(request, "targets/progress.html", context)


PROGRESS_COLUMNS = [
    Column("排名", "int", 6),
    Column("排名变化", "int", 8),
    Column("村", "text", 12),
    Column("网格站", "text", 20),
    Column("管区", "text", 10),
    Column("目标（元）", "yuan", 14),
    Column("已审核收入（元）", "yuan", 16),
    Column("完成率", "percent", 9),
    Column("时序进度", "percent", 9),
    Column("与时序差（百分点）", "points", 12),
    Column("距目标（元）", "yuan", 14),
    Column("状态", "text", 8),
]


@require(Action.VIEW)
def progress_export(request: AuthedRequest) -> HttpResponse:
    """The progress table as shown (same filters, same order, same figures) as .xlsx; its 合计 row
    adds up exactly the rows above it. A city's or a province's table is its summary: tens of thousands
    of villages are exported by county."""
    unit = board_unit(
        request.user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None
    )
    if unit.level in (Level.PROVINCE, Level.CITY):
        raise ParamError(f"{unit.name}的村太多，不能一次导出；请在汇总表中进入各县后导出", field="unit")
    whole, p, f = _progress_rows(request, unit)
    described = _described(whole, f)
    tp = pct1(p.time_progress) / 100
    t = p.totals
    body = write_table(
        title=f"{p.unit.name}{p.year}年村集体经济收入进度表",
        subtitle=f"截至 {p.as_of:%Y年%m月%d日}，时序进度 {pct1(p.time_progress)}%"
        + (f"；筛选：{described}（排名为全镇排名）" if described else ""),
        columns=PROGRESS_COLUMNS,
        rows=[
            (
                r.rank,
                r.rank_change,
                r.name,
                r.station,
                r.district,
                r.target,
                r.income,
                r.completion_pct / 100,
                tp,
                r.gap_points,
                r.shortfall,
                r.band_label,
            )
            for r in p.villages
        ],
        totals=(
            None,
            None,
            "合计",
            "",
            "",
            t.target,
            t.income,
            pct1(t.completion_exact) / 100,
            tp,
            pct1(p.gap_exact),
            sum((r.shortfall for r in p.villages), Decimal("0.00")),
            f"{t.villages} 个村",
        ),
        sheet_name="进度表",
    )
    return xlsx_response(body, f"{p.unit.name}{p.year}年进度表（截至{p.as_of:%Y-%m-%d}）.xlsx")


@require(Action.VIEW)
def village_page(request: AuthedRequest, code: str) -> HttpResponse:
    user = request.user
    if text_problem(code) is not None:  # no village has such a code (and PostgreSQL refuses NUL)
        raise Http404("没有这个村")
    village = get_object_or_404(OrgUnit, code=code, level=Level.VILLAGE)
    if not user.can(Action.VIEW, village):
        raise Http404("该村不在您的管辖范围内")
    year = board_year(user, request.GET.get("year"))
    as_of = _as_of(request, year)
    chain = [*ancestors(village), village]
    # The village's rank is its rank among all villages of its township (the 擂台 is public).
    scope_unit = board_root(village)
    try:
        p = progress(user=user, unit=scope_unit, year=year, as_of=as_of)
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    row = next((r for r in p.villages if r.id == village.pk), None)
    months = village_monthly(user=user, village=village, year=year, as_of=p.as_of)
    status = choice_param(request.GET.get("status"), Status.values, field="status", label="状态")
    in_view = entries_visible(user=user).filter(village=village, date__year=year, date__lte=p.as_of)
    entries = in_view.select_related("contract_payment").prefetch_related("evidence", "recognitions")
    if status:
        entries = entries.filter(status=status)
    entries = entries.order_by("-date", "-id")
    # 200 rows a page; the count and sum are over every page, in the database.
    page = Paginator(entries, VILLAGE_PAGE_ROWS).get_page(request.GET.get("page"))
    # The chips count the rows the list shows (same year and as-of date), one query.
    counts = {s: 0 for s in Status.values}
    for s, n in in_view.order_by().values_list("status").annotate(n=Count("id")):
        counts[s] = n
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
            "entries": page.object_list,
            "page": page,
            "totals": list_totals(entries),
            "status": status,
            "counts": counts,
            "statuses": Status.choices,
            "chart": chart,
            "year": year,
            "can_enter": user.can(Action.ENTER, village),
            "can_verify": user.can(Action.VERIFY, village),
            "reversals": reversals,
            "months": months,
            "can_reverse": user.can(Action.ENTER, village) or user.can(Action.VERIFY, village),
            # The year's own counted categories: a row of another category is marked 不计入.
            "counted_ids": (
                set(p.campaign.counted_categories.values_list("pk", flat=True)) if p.campaign else None
            ),
        },
    )


def _default_settings() -> dict[str, Any]:
    """The create form's initial values: the defaults of a new year (``targets.defaults``)."""
    return {
        "baseline": defaults.BASELINE,
        "top_tier": defaults.TOP_TIER,
        "goal": defaults.GOAL_TOP_TIER_VILLAGES,
        "band_margin": defaults.BAND_MARGIN,
        "categories": [c.pk for c in defaults.default_categories()],
    }


def _create_form(township: OrgUnit, data: Any = None) -> CampaignForm:
    return CampaignForm(data, initial=_default_settings(), auto_id=f"id_{township.code}_%s")


def _create_campaign(request: AuthedRequest, year: int, form: CampaignForm, township: OrgUnit) -> bool:
    """Open the year with the confirmed settings; the errors go into messages. Whether it was opened."""
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else "年度设置"
            messages.error(request, f"{label}：{errors[0]}")
        return False
    data = form.cleaned_data
    try:
        services.campaign_create(
            actor=request.user,
            township=township,
            year=year,
            baseline=data["baseline"],
            top_tier=data["top_tier"],
            goal_top_tier_villages=data["goal"],
            band_margin=data["band_margin"] if data["band_margin"] is not None else defaults.BAND_MARGIN,
            counted_categories=data["categories"],
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return False
    names = services.category_names(data["categories"])
    messages.success(
        request,
        f"已建立 {township.name}{year} 年度任务（{defaults.describe(data['baseline'], data['top_tier'], names)}），"
        "各村目标默认为基础线",
    )
    return True


@require(Action.MANAGE_TARGETS)
@require_http_methods(["GET", "POST"])
def targets_page(request: AuthedRequest, year: int) -> HttpResponse:
    """The year's settings and every village's target as one grid, saved all or nothing. A year with no
    campaign shows the defaults for confirmation; the baseline, the top tier and the counted categories
    are read-only, with the reason, once the year's first ledger row is verified."""
    user = request.user
    campaign = (
        Campaign.objects.restrict(user, Action.MANAGE_TARGETS)
        .filter(year=year)
        .select_related("township")
        .first()
    )
    townships = list(OrgUnit.objects.restrict(user, Action.MANAGE_TARGETS).filter(level=Level.TOWNSHIP))
    # The years with a campaign, and this year and next year even without one (to open them here).
    now = today().year
    years = sorted(
        set(Campaign.objects.restrict(user, Action.MANAGE_TARGETS).values_list("year", flat=True))
        | {year, now, now + 1}
    )
    if campaign is None:
        create_forms = {t.code: _create_form(t) for t in townships}
        if request.method == "POST":
            if request.POST.get("action") != "create":
                messages.error(request, f"{year} 年度任务尚未建立，请先确认年度设置")
                return redirect("targets", year=year)
            township = next((t for t in townships if t.code == request.POST.get("township")), None)
            if township is None:
                raise Http404("该镇不在您的管辖范围内")
            create_forms[township.code] = _create_form(township, request.POST)
            if _create_campaign(request, year, create_forms[township.code], township):
                return redirect("targets", year=year)
        return render(
            request,
            "targets/targets.html",
            {
                "campaign": None,
                "year": year,
                "creates": [(t, create_forms[t.code]) for t in townships],
                "default_text": defaults.describe(
                    defaults.BASELINE, defaults.TOP_TIER, [c.name for c in defaults.default_categories()]
                ),
                "years": years,
            },
        )
    if request.method == "POST" and request.POST.get("action") == "create":
        messages.error(request, f"{campaign.township.name}{year} 年度任务已存在")
        return redirect("targets", year=year)
    lock = settings_lock(campaign)
    counted = list(campaign.counted_categories.order_by("order", "id"))
    targets = list(
        VillageTarget.objects.filter(campaign=campaign)
        .select_related("village", "campaign")
        .order_by("village__path")
    )
    initial = [{"village": t.village_id, "amount": f"{t.amount:.2f}"} for t in targets]
    settings_initial = {  # Decimals, so that the form tells a changed amount from "30000" for "30000.00"
        "baseline": campaign.baseline,
        "top_tier": campaign.top_tier,
        "goal": campaign.goal_top_tier_villages,
        "band_margin": campaign.band_margin,
        "categories": [c.pk for c in counted],
    }
    settings_form = CampaignForm(request.POST or None, initial=settings_initial, locked=lock is not None)
    grid = TargetFormSet(request.POST or None, initial=initial, prefix="t")
    names = {t.village_id: t.village.name for t in targets}
    if request.method == "POST":
        saved = _save_targets(request, campaign, settings_form, grid, names)
        if saved is not None:
            messages.success(request, f"已保存：{saved} 个村的目标有改动")
            return redirect("targets", year=year)
    placement = station_and_district(t.village for t in targets)
    rows = []
    for t, form in zip(targets, grid.forms, strict=False):
        station, district = placement[t.village_id]
        form.fields["amount"].widget.attrs["aria-label"] = f"{t.village.name}目标"
        rows.append(
            {
                "t": t,
                "form": form,
                "station": station.name if station else "",
                "district": district.name if district else "",
                "error": f"{t.village.name}：{form.errors['amount'][0]}" if "amount" in form.errors else "",
            }
        )
    top_count = sum(1 for t in targets if t.amount >= t.campaign.top_tier)
    return render(
        request,
        "targets/targets.html",
        {
            "campaign": campaign,
            "year": year,
            "rows": rows,
            "grid": grid,
            "settings_form": settings_form,
            "lock": lock,
            "counted_names": [c.name for c in counted],
            "top_count": top_count,
            "years": years,
        },
    )


#: The settings in the words of the success message, in the form's order.
_SETTING_LABELS = {
    "baseline": "基础线",
    "top_tier": "强村线",
    "goal": "强村目标个数",
    "band_margin": "黄牌容差",
    "categories": "计入目标的类别",
}


def _save_targets(
    request: AuthedRequest, campaign: Campaign, settings_form: CampaignForm, grid: Any, names: dict[int, str]
) -> int | None:
    """Check the settings and the grid; save both in one transaction, or nothing. The number of villages
    whose target changed, or ``None`` with the errors put into messages (each names its village).
    Settings the form leaves out (locked) are passed as ``None``: unchanged."""
    errors: list[str] = []
    if not settings_form.is_valid():
        errors += [
            f"年度设置：{settings_form.fields[f].label if f in settings_form.fields else ''}：{e[0]}"
            for f, e in settings_form.errors.items()
        ]
    if not grid.is_valid():
        errors += [str(e) for e in grid.non_form_errors()]
        ordered = list(names.values())  # the grid lists the villages in this order
        for index, form in enumerate(grid.forms):
            if form.errors:
                village = ordered[index] if index < len(ordered) else f"第 {index + 1} 行"
                errors += [f"{village}：{e[0]}" for e in form.errors.values()]
        errors = errors or ["表格有误，请刷新页面后重填"]
    elif len(grid.forms) != len(names):
        errors.append("表格的行数与本年度的村数不一致，请刷新页面后重填")
    amounts: dict[int, Decimal] = {}
    if not errors:
        for form in grid.forms:
            village_id = form.cleaned_data["village"]
            if village_id not in names:
                errors.append("表格中有不属于本年度任务的村，请刷新页面后重填")
                break
            amounts[village_id] = form.cleaned_data["amount"]
    if not errors:
        data = settings_form.cleaned_data
        margin = data["band_margin"] if data["band_margin"] is not None else defaults.BAND_MARGIN
        try:
            with transaction.atomic():
                services.campaign_update(
                    actor=request.user,
                    campaign=campaign,
                    baseline=data.get("baseline"),
                    top_tier=data.get("top_tier"),
                    counted_categories=data.get("categories"),
                    goal_top_tier_villages=data["goal"],
                    band_margin=margin,
                )
                changed = services.targets_set(actor=request.user, campaign=campaign, amounts=amounts)
        except ServiceError as exc:
            errors.append(exc.message)
            field = exc.field or ""
            village_id = int(field[7:]) if field.startswith("target-") else None
            for form in grid.forms:
                if form.cleaned_data.get("village") == village_id:
                    form.add_error("amount", exc.message.removeprefix(f"{names[village_id]}："))
        else:
            settings_changed = [
                _SETTING_LABELS[f] for f in settings_form.changed_data if f in _SETTING_LABELS
            ]
            if settings_changed:
                messages.success(request, f"已修改年度设置：{'、'.join(settings_changed)}")
            return changed
    for message in errors:
        messages.error(request, message)
    return None


@require(Action.VIEW)
def targets_export(request: AuthedRequest, year: int) -> HttpResponse:
    user = request.user
    unit = unit_for(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    targets = (
        VillageTarget.objects.restrict(user, Action.VIEW)
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
    body = write_table(
        title=f"{unit.name}{year}年村集体经济收入目标",
        columns=[
            Column("村名", "text", 12),
            Column("网格站", "text", 20),
            Column("管区", "text", 10),
            Column("目标（元）", "yuan", 14),
        ],
        rows=rows,
        sheet_name="目标",
    )
    return xlsx_response(body, f"{unit.name}{year}年目标.xlsx")
