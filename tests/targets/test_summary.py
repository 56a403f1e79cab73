"""The summary above the townships (a county, city or province: one line per unit under it, no row per
village) adds up to exactly what the progress table shows for the same villages."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from qiangcun.accounts.models import Role
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.ledger.services import entry_create, entry_submit, entry_verify
from qiangcun.orgs.models import Level
from qiangcun.orgs.services import unit_create
from qiangcun.targets.selectors import Rollup, board_summary, progress
from qiangcun.targets.services import campaign_create, targets_set
from tests.conftest import _user

APRIL = datetime.date(2020, 4, 17)


def figures(r: Rollup) -> tuple:
    return (
        r.code,
        r.villages,
        r.target,
        r.income,
        r.at_baseline,
        r.at_top_tier,
        r.top_targets,
        dict(r.bands),
    )


@pytest.fixture
def ledger(tree, make_entry, subsidy):
    make_entry(tree.sunzhuang, "40000.00", datetime.date(2020, 2, 3), status="verified")
    make_entry(tree.sunzhuang, "12.34", datetime.date(2020, 4, 16), status="verified")
    make_entry(tree.liudao, "9000.00", datetime.date(2020, 3, 30), status="verified")
    make_entry(tree.liudao, "31000.00", datetime.date(2020, 4, 30), status="verified")  # after the day
    make_entry(tree.bianxiyang, "29999.99", datetime.date(2020, 1, 2), status="verified")
    make_entry(
        tree.bianxiyang, "50000.00", datetime.date(2020, 1, 2), status="verified", cat=subsidy
    )  # not counted
    make_entry(tree.yanglaotou, "7777.00", datetime.date(2020, 4, 1), status="submitted")  # not verified


def test_a_townships_summary_is_its_stations_as_the_table_shows_them(tree, personas, ledger):
    admin = personas["township_admin"]
    table = progress(user=admin, unit=tree.township, year=2020, as_of=APRIL)
    summary = board_summary(user=admin, unit=tree.township, year=2020, as_of=APRIL)
    assert [figures(r) for r in summary.children] == [figures(r) for r in table.stations]
    assert figures(summary.totals) == figures(table.totals)
    assert summary.totals.income == Decimal("79012.33")  # 40,012.34 + 9,000.00 + 29,999.99
    assert summary.totals.bands == {"green": 3, "yellow": 0, "red": 1}


def test_a_province_city_and_county_each_add_up_their_children(tree, personas, ledger, category, path):
    """Two townships in two counties of two cities of one province: each level's lines are the sums of
    the progress tables of the townships under them."""
    province = unit_create(actor=None, level=Level.PROVINCE, name="山东省", code="370000000000")
    city_a = unit_create(actor=None, level=Level.CITY, name="德州市", code="371400000000", parent=province)
    city_b = unit_create(actor=None, level=Level.CITY, name="济南市", code="370100000000", parent=province)
    county_b = unit_create(actor=None, level=Level.COUNTY, name="章丘区", code="370114000000", parent=city_b)
    town_b = unit_create(
        actor=None, level=Level.TOWNSHIP, name="官庄街道", code="370114001000", parent=county_b
    )
    station = unit_create(actor=None, level=Level.STATION, name="官庄站", code="B-S1", parent=town_b)
    district = unit_create(actor=None, level=Level.DISTRICT, name="官庄管区", code="B-D1", parent=station)
    villages = [
        unit_create(
            actor=None, level=Level.VILLAGE, name=f"官庄{n}村", code=f"37011400120{n}", parent=district
        )
        for n in range(1, 4)
    ]
    admin_b = _user("admin-b", Role.TOWNSHIP_ADMIN, town_b)
    campaign = campaign_create(actor=admin_b, township=town_b, year=2020, baseline=Decimal("20000.00"))
    targets_set(actor=admin_b, campaign=campaign, amounts={villages[0].pk: Decimal("150000.00")})
    for village, amount, day in [
        (villages[0], "150000.00", datetime.date(2020, 3, 3)),
        (villages[1], "20000.00", datetime.date(2020, 4, 17)),
    ]:
        clerk = _user(f"clerk-{village.code}", Role.VILLAGE_CLERK, village)
        entry = entry_create(
            actor=clerk,
            village=village,
            date=day,
            amount=Decimal(amount),
            category=category,
            path=path,
            summary="收入",
        )
        entry_verify(actor=admin_b, entries=[entry_submit(actor=clerk, entry=entry)])

    # The test tree's county sits apart (a root of its own); the province holds the second township.
    leader = _user("province-leader", Role.LEADER, province)
    summary = board_summary(user=leader, unit=province, year=2020, as_of=APRIL)
    table_b = progress(user=admin_b, unit=town_b, year=2020, as_of=APRIL)
    assert [r.code for r in summary.children] == [city_b.code]  # 德州市 has no village with a target
    assert figures(summary.children[0])[1:] == figures(table_b.totals)[1:]
    assert summary.totals.income == Decimal("170000.00") and summary.totals.at_baseline == 2
    assert summary.totals.at_top_tier == 1 and summary.totals.bands["green"] == 2
    county_summary = board_summary(user=leader, unit=county_b, year=2020, as_of=APRIL)
    assert [figures(r)[1:] for r in county_summary.children] == [figures(table_b.totals)[1:]]
    assert city_a.code not in [r.code for r in summary.children]


def test_above_a_township_only_those_granted_there_see_the_summary(tree, personas, ledger):
    """The 擂台 is public within a township; a county's (city's, province's) summary is not public to the
    villages under it."""
    for persona in ("village_clerk", "station_head", "township_admin"):
        with pytest.raises(PermissionDeniedError):
            board_summary(user=personas[persona], unit=tree.county, year=2020, as_of=APRIL)
    county_leader = _user("county-leader", Role.LEADER, tree.county)
    summary = board_summary(user=county_leader, unit=tree.county, year=2020, as_of=APRIL)
    assert [r.code for r in summary.children] == [tree.township.code]
    with pytest.raises(ServiceError):
        board_summary(user=county_leader, unit=tree.county, year=2020, as_of=datetime.date(2021, 1, 1))


def test_the_summary_api_document(client, tree, personas, ledger):
    county_leader = _user("county-leader", Role.LEADER, tree.county)
    client.force_login(county_leader)
    body = client.get(f"/api/v1/progress/summary?unit={tree.county.code}&year=2020&as_of=2020-04-17").json()
    assert body["unit"] == {"code": tree.county.code, "name": "宁津县", "level": "county"}
    assert body["totals"]["income"] == "79012.33" and body["totals"]["villages"] == 4
    assert body["children"][0]["code"] == tree.township.code
    assert body["children"][0]["bands"] == {"green": 3, "yellow": 0, "red": 1}
    client.force_login(personas["village_clerk"])
    assert client.get(f"/api/v1/progress/summary?unit={tree.county.code}&year=2020").status_code == 403


def test_a_countys_page_lists_its_villages_a_page_at_a_time_and_its_townships(
    client, tree, personas, ledger, monkeypatch
):
    from qiangcun.targets import views

    monkeypatch.setattr(views, "PROGRESS_PAGE_SIZE", 3)
    client.force_login(_user("county-leader", Role.LEADER, tree.county))
    first = client.get(f"/progress/?unit={tree.county.code}&year=2020&as_of=2020-04-17").content.decode()
    second = client.get(
        f"/progress/?unit={tree.county.code}&year=2020&as_of=2020-04-17&page=2"
    ).content.decode()
    assert "共 4 个村 · 第 1 / 2 页" in first and "第 2 / 2 页" in second
    names = ["孙庄村", "刘道村", "杨老头村", "编席杨村"]
    on_first = {n for n in names if f">{n}<" in first}
    on_second = {n for n in names if f">{n}<" in second}
    assert len(on_first) == 3 and len(on_second) == 1 and on_first | on_second == set(names)
    assert "各镇汇总" in first and f"?unit={tree.township.code}&amp;year=2020&amp;as_of=2020-04-17" in first
    assert "79,012.33" in first  # the totals are the county's, not the page's


def test_a_provinces_page_is_its_summary(client, tree, personas):
    province = unit_create(actor=None, level=Level.PROVINCE, name="山东省", code="370000000000")
    unit_create(actor=None, level=Level.CITY, name="德州市", code="371400000000", parent=province)
    client.force_login(_user("province-leader", Role.LEADER, province))
    html = client.get(f"/progress/?unit={province.code}&year=2020&as_of=2020-04-17").content.decode()
    assert "山东省2020年村集体经济收入进度汇总" in html and "没有本年度目标的村" in html
    for url in ("/progress/export.xlsx", "/map/", "/api/v1/progress"):  # by county, not at once
        response = client.get(f"{url}?unit={province.code}&year=2020")
        assert response.status_code == 400 and "村太多" in response.content.decode(), url
    client.force_login(personas["township_admin"])
    assert client.get(f"/progress/?unit={province.code}&year=2020").status_code == 403


def test_a_villages_summary_is_its_own_line(tree, personas, ledger):
    """Below the township the summary still reads the township's campaign (found in review: a village's
    summary failed with a KeyError)."""
    clerk = personas["village_clerk"]
    summary = board_summary(user=clerk, unit=tree.sunzhuang, year=2020, as_of=APRIL)
    table = progress(user=clerk, unit=tree.sunzhuang, year=2020, as_of=APRIL)
    assert figures(summary.totals)[1:] == figures(table.totals)[1:] and summary.totals.villages == 1
    assert [(r.code, r.name) for r in summary.children] == [(tree.sunzhuang.code, "孙庄村")]


def test_a_poster_is_one_townships_wall(client, tree, personas):
    """A county's (city's, province's) villages are no one-page poster: refused in words, and the page
    above a township offers none — WeasyPrint would spend minutes on a thousand rows."""
    client.force_login(_user("county-leader", Role.LEADER, tree.county))
    response = client.get(f"/progress/poster.pdf?unit={tree.county.code}&year=2020&as_of=2020-04-17")
    assert response.status_code == 400 and "挂图按镇制作" in response.content.decode()
    page = client.get(f"/progress/?unit={tree.county.code}&year=2020&as_of=2020-04-17").content.decode()
    assert "挂图 A1" not in page
    town = client.get(f"/progress/?unit={tree.township.code}&year=2020&as_of=2020-04-17").content.decode()
    assert "挂图 A1" in town


def test_a_province_leaders_home_page_reads_the_summary(client, tree, personas, ledger, monkeypatch):
    """My work for a leader of a province: the province's totals and how many villages are behind, from
    the summary — never a progress table of every village of the province."""
    from qiangcun.targets import selectors

    province = unit_create(actor=None, level=Level.PROVINCE, name="山东省", code="370000000000")
    city = unit_create(actor=None, level=Level.CITY, name="德州市", code="371400000000", parent=province)
    county = unit_create(actor=None, level=Level.COUNTY, name="陵城区", code="371403000000", parent=city)
    town = unit_create(actor=None, level=Level.TOWNSHIP, name="边临镇", code="371403100000", parent=county)
    station = unit_create(actor=None, level=Level.STATION, name="边临站", code="P-S1", parent=town)
    district = unit_create(actor=None, level=Level.DISTRICT, name="边临管区", code="P-D1", parent=station)
    unit_create(actor=None, level=Level.VILLAGE, name="边临村", code="371403100201", parent=district)
    unit_create(actor=None, level=Level.VILLAGE, name="后边临村", code="371403100202", parent=district)
    admin = _user("admin-p", Role.TOWNSHIP_ADMIN, town)
    campaign_create(actor=admin, township=town, year=2020)
    client.force_login(_user("province-leader", Role.LEADER, province))
    monkeypatch.setattr(selectors, "progress", None)  # must not be called for the province
    from qiangcun.web import mywork

    monkeypatch.setattr(mywork, "progress", None)
    html = client.get("/?year=2020").content.decode()
    assert "山东省 · 计入收入" in html and "山东省落后的村 2 个" in html
    assert re.search(r"红色预警村 <span[^>]*>2</span>", html)  # the badge counts villages, not lines
