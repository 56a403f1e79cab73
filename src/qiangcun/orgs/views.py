"""Pages of the org tree: its export."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from qiangcun.core.params import text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import station_and_district, unit_for
from qiangcun.reports.http import xlsx_response
from qiangcun.reports.xlsx import Column, write_table

UNIT_COLUMNS = [
    Column("网格站", "text", 20),
    Column("管区", "text", 12),
    Column("村名", "text", 12),
    Column("代码", "text", 16),
    Column("标签", "text", 40),
]


@require(Action.VIEW)
def units_export(request: HttpRequest) -> HttpResponse:
    """The org structure under the user's unit, in the layout ``import-units`` reads back."""
    unit = unit_for(request.user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    villages = list(OrgUnit.objects.under(unit).filter(level=Level.VILLAGE).order_by("path"))
    tags: dict[int, list[str]] = {}
    for unit_id, tag in OrgUnit.tags.through.objects.filter(orgunit__in=villages).values_list(
        "orgunit_id", "tag__name"
    ):
        tags.setdefault(unit_id, []).append(tag)
    placement = station_and_district(villages)
    rows = []
    for v in villages:
        station, district = placement[v.pk]
        rows.append(
            (
                station.name if station else "",
                district.name if district else "",
                v.name,
                v.code,
                "、".join(sorted(tags.get(v.pk, []))),
            )
        )
    body = write_table(
        title=f"{unit.name}组织结构", columns=UNIT_COLUMNS, rows=rows, unit_line="", sheet_name="组织"
    )
    return xlsx_response(body, f"{unit.name}组织结构.xlsx")
