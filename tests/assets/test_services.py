"""Register writes: who may make them, what is refused (and then nothing saved), the change log, stale edits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from qiangcun.assets import services
from qiangcun.assets.models import Asset, AssetFile
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError

from .conftest import data

pytestmark = pytest.mark.usefixtures("fast_hashing")

WRITERS = ["township_admin", "village_secretary", "village_clerk"]
REFUSED = [
    "leader",
    "station_head",
    "district_secretary",
    "instructor",
    "other_clerk",
    "system_admin",
    "auditor",
    "no_role",
]


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_create_with_a_change_record(personas, tree, persona):
    asset = services.asset_create(actor=personas[persona], village=tree.sunzhuang, data=data())
    assert (asset.code, asset.area_mu, asset.value, asset.version) == (
        "ZY-001",
        Decimal("35.50"),
        Decimal("120000.00"),
        1,
    )
    rec = ChangeRecord.objects.get(model="assets.asset", object_pk=str(asset.pk))
    assert rec.action == "asset.create" and rec.actor_id == personas[persona].pk
    assert rec.after["area_mu"] == "35.50" and rec.after["value"] == "120000.00"
    assert rec.unit_path == tree.sunzhuang.path


@pytest.mark.parametrize("persona", REFUSED)
def test_others_are_refused_and_nothing_saved(personas, tree, persona):
    with pytest.raises(PermissionDeniedError):
        services.asset_create(actor=personas[persona], village=tree.sunzhuang, data=data())
    assert not Asset.objects.exists()
    assert not ChangeRecord.objects.filter(model="assets.asset").exists()


def test_other_village_clerk_may_not_touch_an_asset(personas, make_asset):
    asset = make_asset()
    other = personas["other_clerk"]
    with pytest.raises(PermissionDeniedError):
        services.asset_update(actor=other, asset=asset, data=data(name="改名"))
    with pytest.raises(PermissionDeniedError):
        services.asset_set_status(actor=other, asset=asset, status="leased")
    png = SimpleUploadedFile("地.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    with pytest.raises(PermissionDeniedError):
        services.asset_file_add(actor=other, asset=asset, files=[png])
    asset.refresh_from_db()
    assert (asset.name, asset.status, asset.version) == ("村东机动地", "idle", 1)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"code": ""}, "code", "请填写资产编号"),
        ({"code": "资产1"}, "code", "资产编号只能用"),
        ({"name": " "}, "name", "请填写名称"),
        ({"kind": "cash"}, "kind", "类别应为"),
        ({"land_class": ""}, "land_class", "请选择地类"),
        ({"area_mu": None}, "area_mu", "请填写面积"),
        ({"area_mu": Decimal("-1")}, "area_mu", "不能为负数"),
        ({"area_mu": Decimal("1.234")}, "area_mu", "最多两位小数"),
        ({"value": Decimal("-0.01")}, "value", "不能为负数"),
        ({"value": Decimal("1.001")}, "value", "到分"),
        ({"kind": "operating", "land_class": "arable", "item_type": ""}, "land_class", "只有资源性资产"),
        ({"item_type": "building"}, "item_type", "不填资产类型"),
        ({"status": "lost"}, "status", "状态应为"),
        ({"note": "a\x00b"}, "note", "控制字符"),
    ],
)
def test_bad_input_names_the_field(personas, tree, change, field, words):
    with pytest.raises(ServiceError) as caught:
        services.asset_create(actor=personas["village_clerk"], village=tree.sunzhuang, data=data(**change))
    assert caught.value.field == field and words in caught.value.message
    assert not Asset.objects.exists()


def test_code_unique_per_village_not_across(personas, tree, make_asset):
    make_asset()
    with pytest.raises(ServiceError) as caught:
        make_asset()
    assert caught.value.field == "code" and "已经用过" in caught.value.message
    other = services.asset_create(actor=personas["township_admin"], village=tree.liudao, data=data())
    assert other.code == "ZY-001"


def test_village_only(personas, tree):
    with pytest.raises(ServiceError, match="按行政村登记"):
        services.asset_create(actor=personas["township_admin"], village=tree.district1, data=data())


def test_update_bumps_version_records_before_after_and_refuses_stale(personas, make_asset):
    asset = make_asset()
    clerk, secretary = personas["village_clerk"], personas["village_secretary"]
    services.asset_update(actor=clerk, asset=asset, data=data(area_mu=Decimal("36.00")), expected_version=1)
    asset.refresh_from_db()
    assert (asset.area_mu, asset.version) == (Decimal("36.00"), 2)
    rec = ChangeRecord.objects.filter(action="asset.update").get()
    assert rec.before["area_mu"] == "35.50" and rec.after["area_mu"] == "36.00"
    with pytest.raises(services.StaleAssetError) as caught:
        services.asset_update(actor=secretary, asset=asset, data=data(name="旧表单"), expected_version=1)
    assert "已被他人修改过" in caught.value.message
    asset.refresh_from_db()
    assert (asset.name, asset.version) == ("村东机动地", 2)


def test_set_status(personas, make_asset):
    asset = make_asset()
    asset = services.asset_set_status(
        actor=personas["village_clerk"], asset=asset, status="leased", note="发包"
    )
    assert (asset.status, asset.version) == ("leased", 2)
    rec = ChangeRecord.objects.get(action="asset.status")
    assert (rec.before["status"], rec.after["status"], rec.note) == ("idle", "leased", "发包")
    with pytest.raises(ServiceError, match="已经是"):
        services.asset_set_status(actor=personas["village_clerk"], asset=asset, status="leased")


def test_files_recognised_by_first_bytes(personas, make_asset):
    asset = make_asset()
    clerk = personas["village_clerk"]
    fake = SimpleUploadedFile("照片.jpg", b"MZ\x90\x00 not a photo", content_type="image/jpeg")
    png = SimpleUploadedFile("现场.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    with pytest.raises(ServiceError, match="不是 PDF 或照片"):
        services.asset_file_add(actor=clerk, asset=asset, files=[png, fake])
    assert not AssetFile.objects.exists()  # checked before any is written
    png.seek(0)
    pdf = SimpleUploadedFile("权证.pdf", b"%PDF-1.4 deed")
    made = services.asset_file_add(actor=clerk, asset=asset, files=[png, pdf], kind="document")
    assert [f.original_name for f in made] == ["现场.png", "权证.pdf"]
    assert made[0].file.name.startswith(f"assets/{asset.village.code}/{asset.pk}/")
    assert ChangeRecord.objects.filter(action="asset.file_add").count() == 2


def test_database_constraints(personas, tree):
    clerk = personas["village_clerk"]
    base = {"village": tree.sunzhuang, "created_by": clerk, "name": "x"}
    bad = [
        {"code": "A", "kind": "resource", "area_mu": Decimal("-1")},
        {"code": "B", "kind": "resource", "value": Decimal("-1.00")},
        {"code": "C", "kind": "operating", "land_class": "arable"},
        {"code": "D", "kind": "gold"},
    ]
    for fields in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Asset.objects.create(**base, **fields)
    assert not Asset.objects.exists()
