"""The demo's village boundaries: generated, deterministic, marked 示意 — not the real village lines.

A made-up township outline around 宁津县's real area (lon 116.6–116.9, lat 37.55–37.75) is cut into
wedges, one per 管区 in roster order (so a 网格站's districts lie side by side), each as wide as its share
of villages; each village gets a point inside its wedge, and the villages' Voronoi cells, clipped to
the outline, are their boundaries. The result is a GeoJSON FeatureCollection (``properties.name`` =
the village's name), imported like any township's file.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping

CENTRE = (116.75, 37.65)
RADII = (0.14, 0.095)  # degrees of longitude and latitude: about 12 × 10 km
SEED = 2020
PLACES = 5


def outline(rng: random.Random) -> Polygon:
    """A smooth, irregular township outline: 36 points on an ellipse, their radius wobbling ±12%."""
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
    points = []
    for i in range(36):
        a = 2 * math.pi * i / 36
        wobble = 1 + 0.07 * math.sin(2 * a + phases[0]) + 0.04 * math.sin(3 * a + phases[1])
        wobble += 0.02 * math.sin(5 * a + phases[2])
        points.append(
            (CENTRE[0] + RADII[0] * wobble * math.cos(a), CENTRE[1] + RADII[1] * wobble * math.sin(a))
        )
    return Polygon(points)


def _rounded(geom: Any) -> Any:
    return shapely.set_precision(geom, 10**-PLACES)


def boundaries(districts: list[list[str]]) -> dict[str, Any]:
    """The FeatureCollection of every village named in ``districts`` (each a list of village names)."""
    rng = random.Random(SEED)
    shape = outline(rng)
    total = sum(len(d) for d in districts)
    names: list[str] = []
    seeds: list[Point] = []
    start = rng.uniform(0, 2 * math.pi)
    for villages in districts:
        width = 2 * math.pi * len(villages) / total
        n = len(villages)
        for j, name in enumerate(villages):
            # stratified radius (even density over the wedge), a random angle inside the wedge
            for _ in range(50):
                r = math.sqrt((j + rng.uniform(0.2, 0.8)) / n) * 0.93
                a = start + width * rng.uniform(0.1, 0.9)
                p = Point(CENTRE[0] + RADII[0] * r * math.cos(a), CENTRE[1] + RADII[1] * r * math.sin(a))
                if shape.contains(p):
                    break
            names.append(name)
            seeds.append(p)
        start += width
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=shape.buffer(0.05), ordered=True)
    features = []
    for name, cell in zip(names, cells.geoms, strict=True):
        clipped = _rounded(cell.intersection(shape))
        if clipped.geom_type not in ("Polygon", "MultiPolygon") or not clipped.is_valid:
            clipped = _rounded(Point(seeds[names.index(name)]).buffer(0.004))
        features.append({"type": "Feature", "properties": {"name": name}, "geometry": mapping(clipped)})
    return {"type": "FeatureCollection", "features": features}


def boundaries_bytes(districts: list[list[str]]) -> bytes:
    return json.dumps(boundaries(districts), ensure_ascii=False).encode("utf-8")
