"""The 一村一策 download (``plans/export.xlsx``): kept apart from the plans pages so that it can be
wired on its own. ``?unit=<code>&year=<yyyy>&as_of=<yyyy-mm-dd>``, all optional: the township of the
reader, the latest year, today (or the year's end)."""

from __future__ import annotations

from django.http import HttpResponse

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.params import ParamError, date_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.plans.exporting import plans_workbook
from qiangcun.reports.http import xlsx_response
from qiangcun.targets.selectors import board_unit, board_year


@require(Action.VIEW)
def plans_export(request: AuthedRequest) -> HttpResponse:
    user = request.user
    year = board_year(user, request.GET.get("year"))
    unit = board_unit(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    as_of = date_param(request.GET.get("as_of"))
    if as_of is not None and as_of.year != year:
        raise ParamError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    if as_of is None and today().year == year:
        as_of = today()
    body = plans_workbook(user, unit, year, as_of)
    return xlsx_response(body, f"{unit.name}{year}年一村一策.xlsx")
