from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from qiangcun.api.schemas import Fraction4, Money, replies
from qiangcun.core.params import ParamError, date_param, text_param
from qiangcun.orgs.models import Level
from qiangcun.targets.selectors import (
    board_summary,
    board_unit,
    board_year,
    progress,
    progress_document,
    summary_document,
)

router = Router(tags=["进度"])


class _Document(Schema):
    # Built from ``progress_document``'s dict, which the command line prints as it is: a key the
    # schema does not know is an error here, never a key silently missing from the API.
    model_config = ConfigDict(extra="forbid")


class UnitRef(_Document):
    """进度表所属单位（镇，或镇以下的网格站、管区）。"""

    code: str = Field(description="单位代码")
    name: str


class ProgressTotals(_Document):
    """表中各村合计：只算表中列出的村。"""

    villages: int = Field(description="表中村数")
    target: Money
    income: Money = Field(description="计入目标的已审核收入（元）")
    at_baseline: int = Field(description="收入达到达标线（默认 3 万元）的村数")
    at_top_tier: int = Field(description="收入达到强村线（默认 10 万元）的村数")


class VillageRow(_Document):
    """进度表的一行：一个村。"""

    code: str
    name: str
    station: str = Field(description="网格站名称")
    district: str = Field(description="管区名称")
    target: Money
    income: Money
    completion: Fraction4 = Field(description="完成率（收入 ÷ 目标），四位小数的字符串")
    gap: Fraction4 = Field(description="与时序进度之差（完成率 − 时序进度），四位小数的字符串")
    band: Literal["green", "yellow", "red"] = Field(description="状态：green 领先 / yellow 稍慢 / red 落后")
    rank: int = Field(description="全镇排名（筛选不改变排名）")
    rank_change: int = Field(description="比七天前上升（正）或下降（负）的名次")


class ProgressOut(_Document):
    """进度表（擂台）：与 `qiangcun progress --format json` 打印的文档相同。"""

    year: int
    as_of: datetime.date = Field(description="截止日期（含）")
    unit: UnitRef
    time_progress: Fraction4 = Field(description="时序进度（已过天数 ÷ 全年天数），四位小数的字符串")
    totals: ProgressTotals
    villages: list[VillageRow]


@router.get(
    "/progress",
    response=replies({200: ProgressOut}, 400, 401, 403, 404, 422),
    summary="进度表（擂台）",
    description="某单位（默认为本人所在的镇）各村的目标、计入收入、完成率、与时序进度之差和全镇排名。"
    "擂台在全镇公开；台账明细仍只限本人管辖范围。",
)
def progress_view(
    request: HttpRequest,
    year: int | None = None,
    unit: str | None = None,
    as_of: datetime.date | None = None,
) -> dict[str, Any]:
    """Every village of the unit (by default the user's township: the 擂台 is public to every user of
    the township) with its township rank; ledger rows stay within the user's scope."""
    user = request.user
    target = board_unit(user, text_param(unit, field="unit", label="单位代码") or None)
    if target.level in (Level.PROVINCE, Level.CITY):  # tens of thousands of rows: by county, or the summary
        raise ParamError(
            f"{target.name}的村太多，不逐村列出；请用 /api/v1/progress/summary，或按县查询", field="unit"
        )
    year = board_year(user, year)
    return progress_document(progress(user=user, unit=target, year=year, as_of=date_param(as_of)))


class SummaryUnit(_Document):
    code: str = Field(description="单位代码")
    name: str
    level: str = Field(
        description="层级：province 省 / city 市 / county 县 / township 镇 / station 网格站 / district 管区"
    )


class Bands(_Document):
    green: int = Field(description="领先的村数")
    yellow: int = Field(description="稍慢的村数")
    red: int = Field(description="落后的村数")


class SummaryLine(_Document):
    """一个单位的合计（下级单位一行一个）。"""

    code: str
    name: str
    villages: int = Field(description="有本年度目标的村数")
    target: Money
    income: Money = Field(description="计入目标的已审核收入（元）")
    completion: Fraction4 = Field(description="完成率（收入 ÷ 目标），四位小数的字符串")
    at_baseline: int = Field(description="收入达到达标线的村数")
    at_top_tier: int = Field(description="收入达到强村线的村数")
    bands: Bands


class SummaryOut(_Document):
    """某单位及其每个直属下级单位的合计（不逐村列出），用于县、市、省。"""

    year: int
    as_of: datetime.date = Field(description="截止日期（含）")
    unit: SummaryUnit
    time_progress: Fraction4
    totals: SummaryLine
    children: list[SummaryLine]


@router.get(
    "/progress/summary",
    response=replies({200: SummaryOut}, 400, 401, 403, 404, 422),
    summary="进度汇总（按下级单位）",
    description="某单位（县、市、省，也可以是镇）及其每个直属下级单位的目标、计入收入、完成率、达标村数和状态分布；"
    "不逐村列出，村的名单见 /progress。",
)
def progress_summary_view(
    request: HttpRequest,
    year: int | None = None,
    unit: str | None = None,
    as_of: datetime.date | None = None,
) -> dict[str, Any]:
    user = request.user
    target = board_unit(user, text_param(unit, field="unit", label="单位代码") or None)
    year = board_year(user, year)
    return summary_document(board_summary(user=user, unit=target, year=year, as_of=date_param(as_of)))
