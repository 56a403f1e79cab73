"""Weekly bulletins (通报): numbered per township and year, their figures frozen when issued, the
issued .docx and .pdf kept byte for byte; and each township's bulletin settings."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from qiangcun.core.scope import ScopedQuerySet
from qiangcun.orgs.models import OrgUnit

WEEKDAY_CHOICES = [
    (i, name) for i, name in enumerate(["周一", "周二", "周三", "周四", "周五", "周六", "周日"])
]


class BulletinSettings(models.Model):
    """How a township makes its weekly bulletin: the cut-off day of its week, the names printed on it
    and, if it wants one, the weekday and time the job worker issues it by itself."""

    township = models.OneToOneField(
        OrgUnit, verbose_name=_("镇"), on_delete=models.PROTECT, related_name="bulletin_settings"
    )
    cutoff_weekday = models.PositiveSmallIntegerField(
        _("每周截止日"), choices=WEEKDAY_CHOICES, default=6, validators=[MaxValueValidator(6)]
    )
    issuer = models.CharField(_("发文单位"), max_length=18, blank=True)
    schedule_weekday = models.PositiveSmallIntegerField(
        _("自动发布日"), choices=WEEKDAY_CHOICES, null=True, blank=True, validators=[MaxValueValidator(6)]
    )
    schedule_time = models.TimeField(_("自动发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通报设置")
        verbose_name_plural = _("通报设置")
        constraints = [
            models.CheckConstraint(condition=models.Q(cutoff_weekday__lte=6), name="bulletin_cutoff_weekday"),
            models.CheckConstraint(
                condition=models.Q(schedule_weekday__isnull=True, schedule_time__isnull=True)
                | models.Q(schedule_weekday__lte=6, schedule_time__isnull=False),
                name="bulletin_schedule_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.township} 通报设置"


class BulletinQuerySet(ScopedQuerySet):
    scope_path_field = "township__path"


class Bulletin(models.Model):
    """One issued weekly bulletin: its week, its number (第N期, in the order issued within the year),
    the figures as they stood when it was issued, and the files made from them. Never changed."""

    township = models.ForeignKey(OrgUnit, verbose_name=_("镇"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(
        _("年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    number = models.PositiveSmallIntegerField(_("期号"))
    week = models.PositiveSmallIntegerField(_("周次"))
    week_start = models.DateField(_("起始日"))
    week_end = models.DateField(_("截止日"))
    snapshot = models.JSONField(_("数据快照"))
    summary = models.TextField(_("导语"))
    #: The files, written when issued — or, for bulletins issued without them (the demo's past weeks),
    #: once on first download, from the frozen snapshot; never again after that.
    docx = models.BinaryField(_("Word 文件"), default=b"", blank=True)
    pdf = models.BinaryField(_("PDF 文件"), default=b"", blank=True)
    docx_sha256 = models.CharField(_("Word 校验值"), max_length=64, blank=True)
    pdf_sha256 = models.CharField(_("PDF 校验值"), max_length=64, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("发布时间"))
    scheduled = models.BooleanField(_("定时发布"), default=False)

    objects = BulletinQuerySet.as_manager()

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-year", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["township", "year", "number"], name="bulletin_unique_number"),
            models.UniqueConstraint(fields=["township", "year", "week"], name="bulletin_unique_week"),
            models.CheckConstraint(
                condition=models.Q(week_start__lte=models.F("week_end")), name="bulletin_week"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.township.name}{self.year}年第{self.number}期"

    @property
    def number_text(self) -> str:
        return f"{self.year}年第{self.number}期"

    @property
    def filename_stem(self) -> str:
        return f"{self.township.name}村级集体经济增收工作通报{self.year}年第{self.number}期"

    @property
    def week_label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def issued_date(self) -> datetime.date:
        return self.snapshot_date("issued_on")

    def snapshot_date(self, key: str) -> datetime.date:
        return datetime.date.fromisoformat(self.snapshot[key])


class MeetingQuerySet(ScopedQuerySet):
    scope_path_field = "township__path"


class Meeting(models.Model):
    """A joint meeting (党政联席会) that looked at the meeting screen: when, who attended, what was
    decided, and the figures shown, frozen when the record was saved."""

    township = models.ForeignKey(OrgUnit, verbose_name=_("镇"), on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField(_("会议日期"))
    title = models.CharField(_("会议名称"), max_length=60)
    attendees = models.TextField(_("参会人员"), max_length=500)
    decisions = models.TextField(_("议定事项"), max_length=4000)
    snapshot = models.JSONField(_("会上数据快照"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("联席会议记录")
        verbose_name_plural = _("联席会议记录")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.township.name} {self.held_on:%Y-%m-%d} {self.title}"


# --------------------------------------------------------------------------------- 一月一督查 · 整改 · 约谈


class InspectionQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Inspection(models.Model):
    """One visit of a village in the monthly inspection (一月一督查): when, by whom, whom they met, what
    they found (:class:`Finding`), the score if the township scores, the photos taken."""

    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField(_("督查日期"), db_index=True)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("督查人"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.CharField(_("同行人员"), max_length=200, blank=True)
    met = models.CharField(_("座谈对象"), max_length=300)
    summary = models.TextField(_("总体情况"), max_length=2000, blank=True)
    score = models.PositiveSmallIntegerField(
        _("评分"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"))

    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("督查记录")
        verbose_name_plural = _("督查记录")
        ordering = ["-visited_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=100),
                name="inspection_score_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.visited_on:%Y-%m-%d} 督查"


class FindingQuerySet(ScopedQuerySet):
    scope_path_field = "inspection__village__path"


class Finding(models.Model):
    """One problem an inspection found; it may open a rectification item."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("督查记录"), on_delete=models.PROTECT, related_name="findings"
    )
    position = models.PositiveSmallIntegerField(_("序号"))
    text = models.CharField(_("发现问题"), max_length=500)

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("发现问题")
        verbose_name_plural = _("发现问题")
        ordering = ["inspection", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "position"], name="finding_unique_position"),
        ]

    def __str__(self) -> str:
        return self.text


def inspection_photo_upload_to(instance: InspectionPhoto, filename: str) -> str:
    return f"inspection/{instance.inspection.village.code}/{instance.inspection_id}/{filename}"


class InspectionPhoto(models.Model):
    """A photo taken on the visit (stored like ledger evidence: under MEDIA_ROOT, served within scope)."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("督查记录"), on_delete=models.PROTECT, related_name="photos"
    )
    file = models.FileField(_("文件"), upload_to=inspection_photo_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("督查照片")
        verbose_name_plural = _("督查照片")
        ordering = ["inspection", "id"]

    def __str__(self) -> str:
        return self.original_name


class RectificationStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    RECTIFYING = "rectifying", _("整改中")
    SUBMITTED = "submitted", _("待销号")
    CLOSED = "closed", _("已销号")


class RectificationQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Rectification(models.Model):
    """A rectification item (整改事项) opened from a finding: what must be put right, by whom (a user
    holding a role on the village), by when (a working-day deadline), and what must be shown for it.
    Followed through 待整改 → 整改中 → 待销号 → 已销号 (or 退回重改, back to 整改中); every step is a
    :class:`RectificationEvent`. A closed item is never edited or deleted."""

    finding = models.OneToOneField(
        Finding, verbose_name=_("发现问题"), on_delete=models.PROTECT, related_name="rectification"
    )
    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("整改事项"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("责任人"), on_delete=models.PROTECT, related_name="+"
    )
    deadline = models.DateField(_("整改期限"), db_index=True)
    required_evidence = models.CharField(_("销号需提供"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=RectificationStatus.choices, default=RectificationStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("交办人"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("交办时间"))
    account = models.TextField(_("整改情况说明"), max_length=2000, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("销号人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)

    objects = RectificationQuerySet.as_manager()

    #: Set by the selectors (not stored): the deadline as met on the working calendar, and how many
    #: working days past it the item is on the day asked about (0: not overdue, or closed by then).
    effective_deadline: datetime.date
    overdue_days: int

    class Meta:
        verbose_name = _("整改事项")
        verbose_name_plural = _("整改事项")
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "rectifying", "submitted", "closed"]),
                name="rectification_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed")
                | models.Q(closed_by__isnull=False, closed_at__isnull=False),
                name="rectification_closed_has_closer",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["submitted", "closed"])
                | models.Q(submitted_by__isnull=False, submitted_at__isnull=False),
                name="rectification_submitted_has_submitter",
            ),
            models.CheckConstraint(
                condition=~models.Q(closed_by=models.F("owner")), name="rectification_not_closed_by_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.title}"

    @property
    def is_closed(self) -> bool:
        return self.status == RectificationStatus.CLOSED


class RectificationEvent(models.Model):
    """One step in an item's history: who, when, from which state to which, and the note (the reason
    of a 退回, what an edit changed)."""

    class Kind(models.TextChoices):
        OPEN = "open", _("交办")
        START = "start", _("开始整改")
        SUBMIT = "submit", _("提交销号")
        CLOSE = "close", _("销号")
        REOPEN = "reopen", _("退回重改")
        UPDATE = "update", _("修改")

    item = models.ForeignKey(
        Rectification, verbose_name=_("整改事项"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("动作"), max_length=16, choices=Kind.choices)
    from_status = models.CharField(
        _("原状态"), max_length=16, choices=RectificationStatus.choices, blank=True
    )
    to_status = models.CharField(_("新状态"), max_length=16, choices=RectificationStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("说明"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("整改记录")
        verbose_name_plural = _("整改记录")
        ordering = ["item", "at", "id"]

    def __str__(self) -> str:
        return f"{self.item} {self.get_kind_display()}"


def rectification_evidence_upload_to(instance: RectificationEvidence, filename: str) -> str:
    return f"rectification/{instance.item.village.code}/{instance.item_id}/{filename}"


class RectificationEvidence(models.Model):
    """A file shown for 销号: a photo or a PDF, attached to the submission it came with."""

    item = models.ForeignKey(
        Rectification, verbose_name=_("整改事项"), on_delete=models.PROTECT, related_name="evidence"
    )
    event = models.ForeignKey(
        RectificationEvent, verbose_name=_("提交记录"), on_delete=models.PROTECT, related_name="evidence"
    )
    file = models.FileField(_("文件"), upload_to=rectification_evidence_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("整改佐证")
        verbose_name_plural = _("整改佐证")
        ordering = ["item", "id"]

    def __str__(self) -> str:
        return self.original_name


class InterviewQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Interview(models.Model):
    """An interview (约谈) of a village committee member: who (name and post as written), by whom,
    when, why, what was agreed, and the follow-up — due on a date, recorded when done."""

    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField(_("约谈日期"), db_index=True)
    interviewee = models.CharField(_("被约谈人"), max_length=40)
    post = models.CharField(_("职务"), max_length=40)
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("约谈人"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("约谈事由"), max_length=1000)
    agreed = models.TextField(_("约定事项"), max_length=2000)
    follow_up_on = models.DateField(_("跟进日期"))
    follow_up_note = models.TextField(_("跟进情况"), max_length=2000, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("跟进人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    followed_up_at = models.DateTimeField(_("跟进时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"))

    objects = InterviewQuerySet.as_manager()

    #: Set by the list page (not stored): working days the follow-up is overdue.
    overdue_days: int

    class Meta:
        verbose_name = _("约谈记录")
        verbose_name_plural = _("约谈记录")
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(follow_up_on__gte=models.F("held_on")), name="interview_follow_up_after"
            ),
            models.CheckConstraint(
                condition=models.Q(followed_up_at__isnull=True)
                | models.Q(followed_up_by__isnull=False) & ~models.Q(follow_up_note=""),
                name="interview_follow_up_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.held_on:%Y-%m-%d} 约谈{self.interviewee}"
