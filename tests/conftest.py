"""Shared fixtures: a small township tree, one persona per role, the freeze triggers and the change log's
append-only triggers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.core import guard
from qiangcun.ledger import freeze
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from qiangcun.ledger.services import entry_create, entry_submit, entry_verify
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import Campaign
from qiangcun.targets.services import campaign_create, targets_set

PASSWORD = "test-pass-12345"


@pytest.fixture(autouse=True)
def _failure_counts_cleared():
    """Failure records are limited per person and minute in the process's cache (core.middleware): each
    test starts with none counted (primary keys repeat from test to test)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _second_factor_off(request: pytest.FixtureRequest, settings) -> None:
    """The township admin and the 三员 must bind an authenticator before any page opens. Tests about
    something else sign those personas in with the password only; tests of the requirement itself are
    marked ``@pytest.mark.otp_required`` (tests/accounts/test_security.py)."""
    if request.node.get_closest_marker("otp_required") is None:
        settings.OTP_REQUIRED_ROLES = []


@pytest.fixture(autouse=True)
def _freeze_triggers(request: pytest.FixtureRequest):
    """Verified rows are frozen by database triggers, and change records are append-only (core/guard.py).
    Tests that flush tables (transactional and browser
    tests: DELETE on SQLite, TRUNCATE on PostgreSQL, both refused while a verified row exists) drop the
    triggers just before the flush; every database test (re)creates them."""
    names = set(request.fixturenames)
    uses_db = bool(names & {"db", "transactional_db", "live_server"}) or request.node.get_closest_marker(
        "django_db"
    )
    if not uses_db:
        yield
        return
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(names & {"transactional_db", "live_server"}) or bool(
        marker and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    freeze.install(connection)
    guard.install(connection)
    _ensure_defaults()
    yield
    if transactional:
        freeze.uninstall(connection)
        guard.uninstall(connection)


def _ensure_defaults() -> None:
    """The categories and paths a data migration seeds; a transactional test's flush empties them."""
    from qiangcun.ledger.defaults import CATEGORIES, PATHS

    if Category.objects.exists():
        return
    for order, (line, name, counts) in enumerate(CATEGORIES, start=1):
        Category.objects.create(line=line, name=name, counts_toward_target=counts, order=order)
    for order, name in enumerate(PATHS, start=1):
        DevelopmentPath.objects.create(name=name, order=order)


@dataclass
class Tree:
    county: OrgUnit
    township: OrgUnit
    station1: OrgUnit
    station2: OrgUnit
    district1: OrgUnit
    district2: OrgUnit
    district3: OrgUnit
    sunzhuang: OrgUnit  # station1 / district1
    liudao: OrgUnit  # station1 / district1
    yanglaotou: OrgUnit  # station1 / district2
    bianxiyang: OrgUnit  # station2 / district3
    campaign: Campaign

    @property
    def villages(self) -> list[OrgUnit]:
        return [self.sunzhuang, self.liudao, self.yanglaotou, self.bianxiyang]


def _user(username: str, role: str | None, unit: OrgUnit | None) -> User:
    user = user_create(actor=None, username=username, password=PASSWORD, display_name=username)
    if role and unit:
        grant_create(actor=None, user=user, role=role, unit=unit)
    return user


@pytest.fixture
def tree(db) -> Tree:
    county = unit_create(actor=None, level=Level.COUNTY, name="宁津县", code="371422000000")
    township = unit_create(
        actor=None, level=Level.TOWNSHIP, name="相衙镇", code="371422105000", parent=county
    )
    s1 = unit_create(actor=None, level=Level.STATION, name="一号网格站", code="T-S1", parent=township)
    s2 = unit_create(actor=None, level=Level.STATION, name="二号网格站", code="T-S2", parent=township)
    d1 = unit_create(actor=None, level=Level.DISTRICT, name="第一管区", code="T-D1", parent=s1)
    d2 = unit_create(actor=None, level=Level.DISTRICT, name="第二管区", code="T-D2", parent=s1)
    d3 = unit_create(actor=None, level=Level.DISTRICT, name="第三管区", code="T-D3", parent=s2)
    v1 = unit_create(actor=None, level=Level.VILLAGE, name="孙庄村", code="371422105201", parent=d1)
    v2 = unit_create(actor=None, level=Level.VILLAGE, name="刘道村", code="371422105202", parent=d1)
    v3 = unit_create(
        actor=None,
        level=Level.VILLAGE,
        name="杨老头村",
        code="371422105203",
        parent=d2,
        tags=["省级重点贫困村"],
    )
    v4 = unit_create(
        actor=None,
        level=Level.VILLAGE,
        name="编席杨村",
        code="371422105204",
        parent=d3,
        tags=["省级重点贫困村"],
    )
    admin = _user("admin", Role.TOWNSHIP_ADMIN, township)
    campaign = campaign_create(
        actor=admin,
        township=township,
        year=2020,
        baseline=Decimal("30000.00"),
        top_tier=Decimal("100000.00"),
        goal_top_tier_villages=1,
    )
    targets_set(actor=admin, campaign=campaign, amounts={v1.pk: Decimal("100000.00")})
    return Tree(county, township, s1, s2, d1, d2, d3, v1, v2, v3, v4, campaign)


@pytest.fixture
def personas(tree: Tree) -> dict[str, User | None]:
    """One user per role; ``anonymous`` is ``None``."""
    return {
        "township_admin": User.objects.get(username="admin"),
        "leader": _user("leader", Role.LEADER, tree.township),
        "station_head": _user("station", Role.STATION_HEAD, tree.station1),
        "district_secretary": _user("district", Role.DISTRICT_SECRETARY, tree.district1),
        "instructor": _user("instructor", Role.INSTRUCTOR, tree.sunzhuang),
        "village_secretary": _user("secretary", Role.VILLAGE_SECRETARY, tree.sunzhuang),
        "village_clerk": _user("clerk", Role.VILLAGE_CLERK, tree.sunzhuang),
        "other_clerk": _user("other-clerk", Role.VILLAGE_CLERK, tree.bianxiyang),
        "system_admin": _user("sysadmin", Role.SYSTEM_ADMIN, tree.township),
        "auditor": _user("auditor", Role.AUDITOR, tree.township),
        "no_role": _user("nobody", None, None),
        "anonymous": None,
    }


@pytest.fixture
def category() -> Category:
    return Category.objects.get(name="经营收入")


@pytest.fixture
def subsidy() -> Category:
    return Category.objects.get(name="补助收入")


@pytest.fixture
def path() -> DevelopmentPath:
    return DevelopmentPath.objects.get(name="现代农业")


@pytest.fixture
def make_entry(personas, category, path):
    """Make a row in a village: ``status`` draft, submitted or verified (by the station head or admin)."""

    def make(
        village: OrgUnit,
        amount: str = "1000.00",
        date: datetime.date = datetime.date(2020, 3, 1),
        status: str = "draft",
        clerk: User | None = None,
        cat: Category | None = None,
    ) -> Entry:
        if clerk is None:
            clerk = _clerk_for(village)
        entry = entry_create(
            actor=clerk,
            village=village,
            date=date,
            amount=Decimal(amount),
            category=cat or category,
            path=path,
            summary="测试收入",
            counterparty="测试单位",
        )
        if status in ("submitted", "verified"):
            entry = entry_submit(actor=clerk, entry=entry)
        if status == "verified":
            entry = entry_verify(actor=personas["township_admin"], entries=[entry])[0]
        return entry

    return make


def _clerk_for(village: OrgUnit) -> User:
    username = f"clerk-{village.code}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = _user(username, Role.VILLAGE_CLERK, village)
    return user


def login(client, user: User | None) -> None:
    if user is not None:
        client.force_login(user)


@pytest.fixture
def fast_hashing(settings):
    """A fast password hasher: a persona set takes ~3 s with PBKDF2 and ~0.1 s with MD5. Tests that do not
    check password hashing itself can ask for it (``pytestmark = pytest.mark.usefixtures("fast_hashing")``)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class OtherTownship:
    township: OrgUnit
    village: OrgUnit
    clerk: User


@pytest.fixture
def other_township(tree: Tree) -> OtherTownship:
    """A second township of the same county, with one village, its 2020 campaign and its clerk."""
    township = unit_create(
        actor=None, level=Level.TOWNSHIP, name="杜集镇", code="371422106000", parent=tree.county
    )
    station = unit_create(actor=None, level=Level.STATION, name="杜集网格站", code="U-S1", parent=township)
    district = unit_create(actor=None, level=Level.DISTRICT, name="杜集管区", code="U-D1", parent=station)
    village = unit_create(
        actor=None, level=Level.VILLAGE, name="杜集村", code="371422106201", parent=district
    )
    admin = _user("other-admin", Role.TOWNSHIP_ADMIN, township)
    campaign_create(
        actor=admin,
        township=township,
        year=2020,
        baseline=Decimal("30000.00"),
        top_tier=Decimal("100000.00"),
        goal_top_tier_villages=0,
    )
    return OtherTownship(township, village, _user("far-clerk", Role.VILLAGE_CLERK, village))
