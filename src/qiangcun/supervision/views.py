"""Pages: the bulletin archive, preview and issue, a bulletin and its files, the settings; the wall
poster of the progress table; the meeting screen and records; the monthly inspection, its rectification
items (整改台账) and interviews (约谈)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.params import ParamError, choice_param, date_param, text_param, year_param
from qiangcun.core.scope import Action, allowed
from qiangcun.core.web import require
from qiangcun.core.workdays import add_workdays
from qiangcun.ledger.services import evidence_type
from qiangcun.orgs.models import ABOVE_TOWNSHIP, OrgUnit
from qiangcun.reports.http import xlsx_response
from qiangcun.reports.xlsx import Column, write_table
from qiangcun.supervision import documents, posters, selectors, services
from qiangcun.supervision.models import (
    WEEKDAY_CHOICES,
    Bulletin,
    Finding,
    InspectionPhoto,
    RectificationEvidence,
    RectificationStatus,
)
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
    if unit.level in ABOVE_TOWNSHIP:  # one township's wall; a county's thousand villages are no poster
        raise ParamError("挂图按镇制作，一张挂图是一个镇的各村；请先在进度表中选择一个镇", field="unit")
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


# ------------------------------------------------------------------------------ 一月一督查 · 整改 · 约谈

INSPECT = Action.INSPECT
FINDING_ROWS = 5
STATUS_CHOICES = [(s.value, s.label) for s in RectificationStatus]


def _month(raw: str | None) -> datetime.date:
    """``?month=2020-04`` (default: this month) as its first day."""
    text = text_param(raw, field="month", label="月份", max_length=7)
    if not text:
        return today().replace(day=1)
    try:
        if len(text) != 7 or not text.isascii():
            raise ValueError
        value = datetime.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ParamError(f"月份“{text}”不对：格式应为 2020-04", field="month") from None
    if not 2000 <= value.year <= 2100:
        raise ParamError(f"月份 {text} 超出范围（2000—2100 年）", field="month")
    return value


def _shift(month: datetime.date, by: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + by
    return datetime.date(index // 12, index % 12 + 1, 1)


def _village_param(request: AuthedRequest, *, action: str = INSPECT) -> OrgUnit | None:
    code = text_param(
        request.GET.get("village") or request.POST.get("village"), field="village", label="村代码"
    )
    if not code:
        return None
    village = OrgUnit.objects.filter(code=code, level="village").first()
    if village is None or not allowed(request.user, action, village.path):
        raise NotFoundError("没有这个村，或它不在您的督查范围内")
    return village


def _date_field(raw: str | None, *, field: str, label: str, required: bool = False) -> datetime.date | None:
    value = date_param(raw or None, field=field, label=label)
    if value is None and required:
        raise ServiceError(f"请填写{label}", field=field)
    return value


def _owner(raw: str | None, owners: list[Any], *, label: str = "") -> Any:
    if not raw:
        return None
    found = next((u for u in owners if str(u.pk) == raw), None)
    if found is None:
        raise ServiceError(f"{label}责任人应从名单中选择", field="owner")
    return found


def _serve(field_file: Any, name: str) -> FileResponse:
    handle = field_file.open("rb")
    content_type = evidence_type(handle.read(16))
    handle.seek(0)
    response = FileResponse(
        handle,
        as_attachment=content_type is None,
        filename=name,
        content_type=content_type or "application/octet-stream",
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response


@require(Action.VIEW)
@require_GET
def inspection_list(request: AuthedRequest) -> HttpResponse:
    """The month's round (督查): every village of the township the user sees, who inspects it, the visits
    of the month with their findings and items."""
    township = _township(request)
    month = _month(request.GET.get("month"))
    rounds = selectors.month_round(request.user, township=township, month=month)
    visited = sum(1 for r in rounds if r.visits)
    return render(
        request,
        "supervision/inspections.html",
        {
            "township": township,
            "month": month,
            "previous": _shift(month, -1),
            "next": _shift(month, 1) if _shift(month, 1) <= today() else None,
            "rounds": rounds,
            "visited": visited,
            "may_inspect": selectors.inspectable_villages(request.user, township).exists(),
            "overdue": len(selectors.rectifications(request.user, unit=township, overdue=True)),
        },
    )


@require(INSPECT)
@require_http_methods(["GET", "POST"])
def inspection_new(request: AuthedRequest) -> HttpResponse:
    """Record a visit and open its items: choose the village first (its people are the owners offered)."""
    village = _village_param(request)
    if village is None:
        return render(
            request,
            "supervision/inspection_new.html",
            {"villages": selectors.inspectable_villages(request.user), "village": None},
        )
    owners = selectors.owners_for(village)
    post = request.POST
    error, field = "", ""
    rows: list[dict[str, Any]] = [
        {
            "n": n,
            "text": post.get(f"f{n}-text", ""),
            "owner": post.get(f"f{n}-owner", ""),
            "title": post.get(f"f{n}-title", ""),
            "deadline": post.get(f"f{n}-deadline", ""),
            "evidence": post.get(f"f{n}-evidence", "整改前后对比照片" if request.method == "GET" else ""),
        }
        for n in range(1, FINDING_ROWS + 1)
    ]
    values = {
        "visited_on": post.get("visited_on", f"{today():%Y-%m-%d}"),
        "team": post.get("team", ""),
        "met": post.get("met", ""),
        "summary": post.get("summary", ""),
        "score": post.get("score", ""),
    }
    if request.method == "POST":
        try:
            visited_on = _date_field(
                values["visited_on"], field="visited_on", label="督查日期", required=True
            )
            assert visited_on is not None
            score_text = values["score"].strip()
            if score_text and not (score_text.isascii() and score_text.isdigit() and len(score_text) <= 3):
                raise ServiceError("评分应为 0 至 100 的整数，不评分请留空", field="score")
            findings = []
            for row in rows:
                if not row["text"].strip():
                    if row["owner"]:
                        raise ServiceError(
                            f"第 {row['n']} 个问题没有填写内容，却选了责任人", field="findings"
                        )
                    continue
                label = f"第 {row['n']} 个问题的"
                findings.append(
                    services.FindingInput(
                        text=row["text"],
                        owner=_owner(row["owner"], owners, label=label),
                        title=row["title"],
                        deadline=_date_field(row["deadline"], field="deadline", label=f"{label}整改期限"),
                        required_evidence=row["evidence"],
                    )
                )
            inspection = services.inspection_record(
                actor=request.user,
                village=village,
                visited_on=visited_on,
                met=values["met"],
                team=values["team"],
                summary=values["summary"],
                score=int(score_text) if score_text else None,
                findings=findings,
                photos=request.FILES.getlist("photos"),
            )
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            items = sum(1 for f in findings if f.owner is not None)
            messages.success(
                request,
                f"已记录{village.name}{inspection.visited_on:%Y年%m月%d日}的督查：发现问题 {len(findings)} 个，"
                f"交办整改 {items} 项",
            )
            return redirect("inspection", pk=inspection.pk)
    return render(
        request,
        "supervision/inspection_new.html",
        {
            "village": village,
            "owners": owners,
            "rows": rows,
            "v": values,
            "error": error,
            "field": field,
            "default_deadline": add_workdays(today(), services.RECTIFY_WORKDAYS),
        },
    )


@require(Action.VIEW)
@require_GET
def inspection_page(request: AuthedRequest, pk: int) -> HttpResponse:
    inspection = selectors.inspection_get(request.user, pk)
    findings = list(
        inspection.findings.select_related("rectification", "rectification__owner").order_by("position")
    )
    may = selectors.may_inspect(request.user, inspection.village)
    return render(
        request,
        "supervision/inspection.html",
        {
            "inspection": inspection,
            "findings": findings,
            "photos": list(inspection.photos.all()),
            "may_inspect": may,
            "owners": selectors.owners_for(inspection.village) if may else [],
            "default_deadline": add_workdays(max(inspection.visited_on, today()), services.RECTIFY_WORKDAYS),
        },
    )


@require(Action.VIEW)
@require_GET
def inspection_photo(request: AuthedRequest, pk: int) -> FileResponse:
    photo = InspectionPhoto.objects.select_related("inspection__village").filter(pk=pk).first()
    if photo is None or not allowed(request.user, Action.VIEW, photo.inspection.village.path):
        raise Http404("没有这张照片，或它不在您的管辖范围内")
    return _serve(photo.file, photo.original_name)


@require(INSPECT)
@require_POST
def finding_rectify(request: AuthedRequest, pk: int) -> HttpResponse:
    finding = (
        Finding.objects.restrict(request.user, Action.VIEW)
        .select_related("inspection__village")
        .filter(pk=pk)
        .first()
    )
    if finding is None:
        raise Http404("没有这个问题，或它不在您的管辖范围内")
    if not selectors.may_inspect(request.user, finding.inspection.village):
        raise PermissionDenied("您没有督查该村的权限")
    try:
        owner = _owner(request.POST.get("owner"), selectors.owners_for(finding.inspection.village))
        item = services.rectification_open(
            actor=request.user,
            finding=finding,
            owner=owner,
            title=request.POST.get("title", ""),
            deadline=_date_field(request.POST.get("deadline"), field="deadline", label="整改期限"),
            required_evidence=request.POST.get("required_evidence", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("inspection", pk=finding.inspection_id)
    messages.success(
        request, f"已交办整改：{item.title}（责任人 {item.owner}，期限 {item.deadline:%Y-%m-%d}）"
    )
    return redirect("rectification", pk=item.pk)


def _list_filters(request: AuthedRequest) -> tuple[OrgUnit, OrgUnit | None, str, bool]:
    township = _township(request)
    village = _village_param(request, action=Action.VIEW)
    status = choice_param(
        request.GET.get("status"), [s for s, _ in STATUS_CHOICES], field="status", label="状态"
    )
    overdue = choice_param(request.GET.get("overdue"), ["1"], field="overdue", label="逾期") == "1"
    return township, village, status, overdue


@require(Action.VIEW)
@require_GET
def rectification_list(request: AuthedRequest) -> HttpResponse:
    """整改台账: the items the user sees, filtered by village, status, overdue; the filters stay in the URL."""
    township, village, status, overdue = _list_filters(request)
    items = selectors.rectifications(request.user, unit=village or township, status=status, overdue=overdue)
    counts = {s: 0 for s, _ in STATUS_CHOICES}
    for item in items:
        counts[item.status] += 1
    return render(
        request,
        "supervision/rectifications.html",
        {
            "township": township,
            "village": village,
            "status": status,
            "overdue": overdue,
            "items": items,
            "statuses": STATUS_CHOICES,
            "late": sum(1 for i in items if i.overdue_days > 0),
            "query": request.GET.urlencode(),
        },
    )


@require(Action.VIEW)
@require_GET
def rectification_export(request: AuthedRequest) -> HttpResponse:
    township, village, status, overdue = _list_filters(request)
    items = selectors.rectifications(request.user, unit=village or township, status=status, overdue=overdue)
    body = write_table(
        title=f"{(village or township).name}整改台账",
        subtitle=f"截至 {today():%Y年%m月%d日}；逾期按工作日计（法定节假日顺延，调休上班日计入）",
        columns=RECTIFICATION_COLUMNS,
        rows=[
            (
                i.village.name,
                i.finding.inspection.visited_on,
                str(i.finding.inspection.inspector),
                i.finding.text,
                i.title,
                str(i.owner),
                i.deadline,
                i.required_evidence,
                i.get_status_display(),
                i.overdue_days,
                timezone.localtime(i.closed_at).date() if i.closed_at else None,
            )
            for i in items
        ],
        unit_line="",
        sheet_name="整改台账",
    )
    return xlsx_response(body, f"{(village or township).name}整改台账（{today():%Y-%m-%d}）.xlsx")


INSPECTION_COLUMNS = [
    Column("村", "text", 10),
    Column("督查日期", "date", 11),
    Column("督查人", "text", 10),
    Column("同行人员", "text", 12),
    Column("座谈对象", "text", 16),
    Column("得分", "int", 6),
    Column("发现问题", "text", 36),
    Column("交办整改（项）", "int", 8),
    Column("已销号（项）", "int", 8),
    Column("总体情况", "text", 30),
]


@require(Action.VIEW)
@require_GET
def inspection_export(request: AuthedRequest) -> HttpResponse:
    """The year's visits (督查记录) of the township, within the reader's scope, one row a visit."""
    township = _township(request)
    year = year_param(request.GET.get("year")) or today().year
    visits = (
        selectors.inspections(request.user, unit=township)
        .filter(visited_on__year=year)
        .prefetch_related("findings")
        .order_by("visited_on", "village__path", "id")
    )
    body = write_table(
        title=f"{township.name}{year}年督查记录",
        subtitle=f"导出于 {today():%Y年%m月%d日}",
        columns=INSPECTION_COLUMNS,
        rows=[
            (
                v.village.name,
                v.visited_on,
                str(v.inspector),
                v.team,
                v.met,
                v.score,
                "；".join(f.text for f in v.findings.all()),
                getattr(v, "n_items", 0),
                getattr(v, "n_closed", 0),
                v.summary,
            )
            for v in visits
        ],
        unit_line="",
        sheet_name="督查记录",
    )
    return xlsx_response(body, f"{township.name}{year}年督查记录.xlsx")


RECTIFICATION_COLUMNS = [
    Column("村", "text", 10),
    Column("督查日期", "date", 11),
    Column("督查人", "text", 8),
    Column("发现问题", "text", 24),
    Column("整改事项", "text", 24),
    Column("责任人", "text", 8),
    Column("整改期限", "date", 11),
    Column("销号需提供", "text", 16),
    Column("状态", "text", 7),
    Column("逾期（工作日）", "int", 8),
    Column("销号日期", "date", 11),
]


@require(Action.VIEW)
@require_GET
def rectification_page(request: AuthedRequest, pk: int) -> HttpResponse:
    item = selectors.rectification_get(request.user, pk)
    actions = selectors.rectification_actions(request.user, item)
    return render(
        request,
        "supervision/rectification.html",
        {
            "item": item,
            "events": list(item.events.all()),
            "evidence": list(item.evidence.all()),
            "actions": actions,
            "owners": selectors.owners_for(item.village) if "update" in actions else [],
        },
    )


def _act(request: AuthedRequest, pk: int, action: str) -> tuple[Any, HttpResponse]:
    """The item (404 outside the user's scope) and the way back to its page; 403 when the user may not
    take ``action`` on it. A closed item goes on to the service, which says it is closed."""
    item = selectors.rectification_get(request.user, pk)
    if item.status != RectificationStatus.CLOSED and action not in selectors.rectification_actions(
        request.user, item
    ):
        # The right person a step late (a second tab, a colleague acted first): the service says what
        # state the item is in now. Anyone else: 403.
        fits = (
            selectors.may_act_for_village(request.user, item)
            if action in ("start", "submit")
            else selectors.may_close(request.user, item)
            if action in ("close", "reopen")
            else selectors.may_inspect(request.user, item.village)
        )
        if not fits:
            raise PermissionDenied("您不能对该整改事项执行这个操作")
    return item, redirect("rectification", pk=item.pk)


@require(Action.VIEW)
@require_POST
def rectification_start(request: AuthedRequest, pk: int) -> HttpResponse:
    item, back = _act(request, pk, "start")
    try:
        services.rectification_start(actor=request.user, item=item, note=request.POST.get("note", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已开始整改，完成后请提交整改情况申请销号")
    return back


@require(Action.VIEW)
@require_POST
def rectification_submit(request: AuthedRequest, pk: int) -> HttpResponse:
    item, back = _act(request, pk, "submit")
    files = request.FILES.getlist("evidence")
    try:
        services.rectification_submit(
            actor=request.user, item=item, account=request.POST.get("account", ""), files=files
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已提交销号（佐证材料 {len(files)} 个），等待督查人核实")
    return back


@require(INSPECT)
@require_POST
def rectification_close(request: AuthedRequest, pk: int) -> HttpResponse:
    item, back = _act(request, pk, "close")
    try:
        services.rectification_close(actor=request.user, item=item, note=request.POST.get("note", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已销号：{item.title}")
    return back


@require(INSPECT)
@require_POST
def rectification_reopen(request: AuthedRequest, pk: int) -> HttpResponse:
    item, back = _act(request, pk, "reopen")
    try:
        services.rectification_reopen(actor=request.user, item=item, reason=request.POST.get("reason", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已退回重改，责任人会在待办中看到退回理由")
    return back


@require(INSPECT)
@require_POST
def rectification_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    item, back = _act(request, pk, "update")
    try:
        raw_owner = request.POST.get("owner")
        # The current owner, kept as it is (even one no longer on the village's list): no change.
        owner = (
            None if raw_owner == str(item.owner_id) else _owner(raw_owner, selectors.owners_for(item.village))
        )
        services.rectification_update(
            actor=request.user,
            item=item,
            title=request.POST.get("title"),
            owner=owner,
            deadline=_date_field(request.POST.get("deadline"), field="deadline", label="整改期限"),
            required_evidence=request.POST.get("required_evidence"),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "整改事项已修改，修改内容记入了处理记录")
    return back


@require(Action.VIEW)
@require_GET
def rectification_evidence(request: AuthedRequest, pk: int) -> FileResponse:
    found = RectificationEvidence.objects.select_related("item__village").filter(pk=pk).first()
    if found is None or not allowed(request.user, Action.VIEW, found.item.village.path):
        raise Http404("没有这个佐证材料，或它不在您的管辖范围内")
    return _serve(found.file, found.original_name)


@require(INSPECT)
@require_GET
def interview_list(request: AuthedRequest) -> HttpResponse:
    township = _township(request)
    rows = list(selectors.interviews(request.user, unit=township))
    as_of = today()
    for row in rows:
        row.overdue_days = selectors.interview_overdue_days(row, as_of)
    return render(
        request,
        "supervision/interviews.html",
        {"township": township, "interviews": rows, "late": sum(1 for r in rows if r.overdue_days)},
    )


@require(INSPECT)
@require_GET
def interview_export(request: AuthedRequest) -> HttpResponse:
    township = _township(request)
    as_of = today()
    rows = [
        (
            i.village.name,
            i.held_on,
            i.interviewee,
            i.post,
            str(i.interviewer),
            i.reason,
            i.agreed,
            i.follow_up_on,
            i.follow_up_note,
            selectors.interview_overdue_days(i, as_of),
        )
        for i in selectors.interviews(request.user, unit=township)
    ]
    body = write_table(
        title=f"{township.name}约谈记录",
        subtitle=f"截至 {as_of:%Y年%m月%d日}",
        columns=[
            Column("村", "text", 10),
            Column("约谈日期", "date", 11),
            Column("被约谈人", "text", 8),
            Column("职务", "text", 10),
            Column("约谈人", "text", 8),
            Column("约谈事由", "text", 24),
            Column("约定事项", "text", 24),
            Column("跟进日期", "date", 11),
            Column("跟进情况", "text", 24),
            Column("跟进逾期（工作日）", "int", 8),
        ],
        rows=rows,
        unit_line="",
        sheet_name="约谈记录",
    )
    return xlsx_response(body, f"{township.name}约谈记录（{as_of:%Y-%m-%d}）.xlsx")


@require(INSPECT)
@require_http_methods(["GET", "POST"])
def interview_new(request: AuthedRequest) -> HttpResponse:
    village = _village_param(request)
    post = request.POST
    values = {
        "held_on": post.get("held_on", f"{today():%Y-%m-%d}"),
        "interviewee": post.get("interviewee", ""),
        "post": post.get("post", ""),
        "reason": post.get("reason", ""),
        "agreed": post.get("agreed", ""),
        "follow_up_on": post.get("follow_up_on", ""),
    }
    error, field = "", ""
    if request.method == "POST":
        try:
            if village is None:
                raise ServiceError("请选择被约谈人所在的村", field="village")
            held_on = _date_field(values["held_on"], field="held_on", label="约谈日期", required=True)
            assert held_on is not None
            interview = services.interview_record(
                actor=request.user,
                village=village,
                held_on=held_on,
                interviewee=values["interviewee"],
                post=values["post"],
                reason=values["reason"],
                agreed=values["agreed"],
                follow_up_on=_date_field(values["follow_up_on"], field="follow_up_on", label="跟进日期"),
            )
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(
                request,
                f"已记录对{village.name}{interview.post}{interview.interviewee}的约谈，"
                f"请于 {interview.follow_up_on:%Y-%m-%d} 前跟进",
            )
            return redirect("interview", pk=interview.pk)
    return render(
        request,
        "supervision/interview_new.html",
        {
            "villages": selectors.inspectable_villages(request.user),
            "village": village,
            "v": values,
            "error": error,
            "field": field,
        },
    )


@require(INSPECT)
@require_GET
def interview_page(request: AuthedRequest, pk: int) -> HttpResponse:
    interview = selectors.interview_get(request.user, pk)
    return render(
        request,
        "supervision/interview.html",
        {"i": interview, "overdue_days": selectors.interview_overdue_days(interview, today())},
    )


@require(INSPECT)
@require_POST
def interview_follow_up(request: AuthedRequest, pk: int) -> HttpResponse:
    interview = selectors.interview_get(request.user, pk)
    try:
        services.interview_follow_up(
            actor=request.user, interview=interview, note=request.POST.get("note", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已记录跟进情况")
    return redirect("interview", pk=interview.pk)
