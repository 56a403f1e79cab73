"""Pages: the bulletin archive, preview and issue, a bulletin and its files, the settings; the wall
poster of the progress table."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.params import ParamError, choice_param, date_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.models import OrgUnit
from qiangcun.supervision import documents, posters, selectors, services
from qiangcun.supervision.models import WEEKDAY_CHOICES, Bulletin
from qiangcun.supervision.weeks import Week, parse_week, weeks_of
from qiangcun.targets.models import Campaign
from qiangcun.targets.selectors import board_unit, board_year, can_see_board, progress

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _unit_code(request: AuthedRequest) -> str | None:
    raw = request.GET.get("unit") or request.POST.get("unit")
    return text_param(raw, field="unit", label="单位代码") or None


def _township(request: AuthedRequest) -> OrgUnit:
    return selectors.bulletin_township(request.user, _unit_code(request))


def _publisher(request: AuthedRequest) -> OrgUnit:
    township = _township(request)
    if not selectors.may_publish(request.user, township):
        raise PermissionDenied("只有镇党建办可以发布通报")
    return township


def _week(request: AuthedRequest, township: OrgUnit, raw: str | None) -> Week:
    cutoff = services.settings_of(township).cutoff_weekday
    if not raw:
        ended = _ended_weeks(township)
        if not ended:
            raise ParamError("本年度还没有结束的周，请用 ?week=2020-W16 指定周次", field="week")
        return ended[-1]
    try:
        return parse_week(raw, cutoff)
    except ServiceError as error:
        raise ParamError(error.message, field="week") from error


def _ended_weeks(township: OrgUnit) -> list[Week]:
    """The ended weeks of the township's latest campaign year up to today (the current year's so far)."""
    conf = services.settings_of(township)
    year = (
        Campaign.objects.filter(township=township, year__lte=today().year).aggregate(y=Max("year"))["y"]
        or today().year
    )
    return [w for w in weeks_of(year, conf.cutoff_weekday) if w.end <= today()]


def _attachment(body: bytes, filename: str, content_type: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-cache"
    return response


@require(Action.VIEW)
@require_GET
def bulletin_list(request: AuthedRequest) -> HttpResponse:
    township = _township(request)
    issued = selectors.bulletins(request.user, township)
    context: dict[str, Any] = {"township": township, "bulletins": issued}
    if selectors.may_publish(request.user, township):
        conf = services.settings_of(township)
        ended = _ended_weeks(township)
        done = {(b.year, b.week): b.number for b in issued}
        context["publish"] = {
            "weeks": [(w, done.get((w.year, w.number))) for w in ended[::-1]],
            "latest": ended[-1] if ended else None,
            "settings": conf,
            "weekdays": dict(WEEKDAY_CHOICES),
        }
    return render(request, "supervision/bulletins.html", context)


@require(Action.PUBLISH)
@require_GET
def bulletin_preview(request: AuthedRequest) -> HttpResponse:
    township = _publisher(request)
    week = _week(request, township, request.GET.get("week"))
    try:
        snapshot, summary = services.bulletin_draft(township=township, week=week)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(f"/bulletins/?unit={township.code}")
    issued = Bulletin.objects.filter(township=township, year=week.year, week=week.number).first()
    return render(
        request,
        "supervision/bulletin.html",
        {
            "township": township,
            "s": snapshot,
            "summary": summary,
            "week": week,
            "bulletin": issued,
            "preview": True,
            "annex": documents.annex_cards(snapshot),
        },
    )


@require(Action.PUBLISH)
@require_GET
def bulletin_preview_pdf(request: AuthedRequest) -> HttpResponse:
    township = _publisher(request)
    week = _week(request, township, request.GET.get("week"))
    try:
        snapshot, summary = services.bulletin_draft(township=township, week=week)
    except ServiceError as error:
        raise ParamError(error.message, field="week") from error
    from qiangcun.reports.official import to_pdf

    body = to_pdf(documents.document(snapshot, summary, chart=documents.chart_png(snapshot)))
    return _attachment(body, f"预览-{township.name}{week.label}.pdf", "application/pdf", inline=True)


@require(Action.PUBLISH)
@require_POST
def bulletin_issue(request: AuthedRequest) -> HttpResponse:
    township = _publisher(request)
    week = _week(request, township, request.POST.get("week"))
    try:
        bulletin, created = services.bulletin_issue(actor=request.user, township=township, week=week)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(f"/bulletins/?unit={township.code}")
    if created:
        messages.success(
            request,
            f"已发布{bulletin.number_text}通报（{week.describe()}），"
            f"全镇累计 {documents.wan_text(bulletin.snapshot['totals']['income'])}",
        )
    else:
        messages.info(request, f"{week.label} 的通报已于此前发布为{bulletin.number_text}，未重复发布")
    return redirect("bulletin", pk=bulletin.pk)


@require(Action.VIEW)
@require_GET
def bulletin_page(request: AuthedRequest, pk: int) -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, pk)
    week = Week(bulletin.year, bulletin.week, bulletin.week_start, bulletin.week_end)
    return render(
        request,
        "supervision/bulletin.html",
        {
            "township": bulletin.township,
            "s": bulletin.snapshot,
            "summary": bulletin.summary,
            "week": week,
            "bulletin": bulletin,
            "preview": False,
            "annex": documents.annex_cards(bulletin.snapshot),
        },
    )


@require(Action.VIEW)
@require_GET
def bulletin_file(request: AuthedRequest, pk: int, kind: str) -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, pk, files=True)
    docx, pdf = services.bulletin_files(bulletin=bulletin)
    if kind == "docx":
        return _attachment(docx, f"{bulletin.filename_stem}.docx", DOCX)
    return _attachment(pdf, f"{bulletin.filename_stem}.pdf", "application/pdf")


@require(Action.PUBLISH)
@require_http_methods(["GET", "POST"])
def bulletin_settings(request: AuthedRequest) -> HttpResponse:
    township = _publisher(request)
    conf = services.settings_of(township)
    error = ""
    if request.method == "POST":
        try:
            cutoff = _weekday(request.POST.get("cutoff_weekday"), "每周截止日")
            schedule_day_raw = request.POST.get("schedule_weekday") or ""
            schedule_day = _weekday(schedule_day_raw, "自动发布日") if schedule_day_raw else None
            schedule_time = _time(request.POST.get("schedule_time") or "")
            services.bulletin_settings_update(
                actor=request.user,
                township=township,
                cutoff_weekday=cutoff,
                issuer=request.POST.get("issuer", ""),
                schedule_weekday=schedule_day,
                schedule_time=schedule_time,
            )
        except ServiceError as exc:
            error = exc.message
        else:
            from qiangcun.supervision.tasks import ensure_tick

            ensure_tick()
            messages.success(request, "通报设置已保存")
            return redirect(f"/bulletins/?unit={township.code}")
    return render(
        request,
        "supervision/settings.html",
        {
            "township": township,
            "conf": conf,
            "weekdays": WEEKDAY_CHOICES,
            "error": error,
            "default_issuer": documents.default_issuer(township.name),
        },
    )


def _weekday(raw: str | None, label: str) -> int:
    value = choice_param(raw, [str(i) for i in range(7)], field="weekday", label=label)
    if value == "":
        raise ServiceError(f"请选择{label}", field="weekday")
    return int(value)


def _time(raw: str) -> datetime.time | None:
    if not raw.strip():
        return None
    try:
        return datetime.time.fromisoformat(raw.strip())
    except ValueError:
        raise ServiceError(f"自动发布时间“{raw[:10]}”应写作 17:00", field="schedule_time") from None


POSTER_SIZES = ("A1", "A0", "A3")


@require(Action.VIEW)
@require_GET
def progress_poster(request: AuthedRequest) -> HttpResponse:
    """The progress table as a print-ready wall poster (挂图): one landscape page, A1 by default."""
    user = request.user
    unit = board_unit(user, _unit_code(request))
    year = board_year(user, request.GET.get("year"))
    size = choice_param(request.GET.get("size"), POSTER_SIZES, field="size", label="纸张") or "A1"
    as_of = date_param(request.GET.get("as_of"))
    if as_of is None and today().year == year:
        as_of = today()
    try:
        p = progress(user=user, unit=unit, year=year, as_of=as_of)
    except ServiceError as error:
        if error.code == "forbidden":
            raise
        raise ParamError(error.message, field=error.field or "as_of") from error
    body = posters.poster_pdf(p, size=size)
    return _attachment(
        body,
        f"{unit.name}{year}年进度挂图（截至{p.as_of:%Y-%m-%d}，{size}）.pdf",
        "application/pdf",
        inline=True,
    )


SCREEN_PANEL_SECONDS = 20


def _screen_day(request: AuthedRequest) -> datetime.date:
    return date_param(request.GET.get("as_of")) or today()


@require(Action.VIEW)
@require_GET
def meeting_screen(request: AuthedRequest) -> HttpResponse:
    """The meeting-room screen (1920×1080): the progress chart, the red list and this week's movers,
    advancing between panels and reloading itself for fresh figures."""
    township = _township(request)
    if not can_see_board(request.user, township):
        raise PermissionDenied("您无权查看该镇的进度")
    as_of = _screen_day(request)
    try:
        s = services.screen_snapshot(township=township, as_of=as_of)
    except ServiceError as error:
        raise ParamError(error.message, field="as_of") from error
    villages = s["villages"]
    chart = {
        "names": [v["name"] for v in villages][::-1],
        "values": [v["completion"] for v in villages][::-1],
        "bands": [v["band"] for v in villages][::-1],
        "time_progress": s["time_progress"],
    }
    movers = sorted((v for v in villages if Decimal(v["new"]) > 0), key=lambda v: -Decimal(v["new"]))[:12]
    return render(
        request,
        "supervision/screen.html",
        {
            "township": township,
            "s": s,
            "chart": chart,
            "red": [v for v in villages if v["band"] == "red"],
            "movers": movers,
            "seconds": SCREEN_PANEL_SECONDS,
            "may_record": selectors.may_publish(request.user, township),
        },
    )


@require(Action.VIEW)
@require_GET
def meeting_list(request: AuthedRequest) -> HttpResponse:
    township = _township(request)
    return render(
        request,
        "supervision/meetings.html",
        {
            "township": township,
            "meetings": selectors.meetings(request.user, township),
            "may_record": selectors.may_publish(request.user, township),
        },
    )


@require(Action.PUBLISH)
@require_http_methods(["GET", "POST"])
def meeting_new(request: AuthedRequest) -> HttpResponse:
    township = _publisher(request)
    error = ""
    field = ""
    values = {
        "held_on": request.POST.get("held_on", "") if request.method == "POST" else f"{today():%Y-%m-%d}",
        "title": request.POST.get("title", "党政联席会"),
        "attendees": request.POST.get("attendees", ""),
        "decisions": request.POST.get("decisions", ""),
    }
    if request.method == "POST":
        try:
            held_on = date_param(values["held_on"], field="held_on", label="会议日期")
            if held_on is None:
                raise ServiceError("请填写会议日期", field="held_on")
            meeting = services.meeting_record(
                actor=request.user,
                township=township,
                held_on=held_on,
                title=values["title"],
                attendees=values["attendees"],
                decisions=values["decisions"],
            )
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(
                request,
                f"已记录{meeting.held_on:%Y年%m月%d日}{meeting.title}，会上数据（全镇累计 "
                f"{documents.wan_text(meeting.snapshot['totals']['income'])}）已一并保存",
            )
            return redirect("meeting", pk=meeting.pk)
    return render(
        request,
        "supervision/meeting_new.html",
        {"township": township, "error": error, "field": field, "v": values},
    )


@require(Action.VIEW)
@require_GET
def meeting_page(request: AuthedRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_get(request.user, pk)
    return render(request, "supervision/meeting.html", {"meeting": meeting, "s": meeting.snapshot})
