"""The demo township reproduces the article's figures from its records (DOMAIN.md, "The demo township").

The demo is built once for this module inside a transaction that is rolled back at the end; each test
runs in its own savepoint on top of it."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import DatabaseError, connection, transaction

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.core.audit import ChangeRecord
from qiangcun.demo import builder
from qiangcun.ledger import freeze
from qiangcun.ledger.models import Entry, Recognition, Status
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import counted, progress, progress_document

ARTICLE_DATE = datetime.date(2020, 4, 17)
YEAR_END = datetime.date(2020, 12, 31)
ROSTER = builder.roster()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        freeze.install(connection)
        assert builder.build() is True
        yield
        transaction.set_rollback(True)


@pytest.fixture
def township(demo, db):
    return OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)


@pytest.fixture
def admin(demo, db):
    return User.objects.get(username="demo-admin")


def _counted_income(as_of: datetime.date) -> dict[str, int]:
    """Counted income per village name in fen, straight from the rows and the 2020 campaign's categories."""
    counts = set(Campaign.objects.get(year=2020).counted_categories.values_list("pk", flat=True))
    income: dict[str, int] = defaultdict(int)
    for name, day, amount, status, category_id, spread in Entry.objects.values_list(
        "village__name", "date", "amount", "status", "category_id", "spread"
    ):
        if (
            status == Status.VERIFIED
            and category_id in counts
            and day.year == 2020
            and day <= as_of
            and not spread
        ):
            income[name] += int(amount * 100)
    # A lump sum spread over its years (the five-year rent paid up front) counts by its yearly shares.
    for name, day, amount, status, category_id in Recognition.objects.values_list(
        "village__name", "date", "amount", "entry__status", "category_id"
    ):
        if status == Status.VERIFIED and category_id in counts and day.year == 2020 and day <= as_of:
            income[name] += int(amount * 100)
    return income


def test_the_tree(township):
    stations = OrgUnit.objects.filter(level=Level.STATION, parent=township)
    districts = OrgUnit.objects.filter(level=Level.DISTRICT, parent__in=stations)
    villages = OrgUnit.objects.filter(level=Level.VILLAGE, parent__in=districts)
    assert stations.count() == 5
    assert districts.count() == 10
    assert villages.count() == 67
    assert OrgUnit.objects.filter(level=Level.VILLAGE).count() == 67
    names = list(villages.values_list("name", flat=True))
    assert len(set(names)) == 67
    assert all(name.endswith("村") for name in names)
    # Exactly the roster's placement.
    placed = {
        (s.name, d.name, v.name)
        for v in villages.select_related("parent__parent")
        for d, s in [(v.parent, v.parent.parent)]
    }
    expected = {
        (s["name"], d["name"], v) for s in ROSTER["stations"] for d in s["districts"] for v in d["villages"]
    }
    assert placed == expected
    assert township.name == "相衙镇" and township.parent.name == "宁津县"


def test_targets(township):
    campaign = Campaign.objects.get(township=township, year=2020)
    assert campaign.baseline == Decimal("30000.00")
    assert campaign.top_tier == Decimal("100000.00")
    assert campaign.goal_top_tier_villages == 21
    assert list(campaign.counted_categories.order_by("order").values_list("name", flat=True)) == [
        "经营收入",
        "发包及上交收入",
        "投资收益",
    ]
    targets = {
        t.village.name: t.amount
        for t in VillageTarget.objects.filter(campaign=campaign).select_related("village")
    }
    assert len(targets) == 67
    assert sum(1 for a in targets.values() if a == Decimal("100000.00")) == 21
    assert all(a >= Decimal("30000.00") for a in targets.values())
    assert targets == {v["name"]: Decimal(v["target_2020"]) for v in ROSTER["villages"]}


def test_year_end(township, admin):
    p = progress(user=admin, unit=township, year=2020, as_of=YEAR_END)
    assert len(p.villages) == 67
    income = _counted_income(YEAR_END)
    assert {r.name: int(r.income * 100) for r in p.villages} == {
        n: income[n] for n in {r.name for r in p.villages}
    }
    assert all(r.income >= Decimal("30000.00") for r in p.villages)
    top = {r.name for r in p.villages if r.income >= Decimal("100000.00")}
    assert len(top) == 21
    assert top == {r.name for r in p.villages if r.target >= Decimal("100000.00")}
    assert p.totals.at_baseline == 67
    assert p.totals.at_top_tier == 21
    assert sum(income.values()) == int(p.totals.income * 100)


def test_investment_income_on_the_article_date(township):
    tagged = set(OrgUnit.objects.filter(tags__name="招商引资项目用地").values_list("name", flat=True))
    assert len(tagged) == 3
    rows = Entry.objects.filter(path__name="招商引资", status=Status.VERIFIED, date__lte=ARTICLE_DATE)
    in_tagged = [r for r in rows.select_related("village") if r.village.name in tagged]
    assert sum((r.amount for r in in_tagged), Decimal(0)) == Decimal("220000.00")
    assert Decimal(ROSTER["township_facts"]["investment_collective_income"]) == Decimal("220000.00")
    # No other 招商引资 income before the article, and every tagged village received some.
    assert len(in_tagged) == rows.count()
    assert {r.village.name for r in in_tagged} == tagged


def test_tags_come_from_the_roster(township):
    roster_counts = Counter(tag for v in ROSTER["villages"] for tag in v["tags"])
    db_counts = Counter(OrgUnit.objects.filter(level=Level.VILLAGE).values_list("tags__name", flat=True))
    db_counts.pop(None, None)
    assert db_counts == roster_counts
    # The article's figures.
    assert db_counts["省级重点贫困村"] == 11
    assert db_counts["党组织领办合作社（2020）"] == 17
    assert db_counts["党组织领办合作社（2022计划）"] == 10
    assert db_counts["合作联社覆盖"] == 13
    assert db_counts["计划使用强村贷"] == 7
    assert db_counts["清产核资"] == 2
    assert db_counts["招商引资项目用地"] == 3
    secretaries = [
        "省派第一书记",
        "县派第一书记（省定贫困村）",
        "县派第一书记（软弱涣散村）",
        "公开遴选党支部书记",
    ]
    assert [db_counts[t] for t in secretaries] == [3, 8, 2, 4]
    assert sum(db_counts[t] for t in secretaries) == 17
    per_village = {
        v.name: sorted(v.tags.values_list("name", flat=True))
        for v in OrgUnit.objects.filter(level=Level.VILLAGE)
    }
    assert per_village == {v["name"]: sorted(v["tags"]) for v in ROSTER["villages"]}


def test_rows_in_every_state_of_the_article_moment(township):
    submitted = Entry.objects.filter(status=Status.SUBMITTED)
    returned = Entry.objects.filter(status=Status.RETURNED)
    drafts = Entry.objects.filter(status=Status.DRAFT)
    assert submitted.exists() and returned.exists() and drafts.exists()
    assert all(r.return_reason for r in returned)
    for e in [*submitted, *returned, *drafts]:
        assert datetime.date(2020, 4, 1) <= e.date <= ARTICLE_DATE
    assert Entry.objects.filter(status=Status.VERIFIED).count() > 67 * 3


def test_article_date_progress(township, admin):
    p = progress(user=admin, unit=township, year=2020, as_of=ARTICLE_DATE)
    assert p.time_progress == Decimal(108) / Decimal(366)
    doc = progress_document(p)
    assert doc["time_progress"] == "0.2951"
    assert doc["totals"]["villages"] == 67
    income = _counted_income(ARTICLE_DATE)
    assert {v["name"]: v["income"] for v in doc["villages"]} == {
        name: f"{Decimal(income[name]) / 100:.2f}" for name in (v["name"] for v in doc["villages"])
    }
    # Pending rows are in the demo but not in the figures.
    pending = Entry.objects.exclude(status=Status.VERIFIED).values_list("village__name", "amount")
    assert pending
    # Ranks are competition ranks over (completion, income).
    keys = {v.name: (Fraction(v.income) / Fraction(v.target), v.income) for v in p.villages}
    for v in p.villages:
        assert v.rank == 1 + sum(k > keys[v.name] for k in keys.values())


def test_the_reversal(township):
    reversals = list(Entry.objects.filter(reverses__isnull=False).select_related("reverses", "village"))
    assert len(reversals) == 1
    (rev,) = reversals
    assert rev.village.name == "孙庄村"
    assert rev.amount == -rev.reverses.amount == Decimal("-12800.00")
    assert rev.status == rev.reverses.status == Status.VERIFIED
    pair = counted(Entry.objects.filter(pk__in=[rev.pk, rev.reverses_id]), 2020)
    assert sum((e.amount for e in pair), Decimal(0)) == 0
    assert Entry.objects.filter(
        village=rev.village, amount=Decimal("12080.00"), status=Status.VERIFIED
    ).exists()


def test_rows_are_verified_by_the_village_station_head(township):
    heads: dict[int, set[str]] = defaultdict(set)
    for user_id, path in RoleGrant.objects.filter(role=Role.STATION_HEAD).values_list(
        "user_id", "unit__path"
    ):
        heads[user_id].add(path)
    secretaries: dict[int, set[str]] = defaultdict(set)
    for user_id, path in RoleGrant.objects.filter(role=Role.DISTRICT_SECRETARY).values_list(
        "user_id", "unit__path"
    ):
        secretaries[user_id].add(path)
    verified = Entry.objects.filter(status=Status.VERIFIED).select_related("village", "reverses")
    for e in verified:
        # Nobody verifies a row they entered, nor the reversal of a row they entered.
        assert e.reviewed_by_id != e.entered_by_id
        assert e.reviewed_by_id != (e.reverses.entered_by_id if e.reverses else e.entered_by_id)
        if e.reverses is not None:  # the station head's reversal, verified by the district secretary
            assert any(e.village.path.startswith(path) for path in secretaries[e.reviewed_by_id]), e
        else:
            assert any(e.village.path.startswith(path) for path in heads[e.reviewed_by_id]), e


def test_every_row_has_its_change_records(township):
    entries = Entry.objects.count()
    created = ChangeRecord.objects.filter(model="ledger.entry", action="ledger.create").count()
    reversed_ = ChangeRecord.objects.filter(model="ledger.entry", action="ledger.reverse").count()
    assert created + reversed_ == entries
    verified = Entry.objects.filter(status=Status.VERIFIED).count()
    assert ChangeRecord.objects.filter(action="ledger.verify").count() == verified
    assert (
        ChangeRecord.objects.filter(action="ledger.return").count()
        == Entry.objects.filter(status=Status.RETURNED).count()
    )


def test_demo_accounts(township):
    for username, _display, role, _unit in builder.ACCOUNTS:
        user = User.objects.get(username=username)
        assert RoleGrant.objects.filter(user=user, role=role).exists()
    assert User.objects.get(username="demo-admin").check_password(builder.DEMO_PASSWORD)
    clerk = User.objects.get(username="demo-clerk")
    assert clerk.scope_paths("enter") == (OrgUnit.objects.get(name="孙庄村").path,)
    # Every village has a clerk, every station a head, every district a secretary.
    for level, role in (
        (Level.VILLAGE, Role.VILLAGE_CLERK),
        (Level.STATION, Role.STATION_HEAD),
        (Level.DISTRICT, Role.DISTRICT_SECRETARY),
    ):
        units = set(OrgUnit.objects.filter(level=level).values_list("pk", flat=True))
        granted = set(
            RoleGrant.objects.filter(role=role, unit__level=level).values_list("unit_id", flat=True)
        )
        assert granted == units


def test_demo_rows_are_frozen(township):
    row = Entry.objects.filter(status=Status.VERIFIED).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=row.pk).update(amount=Decimal("1.00"))
    assert Entry.objects.get(pk=row.pk).amount == row.amount


def test_progress_cli_json_on_the_demo(township):
    """Done-when of issue 2: `qiangcun progress --year 2020 --format json` on the demo lists 67
    villages, 21 with target 100000.00, all with target ≥ 30000.00 — and equals the selector's document."""
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("progress", "--year", "2020", "--format", "json", stdout=out)
    doc = json.loads(out.getvalue())
    assert doc["unit"] == {"code": township.code, "name": "相衙镇"}
    assert doc["as_of"] == "2020-12-31"  # a past year defaults to its last day
    assert doc["totals"]["villages"] == len(doc["villages"]) == 67
    targets = [Decimal(v["target"]) for v in doc["villages"]]
    assert sum(t == Decimal("100000.00") for t in targets) == 21
    assert all(t >= Decimal("30000.00") for t in targets)
    assert doc["totals"]["at_baseline"] == 67 and doc["totals"]["at_top_tier"] == 21
    everyone = User.objects.get(username="demo-admin")
    assert doc == progress_document(progress(user=everyone, unit=township, year=2020, as_of=YEAR_END))


def test_login_page_lists_demo_accounts_in_demo_mode_only(township, client, settings):
    settings.DEMO, settings.DEMO_PASSWORD = True, builder.DEMO_PASSWORD
    page = client.get("/login/").content.decode()
    for username, display, role, _unit in builder.ACCOUNTS:
        assert username in page and display in page and str(role.label) in page
    assert builder.DEMO_PASSWORD in page
    assert "clerk-371422" not in page  # the 67 generated clerks are not listed
    settings.DEMO = False
    page = client.get("/login/").content.decode()
    assert "demo-admin" not in page and builder.DEMO_PASSWORD not in page


def test_every_village_has_illustrative_boundaries(township):
    """示意 boundaries for all 67 villages, generated the same on every run, tiling the township outline."""
    import json

    from shapely.geometry import shape
    from shapely.ops import unary_union

    from qiangcun.demo.boundaries import boundaries_bytes
    from qiangcun.orgs.models import VillageGeometry

    shapes = list(VillageGeometry.objects.select_related("village").order_by("village__path"))
    assert len(shapes) == 67
    assert all(s.illustrative and s.kind == "polygon" for s in shapes)
    assert {s.village.name for s in shapes} == {v["name"] for v in ROSTER["villages"]}
    polygons = [shape(json.loads(s.geometry)) for s in shapes]
    assert all(p.is_valid and p.area > 0 for p in polygons)
    # Cells do not overlap: their areas add up to the area of their union.
    assert sum(p.area for p in polygons) == pytest.approx(unary_union(polygons).area, rel=1e-4)
    # Around 宁津县's real place on the map.
    minx, miny, maxx, maxy = unary_union(polygons).bounds
    assert 116.55 < minx < maxx < 116.95 and 37.5 < miny < maxy < 37.8
    districts = [d["villages"] for s in ROSTER["stations"] for d in s["districts"]]
    assert boundaries_bytes(districts) == boundaries_bytes(districts)  # seeded: the same on every run
    record = ChangeRecord.objects.get(action="geometry.import")
    assert record.after["sketch"] is True and record.after["shapes"] == 67


def test_plans_path_counts_come_from_the_plans(township, admin):
    """一村一策: 67 plans; the table's and the API's path counts equal counts made here straight from the
    plan rows — and those are the article's (34 土地流转, 13 现代农业) and the roster's."""
    from qiangcun.plans.models import Plan, PlanPath
    from qiangcun.plans.selectors import plan_table, plans_summary

    assert Plan.objects.filter(year=2020).count() == 67
    independent: Counter[str] = Counter()
    seen: set[tuple[int, str]] = set()
    for village_id, name in PlanPath.objects.filter(plan__year=2020).values_list(
        "plan__village_id", "path__name"
    ):
        assert (village_id, name) not in seen
        seen.add((village_id, name))
        independent[name] += 1
    assert independent["土地流转"] == 34 and independent["现代农业"] == 13
    assert independent == Counter(p for v in ROSTER["villages"] for p in v["paths"])
    summary = plans_summary(plan_table(admin, township, 2020, ARTICLE_DATE))
    assert summary["villages"] == 67
    assert summary["villages_by_path"] == dict(independent)


def test_plans_are_consistent_with_the_ledger(township, admin):
    """Every ledger row that counts comes from a path of its village's plan, and each path's measure is
    linked to exactly its village's rows on that path; statuses stand on the article's day."""
    from qiangcun.plans.models import Measure, MeasureEntry, PlanPath
    from qiangcun.plans.selectors import measures_overdue

    chosen = set(PlanPath.objects.values_list("plan__village_id", "path_id"))
    rows = Entry.objects.filter(date__year=2020, category__counts_toward_target=True)
    assert rows.exists()
    assert {(v, p) for v, p in rows.values_list("village_id", "path_id")} <= chosen
    for link in MeasureEntry.objects.select_related("entry", "measure__plan"):
        assert link.entry.village_id == link.measure.plan.village_id
        assert link.entry.path_id == link.measure.path_id
    statuses = Counter(Measure.objects.values_list("status", flat=True))
    assert statuses["done"] and statuses["active"] and statuses["planned"]
    assert not Measure.objects.filter(done_on__gt=ARTICLE_DATE).exists()
    overdue = measures_overdue(admin, as_of=ARTICLE_DATE)
    assert overdue and all(m.deadline < ARTICLE_DATE and m.status != "done" for m, _ in overdue)
    tagged = Counter()
    for title in Measure.objects.values_list("title", flat=True):
        tagged["强村贷"] += "强村贷" in title
        tagged["清产核资"] += "清产核资" in title
    assert tagged == Counter({"强村贷": 7, "清产核资": 2})


def test_a_year_of_monthly_inspections_with_items_in_every_state(township, admin):
    """一月一督查: a round every month from May 2019 to April 2020, every village visited; items in every
    state on the article's day (sent back ones too), some overdue; interviews, some followed up; the last
    bulletin's annex lists the overdue items and measures."""
    from qiangcun.supervision.models import Bulletin, Inspection, Interview, Rectification, RectificationEvent
    from qiangcun.supervision.selectors import rectifications_overdue

    months = {(d.year, d.month) for d in Inspection.objects.values_list("visited_on", flat=True)}
    assert months == {(2019, m) for m in range(5, 13)} | {(2020, m) for m in range(1, 5)}
    assert Inspection.objects.values("village").distinct().count() == 67
    assert not Inspection.objects.filter(visited_on__gt=ARTICLE_DATE).exists()
    states = Counter(Rectification.objects.values_list("status", flat=True))
    assert set(states) == {"open", "rectifying", "submitted", "closed"}
    assert RectificationEvent.objects.filter(kind="reopen").exists()
    for item in Rectification.objects.filter(status="closed").select_related("closed_by"):
        assert item.closed_by_id not in (item.owner_id, item.submitted_by_id)
    overdue = rectifications_overdue(township, ARTICLE_DATE)
    assert overdue
    interviews = Interview.objects.all()
    assert interviews.count() >= 5 and interviews.filter(followed_up_at__isnull=False).exists()
    last = Bulletin.objects.order_by("-number").first()
    assert last.week_end == ARTICLE_DATE
    annex = {s["key"]: s["rows"] for s in last.snapshot["overdue"]}
    assert len(annex["rectifications"]) == len(overdue) and annex["measures"]


def test_land_transfer_income_is_the_payments_on_contracts(township, admin):
    """The 34 land-transfer villages have contracts whose payments make their 土地流转 income: no 土地流转
    row of 2020 was typed, and each payment posted exactly one row."""
    from qiangcun.contracts.models import Contract, Payment

    roster = {v["name"] for v in builder.roster()["villages"] if "土地流转" in v["paths"]}
    assert len(roster) == 34
    land = Entry.objects.filter(path__name="土地流转", date__year=2020)
    assert land.exists() and not land.exclude(source="contract").exists()
    with_contracts = set(Contract.objects.values_list("village__name", flat=True).distinct())
    assert with_contracts == roster == set(land.values_list("village__name", flat=True).distinct())
    assert Payment.objects.count() == Entry.objects.filter(source="contract").count() == land.count()
    assert set(Payment.objects.values_list("entry_id", flat=True)) == set(land.values_list("pk", flat=True))
    # Every payment's row carries its amount; the five-year rent paid up front counts one fifth in 2020.
    for p in Payment.objects.select_related("entry"):
        assert (
            p.entry.amount == p.amount
            and p.entry.date == p.date
            and p.entry.village_id == p.contract.village_id
        )
    [spread] = Entry.objects.filter(spread=True)
    shares = list(spread.recognitions.order_by("year").values_list("year", "amount"))
    assert [y for y, _ in shares] == [2020, 2021, 2022, 2023, 2024]
    assert all(a == spread.amount / 5 for _, a in shares)


def test_the_contracts_on_the_article_day(township, admin):
    """On 17 April 2020 the township sees money owed and overdue, contracts about to end, a rent far below
    the median — all from the contracts and payments."""
    from qiangcun.contracts.selectors import summary, summary_document

    s = summary(user=admin, unit=township, year=2020, as_of=builder.ARTICLE_DATE)
    doc = summary_document(s)
    assert doc["villages"] == 34 and doc["contracts"] > 100
    assert Decimal(doc["received"]) > 0 and Decimal(doc["receivable"]) > 0
    assert s.overdue_contracts > 0 and Decimal(doc["overdue"]["amount"]) > 0
    # Some tenants paid ahead: received more than the due instalments they paid, and no village's rate
    # goes above 100%.
    assert s.collected < s.received and Decimal(doc["collected"]) == s.collected
    assert all(v.rate is not None and v.rate <= 100 for v in s.by_village if v.receivable)
    assert s.expiring_90d > 0 and all(c.end <= datetime.date(2020, 7, 16) for c in s.expiring)
    assert s.low_rents and s.low_rents[0].contract.land_class == "arable"
    # At the year's end the late payers have paid; the tenants who never paid are still owed.
    end = summary(user=admin, unit=township, year=2020, as_of=YEAR_END)
    assert 0 < end.overdue_contracts < s.overdue_contracts + 6
    assert all(a.line.band == ">180天" for a in end.arrears)
    # The leases that were about to end have ended: their parcels are flagged, none other; none in April.
    assert not s.lapsed_assets
    assert {a.pk for a in end.lapsed_assets} == {a.pk for c in s.expiring for a in c.assets.all()}
