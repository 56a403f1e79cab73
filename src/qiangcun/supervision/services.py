"""Writes of the supervision app: issuing a weekly bulletin and a township's bulletin settings; joint
meetings; the monthly inspection (一月一督查), its rectification items (整改, followed to 销号) and
interviews (约谈).

Every inspection write takes an optional ``at`` (the moment it happened, default now) and the visit or
interview its date, so the demo can record a past year with its own timestamps; ``at`` may not be
earlier than the item's previous step nor later than now."""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.core.text import text_problem
from qiangcun.core.workdays import add_workdays
from qiangcun.ledger.services import evidence_type
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.supervision import documents, snapshots, text
from qiangcun.supervision.models import (
    Bulletin,
    BulletinSettings,
    Finding,
    Inspection,
    InspectionPhoto,
    Interview,
    Meeting,
    Rectification,
    RectificationEvent,
    RectificationEvidence,
    RectificationStatus,
)
from qiangcun.supervision.selectors import may_act_for_village
from qiangcun.supervision.weeks import Week, week_of, weeks_of
from qiangcun.targets.models import Campaign, VillageTarget

log = logging.getLogger(__name__)

SCHEDULED = "定时发布"
COMMAND_LINE = "命令行"


def settings_of(township: OrgUnit) -> BulletinSettings:
    """The township's bulletin settings, or the defaults (周日 cut-off, no schedule) — unsaved."""
    found = BulletinSettings.objects.filter(township=township).first()
    return found or BulletinSettings(township=township)


def issuer_of(township: OrgUnit) -> str:
    return settings_of(township).issuer or documents.default_issuer(township.name)


def _check_week(township: OrgUnit, week: Week) -> None:
    if township.level != Level.TOWNSHIP:
        raise ServiceError("通报按镇发布，请选择一个镇", field="township")
    if not Campaign.objects.filter(township=township, year=week.year).exists():
        raise ServiceError(f"{township.name}尚未设置 {week.year} 年度任务，没有可通报的进度", field="week")
    if week.end > today():
        raise ServiceError(
            f"{week.year}年第{week.number}周（{week.describe()}）还没有结束，结束后才能发布通报", field="week"
        )
    if not VillageTarget.objects.filter(campaign__township=township, campaign__year=week.year).exists():
        raise ServiceError(f"{township.name} {week.year} 年还没有村的目标，没有可通报的进度", field="week")


def bulletin_draft(*, township: OrgUnit, week: Week) -> tuple[dict[str, Any], str]:
    """The snapshot and opening paragraph the bulletin of ``week`` would have if issued now (the preview;
    its number is the next one). The caller has checked the user may read the township's board."""
    _check_week(township, week)
    issued = Bulletin.objects.filter(
        township=township, year=week.year, week=week.number, week_start=week.start, week_end=week.end
    ).first()
    if issued is not None:
        return issued.snapshot, issued.summary
    snapshot = snapshots.take(
        township=township,
        week=week,
        issuer=issuer_of(township),
        issued_on=today(),
        previous=_previous(township, week),
    )
    snapshot["number"] = _next_number(township, week.year)
    return snapshot, text.summary(snapshot)


def _previous(township: OrgUnit, week: Week) -> dict[str, Any] | None:
    """The frozen figures of the bulletin of the week just before ``week``, if it was issued."""
    found = (
        Bulletin.objects.filter(
            township=township, year=week.year, week_end=week.start - datetime.timedelta(days=1)
        )
        .only("snapshot")
        .first()
    )
    return found.snapshot if found is not None else None


def _next_number(township: OrgUnit, year: int) -> int:
    latest = Bulletin.objects.filter(township=township, year=year).aggregate(n=Max("number"))["n"]
    return (latest or 0) + 1


def bulletin_issue(
    *,
    actor: Actor | None,
    township: OrgUnit,
    week: Week,
    issued_at: datetime.datetime | None = None,
    via: str = "",
    render: bool = True,
) -> tuple[Bulletin, bool]:
    """Issue the bulletin of ``week``: freeze the figures, number it (第N期, next in the year), write the
    .docx and .pdf, record who issued it. Issuing a week already issued changes nothing and returns the
    bulletin there is (``created`` False). ``actor`` None is the installation itself — the scheduled job
    or the command line, named by ``via``. ``render`` False leaves the files to be written on first
    download (:func:`bulletin_files`), from the same frozen snapshot. ``issued_at`` is for the
    demo, which issues its past weeks on the days they would have been issued."""
    if actor is not None and not allowed(actor, Action.PUBLISH, township.path):
        raise PermissionDeniedError("只有镇党建办可以发布通报")
    _check_week(township, week)
    try:
        with transaction.atomic():
            # One issuer at a time per township: the row lock orders the numbers on PostgreSQL (SQLite
            # takes the database's write lock when the transaction begins).
            OrgUnit.objects.select_for_update().filter(pk=township.pk).first()
            existing = Bulletin.objects.filter(
                township=township, year=week.year, week=week.number, week_start=week.start, week_end=week.end
            ).first()
            if existing is not None:
                return existing, False
            overlap = (
                Bulletin.objects.filter(
                    township=township, year=week.year, week_start__lte=week.end, week_end__gte=week.start
                )
                .order_by("number")
                .first()
            )
            if overlap is not None:  # the cut-off day changed since: the weeks no longer line up
                raise ServiceError(
                    f"第{week.number}周（{week.describe()}）与已发布的第{overlap.number}期"
                    f"（{overlap.week_start.month}月{overlap.week_start.day}日至{overlap.week_end.month}月"
                    f"{overlap.week_end.day}日）时间重叠：每周截止日改过，请从下一个不重叠的周开始发布",
                    field="week",
                )
            at = issued_at or timezone.now()
            issued_on = timezone.localtime(at).date() if issued_at else today()
            snapshot = snapshots.take(
                township=township,
                week=week,
                issuer=issuer_of(township),
                issued_on=issued_on,
                previous=_previous(township, week),
            )
            snapshot["number"] = _next_number(township, week.year)
            summary = text.summary(snapshot)
            docx, pdf = documents.render(snapshot, summary) if render else (b"", b"")
            bulletin = Bulletin.objects.create(
                township=township,
                year=week.year,
                number=snapshot["number"],
                week=week.number,
                week_start=week.start,
                week_end=week.end,
                snapshot=snapshot,
                summary=summary,
                docx=docx,
                pdf=pdf,
                docx_sha256=hashlib.sha256(docx).hexdigest() if render else "",
                pdf_sha256=hashlib.sha256(pdf).hexdigest() if render else "",
                issued_by_id=getattr(actor, "pk", None),
                issued_at=at,
                scheduled=via == SCHEDULED,
            )
            audit.record(
                actor=actor,
                action="bulletin.issue",
                obj=bulletin,
                after={
                    "year": bulletin.year,
                    "number": bulletin.number,
                    "week": bulletin.week_label,
                    "income": snapshot["totals"]["income"],
                    "docx_sha256": bulletin.docx_sha256,
                    "pdf_sha256": bulletin.pdf_sha256,
                },
                unit_path=township.path,
                note=via,
            )
            return bulletin, True
    except IntegrityError:
        # Issued by someone else between our check and our write: theirs stands.
        existing = Bulletin.objects.filter(township=township, year=week.year, week=week.number).first()
        if existing is None:
            raise
        return existing, False


def bulletin_files(*, bulletin: Bulletin) -> tuple[bytes, bytes]:
    """The issued bulletin's .docx and .pdf. Written from its frozen snapshot the first time if it was
    issued without them; stored then, and the same bytes ever after (the first writer wins a race)."""
    if bulletin.docx_sha256:
        return bytes(bulletin.docx), bytes(bulletin.pdf)
    docx, pdf = documents.render(bulletin.snapshot, bulletin.summary)
    with transaction.atomic():
        written = Bulletin.objects.filter(pk=bulletin.pk, docx_sha256="").update(
            docx=docx,
            pdf=pdf,
            docx_sha256=hashlib.sha256(docx).hexdigest(),
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
        if written:
            audit.record(
                actor=None,
                action="bulletin.files",
                obj=bulletin,
                after={
                    "docx_sha256": hashlib.sha256(docx).hexdigest(),
                    "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                },
                unit_path=bulletin.township.path,
                note="首次下载时生成文件",
            )
    stored = Bulletin.objects.get(pk=bulletin.pk)
    return bytes(stored.docx), bytes(stored.pdf)


@transaction.atomic
def bulletin_settings_update(
    *,
    actor: Actor,
    township: OrgUnit,
    cutoff_weekday: int,
    issuer: str,
    schedule_weekday: int | None,
    schedule_time: datetime.time | None,
) -> BulletinSettings:
    if not allowed(actor, Action.PUBLISH, township.path):
        raise PermissionDeniedError("只有镇党建办可以修改通报设置")
    if township.level != Level.TOWNSHIP:
        raise ServiceError("通报按镇设置，请选择一个镇", field="township")
    if not 0 <= cutoff_weekday <= 6:
        raise ServiceError("每周截止日应为周一至周日之一", field="cutoff_weekday")
    if (schedule_weekday is None) != (schedule_time is None):
        raise ServiceError("自动发布需要同时选择星期和时间；不自动发布则两者都留空", field="schedule_time")
    if schedule_weekday is not None and not 0 <= schedule_weekday <= 6:
        raise ServiceError("自动发布日应为周一至周日之一", field="schedule_weekday")
    issuer = issuer.strip()
    if len(issuer) > 18:  # it shares one line with the date on the 红头
        raise ServiceError(f"发文单位最多 18 个字（现有 {len(issuer)} 个）", field="issuer")
    problem = text_problem(issuer)
    if problem:
        raise ServiceError(f"发文单位{problem}", field="issuer")
    fields = ["cutoff_weekday", "issuer", "schedule_weekday", "schedule_time"]
    current = BulletinSettings.objects.select_for_update().filter(township=township).first()
    settings_row = current or BulletinSettings(township=township)
    before = audit.snapshot(settings_row, fields) if current else None
    settings_row.cutoff_weekday = cutoff_weekday
    settings_row.issuer = issuer
    settings_row.schedule_weekday = schedule_weekday
    settings_row.schedule_time = schedule_time
    settings_row.full_clean(exclude=["township"])
    settings_row.save()
    audit.record(
        actor=actor,
        action="bulletin.settings",
        obj=settings_row,
        before=before,
        after=audit.snapshot(settings_row, fields),
        unit_path=township.path,
    )
    return settings_row


def next_moment(now: datetime.datetime) -> datetime.datetime | None:
    """The next scheduled moment after ``now`` over every township with a schedule."""
    local = timezone.localtime(now)
    moments = []
    for conf in BulletinSettings.objects.filter(schedule_weekday__isnull=False):
        assert conf.schedule_weekday is not None and conf.schedule_time is not None
        day = local.date() + datetime.timedelta(days=(conf.schedule_weekday - local.weekday()) % 7)
        moment = timezone.make_aware(datetime.datetime.combine(day, conf.schedule_time), local.tzinfo)
        if moment <= local:
            moment += datetime.timedelta(days=7)
        moments.append(moment)
    return min(moments) if moments else None


def due_weeks(township: OrgUnit, now: datetime.datetime) -> list[Week]:
    """The week the township's schedule says should be issued by ``now`` (local time), if not issued yet:
    the latest week ended on or before the last scheduled moment. Only that one — a schedule does not
    back-fill weeks from before it was set."""
    conf = settings_of(township)
    if conf.pk is None or conf.schedule_weekday is None or conf.schedule_time is None:
        return []
    local = timezone.localtime(now)
    day = local.date()
    moment_day = day - datetime.timedelta(days=(day.weekday() - conf.schedule_weekday) % 7)
    if moment_day == day and local.time() < conf.schedule_time:
        moment_day -= datetime.timedelta(days=7)
    ended = [w for y in (moment_day.year - 1, moment_day.year) for w in weeks_of(y, conf.cutoff_weekday)]
    ended = [w for w in ended if w.end <= moment_day]
    if not ended:
        return []
    week = ended[-1]
    if Bulletin.objects.filter(township=township, year=week.year, week=week.number).exists():
        return []
    if not Campaign.objects.filter(township=township, year=week.year).exists():
        return []
    return [week]


def bulletins_issue_due(now: datetime.datetime | None = None) -> list[Bulletin]:
    """Issue every scheduled bulletin that is due (the job worker calls this; issuing twice is harmless)."""
    now = now or timezone.now()
    issued: list[Bulletin] = []
    for conf in BulletinSettings.objects.filter(schedule_weekday__isnull=False).select_related("township"):
        for week in due_weeks(conf.township, now):
            try:
                bulletin, created = bulletin_issue(
                    actor=None, township=conf.township, week=week, via=SCHEDULED
                )
            except ServiceError as error:
                log.warning(
                    "scheduled bulletin of %s %s not issued: %s", conf.township.code, week.label, error
                )
                continue
            if created:
                issued.append(bulletin)
    return issued


def screen_snapshot(*, township: OrgUnit, as_of: datetime.date) -> dict[str, Any]:
    """What the meeting screen shows on ``as_of``: the figures of the week so far (its first day to
    ``as_of``), made like a bulletin's. The caller has checked the user may read the township's board."""
    if as_of > today():
        raise ServiceError(f"{as_of:%Y-%m-%d} 还没有到，会议屏只看今天及以前", field="as_of")
    if not Campaign.objects.filter(township=township, year=as_of.year).exists():
        raise ServiceError(f"{township.name}尚未设置 {as_of.year} 年度任务，没有可看的进度", field="as_of")
    week = week_of(as_of, settings_of(township).cutoff_weekday)
    so_far = Week(week.year, week.number, week.start, as_of)
    snapshot = snapshots.take(
        township=township,
        week=so_far,
        issuer=issuer_of(township),
        issued_on=as_of,
        previous=_previous(township, so_far),
    )
    snapshot["number"] = None
    return snapshot


@transaction.atomic
def meeting_record(
    *,
    actor: Actor,
    township: OrgUnit,
    held_on: datetime.date,
    title: str,
    attendees: str,
    decisions: str,
) -> Meeting:
    """Save a joint meeting's record with the figures the screen showed that day, frozen."""
    if not allowed(actor, Action.PUBLISH, township.path):
        raise PermissionDeniedError("只有镇党建办可以记录联席会议")
    if township.level != Level.TOWNSHIP:
        raise ServiceError("联席会议按镇记录，请选择一个镇", field="township")
    if held_on > today():
        raise ServiceError("会议日期不能晚于今天", field="held_on")
    if not Campaign.objects.filter(township=township, year=held_on.year).exists():
        raise ServiceError(
            f"{township.name}尚未设置 {held_on.year} 年度任务，没有可记录的数据", field="held_on"
        )
    fields = {
        "title": (title, "会议名称", 60),
        "attendees": (attendees, "参会人员", 500),
        "decisions": (decisions, "议定事项", 4000),
    }
    clean: dict[str, str] = {}
    for name, (value, label, limit) in fields.items():
        value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        if not value:
            raise ServiceError(f"请填写{label}", field=name)
        if len(value) > limit:
            raise ServiceError(f"{label}最多 {limit} 个字（现有 {len(value)} 个）", field=name)
        problem = text_problem(value)
        if problem:
            raise ServiceError(f"{label}{problem}", field=name)
        clean[name] = value
    meeting = Meeting.objects.create(
        township=township,
        held_on=held_on,
        snapshot=screen_snapshot(township=township, as_of=held_on),
        created_by_id=actor.pk,
        **clean,
    )
    audit.record(
        actor=actor,
        action="meeting.record",
        obj=meeting,
        after={
            "held_on": held_on.isoformat(),
            "title": clean["title"],
            "income": meeting.snapshot["totals"]["income"],
        },
        unit_path=township.path,
    )
    return meeting


# ------------------------------------------------------------------------------ 一月一督查 · 整改 · 约谈

INSPECT = Action.INSPECT
#: A rectification item's deadline unless the inspector sets one: this many working days after the visit.
RECTIFY_WORKDAYS = 10
#: An interview's follow-up date unless one is set: this many working days after it.
FOLLOW_UP_WORKDAYS = 10
MAX_FINDINGS = 20
MAX_PHOTOS = 12
MAX_EVIDENCE_FILES = 6
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"})

S = RectificationStatus


def now() -> datetime.datetime:
    """The platform's present moment: the real time, on the pinned day when ``QIANGCUN_TODAY`` pins one
    (the demo, the tests), so that a step taken "now" falls on the platform's today."""
    moment = timezone.now()
    pinned: datetime.date | None = getattr(settings, "TODAY", None)
    if pinned is None:
        return moment
    local = timezone.localtime(moment)
    return local.replace(year=pinned.year, month=pinned.month, day=pinned.day)


def _clean(value: str | None, *, label: str, limit: int, field: str, required: bool = True) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        raise ServiceError(f"请填写{label}", field=field)
    if len(value) > limit:
        raise ServiceError(f"{label}最多 {limit} 个字（现有 {len(value)} 个）", field=field)
    problem = text_problem(value)
    if problem:
        raise ServiceError(f"{label}{problem}", field=field)
    return value


def _village(unit: OrgUnit) -> None:
    if unit.level != Level.VILLAGE:
        raise ServiceError("督查、整改和约谈按村记录，请选择一个村", field="village")


def _past_day(day: datetime.date, label: str, field: str) -> None:
    if day > today():
        raise ServiceError(f"{label}不能晚于今天", field=field)


def _moment(at: datetime.datetime | None, *, after: datetime.datetime | None = None) -> datetime.datetime:
    """``at`` (default now), refused when later than now or earlier than the previous step ``after``."""
    current = now()
    if at is None:
        return max(current, after) if after is not None else current
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > current + datetime.timedelta(minutes=1):
        raise ServiceError("时间不能晚于现在", field="at")
    if after is not None and at < after:
        raise ServiceError(
            f"时间 {timezone.localtime(at):%Y-%m-%d %H:%M} 早于上一步（{timezone.localtime(after):%Y-%m-%d %H:%M}）",
            field="at",
        )
    return at


def _check_files(
    files: Sequence[UploadedFile], *, kinds: frozenset[str] | None, field: str, most: int
) -> None:
    """Every file checked before any is written: size, and kind by its first bytes (never by its name)."""
    if len(files) > most:
        raise ServiceError(f"一次最多上传 {most} 个文件（现有 {len(files)} 个）", field=field)
    for upload in files:
        name = (upload.name or "文件")[:200]
        if upload.size and upload.size > settings.EVIDENCE_MAX_BYTES:
            raise ServiceError(f"文件“{name}”超过 10 MB", field=field)
        upload.seek(0)
        kind = evidence_type(upload.read(16))
        upload.seek(0)
        if kind is None or (kinds is not None and kind not in kinds):
            what = (
                "照片（JPEG、PNG、GIF、WebP、HEIC）"
                if kinds is not None
                else "PDF 或照片（JPEG、PNG、GIF、WebP、HEIC）"
            )
            raise ServiceError(f"文件“{name}”不是{what}", field=field)


def owner_problem(village: OrgUnit, owner: Any) -> str | None:
    """Why ``owner`` cannot be responsible for an item of ``village`` (None: they can): an active user
    holding a role on the village itself."""
    from qiangcun.accounts.models import RoleGrant

    if owner is None:
        return "请选择责任人"
    if (
        not getattr(owner, "is_active", False)
        or not RoleGrant.objects.filter(user_id=owner.pk, unit=village).exists()
    ):
        return f"责任人应是在{village.name}任职的在用账号（村书记、报账员等）"
    return None


@dataclass(frozen=True)
class FindingInput:
    """A finding of a visit and, when ``owner`` is given, the rectification item it opens (``title``
    defaults to the finding, ``deadline`` to 10 working days after the visit)."""

    text: str
    owner: Any = None
    title: str = ""
    deadline: datetime.date | None = None
    required_evidence: str = ""


@transaction.atomic
def inspection_record(
    *,
    actor: Actor,
    village: OrgUnit,
    visited_on: datetime.date,
    met: str,
    findings: Sequence[FindingInput | str] = (),
    team: str = "",
    summary: str = "",
    score: int | None = None,
    photos: Sequence[UploadedFile] = (),
    at: datetime.datetime | None = None,
) -> Inspection:
    """Record a visit of ``village`` by ``actor`` (who holds 督查 over it): whom they met, what they found,
    the score (0–100, if the township scores), photos; each finding with an owner opens its item."""
    _village(village)
    if not allowed(actor, INSPECT, village.path):
        raise PermissionDeniedError(f"您没有督查{village.name}的权限")
    _past_day(visited_on, "督查日期", "visited_on")
    clean = {
        "met": _clean(met, label="座谈对象", limit=300, field="met"),
        "team": _clean(team, label="同行人员", limit=200, field="team", required=False),
        "summary": _clean(summary, label="总体情况", limit=2000, field="summary", required=False),
    }
    if score is not None and not (isinstance(score, int) and 0 <= score <= 100):
        raise ServiceError("评分应为 0 至 100 的整数，不评分请留空", field="score")
    inputs = [f if isinstance(f, FindingInput) else FindingInput(text=f) for f in findings]
    if len(inputs) > MAX_FINDINGS:
        raise ServiceError(f"一次督查最多记录 {MAX_FINDINGS} 个问题", field="findings")
    texts = [
        _clean(f.text, label=f"第 {i} 个问题", limit=500, field="findings") for i, f in enumerate(inputs, 1)
    ]
    photos = list(photos)
    _check_files(photos, kinds=PHOTO_TYPES, field="photos", most=MAX_PHOTOS)
    moment = _moment(at)
    inspection = Inspection.objects.create(
        village=village,
        visited_on=visited_on,
        inspector_id=actor.pk,
        score=score,
        created_by_id=actor.pk,
        created_at=moment,
        **clean,
    )
    opened = []
    for position, (f, finding_text) in enumerate(zip(inputs, texts, strict=True), start=1):
        finding = Finding.objects.create(inspection=inspection, position=position, text=finding_text)
        if f.owner is not None:
            opened.append(
                _open(
                    actor=actor,
                    finding=finding,
                    title=f.title or finding_text,
                    owner=f.owner,
                    deadline=f.deadline,
                    required_evidence=f.required_evidence,
                    at=moment,
                    label=f"第 {position} 个问题的",
                    with_visit=True,
                )
            )
    # Files last: a finding refused above leaves no photo behind on disk.
    for upload in photos:
        photo = InspectionPhoto(
            inspection=inspection,
            original_name=(upload.name or "照片")[:200],
            uploaded_by_id=actor.pk,
            uploaded_at=moment,
        )
        photo.file.save(upload.name or "photo", upload, save=True)
    audit.record(
        actor=actor,
        action="inspection.record",
        obj=inspection,
        after={
            "village": village.pk,
            "visited_on": visited_on.isoformat(),
            "score": score,
            "findings": len(texts),
            "rectifications": len(opened),
            "photos": len(photos),
        },
        unit_path=village.path,
    )
    return inspection


def _open(
    *,
    actor: Actor,
    finding: Finding,
    title: str,
    owner: Any,
    deadline: datetime.date | None,
    required_evidence: str,
    at: datetime.datetime,
    label: str = "",
    with_visit: bool = False,
) -> Rectification:
    inspection = finding.inspection
    village = inspection.village
    title = _clean(title, label=f"{label}整改事项", limit=300, field="title")
    problem = owner_problem(village, owner)
    if problem:
        raise ServiceError(f"{label}{problem}", field="owner")
    if deadline is None:  # counted from the handover: a finding handed over later is not born overdue
        start = (
            inspection.visited_on if with_visit else max(inspection.visited_on, timezone.localtime(at).date())
        )
        deadline = add_workdays(start, RECTIFY_WORKDAYS)
    if deadline < inspection.visited_on:
        raise ServiceError(f"{label}整改期限不能早于督查日期", field="deadline")
    required = _clean(
        required_evidence, label=f"{label}销号需提供", limit=300, field="required_evidence", required=False
    )
    item = Rectification.objects.create(
        finding=finding,
        village=village,
        title=title,
        owner_id=owner.pk,
        deadline=deadline,
        required_evidence=required,
        status=S.OPEN,
        opened_by_id=actor.pk,
        opened_at=at,
    )
    RectificationEvent.objects.create(
        item=item,
        kind=RectificationEvent.Kind.OPEN,
        from_status="",
        to_status=S.OPEN,
        actor_id=actor.pk,
        at=at,
    )
    audit.record(
        actor=actor,
        action="rectification.open",
        obj=item,
        after={
            "title": title,
            "owner": owner.pk,
            "deadline": deadline.isoformat(),
            "required_evidence": required,
            "status": S.OPEN.value,
        },
        unit_path=village.path,
    )
    return item


@transaction.atomic
def rectification_open(
    *,
    actor: Actor,
    finding: Finding,
    owner: Any,
    title: str = "",
    deadline: datetime.date | None = None,
    required_evidence: str = "",
    at: datetime.datetime | None = None,
) -> Rectification:
    """Open the rectification item of a finding not yet followed (one item per finding)."""
    finding = Finding.objects.select_related("inspection__village").get(pk=finding.pk)
    village = finding.inspection.village
    if not allowed(actor, INSPECT, village.path):
        raise PermissionDeniedError(f"您没有督查{village.name}的权限")
    if Rectification.objects.filter(finding=finding).exists():
        raise ServiceError("这个问题已经交办了整改事项", code="state")
    return _open(
        actor=actor,
        finding=finding,
        title=title or finding.text,
        owner=owner,
        deadline=deadline,
        required_evidence=required_evidence,
        at=_moment(at, after=finding.inspection.created_at),
    )


def _lock(item: Rectification) -> Rectification:
    return Rectification.objects.select_for_update().select_related("village").get(pk=item.pk)


def _last_at(item: Rectification) -> datetime.datetime | None:
    last = item.events.order_by("-at", "-id").first()
    return last.at if last is not None else None


def _step(
    *,
    actor: Actor,
    item: Rectification,
    kind: str,
    to_status: str,
    at: datetime.datetime,
    note: str = "",
) -> RectificationEvent:
    from_status = item.status
    item.status = to_status
    item.save()
    return RectificationEvent.objects.create(
        item=item,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.pk,
        at=at,
        note=note,
    )


def _refuse_closed(item: Rectification) -> None:
    if item.status == S.CLOSED:
        raise ServiceError("该整改事项已销号，不能再修改", code="state")


@transaction.atomic
def rectification_start(
    *, actor: Actor, item: Rectification, note: str = "", at: datetime.datetime | None = None
) -> Rectification:
    """待整改 → 整改中: the village takes the item in hand."""
    item = _lock(item)
    if not may_act_for_village(actor, item):
        raise PermissionDeniedError("只有责任人或本村干部可以开始整改")
    _refuse_closed(item)
    if item.status != S.OPEN:
        raise ServiceError(f"该事项{item.get_status_display()}，不能再“开始整改”", code="state")
    note = _clean(note, label="说明", limit=2000, field="note", required=False)
    moment = _moment(at, after=_last_at(item))
    _step(
        actor=actor,
        item=item,
        kind=RectificationEvent.Kind.START,
        to_status=S.RECTIFYING,
        at=moment,
        note=note,
    )
    audit.record(
        actor=actor,
        action="rectification.start",
        obj=item,
        before={"status": S.OPEN.value},
        after={"status": S.RECTIFYING.value},
        unit_path=item.village.path,
        note=note,
    )
    return item


@transaction.atomic
def rectification_submit(
    *,
    actor: Actor,
    item: Rectification,
    account: str = "",
    files: Iterable[UploadedFile] = (),
    at: datetime.datetime | None = None,
) -> Rectification:
    """待整改/整改中 → 待销号: the owner (or the village's people) report it done, with a written account
    and/or files (photos, PDF). When the item names evidence to show, a submission without either is
    refused."""
    item = _lock(item)
    if not may_act_for_village(actor, item):
        raise PermissionDeniedError("只有责任人或本村干部可以提交销号")
    _refuse_closed(item)
    if item.status not in (S.OPEN, S.RECTIFYING):
        raise ServiceError(f"该事项{item.get_status_display()}，不能重复提交", code="state")
    account = _clean(account, label="整改情况说明", limit=2000, field="account", required=False)
    uploads = list(files)
    _check_files(uploads, kinds=None, field="evidence", most=MAX_EVIDENCE_FILES)
    if item.required_evidence and not account and not uploads:
        raise ServiceError(
            f"销号需提供：{item.required_evidence}。请上传佐证材料或填写整改情况说明", field="evidence"
        )
    moment = _moment(at, after=_last_at(item))
    before = item.status
    item.account = account
    item.submitted_by_id = actor.pk
    item.submitted_at = moment
    event = _step(
        actor=actor,
        item=item,
        kind=RectificationEvent.Kind.SUBMIT,
        to_status=S.SUBMITTED,
        at=moment,
        note=account,
    )
    for upload in uploads:
        ev = RectificationEvidence(
            item=item,
            event=event,
            original_name=(upload.name or "佐证")[:200],
            uploaded_by_id=actor.pk,
            uploaded_at=moment,
        )
        ev.file.save(upload.name or "evidence", upload, save=True)
    audit.record(
        actor=actor,
        action="rectification.submit",
        obj=item,
        before={"status": before},
        after={"status": S.SUBMITTED.value, "files": [u.name for u in uploads], "account": account},
        unit_path=item.village.path,
    )
    return item


@transaction.atomic
def rectification_close(
    *, actor: Actor, item: Rectification, note: str = "", at: datetime.datetime | None = None
) -> Rectification:
    """待销号 → 已销号, by someone with 督查 over the village who is not the owner (nor the submitter).
    From then on the item is never changed."""
    item = _lock(item)
    if not allowed(actor, INSPECT, item.village.path):
        raise PermissionDeniedError("只有对该村有督查权限的人可以销号")
    if actor.pk in (item.owner_id, item.submitted_by_id):
        raise PermissionDeniedError("责任人不能为自己的整改事项销号，请由督查人销号")
    _refuse_closed(item)
    if item.status != S.SUBMITTED:
        raise ServiceError(f"该事项{item.get_status_display()}，责任人提交整改情况后才能销号", code="state")
    note = _clean(note, label="销号意见", limit=2000, field="note", required=False)
    moment = _moment(at, after=_last_at(item))
    item.closed_by_id = actor.pk
    item.closed_at = moment
    _step(
        actor=actor, item=item, kind=RectificationEvent.Kind.CLOSE, to_status=S.CLOSED, at=moment, note=note
    )
    audit.record(
        actor=actor,
        action="rectification.close",
        obj=item,
        before={"status": S.SUBMITTED.value},
        after={"status": S.CLOSED.value},
        unit_path=item.village.path,
        note=note,
    )
    return item


@transaction.atomic
def rectification_reopen(
    *, actor: Actor, item: Rectification, reason: str, at: datetime.datetime | None = None
) -> Rectification:
    """待销号 → 整改中 (退回重改), with the reason, by whoever could close it."""
    item = _lock(item)
    if not allowed(actor, INSPECT, item.village.path):
        raise PermissionDeniedError("只有对该村有督查权限的人可以退回")
    if actor.pk in (item.owner_id, item.submitted_by_id):
        raise PermissionDeniedError("责任人不能退回自己的整改事项")
    _refuse_closed(item)
    if item.status != S.SUBMITTED:
        raise ServiceError(f"该事项{item.get_status_display()}，只有待销号的事项可以退回", code="state")
    reason = _clean(reason, label="退回理由", limit=2000, field="reason")
    moment = _moment(at, after=_last_at(item))
    item.submitted_by_id = None
    item.submitted_at = None
    _step(
        actor=actor,
        item=item,
        kind=RectificationEvent.Kind.REOPEN,
        to_status=S.RECTIFYING,
        at=moment,
        note=reason,
    )
    audit.record(
        actor=actor,
        action="rectification.reopen",
        obj=item,
        before={"status": S.SUBMITTED.value},
        after={"status": S.RECTIFYING.value},
        unit_path=item.village.path,
        note=reason,
    )
    return item


@transaction.atomic
def rectification_update(
    *,
    actor: Actor,
    item: Rectification,
    title: str | None = None,
    owner: Any = None,
    deadline: datetime.date | None = None,
    required_evidence: str | None = None,
    at: datetime.datetime | None = None,
) -> Rectification:
    """Change what an item asks, of whom or by when (``None``: unchanged) — by someone with 督查 over the
    village, never once it is closed. The history says what changed."""
    item = _lock(item)
    if not allowed(actor, INSPECT, item.village.path):
        raise PermissionDeniedError("只有对该村有督查权限的人可以修改整改事项")
    _refuse_closed(item)
    fields = ["title", "owner", "deadline", "required_evidence"]
    before = audit.snapshot(item, fields)
    changes: list[str] = []
    if title is not None:
        title = _clean(title, label="整改事项", limit=300, field="title")
        if title != item.title:
            changes.append(f"整改事项改为“{title}”")
            item.title = title
    if owner is not None and owner.pk != item.owner_id:
        if item.status == S.SUBMITTED:
            # Otherwise an inspector who owned the item could hand it to the submitter, then close it.
            raise ServiceError("待销号的事项不能更换责任人：请先销号或退回", field="owner")
        problem = owner_problem(item.village, owner)
        if problem:
            raise ServiceError(problem, field="owner")
        changes.append(f"责任人改为{owner}")
        item.owner_id = owner.pk
    if deadline is not None and deadline != item.deadline:
        visited_on = (
            Inspection.objects.filter(findings__rectification=item).values_list("visited_on", flat=True).get()
        )
        if deadline < visited_on:
            raise ServiceError("整改期限不能早于督查日期", field="deadline")
        changes.append(f"整改期限由 {item.deadline:%Y-%m-%d} 改为 {deadline:%Y-%m-%d}")
        item.deadline = deadline
    if required_evidence is not None:
        required = _clean(
            required_evidence, label="销号需提供", limit=300, field="required_evidence", required=False
        )
        if required != item.required_evidence:
            changes.append(f"销号需提供改为“{required or '无'}”")
            item.required_evidence = required
    if not changes:
        raise ServiceError("没有修改任何内容", field="title")
    moment = _moment(at, after=_last_at(item))
    note = "；".join(changes)
    _step(
        actor=actor,
        item=item,
        kind=RectificationEvent.Kind.UPDATE,
        to_status=item.status,
        at=moment,
        note=note,
    )
    audit.record(
        actor=actor,
        action="rectification.update",
        obj=item,
        before=before,
        after=audit.snapshot(item, fields),
        unit_path=item.village.path,
        note=note,
    )
    return item


@transaction.atomic
def interview_record(
    *,
    actor: Actor,
    village: OrgUnit,
    held_on: datetime.date,
    interviewee: str,
    post: str,
    reason: str,
    agreed: str,
    follow_up_on: datetime.date | None = None,
    at: datetime.datetime | None = None,
) -> Interview:
    """Record an interview (约谈) of a village committee member by ``actor`` (who holds 督查 over the
    village); the follow-up is due on ``follow_up_on`` (default 10 working days after)."""
    _village(village)
    if not allowed(actor, INSPECT, village.path):
        raise PermissionDeniedError(f"您没有约谈{village.name}干部的权限")
    _past_day(held_on, "约谈日期", "held_on")
    clean = {
        "interviewee": _clean(interviewee, label="被约谈人姓名", limit=40, field="interviewee"),
        "post": _clean(post, label="职务", limit=40, field="post"),
        "reason": _clean(reason, label="约谈事由", limit=1000, field="reason"),
        "agreed": _clean(agreed, label="约定事项", limit=2000, field="agreed"),
    }
    if follow_up_on is None:
        follow_up_on = add_workdays(held_on, FOLLOW_UP_WORKDAYS)
    if follow_up_on < held_on:
        raise ServiceError("跟进日期不能早于约谈日期", field="follow_up_on")
    interview = Interview.objects.create(
        village=village,
        held_on=held_on,
        interviewer_id=actor.pk,
        follow_up_on=follow_up_on,
        created_by_id=actor.pk,
        created_at=_moment(at),
        **clean,
    )
    audit.record(
        actor=actor,
        action="interview.record",
        obj=interview,
        after={
            "village": village.pk,
            "held_on": held_on.isoformat(),
            "interviewee": clean["interviewee"],
            "post": clean["post"],
            "follow_up_on": follow_up_on.isoformat(),
        },
        unit_path=village.path,
    )
    return interview


@transaction.atomic
def interview_follow_up(
    *, actor: Actor, interview: Interview, note: str, at: datetime.datetime | None = None
) -> Interview:
    """Record the follow-up of an interview (once): what came of what was agreed."""
    interview = Interview.objects.select_for_update().select_related("village").get(pk=interview.pk)
    if not allowed(actor, INSPECT, interview.village.path):
        raise PermissionDeniedError("只有对该村有督查权限的人可以记录跟进情况")
    if interview.followed_up_at is not None:
        raise ServiceError("这次约谈已经记录过跟进情况", code="state")
    note = _clean(note, label="跟进情况", limit=2000, field="note")
    interview.follow_up_note = note
    interview.followed_up_by_id = actor.pk
    interview.followed_up_at = _moment(at, after=interview.created_at)
    interview.save()
    audit.record(
        actor=actor,
        action="interview.follow_up",
        obj=interview,
        after={"follow_up_note": note},
        unit_path=interview.village.path,
    )
    return interview
