"""Writes to campaigns and targets."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction

from qiangcun.accounts.models import User
from qiangcun.core import audit
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.money import FEN
from qiangcun.core.scope import Action, allowed
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets.models import Campaign, VillageTarget

MANAGE = Action.MANAGE_TARGETS
_CAMPAIGN_FIELDS = ["township", "year", "baseline", "top_tier", "goal_top_tier_villages", "band_margin"]


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
    baseline: Decimal,
    top_tier: Decimal,
    goal_top_tier_villages: int = 0,
    band_margin: Decimal = Decimal("10.00"),
) -> Campaign:
    """Open a year for a township; every village gets a target at the baseline, to be edited."""
    if township.level != Level.TOWNSHIP:
        raise ServiceError("年度任务只能按镇设置", field="township")
    if not allowed(actor, MANAGE, township.path):
        raise PermissionDeniedError("您没有设置该镇年度任务的权限")
    if not 2000 <= year <= 2100:
        raise ServiceError("年度应在 2000 到 2100 之间", field="year")
    _check_thresholds(baseline, top_tier, band_margin)
    _check_goal(goal_top_tier_villages)
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
    villages = OrgUnit.objects.under(township).filter(level=Level.VILLAGE)
    VillageTarget.objects.bulk_create(
        VillageTarget(campaign=campaign, village=v, amount=baseline) for v in villages
    )
    audit.record(
        actor=actor,
        action="campaign.create",
        obj=campaign,
        after=audit.snapshot(campaign, _CAMPAIGN_FIELDS),
        unit_path=township.path,
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor: User,
    campaign: Campaign,
    baseline: Decimal,
    top_tier: Decimal,
    goal_top_tier_villages: int,
    band_margin: Decimal,
) -> Campaign:
    campaign = Campaign.objects.select_for_update().select_related("township").get(pk=campaign.pk)
    if not allowed(actor, MANAGE, campaign.township.path):
        raise PermissionDeniedError("您没有设置该镇年度任务的权限")
    _check_thresholds(baseline, top_tier, band_margin)
    _check_goal(goal_top_tier_villages)
    before = audit.snapshot(campaign, _CAMPAIGN_FIELDS)
    campaign.baseline, campaign.top_tier = baseline, top_tier
    campaign.goal_top_tier_villages, campaign.band_margin = goal_top_tier_villages, band_margin
    campaign.save()
    audit.record(
        actor=actor,
        action="campaign.update",
        obj=campaign,
        before=before,
        after=audit.snapshot(campaign, _CAMPAIGN_FIELDS),
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
