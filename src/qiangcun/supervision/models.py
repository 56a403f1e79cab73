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
