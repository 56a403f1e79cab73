"""Pages: the progress table on a map (各村进度图) and the upload of a township's village shapes.

The map shows exactly what the 擂台 shows (band, completion, rank, verified income, target) and follows
its rule: anyone who may see the township's board sees its map. The shapes travel inside the page
(``json_script``); ECharts draws them from there — no tiles, nothing fetched from elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from shapely.geometry import MultiPoint, mapping

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.errors import ServiceError
from qiangcun.core.money import fmt_yuan
from qiangcun.core.params import ParamError, choice_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.geometry import MAX_BYTES
from qiangcun.orgs.models import GeometryKind, Level, OrgUnit, VillageGeometry
from qiangcun.orgs.selectors import geometries_of
from qiangcun.orgs.services import geometry_import
from qiangcun.targets.selectors import (
    BAND_ICONS,
    BAND_LABELS,
    Progress,
    board_unit,
    board_year,
    campaigns_seen,
    pct1,
    progress,
)
from qiangcun.targets.views import _as_of

COLOURINGS = {"band": "按状态", "completion": "按完成率"}
BAND_COLORS = {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828"}
#: The township's outline drawn under a township's points: their hull, widened by this many degrees.
POINTS_MARGIN = 0.01


def map_document(p: Progress, shapes: list[VillageGeometry], colouring: str) -> dict[str, Any]:
    """What the page's script draws: the villages' figures as the board has them, the polygons as a
    GeoJSON FeatureCollection (``properties.code`` names the region), the points as [lon, lat, code]."""
    rows = {r.id: r for r in p.villages}
    features: list[dict[str, Any]] = []
    points: list[list[Any]] = []
    for s in shapes:
        row = rows[s.village_id]
        geometry = json.loads(s.geometry)
        if s.kind == GeometryKind.POINT:
            points.append([*geometry["coordinates"][:2], row.code])
        else:
            features.append(
                {"type": "Feature", "properties": {"code": row.code, "name": row.name}, "geometry": geometry}
            )
    if points:  # the ground under the points: their hull, a little wider, in grey
        hull = MultiPoint([pt[:2] for pt in points]).convex_hull.buffer(POINTS_MARGIN)
        outline = shapely.set_precision(hull, 1e-5)
        features.append(
            {"type": "Feature", "properties": {"code": "", "name": ""}, "geometry": mapping(outline)}
        )
    return {
        "map": f"township-{p.unit.code}",
        "colouring": colouring,
        "illustrative": any(s.illustrative for s in shapes),
        "geojson": {"type": "FeatureCollection", "features": features},
        "points": points,
        "time_progress": f"{pct1(p.time_progress)}",
        "count": len(p.villages),
        "villages": [
            {
                "code": r.code,
                "name": r.name,
                "band": r.band,
                "band_text": f"{BAND_ICONS[r.band]} {BAND_LABELS[r.band]}",
                "color": BAND_COLORS[r.band],
                "completion": f"{r.completion_pct}",
                "rank": r.rank,
                "income": fmt_yuan(r.income),
                "target": fmt_yuan(r.target),
            }
            for r in p.villages
        ],
    }


@require(Action.VIEW)
def map_page(request: AuthedRequest) -> HttpResponse:
    """The township's villages on a map, coloured by band (default) or by completion (``?colour=completion``),
    with the same year, as-of date and unit as the progress table; a list of the villages below it."""
    user = request.user
    year = board_year(user, request.GET.get("year"))
    unit = board_unit(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    if unit.level in (Level.PROVINCE, Level.CITY):
        raise ParamError(f"{unit.name}的村太多，地图请按县、镇查看", field="unit")
    colouring = choice_param(request.GET.get("colour"), COLOURINGS, field="colour", label="着色") or "band"
    try:
        p = progress(user=user, unit=unit, year=year, as_of=_as_of(request, year))
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    shapes = geometries_of(r.id for r in p.villages)
    with_shape = {s.village_id for s in shapes}
    document = map_document(p, shapes, colouring)
    query = {"year": p.year, "as_of": f"{p.as_of:%Y-%m-%d}"} | (
        {"unit": request.GET["unit"]} if request.GET.get("unit") else {}
    )
    return render(
        request,
        "targets/map.html",
        {
            "p": p,
            "rows": sorted(p.villages, key=lambda r: (r.rank, r.code)),
            "with_shape": with_shape,
            "colouring": colouring,
            "colourings": COLOURINGS,
            "chart": document,
            "illustrative": document["illustrative"],
            "query": query,
            "years": sorted(set(campaigns_seen(user).values_list("year", flat=True)) | {p.year}),
            "can_upload": user.can(Action.IMPORT, p.unit),
        },
    )


@require(Action.IMPORT)
@require_http_methods(["GET", "POST"])
def map_upload(request: AuthedRequest) -> HttpResponse:
    """A township admin uploads the villages' boundaries (or points) as GeoJSON; the file replaces the
    township's shapes as a whole, or is refused with the reason and nothing changes."""
    user = request.user
    townships = list(OrgUnit.objects.restrict(user, Action.IMPORT).filter(level=Level.TOWNSHIP))
    if not townships:
        raise Http404("您管辖的范围内没有镇")
    error = ""
    if request.method == "POST":
        code = request.POST.get("township") or townships[0].code
        township = next((t for t in townships if t.code == code), None)
        if township is None:
            raise Http404("该镇不在您的管辖范围内")
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择要上传的 GeoJSON 文件"
        elif upload.size is not None and upload.size > MAX_BYTES:
            error = f"文件太大（{upload.size / 1024 / 1024:.1f} MB），最大 {MAX_BYTES // 1024 // 1024} MB"
        else:
            try:
                outcome = geometry_import(
                    actor=user,
                    township=township,
                    data=upload.read(),
                    illustrative=request.POST.get("illustrative") == "1",
                )
            except ServiceError as exc:
                error = exc.message
            else:
                what = "边界" if outcome.kinds.get(GeometryKind.POLYGON) else "位置"
                if outcome.kinds.get(GeometryKind.POLYGON) and outcome.kinds.get(GeometryKind.POINT):
                    what = "边界或位置"
                messages.success(request, f"已更新 {outcome.saved} 个村的{what}")
                if outcome.missing:
                    shown = "、".join(outcome.missing[:20]) + (
                        f"等 {len(outcome.missing)} 个村" if len(outcome.missing) > 20 else ""
                    )
                    messages.warning(request, f"以下村在文件中没有图形，地图上不显示：{shown}")
                return redirect(reverse("map") + f"?unit={township.code}")
    current = {
        t.code: VillageGeometry.objects.filter(village__path__startswith=t.path).count() for t in townships
    }
    return render(
        request,
        "targets/map_upload.html",
        {
            "townships": [(t, current[t.code]) for t in townships],
            "max_mb": MAX_BYTES // 1024 // 1024,
            "error": error,
        },
        status=400 if error else 200,
    )
