from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from qiangcun.api.schemas import Money, replies
from qiangcun.core.params import date_param, text_param
from qiangcun.orgs.selectors import unit_for
from qiangcun.plans.selectors import plan_table, plans_summary
from qiangcun.targets.selectors import board_year

router = Router(tags=["一村一策"])


class MeasureCounts(Schema):
    model_config = ConfigDict(extra="forbid")

    total: int = Field(description="措施总数")
    done: int = Field(description="已完成")
    overdue: int = Field(description="未完成且已过完成时限（按工作日计）")


class PlansSummaryOut(Schema):
    """一村一策汇总：只计本人管辖范围内的村。"""

    model_config = ConfigDict(extra="forbid")

    year: int
    as_of: datetime.date = Field(description="实际收入、完成和逾期的截止日期（含），须在 year 年内")
    unit: str = Field(description="汇总的单位代码")
    villages: int = Field(description="已编制一村一策的村数")
    villages_in_scope: int = Field(description="范围内的村数")
    villages_by_path: dict[str, int] = Field(description="选定各条增收路子的村数（一个村可选多条）")
    villages_short_of_target: int = Field(description="方案预计收入达不到年度目标的村数")
    measures: MeasureCounts
    expected: Money = Field(description="各村方案预计收入合计（元）")
    target: Money = Field(description="各村年度目标合计（元）")
    actual: Money = Field(description="范围内各村截至 as_of 计入目标的已审核收入合计（元）")


@router.get(
    "/plans/summary",
    response=replies({200: PlansSummaryOut}, 400, 401, 403, 404, 422),
    summary="一村一策汇总",
    description="各村选定的增收路子（按村计数）、措施完成和逾期情况、方案预计与实际收入。"
    "只汇总本人管辖范围内的村。",
)
def plans_summary_view(
    request: HttpRequest,
    year: int | None = None,
    unit: str | None = None,
    as_of: datetime.date | None = None,
) -> dict[str, Any]:
    user = request.user
    target = unit_for(user, text_param(unit, field="unit", label="单位代码") or None)
    year = board_year(user, year)
    return plans_summary(plan_table(user, target, year, date_param(as_of)))
