"""The progress table (擂台) checked against an independent computation written here with exact
fractions: which rows count, completion, gap to time progress, bands, ranks and their change,
roll-ups, scope, and the shape of the JSON document."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.money import from_fen
from qiangcun.ledger import rollup
from qiangcun.ledger.models import Category, Entry, Status
from qiangcun.ledger.services import entry_return, entry_reverse, entry_verify
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import (
    band_for,
    default_as_of,
    progress,
    progress_document,
    time_progress,
    village_monthly,
)
from qiangcun.targets.services import targets_set

pytestmark = pytest.mark.usefixtures("fast_hashing")

ARTICLE_DATE = datetime.date(2020, 4, 17)
MONEY = re.compile(r"^-?\d+\.\d{2}$")
RATIO = re.compile(r"^-?\d+\.\d{4}$")


# ---------------------------------------------------------------- the independent computation


def _round4(value: Fraction) -> str:
    """Half away from zero to 4 places, as text."""
    n = int(abs(value) * 10_000 + Fraction(1, 2))
    sign = "-" if value < 0 and n else ""
    return f"{sign}{n // 10_000}.{n % 10_000:04d}"


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fen(amount: Decimal) -> int:
    fen = amount * 100
    assert fen == int(fen)
    return int(fen)


def _share_of_year(day: datetime.date) -> Fraction:
    start = datetime.date(day.year, 1, 1)
    days = (datetime.date(day.year + 1, 1, 1) - start).days
    return Fraction((day - start).days + 1, days)


def _station_and_district(village: OrgUnit) -> tuple[OrgUnit, OrgUnit]:
    district = OrgUnit.objects.get(pk=village.parent_id)
    station = OrgUnit.objects.get(pk=district.parent_id)
    assert (district.level, station.level) == (Level.DISTRICT, Level.STATION)
    return station, district


def expected_document(unit: OrgUnit, year: int, as_of: datetime.date) -> dict:
    """What the progress document must say, from the raw rows, without the code under test."""
    township = unit
    while township.level != Level.TOWNSHIP:
        township = OrgUnit.objects.get(pk=township.parent_id)
    campaign = Campaign.objects.get(township=township, year=year)
    week_before = as_of - datetime.timedelta(days=7)
    income: dict[int, int] = defaultdict(int)
    income_before: dict[int, int] = defaultdict(int)
    counts = set(campaign.counted_categories.values_list("pk", flat=True))  # the year's own set
    for village_id, day, amount, status, category_id in Entry.objects.values_list(
        "village_id", "date", "amount", "status", "category_id"
    ):
        if status != "verified" or category_id not in counts or day.year != year or day > as_of:
            continue
        income[village_id] += _fen(amount)
        if day <= week_before:
            income_before[village_id] += _fen(amount)

    tp = _share_of_year(as_of)
    margin = Fraction(campaign.band_margin) / 100
    rows = []
    for target in VillageTarget.objects.filter(campaign=campaign).select_related("village"):
        village = target.village
        station, district = _station_and_district(village)
        target_fen = _fen(target.amount)
        got = income[village.pk]
        completion = Fraction(got, target_fen)
        gap = completion - tp
        if got <= 0:
            band = "red"
        elif gap >= 0:
            band = "green"
        elif -gap <= margin:
            band = "yellow"
        else:
            band = "red"
        rows.append(
            {
                "village": village,
                "target_fen": target_fen,
                "income_fen": got,
                "key": (completion, got),
                "key_before": (Fraction(income_before[village.pk], target_fen), income_before[village.pk]),
                "doc": {
                    "code": village.code,
                    "name": village.name,
                    "station": station.name,
                    "district": district.name,
                    "target": _yuan(target_fen),
                    "income": _yuan(got),
                    "completion": _round4(completion),
                    "gap": _round4(gap),
                    "band": band,
                },
            }
        )
    for row in rows:
        # Competition ranking among the whole township: one more than the villages strictly ahead.
        rank = 1 + sum(other["key"] > row["key"] for other in rows)
        rank_before = 1 + sum(other["key_before"] > row["key_before"] for other in rows)
        if week_before.year != year:  # the first week of January has no earlier standing: no change
            rank_before = rank
        row["doc"]["rank"] = rank
        row["doc"]["rank_change"] = rank_before - rank
    # The rows shown are those under the unit asked for; their ranks stay the township's.
    rows = [r for r in rows if r["village"].path.startswith(unit.path)]
    rows.sort(key=lambda r: (r["doc"]["rank"], r["doc"]["code"]))
    baseline, top = _fen(campaign.baseline), _fen(campaign.top_tier)
    return {
        "year": year,
        "as_of": as_of.isoformat(),
        "unit": {"code": unit.code, "name": unit.name},
        "time_progress": _round4(tp),
        "totals": {
            "villages": len(rows),
            "target": _yuan(sum(r["target_fen"] for r in rows)),
            "income": _yuan(sum(r["income_fen"] for r in rows)),
            "at_baseline": sum(r["income_fen"] >= baseline for r in rows),
            "at_top_tier": sum(r["income_fen"] >= top for r in rows),
        },
        "villages": [r["doc"] for r in rows],
    }


# ---------------------------------------------------------------- a ledger with every kind of row


@pytest.fixture
def ledger(tree, personas, make_entry, subsidy):
    """Rows that count and rows that must not, in the four villages of the test township."""
    s, ld, y = tree.sunzhuang, tree.liudao, tree.yanglaotou
    v = "verified"
    rows = {
        "s_jan": make_entry(s, "10000.00", datetime.date(2020, 1, 15), v),
        "s_asof": make_entry(s, "5000.00", ARTICLE_DATE, v),  # the as_of day itself counts
        "s_subsidy": make_entry(s, "50000.00", datetime.date(2020, 3, 1), v, cat=subsidy),
        "s_draft": make_entry(s, "9999.00", datetime.date(2020, 3, 2), "draft"),
        "s_submitted": make_entry(s, "8888.00", datetime.date(2020, 3, 3), "submitted"),
        "s_after": make_entry(s, "20000.00", datetime.date(2020, 4, 18), v),
        "s_last_year": make_entry(s, "40000.00", datetime.date(2019, 12, 31), v),
        "s_december": make_entry(s, "65000.00", datetime.date(2020, 12, 1), v),
        "l_feb": make_entry(ld, "9000.00", datetime.date(2020, 2, 1), v),
        "l_wrong": make_entry(ld, "3000.00", datetime.date(2020, 3, 10), v),
        "y_april": make_entry(y, "7000.00", datetime.date(2020, 4, 12), v),
        "y_next_year": make_entry(y, "30000.00", datetime.date(2021, 1, 2), v),
    }
    returned = make_entry(s, "7777.00", datetime.date(2020, 3, 4), "submitted")
    entry_return(actor=personas["township_admin"], entries=[returned], reason="缺少收入凭证")
    rows["s_returned"] = returned
    rows["l_reversal"] = entry_reverse(
        actor=personas["township_admin"], entry=rows["l_wrong"], reason="重复入账"
    )
    entry_verify(actor=personas["station_head"], entries=[rows["l_reversal"]])  # a second person
    return rows


def _doc(user, unit, as_of, year=2020):
    return progress_document(progress(user=user, unit=unit, year=year, as_of=as_of))


@pytest.mark.parametrize(
    "as_of",
    [
        ARTICLE_DATE,
        datetime.date(2020, 4, 16),
        datetime.date(2020, 4, 11),
        datetime.date(2020, 1, 1),
        datetime.date(2020, 1, 5),
        datetime.date(2020, 12, 31),
    ],
)
def test_progress_equals_the_independent_computation(tree, personas, ledger, as_of):
    admin = personas["township_admin"]
    assert _doc(admin, tree.township, as_of) == expected_document(tree.township, 2020, as_of)


def test_progress_figures_on_the_article_date(tree, personas, ledger):
    """The same figures written out, so that a reader sees what counts."""
    doc = _doc(personas["township_admin"], tree.township, ARTICLE_DATE)
    by_name = {v["name"]: v for v in doc["villages"]}
    # 孙庄村: 10000 (Jan) + 5000 (on as_of); not the grant, draft, submitted, returned, 4-18, 2019 or December rows.
    assert by_name["孙庄村"]["income"] == "15000.00"
    assert by_name["孙庄村"]["completion"] == "0.1500"
    assert by_name["孙庄村"]["gap"] == _round4(Fraction(15, 100) - Fraction(108, 366)) == "-0.1451"
    assert by_name["孙庄村"]["band"] == "red"
    # 刘道村: 9000, the 3000 row and its reversal net to 0.
    assert by_name["刘道村"]["income"] == "9000.00"
    assert by_name["刘道村"]["completion"] == "0.3000"
    assert by_name["刘道村"]["band"] == "green"
    # 杨老头村: 7000 of 30000 = 0.2333, behind 108/366 by less than 10 points.
    assert by_name["杨老头村"]["income"] == "7000.00"
    assert by_name["杨老头村"]["band"] == "yellow"
    assert by_name["编席杨村"]["income"] == "0.00"
    assert by_name["编席杨村"]["band"] == "red"
    assert doc["totals"]["income"] == "31000.00"
    assert doc["totals"]["target"] == "190000.00"
    assert [v["name"] for v in doc["villages"]] == ["刘道村", "杨老头村", "孙庄村", "编席杨村"]
    # A week earlier 杨老头村 had nothing (its row is 04-12) and 孙庄村 only 10000 of 100000.
    assert {v["name"]: v["rank_change"] for v in doc["villages"]} == {
        "刘道村": 0,
        "杨老头村": 1,
        "孙庄村": -1,
        "编席杨村": -1,  # was tied third with 杨老头村, now alone at the bottom
    }


def test_year_end_tiers(tree, personas, ledger):
    doc = _doc(personas["township_admin"], tree.township, datetime.date(2020, 12, 31))
    by_name = {v["name"]: v for v in doc["villages"]}
    assert by_name["孙庄村"]["income"] == "100000.00"  # 10000 + 5000 + 20000 + 65000
    assert doc["totals"]["at_top_tier"] == 1
    assert doc["totals"]["at_baseline"] == 1  # only 孙庄村: 刘道村 9000, 杨老头村 7000 (its 30000 is 2021)
    p = progress(
        user=personas["township_admin"], unit=tree.township, year=2021, as_of=datetime.date(2021, 1, 2)
    )
    # No 2021 campaign: no targets, nothing to show, but no crash either.
    assert p.villages == [] and p.totals.villages == 0


# ---------------------------------------------------------------- time progress and bands


def test_time_progress():
    assert time_progress(ARTICLE_DATE) == Decimal(108) / Decimal(366)
    assert time_progress(datetime.date(2020, 1, 1)) == Decimal(1) / Decimal(366)
    assert time_progress(datetime.date(2020, 12, 31)) == 1
    assert time_progress(datetime.date(2021, 12, 31)) == 1
    assert time_progress(datetime.date(2021, 1, 1)) == Decimal(1) / Decimal(365)
    assert time_progress(datetime.date(2021, 7, 2)) == Decimal(183) / Decimal(365)


@given(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2100, 12, 31)))
def test_time_progress_is_the_share_of_the_year(day):
    expected = _share_of_year(day)
    got = time_progress(day)
    assert abs(Fraction(got) - expected) < Fraction(1, 10**20)
    assert _round4(Fraction(got)) == _round4(expected)


def test_time_progress_in_the_document(tree, personas):
    doc = _doc(personas["township_admin"], tree.township, ARTICLE_DATE)
    assert doc["time_progress"] == "0.2951"
    assert doc["as_of"] == "2020-04-17"


@pytest.mark.parametrize(
    ("income", "gap", "margin", "band"),
    [
        ("100", "0", "10", "green"),
        ("100", "0.5", "10", "green"),
        ("100", "-0.0001", "10", "yellow"),
        ("100", "-0.10", "10", "yellow"),
        ("100", "-0.1001", "10", "red"),
        ("100", "-0.05", "5", "yellow"),
        ("100", "-0.0501", "5", "red"),
        ("100", "-0.0001", "0", "red"),
        ("0", "0.1", "10", "red"),  # nothing earned is red whatever the gap
        ("0", "-0.01", "10", "red"),
        ("-5", "0.1", "10", "red"),
    ],
)
def test_band_for(income, gap, margin, band):
    assert band_for(Decimal(income), Decimal(gap), Decimal(margin)) == band


def test_band_margin_comes_from_the_campaign(tree, personas, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.liudao, "7000.00", datetime.date(2020, 4, 1), "verified")  # 0.2333, 6.2 points behind
    assert {v["name"]: v["band"] for v in _doc(admin, tree.township, ARTICLE_DATE)["villages"]}[
        "刘道村"
    ] == "yellow"
    Campaign.objects.filter(pk=tree.campaign.pk).update(band_margin=Decimal("5.00"))
    assert {v["name"]: v["band"] for v in _doc(admin, tree.township, ARTICLE_DATE)["villages"]}[
        "刘道村"
    ] == "red"
    assert _doc(admin, tree.township, ARTICLE_DATE) == expected_document(tree.township, 2020, ARTICLE_DATE)


# ---------------------------------------------------------------- ranks


def test_rank_ties_share_a_rank(tree, personas, make_entry):
    admin = personas["township_admin"]
    for village in (tree.liudao, tree.yanglaotou):
        make_entry(village, "9000.00", datetime.date(2020, 2, 1), "verified")
    make_entry(tree.bianxiyang, "1000.00", datetime.date(2020, 2, 1), "verified")
    doc = _doc(admin, tree.township, ARTICLE_DATE)
    ranks = {v["name"]: v["rank"] for v in doc["villages"]}
    assert ranks["刘道村"] == ranks["杨老头村"] == 1
    assert ranks["编席杨村"] == 3  # competition ranking: 1, 1, 3
    assert ranks["孙庄村"] == 4
    assert doc == expected_document(tree.township, 2020, ARTICLE_DATE)


def test_equal_completion_ranks_more_income_first(tree, personas, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.sunzhuang, "30000.00", datetime.date(2020, 2, 1), "verified")  # 30000 / 100000
    make_entry(tree.liudao, "9000.00", datetime.date(2020, 2, 1), "verified")  # 9000 / 30000
    doc = _doc(admin, tree.township, ARTICLE_DATE)
    ranks = {v["name"]: v["rank"] for v in doc["villages"]}
    assert ranks["孙庄村"] == 1 and ranks["刘道村"] == 2
    assert ranks["杨老头村"] == ranks["编席杨村"] == 3  # both at zero


def test_rank_change_against_seven_days_earlier(tree, personas, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.liudao, "9000.00", datetime.date(2020, 4, 1), "verified")
    make_entry(
        tree.bianxiyang, "6000.00", datetime.date(2020, 4, 10), "verified"
    )  # exactly 7 days before: old
    make_entry(tree.yanglaotou, "12000.00", datetime.date(2020, 4, 11), "verified")  # 6 days before: new
    doc = _doc(admin, tree.township, ARTICLE_DATE)
    change = {v["name"]: (v["rank"], v["rank_change"]) for v in doc["villages"]}
    # A week ago (04-10): 刘道村 1, 编席杨村 2, 孙庄村 and 杨老头村 3 (both nothing).
    # Now: 杨老头村 1, 刘道村 2, 编席杨村 3, 孙庄村 4.
    assert change == {"杨老头村": (1, 2), "刘道村": (2, -1), "编席杨村": (3, -1), "孙庄村": (4, -1)}
    assert doc == expected_document(tree.township, 2020, ARTICLE_DATE)


# ---------------------------------------------------------------- roll-ups


def test_rollups_sum_to_the_totals(tree, personas, ledger):
    for as_of in (ARTICLE_DATE, datetime.date(2020, 12, 31)):
        p = progress(user=personas["township_admin"], unit=tree.township, year=2020, as_of=as_of)
        for groups, level in ((p.stations, "station"), (p.districts, "district")):
            assert sum(g.villages for g in groups) == p.totals.villages == 4
            assert sum((g.target for g in groups), Decimal(0)) == p.totals.target
            assert sum((g.income for g in groups), Decimal(0)) == p.totals.income
            assert sum(g.at_baseline for g in groups) == p.totals.at_baseline
            assert sum(g.at_top_tier for g in groups) == p.totals.at_top_tier
            for g in groups:
                assert g.level == level
                members = [
                    r
                    for r in p.villages
                    if (r.station_code if level == "station" else r.district_code) == g.code
                ]
                assert g.villages == len(members)
                assert g.income == sum((r.income for r in members), Decimal(0))
                assert g.target == sum((r.target for r in members), Decimal(0))
                assert sum(g.bands.values()) == g.villages
        assert [s.code for s in p.stations] == ["T-S1", "T-S2"]
        assert [d.code for d in p.districts] == ["T-D1", "T-D2", "T-D3"]
        # Independently: station 1 is 孙庄村, 刘道村 and 杨老头村.
        doc = expected_document(tree.township, 2020, as_of)
        s1_income = sum(
            Decimal(v["income"]) for v in doc["villages"] if v["name"] in ("孙庄村", "刘道村", "杨老头村")
        )
        assert p.stations[0].income == s1_income
        assert p.stations[0].villages == 3
        assert p.totals.completion == Decimal(_round4(Fraction(p.totals.income) / Fraction(p.totals.target)))


def test_at_baseline_and_at_top_tier_edges(tree, personas, make_entry):
    """Exactly at the line counts; a fen below does not."""
    make_entry(tree.sunzhuang, "100000.00", datetime.date(2020, 2, 1), "verified")
    make_entry(tree.liudao, "99999.99", datetime.date(2020, 2, 1), "verified")
    make_entry(tree.yanglaotou, "30000.00", datetime.date(2020, 2, 1), "verified")
    make_entry(tree.bianxiyang, "29999.99", datetime.date(2020, 2, 1), "verified")
    totals = _doc(personas["township_admin"], tree.township, ARTICLE_DATE)["totals"]
    assert totals["at_top_tier"] == 1
    assert totals["at_baseline"] == 3


# ---------------------------------------------------------------- scope and arguments


def test_station_view_keeps_township_ranks(tree, personas, ledger):
    head = personas["station_head"]
    doc = _doc(head, tree.station1, ARTICLE_DATE)
    assert {v["code"] for v in doc["villages"]} == {
        tree.sunzhuang.code,
        tree.liudao.code,
        tree.yanglaotou.code,
    }
    assert doc["unit"] == {"code": "T-S1", "name": "一号网格站"}
    assert doc == expected_document(tree.station1, 2020, ARTICLE_DATE)
    township_ranks = {v["code"]: v["rank"] for v in _doc(head, tree.township, ARTICLE_DATE)["villages"]}
    assert {v["code"]: v["rank"] for v in doc["villages"]} == {
        code: township_ranks[code] for code in (tree.sunzhuang.code, tree.liudao.code, tree.yanglaotou.code)
    }
    # A district of the station is fine too.
    assert {v["code"] for v in _doc(head, tree.district1, ARTICLE_DATE)["villages"]} == {
        tree.sunzhuang.code,
        tree.liudao.code,
    }
    # The 擂台 is public within the township: every unit of it, not the county above it.
    for unit in (tree.township, tree.station2, tree.district3, tree.bianxiyang):
        assert _doc(head, unit, ARTICLE_DATE) == expected_document(unit, 2020, ARTICLE_DATE)
    with pytest.raises(PermissionDeniedError):
        progress(user=head, unit=tree.county, year=2020, as_of=ARTICLE_DATE)


@pytest.mark.parametrize("persona", ["auditor", "system_admin", "no_role", "anonymous"])
def test_progress_refused_outside_scope(tree, personas, persona):
    with pytest.raises(PermissionDeniedError):
        progress(user=personas[persona], unit=tree.sunzhuang, year=2020, as_of=ARTICLE_DATE)


def test_village_clerk_sees_own_village(tree, personas, ledger):
    doc = _doc(personas["village_clerk"], tree.sunzhuang, ARTICLE_DATE)
    assert [v["name"] for v in doc["villages"]] == ["孙庄村"]
    assert doc["villages"][0]["income"] == "15000.00"


@pytest.mark.parametrize("as_of", [datetime.date(2019, 12, 31), datetime.date(2021, 1, 1)])
def test_as_of_outside_the_year_is_refused(tree, personas, as_of):
    with pytest.raises(ServiceError) as info:
        progress(user=personas["township_admin"], unit=tree.township, year=2020, as_of=as_of)
    assert info.value.field == "as_of"


def test_default_as_of(settings, tree, personas):
    settings.TODAY = ARTICLE_DATE
    assert default_as_of(2020) == ARTICLE_DATE
    assert default_as_of(2019) == datetime.date(2019, 12, 31)
    assert default_as_of(2021) == datetime.date(2021, 1, 1)
    p = progress(user=personas["township_admin"], unit=tree.township, year=2020)
    assert p.as_of == ARTICLE_DATE
    assert p.time_progress == Decimal(108) / Decimal(366)


# ---------------------------------------------------------------- the document


def test_document_shape(tree, personas, ledger):
    doc = _doc(personas["township_admin"], tree.township, ARTICLE_DATE)
    assert set(doc) == {"year", "as_of", "unit", "time_progress", "totals", "villages"}
    assert set(doc["totals"]) == {"villages", "target", "income", "at_baseline", "at_top_tier"}
    assert doc["year"] == 2020
    assert RATIO.match(doc["time_progress"])
    assert MONEY.match(doc["totals"]["target"]) and MONEY.match(doc["totals"]["income"])
    assert len(doc["villages"]) == doc["totals"]["villages"] == 4
    for v in doc["villages"]:
        assert set(v) == {
            "code", "name", "station", "district", "target", "income",
            "completion", "gap", "band", "rank", "rank_change",
        }  # fmt: skip
        assert MONEY.match(v["target"]) and MONEY.match(v["income"])
        assert RATIO.match(v["completion"]) and RATIO.match(v["gap"])
        assert v["band"] in {"green", "yellow", "red"}
        assert isinstance(v["rank"], int) and isinstance(v["rank_change"], int)


# ---------------------------------------------------------------- random ledgers


STATUSES = [
    Status.VERIFIED,
    Status.VERIFIED,
    Status.VERIFIED,
    Status.SUBMITTED,
    Status.DRAFT,
    Status.RETURNED,
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),  # village
            st.integers(1, 5_000_000),  # fen
            st.dates(datetime.date(2019, 12, 1), datetime.date(2021, 1, 31)),
            st.sampled_from(STATUSES),
            st.booleans(),  # in a counting category
        ),
        max_size=30,
    ),
    as_of=st.dates(datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)),
    targets=st.lists(st.integers(3_000_000, 20_000_000), min_size=4, max_size=4),
)
@example(
    rows=[(0, 1, datetime.date(2020, 1, 1), Status.VERIFIED, True)],
    as_of=datetime.date(2020, 1, 1),
    targets=[3_000_000] * 4,
)  # found in CI: the reference ranked the first week of January against nothing and saw a change
def test_random_ledgers_match_the_independent_computation(
    tree, personas, category, subsidy, path, rows, as_of, targets
):
    admin = personas["township_admin"]
    clerk = personas["village_clerk"]
    now = timezone.now()
    with transaction.atomic():
        targets_set(
            actor=admin,
            campaign=tree.campaign,
            amounts={v.pk: from_fen(t) for v, t in zip(tree.villages, targets, strict=True)},
        )
        Entry.objects.bulk_create(
            Entry(
                village=tree.villages[v],
                date=day,
                amount=from_fen(fen),
                category=category if counts else subsidy,
                path=path,
                summary="随机",
                status=status,
                entered_by=clerk,
                reviewed_by=admin if status in (Status.VERIFIED, Status.RETURNED) else None,
                reviewed_at=now if status in (Status.VERIFIED, Status.RETURNED) else None,
                return_reason="退回" if status == Status.RETURNED else "",
            )
            for v, fen, day, status, counts in rows
        )
        rollup.rebuild()  # bulk_create went around the services that keep the roll-up
        assert _doc(admin, tree.township, as_of) == expected_document(tree.township, 2020, as_of)
        transaction.set_rollback(True)


# ---------------------------------------------------------------- month by month


def test_village_monthly(tree, personas, ledger):
    points = village_monthly(
        user=personas["village_clerk"], village=tree.sunzhuang, year=2020, as_of=datetime.date(2020, 12, 31)
    )
    assert [p.month for p in points] == list(range(1, 13))
    per_month: dict[int, int] = defaultdict(int)
    counts = set(tree.campaign.counted_categories.values_list("pk", flat=True))
    for day, amount, status, category_id in Entry.objects.filter(village=tree.sunzhuang).values_list(
        "date", "amount", "status", "category_id"
    ):
        if status == "verified" and category_id in counts and day.year == 2020:
            per_month[day.month] += _fen(amount)
    running = 0
    for point in points:
        running += per_month[point.month]
        assert point.income == from_fen(per_month[point.month])
        assert point.cumulative == from_fen(running)
        next_month = datetime.date(2020 + point.month // 12, point.month % 12 + 1, 1)
        month_end = next_month - datetime.timedelta(days=1)
        line = Fraction(10_000_000) * _share_of_year(month_end)  # target 100000.00 in fen
        assert point.time_line == from_fen(int(line + Fraction(1, 2)))
    assert points[-1].cumulative == Decimal("100000.00")
    assert points[-1].time_line == Decimal("100000.00")
    early = village_monthly(
        user=personas["village_clerk"], village=tree.sunzhuang, year=2020, as_of=ARTICLE_DATE
    )
    assert early[-1].cumulative == Decimal("15000.00")
    with pytest.raises(PermissionDeniedError):
        village_monthly(user=personas["other_clerk"], village=tree.sunzhuang, year=2020, as_of=ARTICLE_DATE)


def test_counting_is_a_setting_of_the_year_not_of_the_category(tree, personas, make_entry, subsidy):
    """Which categories count is the year's own set: the installation flag only seeds new years."""
    admin = personas["township_admin"]
    make_entry(tree.liudao, "4000.00", datetime.date(2020, 2, 1), "verified", cat=subsidy)

    def liudao() -> str:
        return {v["name"]: v["income"] for v in _doc(admin, tree.township, ARTICLE_DATE)["villages"]}[
            "刘道村"
        ]

    assert liudao() == "0.00"
    Category.objects.filter(pk=subsidy.pk).update(counts_toward_target=True)
    assert liudao() == "0.00"  # the flag is the default of new years; 2020 keeps its own set
    tree.campaign.counted_categories.add(subsidy)
    assert liudao() == "4000.00"


# ---------------------------------------------------------------- edge cases fixed after review


def test_gap_is_never_negative_zero(tree, personas, make_entry) -> None:
    """A village behind time progress by less than half a ten-thousandth prints "0.0000", not "-0.0000"."""
    # 2020-04-17: time progress 108/366. Target 30,000.00 → 8,852.46 is 0.295082 (just ahead),
    # 8,852.45 is 0.2950817 — behind by 0.0000003, which rounds to zero.
    make_entry(tree.liudao, amount="8852.45", date=datetime.date(2020, 4, 1), status="verified")
    doc = progress_document(
        progress(user=personas["township_admin"], unit=tree.township, year=2020, as_of=ARTICLE_DATE)
    )
    row = next(v for v in doc["villages"] if v["code"] == tree.liudao.code)
    assert Fraction(8852_45, 100) / 30000 < Fraction(108, 366)
    assert row["gap"] == "0.0000"
    assert row["band"] == "yellow"


def test_first_week_of_january_shows_no_rank_change(tree, personas, make_entry) -> None:
    """Seven days before 2020-01-05 lies in 2019: there is no earlier standing to compare with."""
    make_entry(tree.liudao, amount="500.00", date=datetime.date(2020, 1, 2), status="verified")
    p = progress(
        user=personas["township_admin"], unit=tree.township, year=2020, as_of=datetime.date(2020, 1, 5)
    )
    assert [r.rank_change for r in p.villages] == [0] * len(p.villages)
    assert p.villages[0].code == tree.liudao.code
    # One day later the window is inside the year again and the changes are real.
    p = progress(
        user=personas["township_admin"], unit=tree.township, year=2020, as_of=datetime.date(2020, 1, 8)
    )
    assert any(r.rank_change != 0 for r in p.villages)


def test_village_monthly_refuses_as_of_outside_the_year(tree, personas) -> None:
    with pytest.raises(ServiceError):
        village_monthly(
            user=personas["township_admin"],
            village=tree.sunzhuang,
            year=2020,
            as_of=datetime.date(2021, 1, 1),
        )
