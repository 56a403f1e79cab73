"""Year campaigns and village targets."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiangcun.core.money import MoneyField
from qiangcun.core.scope import ScopedQuerySet
from qiangcun.ledger.models import Category
from qiangcun.orgs.models import OrgUnit


class CampaignQuerySet(ScopedQuerySet):
    scope_path_field = "township__path"


class Campaign(models.Model):
    """A township's year: thresholds and goals for the villages' collective income, and which income
    categories count toward the targets this year (each year keeps its own set)."""

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
    counted_categories = models.ManyToManyField(
        Category,
        verbose_name=_("计入目标的类别"),
        related_name="+",
        help_text=_("本年度哪些收入类别的已审核收入计入目标；第一笔台账审核通过后不再改动"),
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
