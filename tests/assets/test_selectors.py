"""Reads of the register: the idle 亩 the contracts summary asks for, within the reader's scope; totals by
kind and land class; the register page runs the same number of queries whatever its length."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from qiangcun.assets import selectors
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def spread(make_asset, personas, tree):
    make_asset()  # 孙庄村 idle 耕地 35.50
    make_asset(code="ZY-002", name="坑塘", land_class="pond", area_mu=Decimal("4.25"), status="in_use")
    make_asset(
        code="JY-001",
        name="旧仓库",
        kind="operating",
        land_class="",
        item_type="building",
        area_mu=None,
        value=Decimal("50000.00"),
        status="idle",
    )
    make_asset(village=tree.bianxiyang, actor=personas["other_clerk"], area_mu=Decimal("10.00"))
    make_asset(
        village=tree.liudao, actor=personas["township_admin"], area_mu=Decimal("7.75"), status="disposed"
    )


def test_idle_area_and_assets_by_scope(personas, tree, spread):
    admin, station, other = personas["township_admin"], personas["station_head"], personas["other_clerk"]
    assert selectors.idle_area_mu(admin, tree.township) == Decimal("45.50")
    assert selectors.idle_area_mu(station, tree.township) == Decimal("35.50")  # station 1 only
    assert selectors.idle_area_mu(other, tree.township) == Decimal("10.00")
    assert selectors.idle_area_mu(admin, tree.station2) == Decimal("10.00")
    assert selectors.idle_area_mu(personas["auditor"], tree.township) == Decimal("0.00")
    names = sorted(a.name for a in selectors.idle_assets(admin, tree.township))
    assert names == ["旧仓库", "村东机动地", "村东机动地"]
    assert all(a.status == "idle" for a in selectors.idle_assets(station, tree.township))
    by_village = selectors.idle_by_village(admin, tree.township)
    assert [(v.name, area, n) for v, area, n in by_village] == [
        ("孙庄村", Decimal("35.50"), 2),
        ("编席杨村", Decimal("10.00"), 1),
    ]


def test_totals_leave_disposed_out(personas, tree, spread):
    t = selectors.totals(selectors.assets_visible(personas["township_admin"], tree.township))
    assert (t.all.count, t.all.area_mu, t.all.value) == (4, Decimal("49.75"), Decimal("410000.00"))
    assert [(r.label, r.count) for r in t.by_kind] == [("资源性资产", 3), ("经营性资产", 1)]
    assert [(r.label, r.area_mu) for r in t.by_land_class] == [
        ("耕地", Decimal("45.50")),
        ("坑塘水面", Decimal("4.25")),
    ]
    assert (t.idle.count, t.idle.area_mu) == (3, Decimal("45.50"))


def test_register_page_queries_do_not_grow(personas, tree, make_asset):
    client = Client()
    login(client, personas["township_admin"])
    make_asset()
    client.get(reverse("assets"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("assets")).status_code == 200
    for n in range(2, 30):
        make_asset(
            code=f"ZY-{n:03d}",
            village=tree.sunzhuang if n % 2 else tree.bianxiyang,
            actor=personas["township_admin"],
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("assets")).status_code == 200
    assert len(many) == len(few)
