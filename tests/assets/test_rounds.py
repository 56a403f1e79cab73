"""清产核资: the snapshot is frozen at the start, differences are computed, a second person with VERIFY
signs off, a signed round is read-only, and signing writes the differences back to the register."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from qiangcun.assets import services
from qiangcun.assets.models import Asset, RoundLine, RoundStatus, VerificationRound
from qiangcun.assets.selectors import round_summary
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError

from .conftest import data

pytestmark = pytest.mark.usefixtures("fast_hashing")

BASE = datetime.date(2020, 1, 31)


@pytest.fixture
def register(make_asset):
    """孙庄村: land 35.50 亩 / 120,000.00, an office building 300,000.00, a disposed old machine."""
    land = make_asset()
    office = make_asset(
        code="JY-001",
        name="村委办公楼",
        kind="operating",
        land_class="",
        item_type="building",
        area_mu=None,
        value=Decimal("300000.00"),
        status="in_use",
    )
    old = make_asset(
        code="JY-002",
        name="旧拖拉机",
        kind="operating",
        land_class="",
        item_type="equipment",
        area_mu=None,
        value=Decimal("0.00"),
        status="disposed",
    )
    return land, office, old


def _start(personas, tree):
    return services.round_start(actor=personas["village_clerk"], village=tree.sunzhuang, base_date=BASE)


def test_start_freezes_a_snapshot_of_live_assets(personas, tree, register):
    land, office, _old = register
    r = _start(personas, tree)
    lines = list(r.lines.order_by("position"))
    assert [line.asset_id for line in lines] == [land.pk, office.pk]  # 资源性 first, then 经营性
    snap = {line.asset_id: (line.area_mu, line.value, line.status) for line in lines}
    assert snap[land.pk] == (Decimal("35.50"), Decimal("120000.00"), "idle")
    # editing the asset after the start leaves the snapshot as it was
    services.asset_update(
        actor=personas["village_clerk"],
        asset=land,
        data=data(area_mu=Decimal("40.00"), value=Decimal("1.00")),
    )
    line = r.lines.get(asset=land)
    assert (line.area_mu, line.value, line.status, line.name) == (
        Decimal("35.50"),
        Decimal("120000.00"),
        "idle",
        "村东机动地",
    )
    assert ChangeRecord.objects.get(action="round.start").after["lines"] == 2


def test_one_open_round_per_village(personas, tree, register):
    _start(personas, tree)
    with pytest.raises(ServiceError, match="正在进行"):
        _start(personas, tree)
    with pytest.raises(IntegrityError), transaction.atomic():
        VerificationRound.objects.create(
            village=tree.sunzhuang, base_date=BASE, started_by=personas["village_clerk"]
        )
    # another village may run its own
    services.round_start(actor=personas["township_admin"], village=tree.liudao, base_date=BASE)


def test_start_and_count_need_assets(personas, tree, register):
    with pytest.raises(PermissionDeniedError):
        services.round_start(actor=personas["station_head"], village=tree.sunzhuang, base_date=BASE)
    with pytest.raises(PermissionDeniedError):
        services.round_start(actor=personas["other_clerk"], village=tree.sunzhuang, base_date=BASE)
    r = _start(personas, tree)
    line = r.lines.first()
    with pytest.raises(PermissionDeniedError):
        services.round_line_count(
            actor=personas["other_clerk"], line=line, data=services.CountData(found=True)
        )
    with pytest.raises(PermissionDeniedError):
        services.round_line_count(
            actor=personas["station_head"], line=line, data=services.CountData(found=True)
        )
    line.refresh_from_db()
    assert not line.counted


def _count(personas, r, asset, **kw):
    line = r.lines.get(asset=asset)
    return services.round_line_count(
        actor=personas["village_clerk"], line=line, data=services.CountData(**kw)
    )


@pytest.mark.parametrize(
    ("kw", "result"),
    [
        ({"found": True}, "same"),
        ({"found": True, "area_mu": Decimal("35.50"), "value": Decimal("120000.00")}, "same"),
        ({"found": True, "area_mu": Decimal("38.00")}, "surplus"),
        ({"found": True, "value": Decimal("100000.00")}, "loss"),
        ({"found": True, "area_mu": Decimal("38.00"), "value": Decimal("100000.00")}, "changed"),
        ({"found": True, "status": "in_use"}, "changed"),
        ({"found": False, "note": "已被河道占用"}, "loss"),
    ],
)
def test_differences_computed(personas, tree, register, kw, result):
    land = register[0]
    r = _start(personas, tree)
    line = _count(personas, r, land, **kw)
    assert line.counted and line.result == result
    rec = ChangeRecord.objects.get(action="round.count")
    assert rec.after["result"] == result and rec.actor_id == personas["village_clerk"].pk


def test_loss_needs_a_reason(personas, tree, register):
    r = _start(personas, tree)
    with pytest.raises(ServiceError, match="差异说明"):
        _count(personas, r, register[0], found=False)


def _counted_round(personas, tree, register):
    land, office, _ = register
    r = _start(personas, tree)
    _count(personas, r, land, found=True, area_mu=Decimal("38.20"), value=Decimal("129000.00"), note="实测")
    _count(personas, r, office, found=False, note="2019 年已拆除")
    services.round_add_found(
        actor=personas["village_clerk"],
        round=r,
        name="村北废旧坑塘",
        kind="resource",
        land_class="pond",
        area_mu=Decimal("6.00"),
        value=Decimal("18000.00"),
        status="idle",
        note="历年未入账",
    )
    return r


def test_summary_of_gains_and_losses(personas, tree, register):
    r = _counted_round(personas, tree, register)
    s = round_summary(list(r.lines.all()))
    assert (s.lines, s.counted, s.surplus, s.loss) == (3, 3, 2, 1)
    assert s.surplus_value == Decimal("9000.00") + Decimal("18000.00")
    assert s.loss_value == Decimal("300000.00")
    assert s.surplus_area == Decimal("2.70") + Decimal("6.00")


def test_sign_off_by_a_second_person_with_verify(personas, tree, register):
    r = _counted_round(personas, tree, register)
    for persona in ["village_clerk", "village_secretary", "other_clerk", "leader", "instructor"]:
        with pytest.raises(PermissionDeniedError):
            services.round_sign(actor=personas[persona], round=r)
    # the township admin holds VERIFY but started nothing here; a round the admin started, the admin cannot sign
    r.refresh_from_db()
    assert r.status == RoundStatus.OPEN
    signed = services.round_sign(actor=personas["station_head"], round=r, note="同意")
    assert signed.status == RoundStatus.SIGNED and signed.signed_by == personas["station_head"]
    assert "审核意见：同意" in signed.note


def test_starter_may_not_sign_own_round(personas, tree, register):
    r = services.round_start(actor=personas["township_admin"], village=tree.sunzhuang, base_date=BASE)
    for line in r.lines.all():
        services.round_line_count(
            actor=personas["village_clerk"], line=line, data=services.CountData(found=True)
        )
    with pytest.raises(PermissionDeniedError, match="另一人"):
        services.round_sign(actor=personas["township_admin"], round=r)
    services.round_sign(actor=personas["district_secretary"], round=r)


def test_sign_needs_every_line_counted(personas, tree, register):
    r = _start(personas, tree)
    _count(personas, r, register[0], found=True)
    with pytest.raises(ServiceError, match="村委办公楼"):
        services.round_sign(actor=personas["station_head"], round=r)


def test_sign_writes_back_and_adds_the_surplus(personas, tree, register):
    land, office, _ = register
    r = _counted_round(personas, tree, register)
    services.round_sign(actor=personas["station_head"], round=r)
    land.refresh_from_db()
    office.refresh_from_db()
    assert (land.area_mu, land.value, land.version) == (Decimal("38.20"), Decimal("129000.00"), 2)
    assert office.status == "disposed"
    added = Asset.objects.get(name="村北废旧坑塘")
    assert (added.code, added.kind, added.land_class, added.area_mu, added.value, added.status) == (
        "ZY-002",
        "resource",
        "pond",
        Decimal("6.00"),
        Decimal("18000.00"),
        "idle",
    )
    assert RoundLine.objects.get(added=True).asset == added
    verified = ChangeRecord.objects.filter(action="asset.verify")
    assert {rec.object_pk for rec in verified} == {str(land.pk), str(office.pk)}
    assert ChangeRecord.objects.filter(action="asset.create", object_pk=str(added.pk)).exists()
    assert ChangeRecord.objects.filter(action="round.sign").count() == 1


def test_signed_round_is_read_only(personas, tree, register):
    r = _counted_round(personas, tree, register)
    services.round_sign(actor=personas["station_head"], round=r)
    line = r.lines.first()
    before = list(r.lines.values_list("result", "counted_value", "counted_area_mu"))
    with pytest.raises(ServiceError, match="已签字确认"):
        services.round_line_count(
            actor=personas["village_clerk"], line=line, data=services.CountData(found=True)
        )
    with pytest.raises(ServiceError, match="已签字确认"):
        services.round_add_found(
            actor=personas["village_clerk"],
            round=r,
            name="x",
            kind="resource",
            land_class="pond",
            area_mu=Decimal("1"),
            note="x",
        )
    with pytest.raises(ServiceError, match="已签字确认"):
        services.round_sign(actor=personas["district_secretary"], round=r)
    assert list(r.lines.values_list("result", "counted_value", "counted_area_mu")) == before
    # the register can change again after the round, and a new round may start
    services.round_start(
        actor=personas["village_clerk"], village=tree.sunzhuang, base_date=datetime.date(2021, 1, 31)
    )


def test_signing_keeps_what_changed_in_the_register_during_the_round(personas, tree, register):
    """A line counts only what it found different: the parcel let (出租) and revalued while the round was open
    keeps that status and value; only the area the count corrected is written back."""
    land, office, _ = register
    r = _start(personas, tree)
    services.asset_set_status(actor=personas["village_clerk"], asset=land, status="leased", note="已出租")
    land.refresh_from_db()
    services.asset_update(
        actor=personas["village_clerk"],
        asset=land,
        data=data(value=Decimal("150000.00"), status="leased"),
        expected_version=land.version,
    )
    _count(
        personas, r, land, found=True, area_mu=Decimal("36.00"), note="实测"
    )  # value, status as on the book
    _count(personas, r, office, found=True)
    services.round_sign(actor=personas["station_head"], round=r)
    land.refresh_from_db()
    assert (land.area_mu, land.value, land.status) == (Decimal("36.00"), Decimal("150000.00"), "leased")


def test_a_changed_line_is_in_neither_the_gains_nor_the_losses(personas, tree, register):
    land, office, _ = register
    r = _start(personas, tree)
    # Area down 2.00 亩, value up 800.00: 变动, not 盘盈 800.00 and 盘亏 2.00.
    _count(personas, r, land, found=True, area_mu=Decimal("33.50"), value=Decimal("120800.00"), note="重测")
    _count(personas, r, office, found=True)
    s = round_summary(list(r.lines.all()))
    assert (s.surplus, s.loss, s.changed) == (0, 0, 1)
    assert (s.surplus_value, s.loss_value, s.surplus_area, s.loss_area) == (0, 0, 0, 0)


def test_recounting_an_added_item_keeps_its_figures(personas, tree, register):
    r = _start(personas, tree)
    line = services.round_add_found(
        actor=personas["village_clerk"],
        round=r,
        name="村北废旧坑塘",
        kind="resource",
        land_class="pond",
        area_mu=Decimal("6.00"),
        value=Decimal("18000.00"),
        status="idle",
        note="历年未入账",
    )
    again = services.round_line_count(
        actor=personas["village_clerk"], line=line, data=services.CountData(found=True, note="复核")
    )
    assert (again.counted_area_mu, again.counted_value, again.result) == (
        Decimal("6.00"),
        Decimal("18000.00"),
        "surplus",
    )
