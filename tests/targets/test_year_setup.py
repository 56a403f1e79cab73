"""Setting up a year: the defaults in one place, the counted categories kept per year, the settings
that lock at the year's first verified ledger row, every change in the audit log, and a targets import
that opens a year all or nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.accounts.models import User
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import ServiceError
from qiangcun.ledger.models import Category, DevelopmentPath
from qiangcun.ledger.services import entry_create, entry_verify
from qiangcun.targets import defaults
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import progress, settings_lock
from qiangcun.targets.services import campaign_create, campaign_update, targets_import

pytestmark = pytest.mark.usefixtures("fast_hashing")

DEFAULT_NAMES = ["经营收入", "发包及上交收入", "投资收益"]
LOCKED = "2020 年已有审核通过的台账，基础线、强村线和计入目标的类别已锁定"


def _names(campaign: Campaign) -> list[str]:
    return list(campaign.counted_categories.order_by("order").values_list("name", flat=True))


def _cats(*names: str) -> list[Category]:
    return list(Category.objects.filter(name__in=names))


def _far_row(far, amount: str, day: datetime.date, cat: Category | None = None) -> None:
    """A verified row of 杜集镇's village: entered by its clerk, verified by its township admin."""
    row = entry_create(
        actor=far.clerk,
        village=far.village,
        date=day,
        amount=Decimal(amount),
        category=cat or Category.objects.get(name="经营收入"),
        path=DevelopmentPath.objects.get(name="现代农业"),
        summary="杜集村收入",
        counterparty="",
        submit=True,
    )
    entry_verify(actor=User.objects.get(username="other-admin"), entries=[row])


def _state(campaign: Campaign) -> tuple:
    fresh = Campaign.objects.get(pk=campaign.pk)
    return (
        fresh.baseline,
        fresh.top_tier,
        fresh.goal_top_tier_villages,
        fresh.band_margin,
        _names(fresh),
    )


# --- defaults ------------------------------------------------------------------------------------------


def test_the_defaults_are_the_article_thresholds():
    assert defaults.BASELINE == Decimal("30000.00")
    assert defaults.TOP_TIER == Decimal("100000.00")
    assert defaults.GOAL_TOP_TIER_VILLAGES == 0
    assert defaults.BAND_MARGIN == Decimal("10.00")
    assert (
        defaults.describe(defaults.BASELINE, defaults.TOP_TIER, DEFAULT_NAMES)
        == "基础线 30,000.00 元、强村线 100,000.00 元、计入目标的类别：经营收入、发包及上交收入、投资收益"
    )


def test_a_year_opened_with_nothing_but_the_year_takes_the_defaults(tree, personas):
    admin = personas["township_admin"]
    campaign = campaign_create(actor=admin, township=tree.township, year=2021)
    assert _state(campaign) == (
        Decimal("30000.00"),
        Decimal("100000.00"),
        0,
        Decimal("10.00"),
        DEFAULT_NAMES,
    )
    assert set(VillageTarget.objects.filter(campaign=campaign).values_list("amount", flat=True)) == {
        Decimal("30000.00")
    }
    (rec,) = ChangeRecord.objects.filter(action="campaign.create", object_pk=str(campaign.pk))
    assert rec.after["counted_categories"] == DEFAULT_NAMES
    assert rec.after["baseline"] == "30000.00" and rec.after["top_tier"] == "100000.00"


def test_the_installation_flag_is_the_default_of_new_years_only(tree, personas, subsidy):
    admin = personas["township_admin"]
    Category.objects.filter(pk=subsidy.pk).update(counts_toward_target=True)
    assert _names(tree.campaign) == DEFAULT_NAMES  # the year already open keeps its set
    new = campaign_create(actor=admin, township=tree.township, year=2021)
    assert _names(new) == [*DEFAULT_NAMES, "补助收入"]


def test_a_year_may_count_its_own_categories(tree, personas):
    admin = personas["township_admin"]
    campaign = campaign_create(
        actor=admin, township=tree.township, year=2021, counted_categories=_cats("经营收入", "补助收入")
    )
    assert _names(campaign) == ["经营收入", "补助收入"]
    assert ChangeRecord.objects.get(action="campaign.create", object_pk=str(campaign.pk)).after[
        "counted_categories"
    ] == ["经营收入", "补助收入"]


@pytest.mark.parametrize("categories", [[], "经营收入", [1, 2], [None], 3])
def test_bad_category_sets_are_refused_and_nothing_is_written(tree, personas, categories):
    campaigns, records = Campaign.objects.count(), ChangeRecord.objects.filter(ok=True).count()
    with pytest.raises(ServiceError) as info:
        campaign_create(
            actor=personas["township_admin"], township=tree.township, year=2021, counted_categories=categories
        )
    assert info.value.field == "counted_categories" and "类别" in info.value.message
    assert (Campaign.objects.count(), ChangeRecord.objects.filter(ok=True).count()) == (campaigns, records)
    with pytest.raises(ServiceError):
        campaign_update(
            actor=personas["township_admin"], campaign=tree.campaign, counted_categories=categories
        )
    assert _names(tree.campaign) == DEFAULT_NAMES


# --- the lock at the first verified row -----------------------------------------------------------------


def test_settings_change_freely_until_the_first_verified_row(tree, personas, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.sunzhuang, status="submitted")  # submitted is not verified: no lock yet
    assert settings_lock(tree.campaign) is None
    campaign_update(
        actor=admin,
        campaign=tree.campaign,
        baseline=Decimal("35000.00"),
        top_tier=Decimal("120000.00"),
        counted_categories=_cats("经营收入", "投资收益"),
    )
    assert _state(tree.campaign) == (
        Decimal("35000.00"),
        Decimal("120000.00"),
        1,
        Decimal("10.00"),
        ["经营收入", "投资收益"],
    )
    (rec,) = ChangeRecord.objects.filter(action="campaign.update")
    assert rec.actor_id == admin.pk
    assert rec.before["baseline"] == "30000.00" and rec.after["baseline"] == "35000.00"
    assert rec.before["counted_categories"] == DEFAULT_NAMES
    assert rec.after["counted_categories"] == ["经营收入", "投资收益"]


@pytest.mark.parametrize("field", ["baseline", "top_tier", "counted_categories"])
def test_after_the_first_verified_row_the_thresholds_and_categories_are_locked(
    tree, personas, make_entry, field
):
    admin = personas["township_admin"]
    make_entry(tree.liudao, date=datetime.date(2020, 2, 1), status="verified")
    change = {
        "baseline": Decimal("35000.00"),
        "top_tier": Decimal("90000.00"),
        "counted_categories": _cats("经营收入"),
    }
    change = {field: change[field]}
    before, records = _state(tree.campaign), ChangeRecord.objects.filter(ok=True).count()
    with pytest.raises(ServiceError) as info:
        campaign_update(actor=admin, campaign=tree.campaign, goal_top_tier_villages=5, **change)
    assert info.value.message == LOCKED and info.value.field == field
    assert settings_lock(tree.campaign) == LOCKED
    assert _state(tree.campaign) == before  # the goal given alongside was not kept either
    assert ChangeRecord.objects.filter(ok=True).count() == records


def test_after_the_lock_the_goal_and_band_margin_still_change(tree, personas, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.liudao, status="verified")
    campaign_update(
        actor=admin,
        campaign=tree.campaign,
        baseline=Decimal("30000.00"),  # the same values again are no change
        top_tier=Decimal("100000.00"),
        counted_categories=_cats(*DEFAULT_NAMES),
        goal_top_tier_villages=3,
        band_margin=Decimal("5.00"),
    )
    assert _state(tree.campaign) == (
        Decimal("30000.00"),
        Decimal("100000.00"),
        3,
        Decimal("5.00"),
        DEFAULT_NAMES,
    )
    (rec,) = ChangeRecord.objects.filter(action="campaign.update")
    assert (rec.before["goal_top_tier_villages"], rec.after["goal_top_tier_villages"]) == (1, 3)
    assert rec.before["counted_categories"] == rec.after["counted_categories"] == DEFAULT_NAMES


def test_the_lock_is_per_township_and_year(tree, personas, make_entry, other_township):
    admin = personas["township_admin"]
    # A verified row of another township, and one of ours in another year, lock nothing here.
    _far_row(other_township, "1000.00", datetime.date(2020, 3, 1))
    make_entry(tree.sunzhuang, date=datetime.date(2019, 12, 31), status="verified")
    assert settings_lock(tree.campaign) is None
    campaign_update(actor=admin, campaign=tree.campaign, top_tier=Decimal("90000.00"))
    assert Campaign.objects.get(pk=tree.campaign.pk).top_tier == Decimal("90000.00")
    # Ours in 2020 locks 2020, not 2021.
    make_entry(tree.sunzhuang, date=datetime.date(2020, 12, 31), status="verified")
    later = campaign_create(actor=admin, township=tree.township, year=2021)
    assert settings_lock(tree.campaign) == LOCKED
    assert settings_lock(later) is None
    campaign_update(actor=admin, campaign=later, baseline=Decimal("32000.00"))
    assert Campaign.objects.get(pk=later.pk).baseline == Decimal("32000.00")


# --- counted categories per year decide the figures ------------------------------------------------------


def test_two_townships_and_two_years_with_different_sets_give_different_totals(
    tree, personas, make_entry, subsidy, other_township
):
    admin = personas["township_admin"]
    far_admin = User.objects.get(username="other-admin")
    # 相衙镇 2020 counts the defaults; 杜集镇 2020 counts the grants too.
    campaign_update(
        actor=far_admin,
        campaign=Campaign.objects.get(township=other_township.township, year=2020),
        counted_categories=_cats(*DEFAULT_NAMES, "补助收入"),
    )
    # 相衙镇 2021 counts the grants only.
    campaign_create(actor=admin, township=tree.township, year=2021, counted_categories=[subsidy])
    for year in (2020, 2021):
        make_entry(tree.liudao, "1000.00", datetime.date(year, 3, 1), "verified")
        make_entry(tree.liudao, "200.00", datetime.date(year, 3, 2), "verified", cat=subsidy)
    _far_row(other_township, "1000.00", datetime.date(2020, 3, 1))
    _far_row(other_township, "200.00", datetime.date(2020, 3, 2), subsidy)

    def income(user, unit, year):
        return progress(user=user, unit=unit, year=year).totals.income

    assert income(admin, tree.township, 2020) == Decimal("1000.00")
    assert income(far_admin, other_township.township, 2020) == Decimal("1200.00")
    assert income(admin, tree.township, 2021) == Decimal("200.00")
    # Seen from the county: each township's rows counted by its own year's set.
    county = progress(user=_county_admin(tree), unit=tree.county, year=2020)
    assert {v.name: v.income for v in county.villages if v.income} == {
        "刘道村": Decimal("1000.00"),
        "杜集村": Decimal("1200.00"),
    }


def _county_admin(tree):
    from qiangcun.accounts.models import Role
    from qiangcun.accounts.services import grant_create, user_create

    user = user_create(actor=None, username="county-leader", password=None)
    grant_create(actor=None, user=user, role=Role.LEADER, unit=tree.county)
    return user


# --- a targets import opens a year, all or nothing --------------------------------------------------------


def test_targets_import_opens_the_year_with_the_defaults(tree, personas):
    admin = personas["township_admin"]
    amounts = {tree.liudao.pk: Decimal("100000.00"), tree.sunzhuang.pk: Decimal("30000.00")}
    checked = targets_import(actor=admin, township=tree.township, year=2021, amounts=amounts, dry_run=True)
    assert checked.opened and checked.changed == 1
    assert (checked.baseline, checked.top_tier, checked.counted_categories) == (
        Decimal("30000.00"),
        Decimal("100000.00"),
        DEFAULT_NAMES,
    )
    assert not Campaign.objects.filter(year=2021).exists()  # the check wrote nothing
    assert not ChangeRecord.objects.filter(action="campaign.create", after__year=2021).exists()

    last = ChangeRecord.objects.order_by("-pk").values_list("pk", flat=True).first()
    done = targets_import(actor=admin, township=tree.township, year=2021, amounts=amounts)
    assert done == checked
    campaign = Campaign.objects.get(township=tree.township, year=2021)
    assert _state(campaign) == (Decimal("30000.00"), Decimal("100000.00"), 0, Decimal("10.00"), DEFAULT_NAMES)
    targets = dict(VillageTarget.objects.filter(campaign=campaign).values_list("village__name", "amount"))
    assert targets == {
        "孙庄村": Decimal("30000.00"),
        "刘道村": Decimal("100000.00"),
        "杨老头村": Decimal("30000.00"),
        "编席杨村": Decimal("30000.00"),
    }
    # Audited in the same transaction: the year opened, then the one target the file changed.
    written = ChangeRecord.objects.filter(pk__gt=last).order_by("pk")
    assert [(r.action, r.actor_id) for r in written] == [
        ("campaign.create", admin.pk),
        ("target.update", admin.pk),
    ]
    assert written[1].after == {"village": tree.liudao.code, "amount": "100000.00"}
    # A second import of the same year changes that year, it opens nothing.
    again = targets_import(
        actor=admin, township=tree.township, year=2021, amounts={tree.liudao.pk: Decimal("50000.00")}
    )
    assert not again.opened and again.changed == 1
    assert Campaign.objects.filter(year=2021).count() == 1


def test_a_refused_target_leaves_no_year_behind(tree, personas):
    admin = personas["township_admin"]
    records = ChangeRecord.objects.filter(ok=True).count()
    with pytest.raises(ServiceError) as info:
        targets_import(
            actor=admin,
            township=tree.township,
            year=2021,
            amounts={tree.liudao.pk: Decimal("50000.00"), tree.yanglaotou.pk: Decimal("29999.99")},
        )
    assert "杨老头村" in info.value.message and "基础线" in info.value.message
    assert not Campaign.objects.filter(year=2021).exists()
    assert not VillageTarget.objects.filter(campaign__year=2021).exists()
    assert ChangeRecord.objects.filter(ok=True).count() == records


def test_only_a_township_admin_opens_a_year_by_import(tree, personas):
    from qiangcun.core.errors import PermissionDeniedError

    for persona in ("leader", "station_head", "village_clerk", "auditor", "system_admin"):
        with pytest.raises(PermissionDeniedError):
            targets_import(
                actor=personas[persona],
                township=tree.township,
                year=2021,
                amounts={tree.liudao.pk: Decimal("50000.00")},
            )
    assert not Campaign.objects.filter(year=2021).exists()


# --- the migration ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_open_years_from_the_category_flags():
    """Years open before the change count what the installation counted: the flagged categories."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("targets", "0003_move_importjob"), ("ledger", "0005_category_default_flag")]
    after = [("targets", "0004_counted_categories")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OrgUnit_, Category_ = old.get_model("orgs", "OrgUnit"), old.get_model("ledger", "Category")
    Campaign_ = old.get_model("targets", "Campaign")
    Category_.objects.filter(name="其他收入").update(counts_toward_target=True)  # an installation's choice
    township = OrgUnit_.objects.create(
        level="township", name="相衙镇", code="371422105000", path="/371422105000/"
    )
    for year in (2019, 2020):
        Campaign_.objects.create(
            township=township, year=year, baseline=Decimal("30000.00"), top_tier=Decimal("100000.00")
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    for campaign in new.get_model("targets", "Campaign").objects.all():
        names = set(campaign.counted_categories.values_list("name", flat=True))
        assert names == {"经营收入", "发包及上交收入", "投资收益", "其他收入"}, campaign.year
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
