"""Campaigns and village targets: baseline for every village, all-or-none target setting, permission."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.services import campaign_create, campaign_update, targets_set

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _targets(campaign):
    return {
        t.village.name: t.amount
        for t in VillageTarget.objects.filter(campaign=campaign).select_related("village")
    }


def _create(admin, township, year=2021, **kw):
    args = dict(baseline=Decimal("35000.00"), top_tier=Decimal("120000.00"), goal_top_tier_villages=2)
    args.update(kw)
    return campaign_create(actor=admin, township=township, year=year, **args)


def test_campaign_create_gives_every_village_a_baseline_target(tree, personas):
    admin = personas["township_admin"]
    campaign = _create(admin, tree.township)
    villages = set(OrgUnit.objects.filter(level=Level.VILLAGE, path__startswith=tree.township.path))
    targets = VillageTarget.objects.filter(campaign=campaign)
    assert {t.village for t in targets} == villages == set(tree.villages)
    assert {t.amount for t in targets} == {Decimal("35000.00")}
    assert campaign.baseline == Decimal("35000.00") and campaign.top_tier == Decimal("120000.00")
    (rec,) = ChangeRecord.objects.filter(action="campaign.create", object_pk=str(campaign.pk))
    assert rec.actor_id == admin.pk
    assert rec.after["year"] == 2021 and rec.after["baseline"] == "35000.00"
    # The fixture's 2020 campaign is untouched.
    assert _targets(tree.campaign)["孙庄村"] == Decimal("100000.00")


def test_campaign_create_refusals(tree, personas):
    admin = personas["township_admin"]
    bad = [
        dict(township=tree.station1),
        dict(year=1999),
        dict(year=2101),
        dict(year=2020),  # exists
        dict(baseline=Decimal("0")),
        dict(baseline=Decimal("-1")),
        dict(baseline=Decimal("30000.005")),
        dict(top_tier=Decimal("1000.00")),  # below baseline
        dict(band_margin=Decimal("101")),
        dict(band_margin=Decimal("-1")),
    ]
    campaigns = Campaign.objects.count()
    records = ChangeRecord.objects.filter(ok=True).count()
    for override in bad:
        args = dict(township=tree.township, year=2021)
        args.update(override)
        with pytest.raises(ServiceError):
            _create(admin, **args)
    assert Campaign.objects.count() == campaigns
    assert ChangeRecord.objects.filter(ok=True).count() == records


@pytest.mark.parametrize(
    "persona",
    [
        "leader",
        "station_head",
        "district_secretary",
        "village_clerk",
        "system_admin",
        "auditor",
        "no_role",
        "anonymous",
    ],
)
def test_only_township_admins_manage_targets(tree, personas, persona):
    user = personas[persona]
    before = _targets(tree.campaign)
    with pytest.raises(PermissionDeniedError):
        _create(user, tree.township)
    with pytest.raises(PermissionDeniedError):
        targets_set(actor=user, campaign=tree.campaign, amounts={tree.liudao.pk: Decimal("50000.00")})
    with pytest.raises(PermissionDeniedError):
        campaign_update(
            actor=user,
            campaign=tree.campaign,
            baseline=Decimal("1.00"),
            top_tier=Decimal("2.00"),
            goal_top_tier_villages=0,
            band_margin=Decimal("1"),
        )
    assert Campaign.objects.count() == 1
    assert _targets(tree.campaign) == before


def test_admin_of_another_township_cannot_touch_ours(tree, personas):
    from qiangcun.accounts.models import Role
    from qiangcun.accounts.services import grant_create, user_create

    other = unit_create(
        actor=None, level=Level.TOWNSHIP, name="柴胡店镇", code="371422106000", parent=tree.county
    )
    stranger = user_create(actor=None, username="other-admin", password=None)
    grant_create(actor=None, user=stranger, role=Role.TOWNSHIP_ADMIN, unit=other)
    with pytest.raises(PermissionDeniedError):
        targets_set(actor=stranger, campaign=tree.campaign, amounts={tree.liudao.pk: Decimal("50000.00")})
    # … and their own campaign cannot set a target on one of our villages.
    theirs = campaign_create(
        actor=stranger, township=other, year=2020, baseline=Decimal("30000.00"), top_tier=Decimal("100000.00")
    )
    assert VillageTarget.objects.filter(campaign=theirs).count() == 0
    with pytest.raises(ServiceError):
        targets_set(actor=stranger, campaign=theirs, amounts={tree.liudao.pk: Decimal("50000.00")})


def test_targets_set_changes_and_records(tree, personas):
    admin = personas["township_admin"]
    changed = targets_set(
        actor=admin,
        campaign=tree.campaign,
        amounts={
            tree.liudao.pk: Decimal("100000.00"),
            tree.yanglaotou.pk: Decimal("30000.00"),  # unchanged
            tree.bianxiyang.pk: Decimal("45000.50"),
        },
    )
    assert changed == 2
    assert _targets(tree.campaign) == {
        "孙庄村": Decimal("100000.00"),
        "刘道村": Decimal("100000.00"),
        "杨老头村": Decimal("30000.00"),
        "编席杨村": Decimal("45000.50"),
    }
    recs = {r.after["village"]: r for r in ChangeRecord.objects.filter(action="target.update")}
    assert set(recs) == {tree.sunzhuang.code, tree.liudao.code, tree.bianxiyang.code}  # 孙庄村 by the fixture
    rec = recs[tree.bianxiyang.code]
    assert rec.actor_id == admin.pk
    assert rec.before == {"village": tree.bianxiyang.code, "amount": "30000.00"}
    assert rec.after == {"village": tree.bianxiyang.code, "amount": "45000.50"}
    target = VillageTarget.objects.get(campaign=tree.campaign, village=tree.liudao)
    assert target.tier == "top" and target.tier_label == "强村"
    assert VillageTarget.objects.get(campaign=tree.campaign, village=tree.yanglaotou).tier == "baseline"


def test_targets_set_creates_a_missing_target(tree, personas):
    """A village added after the campaign opened has no target until one is set."""
    admin = personas["township_admin"]
    new = unit_create(
        actor=None, level=Level.VILLAGE, name="新村", code="371422105299", parent=tree.district3
    )
    assert not VillageTarget.objects.filter(campaign=tree.campaign, village=new).exists()
    assert targets_set(actor=admin, campaign=tree.campaign, amounts={new.pk: Decimal("30000.00")}) == 1
    assert VillageTarget.objects.get(campaign=tree.campaign, village=new).amount == Decimal("30000.00")
    assert ChangeRecord.objects.filter(action="target.create").count() == 1


def test_targets_set_refuses_below_baseline_and_is_all_or_none(tree, personas):
    admin = personas["township_admin"]
    before = _targets(tree.campaign)
    records = ChangeRecord.objects.filter(ok=True).count()
    with pytest.raises(ServiceError) as info:
        targets_set(
            actor=admin,
            campaign=tree.campaign,
            amounts={tree.liudao.pk: Decimal("50000.00"), tree.yanglaotou.pk: Decimal("29999.99")},
        )
    assert "杨老头村" in info.value.message
    assert "基础线" in info.value.message
    assert info.value.field == f"target-{tree.yanglaotou.pk}"
    assert _targets(tree.campaign) == before  # 刘道村's valid change was not kept
    assert ChangeRecord.objects.filter(ok=True).count() == records


@pytest.mark.parametrize(
    "amount", [Decimal("30000.001"), Decimal("Infinity"), Decimal("NaN"), 30000, "30000.00", 30000.0]
)
def test_targets_set_refuses_amounts_that_are_not_fen(tree, personas, amount):
    before = _targets(tree.campaign)
    with pytest.raises(ServiceError) as info:
        targets_set(
            actor=personas["township_admin"],
            campaign=tree.campaign,
            amounts={tree.liudao.pk: Decimal("40000.00"), tree.bianxiyang.pk: amount},
        )
    assert "编席杨村" in info.value.message
    assert _targets(tree.campaign) == before


def test_targets_set_refuses_units_that_are_not_villages_of_the_township(tree, personas):
    with pytest.raises(ServiceError):
        targets_set(
            actor=personas["township_admin"],
            campaign=tree.campaign,
            amounts={tree.district1.pk: Decimal("50000.00")},
        )
    with pytest.raises(ServiceError):
        targets_set(
            actor=personas["township_admin"], campaign=tree.campaign, amounts={10**9: Decimal("50000.00")}
        )


def test_campaign_update(tree, personas):
    admin = personas["township_admin"]
    campaign = campaign_update(
        actor=admin,
        campaign=tree.campaign,
        baseline=Decimal("30000.00"),
        top_tier=Decimal("90000.00"),
        goal_top_tier_villages=3,
        band_margin=Decimal("5.00"),
    )
    fresh = Campaign.objects.get(pk=campaign.pk)
    assert fresh.top_tier == Decimal("90000.00") and fresh.band_margin == Decimal("5.00")
    (rec,) = ChangeRecord.objects.filter(action="campaign.update")
    assert rec.before["top_tier"] == "100000.00" and rec.after["top_tier"] == "90000.00"
    with pytest.raises(ServiceError):
        campaign_update(
            actor=admin,
            campaign=tree.campaign,
            baseline=Decimal("50000.00"),
            top_tier=Decimal("40000.00"),
            goal_top_tier_villages=3,
            band_margin=Decimal("5.00"),
        )
    assert Campaign.objects.get(pk=campaign.pk).baseline == Decimal("30000.00")
