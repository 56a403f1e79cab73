"""我的工作: each person opens on what is theirs to do, within their scope, each line linking to it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from qiangcun.ledger.models import DevelopmentPath
from qiangcun.ledger.services import entry_return
from qiangcun.plans.services import PathInput, measure_create, plan_save
from tests.conftest import PASSWORD


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _sections(user) -> dict[str, str]:
    html = _client(user).get("/").content.decode()
    assert "<h1>我的工作</h1>" in html
    out = {}
    for chunk in html.split('<section class="card my-section" id="')[1:]:
        key, body = chunk.split('"', 1)
        out[key] = body.split("</section>", 1)[0]
    return out


@pytest.fixture
def work(tree, personas, make_entry, settings):
    """On 2020-04-17: a returned row and a draft in 孙庄村, rows awaiting review in 编席杨村 (station 2) and
    刘道村 (station 1), an overdue
    measure of 孙庄村 owned by its clerk and one of 编席杨村 owned by its own clerk."""
    settings.TODAY = datetime.date(2020, 4, 17)
    land = DevelopmentPath.objects.get(name="土地流转")
    admin = personas["township_admin"]
    returned = make_entry(tree.sunzhuang, amount="321.00", status="submitted")
    entry_return(actor=admin, entries=[returned], reason="缺少收入凭证")
    make_entry(tree.sunzhuang, amount="55.00")
    make_entry(tree.bianxiyang, amount="66.00", status="submitted")
    make_entry(tree.liudao, amount="77.00", status="submitted")
    measures = {}
    for village, owner in (
        (tree.sunzhuang, personas["village_clerk"]),
        (tree.bianxiyang, personas["other_clerk"]),
    ):
        plan = plan_save(
            actor=admin,
            village=village,
            year=2020,
            resources=[],
            paths=[PathInput(path=land, expected=Decimal("1000.00"))],
        )
        measures[village.name] = measure_create(
            actor=admin,
            plan=plan,
            title=f"{village.name}发包机动地",
            owner=owner,
            deadline=datetime.date(2020, 4, 10),
            expected=Decimal("1000.00"),
        )
    return measures


def test_the_clerk_sees_their_returned_rows_drafts_and_measures(tree, personas, work):
    s = _sections(personas["village_clerk"])
    assert "缺少收入凭证" in s["returned"] and "321.00" in s["returned"]
    assert "55.00" in s["drafts"]
    assert "孙庄村发包机动地" in s["measures"] and "逾期 5 个工作日" in s["measures"]
    assert f"/measures/{work['孙庄村'].pk}/" in s["measures"]
    everything = "".join(s.values())
    assert "编席杨村" not in everything and "66.00" not in everything
    assert "review" not in s and "measures_overdue" not in s  # nothing to verify, no wider scope


def test_the_station_head_sees_rows_to_verify_and_overdue_in_the_station(tree, personas, work):
    s = _sections(personas["station_head"])
    assert "1 条台账待审核（1 个村）" in s["review"]  # 刘道村's; the returned row is back with the clerk
    assert "孙庄村发包机动地" in s["measures_overdue"]
    assert "编席杨村" not in s["measures_overdue"]  # another station's
    assert "returned" not in s


def test_the_township_sees_everything_overdue_and_the_totals(tree, personas, work):
    html = _client(personas["township_admin"]).get("/").content.decode()
    s = _sections(personas["township_admin"])
    assert "孙庄村发包机动地" in s["measures_overdue"] and "编席杨村发包机动地" in s["measures_overdue"]
    assert "2 条台账待审核（2 个村）" in s["review"]
    assert "相衙镇 · 计入收入" in html


def test_the_other_clerk_sees_only_their_village(tree, personas, work):
    s = _sections(personas["other_clerk"])
    assert "编席杨村发包机动地" in s["measures"]
    assert "孙庄村" not in "".join(s.values())


def test_the_leader_reads_without_entering(tree, personas, work):
    s = _sections(personas["leader"])
    assert "returned" not in s and "review" not in s
    assert "孙庄村发包机动地" in s["measures_overdue"]
