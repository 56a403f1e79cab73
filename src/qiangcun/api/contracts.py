"""Contracts API: the township's receivable against received, arrears and expiring contracts."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from qiangcun.api.schemas import Money, replies
from qiangcun.contracts.selectors import summary, summary_document
from qiangcun.core.clock import today
from qiangcun.core.params import ParamError, date_param, text_param, year_param
from qiangcun.orgs.models import Level
from qiangcun.orgs.selectors import unit_for

router = Router(tags=["合同"])


class _Document(Schema):
    model_config = ConfigDict(extra="forbid")


class UnitRef(_Document):
    code: str = Field(description="单位代码")
    name: str


class Overdue(_Document):
    amount: Money = Field(description="逾期未收金额（元）")
    contracts: int = Field(description="有逾期应收的合同数")


class VillageLine(_Document):
    code: str
    name: str
    contracts: int
    receivable: Money = Field(description="本年已到期应收（元）")
    received: Money = Field(description="本年实收（元）")
    collected: Money = Field(description="已到期应收中已收回的部分（元）；收缴率 = collected ÷ receivable")
    overdue: Money = Field(description="逾期未收（元）")


class ContractsSummaryOut(_Document):
    """合同与应收汇总：金额均为两位小数的字符串。"""

    year: int
    as_of: str = Field(description="截止日期")
    unit: UnitRef
    contracts: int = Field(description="本年有效（或本年有应收）的合同数")
    villages: int = Field(description="有合同的村数")
    receivable: Money = Field(description="本年截至当日已到期的应收（元）")
    received: Money = Field(
        description="本年截至当日的实收（元），含待审核，不含已退回、已冲销；含提前交的下期租金"
    )
    collected: Money = Field(
        description="本年已到期应收中截至当日已收回的部分（元），不含提前交的下期租金；收缴率 = collected ÷ receivable"
    )
    overdue: Overdue
    ageing: dict[str, Money] = Field(description="逾期未收按账龄：≤30天、31–90天、91–180天、>180天")
    idle_area_mu: str = Field(description="闲置土地面积（亩），两位小数的字符串")
    expiring_90d: int = Field(description="90 天内到期的合同数")
    lapsed_assets: int = Field(description="合同都已到期或解除、资产台账上仍登记为出租（发包、入股）的资产数")
    by_village: list[VillageLine]


@router.get(
    "/contracts/summary",
    response=replies({200: ContractsSummaryOut}, 400, 401, 403, 404, 422),
    summary="合同与应收汇总",
    description="某单位（默认为本人所在的镇）本年应收与实收、逾期及账龄、闲置土地面积、90 天内到期的合同；只含本人管辖范围内的合同。",
)
def contracts_summary_view(
    request: HttpRequest,
    year: int | None = None,
    unit: str | None = None,
    as_of: datetime.date | None = None,
) -> dict[str, Any]:
    user = request.user
    target = unit_for(user, text_param(unit, field="unit", label="单位代码") or None)
    if target.level in (Level.CITY, Level.PROVINCE):
        raise ParamError(f"{target.name}的合同太多，请按县或镇查询", field="unit")
    now = today()
    year = year_param(year) or now.year
    day = date_param(as_of)
    if day is None:
        day = (
            now
            if year == now.year
            else datetime.date(year, 12, 31)
            if year < now.year
            else datetime.date(year, 1, 1)
        )
    if day.year != year:
        raise ParamError(f"截止日期 {day.isoformat()} 不在 {year} 年内", field="as_of")
    return summary_document(summary(user=user, unit=target, year=year, as_of=day))
