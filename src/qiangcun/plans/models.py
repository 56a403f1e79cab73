"""一村一策: one plan per village per year under the "four ones" (四个一) —
the list (一张清单: resources and problems), the plan (一个方案: chosen income paths with the income
each should bring), the measures (一套措施: owner, deadline, expected income, status, dated notes) and
the follow-through (一抓到底: ledger rows linked to the measure they came from)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qiangcun.core.money import MoneyField
from qiangcun.core.scope import ScopedQuerySet
from qiangcun.ledger.models import DevelopmentPath, Entry
from qiangcun.orgs.models import OrgUnit


class PlanQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Plan(models.Model):
    """A village's plan for a year (一村一策)."""

    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="plans")
    year = models.PositiveSmallIntegerField(_("年度"))
    summary = models.TextField(_("方案概述"), max_length=2000, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("一村一策")
        verbose_name_plural = _("一村一策")
        ordering = ["village__path", "year"]
        constraints = [models.UniqueConstraint(fields=["village", "year"], name="plan_one_per_village_year")]

    def __str__(self) -> str:
        return f"{self.village.name} {self.year} 年一村一策"


class ResourceKind(models.TextChoices):
    ASSET = "asset", _("闲置资产")
    LAND = "land", _("土地资源")
    ADVANTAGE = "advantage", _("优势")
    WEAKNESS = "weakness", _("短板问题")


class ResourceQuerySet(ScopedQuerySet):
    scope_path_field = "plan__village__path"


class Resource(models.Model):
    """One line of the list (一张清单): an idle asset, a piece of land (with its area in 亩), an
    advantage or a weakness."""

    plan = models.ForeignKey(Plan, verbose_name=_("村策"), on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(_("类型"), max_length=16, choices=ResourceKind.choices)
    name = models.CharField(_("内容"), max_length=200)
    area_mu = models.DecimalField(_("面积（亩）"), max_digits=10, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("资源清单")
        verbose_name_plural = _("资源清单")
        ordering = ["plan", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["asset", "land", "advantage", "weakness"]),
                name="resource_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanPathQuerySet(ScopedQuerySet):
    scope_path_field = "plan__village__path"


class PlanPath(models.Model):
    """A chosen income path of the plan (一个方案) and the income it is expected to bring in the year."""

    plan = models.ForeignKey(Plan, verbose_name=_("村策"), on_delete=models.CASCADE, related_name="paths")
    path = models.ForeignKey(DevelopmentPath, verbose_name=_("增收路子"), on_delete=models.PROTECT)
    expected = MoneyField(_("预计收入（元）"))
    note = models.CharField(_("做法"), max_length=200, blank=True)

    objects = PlanPathQuerySet.as_manager()

    class Meta:
        verbose_name = _("增收路子")
        verbose_name_plural = _("增收路子")
        ordering = ["plan", "path__order", "path_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "path"], name="planpath_unique"),
            models.CheckConstraint(
                condition=models.Q(expected__gte=Decimal("0")), name="planpath_expected_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.path}"


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("未开始")
    ACTIVE = "active", _("推进中")
    DONE = "done", _("已完成")
    DROPPED = "dropped", _("已放弃")


#: Statuses in which a measure still asks for work (and can be overdue).
OPEN_MEASURE_STATUSES = (MeasureStatus.PLANNED, MeasureStatus.ACTIVE)


class MeasureQuerySet(ScopedQuerySet):
    scope_path_field = "plan__village__path"


class Measure(models.Model):
    """One measure (一套措施): what will be done, by whom, by when, for how much income."""

    plan = models.ForeignKey(Plan, verbose_name=_("村策"), on_delete=models.CASCADE, related_name="measures")
    title = models.CharField(_("措施"), max_length=200)
    path = models.ForeignKey(
        DevelopmentPath, verbose_name=_("增收路子"), null=True, blank=True, on_delete=models.PROTECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("责任人"), on_delete=models.PROTECT, related_name="measures"
    )
    deadline = models.DateField(_("完成时限"))
    expected = MoneyField(_("预计增收（元）"))
    status = models.CharField(
        _("状态"), max_length=16, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED
    )
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        verbose_name = _("措施")
        verbose_name_plural = _("措施")
        ordering = ["plan", "deadline", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["planned", "active", "done", "dropped"]),
                name="measure_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(expected__gte=Decimal("0")), name="measure_expected_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(status="done", done_on__isnull=False)
                | (~models.Q(status="done") & models.Q(done_on__isnull=True)),
                name="measure_done_on_iff_done",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class MeasureNoteQuerySet(ScopedQuerySet):
    scope_path_field = "measure__plan__village__path"


class MeasureNote(models.Model):
    """A dated progress note on a measure; notes are added, never edited."""

    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.CASCADE, related_name="notes"
    )
    date = models.DateField(_("日期"))
    text = models.CharField(_("进展"), max_length=500)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("填报时间"), auto_now_add=True)

    objects = MeasureNoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("措施进展")
        verbose_name_plural = _("措施进展")
        ordering = ["measure", "date", "id"]

    def __str__(self) -> str:
        return f"{self.date} {self.text[:20]}"


class MeasureEntryQuerySet(ScopedQuerySet):
    scope_path_field = "measure__plan__village__path"


class MeasureEntry(models.Model):
    """A ledger row counted as the result of a measure (一抓到底). A row serves at most one measure,
    of its own village and year."""

    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.CASCADE, related_name="entry_links"
    )
    entry = models.OneToOneField(
        Entry, verbose_name=_("台账记录"), on_delete=models.PROTECT, related_name="measure_link"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("关联人"), on_delete=models.PROTECT, related_name="+"
    )
    linked_at = models.DateTimeField(_("关联时间"), auto_now_add=True)

    objects = MeasureEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("措施关联台账")
        verbose_name_plural = _("措施关联台账")
        ordering = ["measure", "entry__date", "id"]

    def __str__(self) -> str:
        return f"{self.measure_id} ← {self.entry_id}"
