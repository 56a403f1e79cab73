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


@pytest.fixture
def item(tree, personas, work, settings, tmp_path):
    """An item opened by the instructor at 孙庄村 on 1 April, due 10 April (a Friday): overdue on the 17th."""
    from django.utils import timezone

    from qiangcun.supervision.models import Rectification
    from qiangcun.supervision.services import FindingInput, inspection_record

    settings.MEDIA_ROOT = tmp_path / "media"
    day = datetime.date(2020, 4, 1)
    inspection = inspection_record(
        actor=personas["instructor"],
        village=tree.sunzhuang,
        visited_on=day,
        met="村书记",
        findings=[
            FindingInput(
                text="台账凭证不全", owner=personas["village_clerk"], deadline=datetime.date(2020, 4, 10)
            )
        ],
        at=timezone.make_aware(datetime.datetime(2020, 4, 1, 16)),
    )
    return Rectification.objects.get(finding__inspection=inspection)


def test_rectification_items_reach_the_owner_the_inspector_and_the_wider_scope(tree, personas, item):
    from django.utils import timezone

    from qiangcun.supervision.services import rectification_submit

    clerk = _sections(personas["village_clerk"])
    assert "台账凭证不全" in clerk["rect_owner"] and "逾期 5 个工作日" in clerk["rect_owner"]
    assert f"/rectifications/{item.pk}/" in clerk["rect_owner"]
    for who in ("station_head", "district_secretary", "township_admin", "leader"):
        assert "台账凭证不全" in _sections(personas[who])["rect_overdue"], who
    assert "台账凭证不全" not in "".join(_sections(personas["other_clerk"]).values())
    assert "rect_close" not in _sections(personas["leader"])  # reads, does not inspect
    rectification_submit(
        actor=personas["village_clerk"],
        item=item,
        account="已补齐凭证",
        at=timezone.make_aware(datetime.datetime(2020, 4, 16, 9)),
    )
    assert "台账凭证不全" in _sections(personas["instructor"])["rect_close"]
    assert "台账凭证不全" in _sections(personas["district_secretary"])["rect_close"]
    assert "台账凭证不全" not in _sections(personas["village_clerk"])["rect_owner"]
