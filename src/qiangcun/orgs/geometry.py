"""Village shapes from an uploaded GeoJSON file: read, check, match to the township's villages.

:func:`read_geometries` takes the file's bytes and the township and returns one geometry per matched
village, or raises :class:`GeometryError` (a :class:`ServiceError`) whose Chinese message names each bad
feature by its number and name and says what is wrong — nothing is saved from a file with any fault.
Coordinates are kept to six decimals (about 0.1 m), and the shape checked is the shape stored.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import shape

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import normalize_text
from qiangcun.orgs.models import GeometryKind, Level, OrgUnit

MAX_BYTES = 5 * 1024 * 1024
MAX_COORDINATES = 200_000
MAX_ERRORS = 10
PLACES = 6

KINDS = {"Polygon": GeometryKind.POLYGON, "MultiPolygon": GeometryKind.POLYGON, "Point": GeometryKind.POINT}

#: GEOS's reasons (``shapely.is_valid_reason``), in the township office's words.
REASONS = {
    "Self-intersection": "边界自相交",
    "Ring Self-intersection": "边界线自身打结（环自相交）",
    "Too few points in geometry component": "边界的点太少，围不成一块地",
    "Hole lies outside shell": "内部挖空的部分超出了外边界",
    "Nested holes": "内部挖空的部分相互嵌套",
    "Interior is disconnected": "边界内部被分成了不相连的几块",
    "Nested shells": "多块边界相互嵌套",
    "Duplicate Rings": "有重复的边界环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "边界没有闭合（首尾两点应相同）",
}


class GeometryError(ServiceError):
    """A refused file: ``errors`` lists every fault found (each names its feature)."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_ERRORS]
        more = f"；另有 {len(errors) - MAX_ERRORS} 处问题" if len(errors) > MAX_ERRORS else ""
        super().__init__("；".join(shown) + more, field="file")
        self.errors = errors


@dataclass
class VillageShape:
    village: OrgUnit
    kind: str
    geometry: dict[str, Any]


@dataclass
class ReadGeometries:
    shapes: list[VillageShape]
    #: Villages of the township the file does not cover (a warning, not an error).
    missing: list[OrgUnit] = field(default_factory=list)


def _num(x: float) -> str:
    return f"{x:.{PLACES}f}".rstrip("0").rstrip(".")


def explain(geom: Any) -> str:
    """Why ``geom`` is not a valid shape, in Chinese: "边界自相交（位置 116.5, 37.6）"."""
    reason = str(shapely.is_valid_reason(geom))
    text, _, rest = reason.partition("[")
    words = REASONS.get(text.strip(), f"边界无效（{text.strip()}）")
    if rest:
        parts = rest.rstrip("]").split()
        try:
            x, y = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            return words
        return f"{words}（位置 {_num(x)}, {_num(y)}）"
    return words


class _Fault(Exception):
    pass


class _Counter:
    def __init__(self) -> None:
        self.n = 0


def _finite(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer too large for a float
        return False


def _position(value: Any, counter: _Counter) -> list[float]:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise _Fault("坐标应为 [经度, 纬度]")
    for x in value:
        if not _finite(x):
            raise _Fault(f"坐标 {json.dumps(value, ensure_ascii=False)[:60]} 不是数字")
    out = [round(float(value[0]), PLACES), round(float(value[1]), PLACES)]
    lon, lat = out
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _Fault(f"坐标 {_num(lon)}, {_num(lat)} 超出经纬度范围（经度 −180～180，纬度 −90～90）")
    counter.n += 1
    if counter.n > MAX_COORDINATES:
        raise GeometryError([f"坐标点太多（超过 {MAX_COORDINATES:,} 个），请先简化边界再上传"])
    return out


def _ring(value: Any, counter: _Counter) -> list[list[float]]:
    if not isinstance(value, list):
        raise _Fault("边界坐标的结构不对（应为 [[经度, 纬度], …] 的环）")
    ring = [_position(p, counter) for p in value]
    if len(ring) < 4:
        raise _Fault(REASONS["Too few points in geometry component"])
    if ring[0] != ring[-1]:
        raise _Fault(REASONS["Ring is not closed"])
    return ring


def _polygon(value: Any, counter: _Counter) -> list[list[list[float]]]:
    if not isinstance(value, list) or not value:
        raise _Fault("边界坐标的结构不对（Polygon 应为若干个环）")
    return [_ring(r, counter) for r in value]


def _coordinates(kind: str, value: Any, counter: _Counter) -> Any:
    if kind == "Point":
        return _position(value, counter)
    if kind == "Polygon":
        return _polygon(value, counter)
    if not isinstance(value, list) or not value:
        raise _Fault("边界坐标的结构不对（MultiPolygon 应为若干块 Polygon）")
    return [_polygon(p, counter) for p in value]


def _key(text: str) -> str:
    """Names match with or without the suffix 村, spaces and full-width letters ignored."""
    text = normalize_text(text)
    return text[:-1] if text.endswith("村") and len(text) > 1 else text


def _label(number: int, name: str) -> str:
    return f"第 {number} 个要素（{name}）" if name else f"第 {number} 个要素"


def read_geometries(data: bytes, township: OrgUnit) -> ReadGeometries:
    """The villages' shapes the GeoJSON ``data`` gives for ``township``'s villages; see the module."""
    if len(data) > MAX_BYTES:
        raise GeometryError(
            [f"文件太大（{len(data) / 1024 / 1024:.1f} MB），最大 {MAX_BYTES // 1024 // 1024} MB"]
        )
    if not data.strip():
        raise GeometryError(["文件是空的"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GeometryError(["不是 GeoJSON 文件：文件不是 UTF-8 编码的文本"]) from None

    def no_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        doc = json.loads(text, parse_constant=no_constant)
    except (ValueError, RecursionError):
        raise GeometryError(["不是 GeoJSON 文件：内容不是有效的 JSON"]) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise GeometryError(["不是 GeoJSON 文件：最外层应为 FeatureCollection（要素集合）"])
    features = doc.get("features")
    if not isinstance(features, list):
        raise GeometryError(["不是 GeoJSON 文件：FeatureCollection 缺少 features 列表"])
    if not features:
        raise GeometryError(["文件中没有任何要素"])

    villages = list(OrgUnit.objects.under(township).filter(level=Level.VILLAGE).order_by("path"))
    by_code = {v.code: v for v in villages}
    by_key: dict[str, list[OrgUnit]] = defaultdict(list)
    for v in villages:
        by_key[_key(v.name)].append(v)

    errors: list[str] = []
    unmatched: list[tuple[int, str]] = []
    seen: dict[int, int] = {}  # village id → feature number
    shapes: list[VillageShape] = []
    counter = _Counter()
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(f"第 {number} 个要素：不是 GeoJSON 要素（type 应为 Feature）")
            continue
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        raw_code, raw_name = props.get("code"), props.get("name")
        code = normalize_text(raw_code) if isinstance(raw_code, str | int) else ""
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        label = _label(number, name or code)
        if not code and not name:
            errors.append(f"{label}：缺少村名（properties 中的 name）")
            continue
        geom = feature.get("geometry")
        if not isinstance(geom, dict):
            errors.append(f"{label}：缺少几何图形（geometry）")
            continue
        gtype = geom.get("type")
        if gtype not in KINDS:
            shown = gtype if isinstance(gtype, str) else "无"
            errors.append(
                f"{label}：图形类型为 {shown[:40]}，只能是 Polygon、MultiPolygon（边界）或 Point（位置点）"
            )
            continue
        try:
            coords = _coordinates(gtype, geom.get("coordinates"), counter)
        except _Fault as exc:
            errors.append(f"{label}：{exc}")
            continue
        clean = {"type": gtype, "coordinates": coords}
        if gtype != "Point":
            try:
                ok = shape(clean)
            except (ValueError, TypeError, shapely.errors.GEOSException):
                errors.append(f"{label}：边界坐标的结构不对")
                continue
            if not ok.is_valid:
                errors.append(f"{label}：{explain(ok)}")
                continue
        if code:
            found = [by_code[code]] if code in by_code else []
        else:
            found = by_key.get(_key(name), [])
        if not found:
            unmatched.append((number, name or code))
            continue
        if len(found) > 1:
            errors.append(
                f"{label}：本镇有多个村叫这个名字（{'、'.join(v.name for v in found)}），请在 code 中写村的代码"
            )
            continue
        village = found[0]
        if village.pk in seen:
            errors.append(
                f"{label}：与第 {seen[village.pk]} 个要素是同一个村（{village.name}），每个村只能有一个图形"
            )
            continue
        seen[village.pk] = number
        shapes.append(VillageShape(village, KINDS[gtype], clean))
    if unmatched:
        names = "、".join(f"“{n}”（第 {i} 个）" for i, n in unmatched[:20])
        more = f"等 {len(unmatched)} 个" if len(unmatched) > 20 else ""
        errors.append(f"以下名称在{township.name}找不到对应的村：{names}{more}，请核对村名或代码")
    if errors:
        raise GeometryError(errors)
    missing = [v for v in villages if v.pk not in seen]
    return ReadGeometries(shapes, missing)
