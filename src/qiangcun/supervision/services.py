"""Writes of the supervision app: issuing a weekly bulletin and a township's bulletin settings."""

from __future__ import annotations

import datetime
import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.core.text import text_problem
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.supervision import documents, snapshots, text
from qiangcun.supervision.models import Bulletin, BulletinSettings, Meeting
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
