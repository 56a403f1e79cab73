"""The register and 清产核资 pages: who sees what (200 / 403 / 404), filters and totals, forms that refuse
bad input saying which field, the count and sign-off through the pages, exports that carry the figures."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from qiangcun.assets import services
from qiangcun.assets.models import Asset
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _client(user) -> Client:
    client = Client()
    login(client, user)
    return client


@pytest.fixture
def two_villages(make_asset, personas, tree):
    a = make_asset()
    b = make_asset(
        village=tree.bianxiyang,
        actor=personas["other_clerk"],
        code="ZY-009",
        name="编席杨坑塘",
        land_class="pond",
        area_mu=Decimal("12.00"),
        value=Decimal("5000.00"),
    )
    return a, b


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("township_admin", {"村东机动地", "编席杨坑塘"}),
        ("station_head", {"村东机动地"}),
        ("village_clerk", {"村东机动地"}),
        ("other_clerk", {"编席杨坑塘"}),
    ],
)
def test_register_shows_the_scope_only(personas, two_villages, persona, sees):
    response = _client(personas[persona]).get(reverse("assets"))
    assert response.status_code == 200
    shown = {a.name for a in response.context["rows"]}
    assert shown == sees
    body = response.content.decode()
    for name in {"村东机动地", "编席杨坑塘"} - sees:
        assert name not in body


def test_register_area_is_lands_only(personas, two_villages, make_asset):
    # A building's floor area, if entered, is not 土地等资源 and not idle land.
    make_asset(
        code="JY-009",
        name="旧仓库",
        kind="operating",
        land_class="",
        item_type="building",
        area_mu=Decimal("0.80"),
        value=Decimal("30000.00"),
        status="idle",
    )
    t = _client(personas["township_admin"]).get(reverse("assets")).context["t"]
    assert (t.all.count, t.all.area_mu, t.idle.count, t.idle.area_mu) == (
        3,
        Decimal("47.50"),
        3,
        Decimal("47.50"),
    )
    assert sum((r.area_mu for r in t.by_kind), Decimal("0")) == t.all.area_mu


def test_register_totals_and_filters(personas, two_villages, tree):
    client = _client(personas["township_admin"])
    t = client.get(reverse("assets")).context["t"]
    assert (t.all.count, t.all.area_mu, t.all.value) == (2, Decimal("47.50"), Decimal("125000.00"))
    assert t.idle.area_mu == Decimal("47.50")
    assert [(r.label, r.area_mu) for r in t.by_land_class] == [
        ("耕地", Decimal("35.50")),
        ("坑塘水面", Decimal("12.00")),
    ]
    only = client.get(reverse("assets"), {"village": tree.bianxiyang.code})
    assert [a.name for a in only.context["rows"]] == ["编席杨坑塘"]
    assert client.get(reverse("assets"), {"kind": "operating"}).context["rows"] == []
    assert client.get(reverse("assets"), {"status": "bogus"}).status_code == 400
    assert (
        _client(personas["village_clerk"])
        .get(reverse("assets"), {"village": tree.bianxiyang.code})
        .status_code
        == 403
    )


def test_register_lists_a_page_at_a_time_and_totals_all(personas, two_villages, monkeypatch):
    from qiangcun.assets import views

    monkeypatch.setattr(views, "ASSETS_PAGE", 1)
    client = _client(personas["township_admin"])
    first, second, beyond = (client.get(reverse("assets"), {"page": n}) for n in ("1", "2", "99"))
    assert [a.name for a in first.context["rows"]] == ["村东机动地"]
    assert [a.name for a in second.context["rows"]] == ["编席杨坑塘"]
    assert [a.name for a in beyond.context["rows"]] == ["编席杨坑塘"]  # past the end: the last page
    assert first.context["t"].all.count == second.context["t"].all.count == 2
    body = first.content.decode()
    assert "第 1 / 2 页" in body and "下一页" in body and "上一页" not in body
    assert client.get(reverse("assets"), {"page": "x' OR 1=1"}).status_code == 200


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("township_admin", 200),
        ("station_head", 200),
        ("village_clerk", 200),
        ("other_clerk", 404),
        ("auditor", 403),
        ("no_role", 403),
    ],
)
def test_asset_page(personas, two_villages, persona, status):
    response = _client(personas[persona]).get(reverse("asset", args=[two_villages[0].pk]))
    assert response.status_code == status
    if status == 200:
        assert "35.50 亩" in response.content.decode() and "120,000.00 元" in response.content.decode()


def test_asset_history_says_what_changed(personas, make_asset):
    asset = make_asset()
    services.asset_set_status(actor=personas["village_clerk"], asset=asset, status="leased", note="发包")
    body = _client(personas["station_head"]).get(reverse("asset", args=[asset.pk])).content.decode()
    assert "改状态：状态 闲置 → 出租（发包）" in body and "登记" in body


def test_anonymous_goes_to_login(two_villages):
    response = Client().get(reverse("assets"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_new_form_saves_or_names_the_field(personas, tree):
    client = _client(personas["village_clerk"])
    form = {
        "village": tree.sunzhuang.code,
        "code": "ZY-003",
        "name": "村西林地",
        "kind": "resource",
        "land_class": "forest",
        "area_mu": "1,200.5",
        "value": "",
        "status": "idle",
    }
    bad = client.post(reverse("asset_new"), {**form, "area_mu": "12亩"})
    assert bad.status_code == 400 and bad.context["field"] == "area_mu"
    assert "不是数字" in bad.context["error"]
    assert not Asset.objects.exists()
    good = client.post(reverse("asset_new"), form)
    asset = Asset.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("asset", args=[asset.pk])
    assert (asset.area_mu, asset.value, asset.land_class) == (Decimal("1200.50"), None, "forest")
    # another village's form is not the clerk's
    assert client.post(reverse("asset_new"), {**form, "village": tree.bianxiyang.code}).status_code == 404


def test_edit_form_refuses_a_stale_version(personas, make_asset):
    asset = make_asset()
    client = _client(personas["village_clerk"])
    page = client.get(reverse("asset_edit", args=[asset.pk]))
    assert page.context["v"]["version"] == 1
    form = {k: v for k, v in page.context["v"].items() if v is not None}
    services.asset_set_status(actor=personas["village_secretary"], asset=asset, status="leased")
    stale = client.post(reverse("asset_edit", args=[asset.pk]), {**form, "name": "新名"})
    assert stale.status_code == 400 and "已被他人修改过" in stale.context["error"]
    asset.refresh_from_db()
    assert asset.name == "村东机动地"


def test_round_pages_count_and_sign(personas, tree, make_asset):
    land = make_asset()
    clerk = _client(personas["village_clerk"])
    start = clerk.post(reverse("rounds"), {"village": tree.sunzhuang.code, "base_date": "2020-01-31"})
    assert start.status_code == 302
    r = tree.sunzhuang.verification_rounds.get()
    line = r.lines.get()
    assert (
        clerk.post(
            reverse("round_count", args=[line.pk]),
            {"found": "1", "area_mu": "30", "value": "", "status": "idle"},
        ).status_code
        == 302
    )
    line.refresh_from_db()
    assert (line.result, line.counted_area_mu, line.counted_value) == (
        "loss",
        Decimal("30.00"),
        Decimal("120000.00"),
    )
    page = clerk.get(reverse("round", args=[r.pk]))
    assert page.context["may_count"] and not page.context["may_sign"]
    assert 'class="diff"' in page.content.decode()
    # the other village's clerk sees nothing of it; the station head signs
    assert _client(personas["other_clerk"]).get(reverse("round", args=[r.pk])).status_code == 404
    head = _client(personas["station_head"])
    assert head.get(reverse("round", args=[r.pk])).context["may_sign"]
    assert head.post(reverse("round_sign", args=[r.pk]), {"note": "同意"}).status_code == 302
    land.refresh_from_db()
    assert land.area_mu == Decimal("30.00")
    page = clerk.get(reverse("round", args=[r.pk]))
    assert not page.context["may_count"] and "round_count" not in page.content.decode()


def test_register_export_carries_the_figures(personas, two_villages):
    from qiangcun.core.audit import ChangeRecord

    response = _client(personas["township_admin"]).get(reverse("assets_export"))
    assert response.status_code == 200
    (taken,) = ChangeRecord.objects.filter(action="asset.export")
    assert taken.actor_id == personas["township_admin"].pk and "2 项" in taken.note
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb["资产台账"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "相衙镇集体资产台账"
    body = [r for r in rows[3:] if r[1] in ("ZY-001", "ZY-009")]
    assert {(r[0], r[2], r[5], r[7]) for r in body} == {
        ("孙庄村", "村东机动地", 35.5, 120000),
        ("编席杨村", "编席杨坑塘", 12, 5000),
    }
    total = next(r for r in rows if r[0] == "合计")
    assert (total[5], total[7]) == (47.5, 125000)
    summary = list(wb["分类汇总"].iter_rows(values_only=True))
    assert ("资源性资产", 2, 47.5, 125000) in summary
    # the clerk's export holds the clerk's village only
    mine = _client(personas["village_clerk"]).get(reverse("assets_export"))
    names = [r[2] for r in load_workbook(io.BytesIO(mine.content))["资产台账"].iter_rows(values_only=True)]
    assert "编席杨坑塘" not in names and "村东机动地" in names


def test_round_export_in_the_form_layout(personas, tree, make_asset):
    land = make_asset()
    r = services.round_start(
        actor=personas["village_clerk"], village=tree.sunzhuang, base_date=datetime.date(2020, 1, 31)
    )
    services.round_line_count(
        actor=personas["village_clerk"],
        line=r.lines.get(asset=land),
        data=services.CountData(found=True, value=Decimal("100000.00"), note="评估减值"),
    )
    services.round_add_found(
        actor=personas["village_clerk"],
        round=r,
        name="村北坑塘",
        kind="resource",
        land_class="pond",
        area_mu=Decimal("6.00"),
        value=Decimal("18000.00"),
        note="历年未入账",
    )
    services.round_sign(actor=personas["station_head"], round=r)
    response = _client(personas["station_head"]).get(reverse("round_export", args=[r.pk]))
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "农村集体资产清查表"
    assert "孙庄村" in rows[1][0] and "2020年01月31日" in rows[1][0]
    assert list(rows[2]) == [
        "序号",
        "资产编号",
        "名称",
        "类别",
        "坐落",
        "面积（亩）",
        "账面价值",
        "清查数",
        "盘盈",
        "盘亏",
        "差异说明",
    ]
    loss = rows[3]
    assert (loss[1], loss[6], loss[7], loss[8], loss[9]) == ("ZY-001", 120000, 100000, None, 20000)
    assert "评估减值" in loss[10]
    gain = rows[4]
    assert (gain[1], gain[2], gain[7], gain[8]) == ("ZY-002", "村北坑塘", 18000, 18000)
    total = rows[5]
    assert (total[1], total[8], total[9]) == ("合计", 18000, 20000)
    sign = next(r[0] for r in rows if r[0] and str(r[0]).startswith("清查人"))
    assert "审核人：station" in sign and "日期：" in sign
