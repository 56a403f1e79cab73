"""Year campaigns and village targets."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiangcun.core.money import MoneyField
from qiangcun.core.scope import ScopedQuerySet
from qiangcun.orgs.models import OrgUnit


class CampaignQuerySet(ScopedQuerySet):
    scope_path_field = "township__path"


class Campaign(models.Model):
    """A township's year: thresholds and goals for the villages' collective income."""

    township = models.ForeignKey(
        OrgUnit, verbose_name=_("镇"), on_delete=models.PROTECT, related_name="campaigns"
    )
    year = models.PositiveSmallIntegerField(
        _("年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    baseline = MoneyField(_("基础线（元）"))
    top_tier = MoneyField(_("强村线（元）"))
    goal_top_tier_villages = models.PositiveIntegerField(_("强村目标个数"), default=0)
    band_margin = models.DecimalField(
        _("黄牌容差（百分点）"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("10.00"),
        help_text=_("落后时序进度不超过此百分点为黄色，超过为红色"),
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("年度任务")
        verbose_name_plural = _("年度任务")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["township", "year"], name="campaign_unique_year"),
            models.CheckConstraint(condition=Q(baseline__gt=Decimal("0")), name="campaign_baseline_positive"),
            models.CheckConstraint(
                condition=Q(top_tier__gte=models.F("baseline")), name="campaign_top_above_base"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.township} {self.year}年"


class VillageTargetQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class VillageTarget(models.Model):
    """A village's income target for a campaign year. Its tier follows from the amount."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("年度任务"), on_delete=models.CASCADE, related_name="targets"
    )
    village = models.ForeignKey(
        OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="targets"
    )
    amount = MoneyField(_("目标（元）"))

    objects = VillageTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("村目标")
        verbose_name_plural = _("村目标")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "village"], name="target_unique_village"),
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.amount}"

    @property
    def tier(self) -> str:
        return "top" if self.amount >= self.campaign.top_tier else "baseline"

    @property
    def tier_label(self) -> str:
        return "强村" if self.tier == "top" else "达标"


class ImportJob(models.Model):
    """One upload on the import page: checked (a dry run) and then, once confirmed, imported.
    Small files run inside the request; large ones in the background worker with a progress bar."""

    class Stage(models.TextChoices):
        CHECK = "check", _("检查")
        IMPORT = "import", _("导入")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("出错")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=16)
    file_name = models.CharField(_("文件名"), max_length=255)
    options = models.JSONField(_("选项"), default=dict)
    stage = models.CharField(_("阶段"), max_length=8, choices=Stage.choices, default=Stage.CHECK)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_read = models.PositiveIntegerField(_("已读行数"), default=0)
    result = models.JSONField(_("结果"), default=dict)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} {self.get_stage_display()} {self.get_state_display()}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_read * 100 / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
