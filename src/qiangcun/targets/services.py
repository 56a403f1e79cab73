"""Writes to campaigns and targets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from qiangcun.accounts.models import User
from qiangcun.core import audit
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.money import FEN
from qiangcun.core.scope import Action, allowed
from qiangcun.ledger.models import Category
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets import defaults
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import settings_lock

MANAGE = Action.MANAGE_TARGETS
_CAMPAIGN_FIELDS = ["township", "year", "baseline", "top_tier", "goal_top_tier_villages", "band_margin"]


def category_names(categories: Iterable[Category]) -> list[str]:
    """Names in the categories' display order."""
    return [c.name for c in sorted(categories, key=lambda c: (c.order, c.pk))]


def _check_categories(categories: object) -> list[Category]:
    if isinstance(categories, str | bytes) or not isinstance(categories, Iterable):
        raise ServiceError("计入目标的类别应为收入类别的列表", field="counted_categories")
    chosen = list(categories)
    if not all(isinstance(c, Category) and c.pk is not None for c in chosen):
        raise ServiceError("计入目标的类别应为收入类别的列表", field="counted_categories")
    if not chosen:
        raise ServiceError("至少选择一个计入目标的收入类别", field="counted_categories")
    return list({c.pk: c for c in chosen}.values())


def _check_thresholds(baseline: Decimal, top_tier: Decimal, band_margin: Decimal) -> None:
    for name, label, value in (("baseline", "基础线", baseline), ("top_tier", "强村线", top_tier)):
        if (
            not isinstance(value, Decimal)
            or not value.is_finite()
            or value <= 0
            or value != value.quantize(FEN)
        ):
            raise ServiceError(f"{label}必须是大于 0 的金额（精确到分）", field=name)
    if top_tier < baseline:
        raise ServiceError("强村线不能低于基础线", field="top_tier")
    if (
        not isinstance(band_margin, Decimal)
        or not band_margin.is_finite()
        or not (Decimal(0) <= band_margin < Decimal(100))
        or band_margin != band_margin.quantize(Decimal("0.01"))
    ):
        raise ServiceError("黄牌容差应为 0 到 99.99 之间的百分点数，最多两位小数", field="band_margin")


def _check_goal(goal: int) -> None:
    if not isinstance(goal, int) or goal < 0:
        raise ServiceError("强村目标个数不能为负数", field="goal")


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    township: OrgUnit,
    year: int,
    baseline: Decimal = defaults.BASELINE,
    top_tier: Decimal = defaults.TOP_TIER,
    goal_top_tier_villages: int = defaults.GOAL_TOP_TIER_VILLAGES,
    band_margin: Decimal = defaults.BAND_MARGIN,
    counted_categories: Iterable[Category] | None = None,
) -> Campaign:
    """Open a year for a township; every village gets a target at the baseline, to be edited.

    Settings not given are the defaults (``targets.defaults``); the counted categories default to those
    the installation counts for a new year."""
    if township.level != Level.TOWNSHIP:
        raise ServiceError("年度任务只能按镇设置", field="township")
    if not allowed(actor, MANAGE, township.path):
        raise PermissionDeniedError("您没有设置该镇年度任务的权限")
    if not 2000 <= year <= 2100:
        raise ServiceError("年度应在 2000 到 2100 之间", field="year")
    _check_thresholds(baseline, top_tier, band_margin)
    _check_goal(goal_top_tier_villages)
    categories = _check_categories(
        defaults.default_categories() if counted_categories is None else counted_categories
    )
    if Campaign.objects.filter(township=township, year=year).exists():
        raise ServiceError(f"{township.name}{year}年度任务已存在", field="year")
    campaign = Campaign.objects.create(
        township=township,
        year=year,
        baseline=baseline,
        top_tier=top_tier,
        goal_top_tier_villages=goal_top_tier_villages,
        band_margin=band_margin,
    )
    campaign.counted_categories.set(categories)
    villages = OrgUnit.objects.under(township).filter(level=Level.VILLAGE)
    VillageTarget.objects.bulk_create(
        VillageTarget(campaign=campaign, village=v, amount=baseline) for v in villages
    )
    audit.record(
        actor=actor,
        action="campaign.create",
        obj=campaign,
        after={
            **audit.snapshot(campaign, _CAMPAIGN_FIELDS),
            "counted_categories": category_names(categories),
        },
        unit_path=township.path,
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor: User,
    campaign: Campaign,
    baseline: Decimal | None = None,
    top_tier: Decimal | None = None,
    counted_categories: Iterable[Category] | None = None,
    goal_top_tier_villages: int | None = None,
    band_margin: Decimal | None = None,
) -> Campaign:
    """Change a year's settings (``None``: keep as is), recorded before and after.

    The baseline, the top tier and the counted categories change only until the first ledger row of the
    township in that year is verified: after that a change is refused with the reason (giving the
    current value again is no change). The goal and the band margin stay editable all year."""
    campaign = Campaign.objects.select_for_update().select_related("township").get(pk=campaign.pk)
    if not allowed(actor, MANAGE, campaign.township.path):
        raise PermissionDeniedError("您没有设置该镇年度任务的权限")
    current = list(campaign.counted_categories.all())
    new_baseline = campaign.baseline if baseline is None else baseline
    new_top = campaign.top_tier if top_tier is None else top_tier
    new_goal = campaign.goal_top_tier_villages if goal_top_tier_villages is None else goal_top_tier_villages
    new_margin = campaign.band_margin if band_margin is None else band_margin
    _check_thresholds(new_baseline, new_top, new_margin)
    _check_goal(new_goal)
    categories = current if counted_categories is None else _check_categories(counted_categories)
    locked_changes = [
        field
        for field, changed in (
            ("baseline", new_baseline != campaign.baseline),
            ("top_tier", new_top != campaign.top_tier),
            ("counted_categories", {c.pk for c in categories} != {c.pk for c in current}),
        )
        if changed
    ]
    if locked_changes:
        reason = settings_lock(campaign)
        if reason is not None:
            raise ServiceError(reason, field=locked_changes[0], code="locked")
    before = {**audit.snapshot(campaign, _CAMPAIGN_FIELDS), "counted_categories": category_names(current)}
    campaign.baseline, campaign.top_tier = new_baseline, new_top
    campaign.goal_top_tier_villages, campaign.band_margin = new_goal, new_margin
    campaign.save()
    if "counted_categories" in locked_changes:
        campaign.counted_categories.set(categories)
    audit.record(
        actor=actor,
        action="campaign.update",
        obj=campaign,
        before=before,
        after={
            **audit.snapshot(campaign, _CAMPAIGN_FIELDS),
            "counted_categories": category_names(categories),
        },
        unit_path=campaign.township.path,
    )
    return campaign


@transaction.atomic
def targets_set(*, actor: User, campaign: Campaign, amounts: Mapping[int, Decimal]) -> int:
    """Set village targets (village id → amount) all or none; returns how many changed."""
    campaign = Campaign.objects.select_related("township").get(pk=campaign.pk)
    if not allowed(actor, MANAGE, campaign.township.path):
        raise PermissionDeniedError("您没有设置该镇目标的权限")
    targets = {
        t.village_id: t
        for t in VillageTarget.objects.select_for_update().select_related("village").filter(campaign=campaign)
    }
    villages = {v.pk: v for v in OrgUnit.objects.under(campaign.township).filter(level=Level.VILLAGE)}
    changed = 0
    for village_id, amount in amounts.items():
        village = villages.get(village_id)
        if village is None:
            raise ServiceError(f"编号 {village_id} 不是{campaign.township.name}的行政村", field="village")
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(FEN):
            raise ServiceError(f"{village.name}：目标金额必须精确到分", field=f"target-{village_id}")
        if amount < campaign.baseline:
            raise ServiceError(
                f"{village.name}：目标 {amount:,.2f} 元低于基础线 {campaign.baseline:,.2f} 元",
                field=f"target-{village_id}",
            )
        target = targets.get(village_id)
        if target is None:
            target = VillageTarget.objects.create(campaign=campaign, village=village, amount=amount)
            audit.record(
                actor=actor,
                action="target.create",
                obj=target,
                after={"village": village.code, "amount": f"{amount:.2f}"},
                unit_path=village.path,
            )
            changed += 1
        elif target.amount != amount:
            before = {"village": village.code, "amount": f"{target.amount:.2f}"}
            target.amount = amount
            target.save(update_fields=["amount"])
            audit.record(
                actor=actor,
                action="target.update",
                obj=target,
                before=before,
                after={"village": village.code, "amount": f"{amount:.2f}"},
                unit_path=village.path,
            )
            changed += 1
    return changed


@dataclass(frozen=True)
class TargetsImported:
    """What a targets import did (or, checked, would do)."""

    year: int
    opened: bool  # the year had no campaign: it was opened with the default settings
    changed: int  # villages whose target changed
    baseline: Decimal
    top_tier: Decimal
    counted_categories: list[str]


@transaction.atomic
def targets_import(
    *, actor: User, township: OrgUnit, year: int, amounts: Mapping[int, Decimal], dry_run: bool = False
) -> TargetsImported:
    """Set the targets of an imported workbook, all or nothing. A year with no campaign yet is opened
    first with the default settings, in the same transaction (audited: ``campaign.create`` and the
    target changes), so that a refused row leaves no year behind. ``dry_run`` rolls everything back."""
    campaign = Campaign.objects.filter(township=township, year=year).first()
    opened = campaign is None
    if campaign is None:
        campaign = campaign_create(actor=actor, township=township, year=year)
    changed = targets_set(actor=actor, campaign=campaign, amounts=amounts)
    outcome = TargetsImported(
        year=year,
        opened=opened,
        changed=changed,
        baseline=campaign.baseline,
        top_tier=campaign.top_tier,
        counted_categories=category_names(campaign.counted_categories.all()),
    )
    if dry_run:
        transaction.set_rollback(True)
    return outcome
