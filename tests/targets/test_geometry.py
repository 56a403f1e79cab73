"""Village shapes (issue 8): the GeoJSON reader refuses a bad file with the reason, naming the feature;
the service replaces a township's shapes all or nothing, with its audit record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.orgs import geometry
from qiangcun.orgs.geometry import GeometryError, read_geometries
from qiangcun.orgs.models import VillageGeometry
from qiangcun.orgs.services import geometry_import

pytestmark = pytest.mark.usefixtures("fast_hashing")

SQUARE = [[116.70, 37.60], [116.72, 37.60], [116.72, 37.62], [116.70, 37.62], [116.70, 37.60]]
BOWTIE = [[116.4, 37.5], [116.6, 37.7], [116.6, 37.5], [116.4, 37.7], [116.4, 37.5]]


def square(dx: float = 0.0) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x + dx, y] for x, y in SQUARE]]}


def feature(name: str | None, geom: Any, **props: Any) -> dict[str, Any]:
    properties = {"name": name, **props} if name is not None else props
    return {"type": "Feature", "properties": properties, "geometry": geom}


def collection(*features: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def four(tree: Any) -> bytes:
    """A good file: the tree's four villages, side by side."""
    return collection(*(feature(v.name, square(0.03 * i)) for i, v in enumerate(tree.villages)))


# --- the reader ---------------------------------------------------------------------------------------


def test_a_good_file_gives_every_village_its_shape(tree):
    read = read_geometries(four(tree), tree.township)
    assert [s.village for s in read.shapes] == tree.villages
    assert {s.kind for s in read.shapes} == {"polygon"}
    assert read.missing == []


def test_names_match_without_the_suffix_and_codes_win(tree):
    data = collection(
        feature("孙庄", square()),  # without 村
        feature(" 刘 道 村 ", {"type": "Point", "coordinates": [116.71, 37.61]}),
        feature("随便写的名字", square(0.06), code=tree.yanglaotou.code),
    )
    read = read_geometries(data, tree.township)
    assert {s.village.name: s.kind for s in read.shapes} == {
        "孙庄村": "polygon",
        "刘道村": "point",
        "杨老头村": "polygon",
    }
    assert read.missing == [tree.bianxiyang]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件是空的"),
        (b"\xff\xfe\x00garbage", "不是 GeoJSON 文件：文件不是 UTF-8 编码的文本"),
        (b"{not json", "不是 GeoJSON 文件：内容不是有效的 JSON"),
        (
            b'{"type": "Feature", "geometry": null}',
            "不是 GeoJSON 文件：最外层应为 FeatureCollection（要素集合）",
        ),
        (b"[1, 2]", "不是 GeoJSON 文件：最外层应为 FeatureCollection（要素集合）"),
        (b'{"type": "FeatureCollection"}', "不是 GeoJSON 文件：FeatureCollection 缺少 features 列表"),
        (b'{"type": "FeatureCollection", "features": []}', "文件中没有任何要素"),
        (
            b'{"type": "FeatureCollection", "features": [{"type": "Polygon", "coordinates": []}]}',
            "第 1 个要素：不是 GeoJSON 要素（type 应为 Feature）",
        ),
        (
            b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},'
            b'"geometry":{"type":"Point","coordinates":[NaN, 37]}}]}',
            "不是 GeoJSON 文件：内容不是有效的 JSON",
        ),
    ],
)
def test_a_file_that_is_not_geojson_is_refused(tree, data, message):
    with pytest.raises(GeometryError) as caught:
        read_geometries(data, tree.township)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        (
            {"type": "LineString", "coordinates": [[116.7, 37.6], [116.8, 37.7]]},
            "第 2 个要素（刘道村）：图形类型为 LineString，只能是 Polygon、MultiPolygon（边界）或 Point（位置点）",
        ),
        (None, "第 2 个要素（刘道村）：缺少几何图形（geometry）"),
        (
            {"type": "Point", "coordinates": ["116.7", 37.6]},
            '第 2 个要素（刘道村）：坐标 ["116.7", 37.6] 不是数字',
        ),
        (
            {"type": "Point", "coordinates": [37.6, 116.7]},
            "第 2 个要素（刘道村）：坐标 37.6, 116.7 超出经纬度范围（经度 −180～180，纬度 −90～90）",
        ),
        (
            {"type": "Point", "coordinates": [10**400, 37.6]},
            "第 2 个要素（刘道村）：坐标 " + json.dumps([10**400, 37.6])[:60] + " 不是数字",
        ),
        (
            {"type": "Polygon", "coordinates": [BOWTIE]},
            "第 2 个要素（刘道村）：边界自相交（位置 116.5, 37.6）",
        ),
        (
            {"type": "Polygon", "coordinates": [SQUARE[:4]]},
            "第 2 个要素（刘道村）：边界没有闭合（首尾两点应相同）",
        ),
        (
            {"type": "Polygon", "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0]]]},
            "第 2 个要素（刘道村）：边界的点太少，围不成一块地",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE]]},
            "第 2 个要素（刘道村）：边界自相交（位置 116.72, 37.62）",  # two parts overlap
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [SQUARE, [[116.8, 37.8], [116.81, 37.8], [116.81, 37.81], [116.8, 37.8]]],
            },
            "第 2 个要素（刘道村）：内部挖空的部分超出了外边界（位置 116.8, 37.8）",
        ),
    ],
)
def test_a_bad_shape_is_refused_naming_the_feature_and_the_reason(tree, geom, message):
    data = collection(feature("孙庄村", square()), feature("刘道村", geom))
    with pytest.raises(GeometryError) as caught:
        read_geometries(data, tree.township)
    assert caught.value.message == message


def test_unmatched_names_are_listed_together(tree):
    data = collection(
        feature("孙庄村", square()), feature("张庄", square(0.03)), feature("李家村", square(0.06))
    )
    with pytest.raises(GeometryError) as caught:
        read_geometries(data, tree.township)
    assert caught.value.message == (
        "以下名称在相衙镇找不到对应的村：“张庄”（第 2 个）、“李家村”（第 3 个），请核对村名或代码"
    )


def test_a_village_of_another_township_is_not_matched(tree, other_township):
    with pytest.raises(GeometryError, match="找不到对应的村：“杜集村”（第 1 个）"):
        read_geometries(collection(feature("杜集村", square())), tree.township)


def test_a_village_twice_is_refused(tree):
    data = collection(feature("孙庄村", square()), feature("孙庄", square(0.03)))
    with pytest.raises(GeometryError) as caught:
        read_geometries(data, tree.township)
    assert (
        caught.value.message == "第 2 个要素（孙庄）：与第 1 个要素是同一个村（孙庄村），每个村只能有一个图形"
    )


def test_a_feature_without_a_name_is_refused(tree):
    with pytest.raises(GeometryError) as caught:
        read_geometries(collection(feature(None, square())), tree.township)
    assert caught.value.message == "第 1 个要素：缺少村名（properties 中的 name）"


def test_every_fault_is_told_not_only_the_first(tree):
    data = collection(
        feature("孙庄村", {"type": "Polygon", "coordinates": [BOWTIE]}),
        feature("刘道村", {"type": "Point", "coordinates": [200, 37]}),
    )
    with pytest.raises(GeometryError) as caught:
        read_geometries(data, tree.township)
    assert len(caught.value.errors) == 2
    assert caught.value.message.startswith("第 1 个要素（孙庄村）：边界自相交")


def test_size_and_coordinate_limits(tree, monkeypatch):
    monkeypatch.setattr(geometry, "MAX_BYTES", 100)
    with pytest.raises(GeometryError, match=r"^文件太大（0\.0 MB），最大 0 MB$"):
        read_geometries(four(tree), tree.township)
    monkeypatch.setattr(geometry, "MAX_BYTES", 5 * 1024 * 1024)
    monkeypatch.setattr(geometry, "MAX_COORDINATES", 9)  # two squares of five points
    with pytest.raises(GeometryError, match="坐标点太多（超过 9 个），请先简化边界再上传"):
        read_geometries(four(tree), tree.township)


# --- the service --------------------------------------------------------------------------------------


def _shapes(township: Any) -> list[tuple[str, str, str, bool]]:
    return list(
        VillageGeometry.objects.filter(village__path__startswith=township.path)
        .order_by("village__path")
        .values_list("village__name", "kind", "geometry", "illustrative")
    )


def test_import_saves_and_audits(tree, personas):
    admin = personas["township_admin"]
    outcome = geometry_import(actor=admin, township=tree.township, data=four(tree))
    assert (outcome.saved, outcome.missing, outcome.replaced) == (4, [], 0)
    saved = _shapes(tree.township)
    assert [name for name, *_ in saved] == [v.name for v in tree.villages]
    assert json.loads(saved[0][2]) == square()
    record = ChangeRecord.objects.get(action="geometry.import")
    assert record.actor_id == admin.pk
    assert record.unit_path == tree.township.path
    assert record.after["shapes"] == 4 and record.after["sketch"] is False
    assert record.before == {"shapes": 0, "sketch": False}
    assert (record.after["kinds"], record.after["missing"]) == ("边界 4 个", "")


def test_import_replaces_the_whole_township_and_warns_of_missing_villages(tree, personas):
    admin = personas["township_admin"]
    geometry_import(actor=admin, township=tree.township, data=four(tree))
    outcome = geometry_import(
        actor=admin,
        township=tree.township,
        data=collection(feature("刘道村", {"type": "Point", "coordinates": [116.71, 37.61]})),
        illustrative=True,
    )
    assert (outcome.saved, outcome.replaced) == (1, 4)
    assert outcome.missing == ["孙庄村", "杨老头村", "编席杨村"]
    assert [(n, k, i) for n, k, _, i in _shapes(tree.township)] == [("刘道村", "point", True)]


def test_a_bad_file_leaves_the_old_shapes_and_writes_no_record(tree, personas):
    admin = personas["township_admin"]
    geometry_import(actor=admin, township=tree.township, data=four(tree))
    before = _shapes(tree.township)
    records = ChangeRecord.objects.filter(ok=True).count()
    bad = collection(
        feature("孙庄村", square()), feature("刘道村", {"type": "Polygon", "coordinates": [BOWTIE]})
    )
    with pytest.raises(GeometryError):
        geometry_import(actor=admin, township=tree.township, data=bad)
    assert _shapes(tree.township) == before
    assert ChangeRecord.objects.filter(ok=True).count() == records


@pytest.mark.parametrize(
    "persona", ["leader", "station_head", "village_clerk", "system_admin", "auditor", "no_role"]
)
def test_only_the_township_admin_may_import(tree, personas, persona):
    with pytest.raises(PermissionDeniedError):
        geometry_import(actor=personas[persona], township=tree.township, data=four(tree))
    assert not VillageGeometry.objects.exists()


def test_admin_of_another_township_may_not_import(tree, other_township):
    from qiangcun.accounts.models import User

    with pytest.raises(PermissionDeniedError):
        geometry_import(
            actor=User.objects.get(username="other-admin"), township=tree.township, data=four(tree)
        )
    assert not VillageGeometry.objects.exists()


def test_shapes_go_to_a_township_only(tree, personas):
    with pytest.raises(ServiceError, match="村界只能按镇上传"):
        geometry_import(actor=personas["township_admin"], township=tree.station1, data=four(tree))
