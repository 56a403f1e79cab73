"""一村一策 as .xlsx for the reader's scope: a summary line per village, every measure, every chosen
path, the list (资源清单). The workbook imports back (``plans.importing``): its 措施, 增收路子 and
资源清单 sheets are long sheets, its summary sheet gives each plan's 方案概述; importing it unchanged
adds and changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from qiangcun.core.workdays import overdue_workdays
from qiangcun.orgs.models import OrgUnit
from qiangcun.plans.importing import owner_candidates_by_village, owner_label
from qiangcun.plans.models import OPEN_MEASURE_STATUSES, Measure, PlanPath, Resource
from qiangcun.plans.selectors import measure_actuals, plan_table
from qiangcun.reports.xlsx import Column, Sheet, write_sheets

ZERO = Decimal("0.00")

SUMMARY_COLUMNS = [
    Column("网格站", "text", 18),
    Column("管区", "text", 10),
    Column("村", "text", 10),
    Column("年度目标（元）", "yuan", 14),
    Column("增收路子", "text", 22),
    Column("预计收入（元）", "yuan", 14),
    Column("是否达到目标", "text", 18),
    Column("实际计入收入（元）", "yuan", 16),
    Column("措施数", "int", 8),
    Column("已完成", "int", 8),
    Column("逾期", "int", 8),
    Column("方案概述", "text", 40),
]
MEASURE_COLUMNS = [
    Column("村", "text", 10),
    Column("措施", "text", 36),
    Column("路子", "text", 12),
    Column("责任人", "text", 12),
    Column("时限", "date", 12),
    Column("预计增收（元）", "yuan", 14),
    Column("实际（元）", "yuan", 14),
    Column("状态", "text", 8),
    Column("逾期工作日", "int", 10),
]
PATH_COLUMNS = [
    Column("村", "text", 10),
    Column("增收路子", "text", 14),
    Column("预计收入（元）", "yuan", 14),
    Column("做法", "text", 40),
]
RESOURCE_COLUMNS = [
    Column("村", "text", 10),
    Column("类型", "text", 10),
    Column("内容", "text", 36),
    Column("面积（亩）", "yuan", 12),
    Column("备注", "text", 24),
]


def _reached(row: Any) -> str:
    if row.plan is None:
        return "未编制"
    if row.target is None:
        return "未定目标"
    if not row.short:
        return "是"
    return f"否（差 {row.shortfall:,.2f} 元）"


def plans_workbook(user: Any, unit: OrgUnit, year: int, as_of: datetime.date | None = None) -> bytes:
    """The plans of ``year`` of every village under ``unit`` the user may read (the same villages and
    figures as ``plan_table``), as four sheets: 一村一策汇总, 措施, 增收路子, 资源清单. Money is written as
    exact numbers (Decimal) in 元 with two decimals."""
    table = plan_table(user, unit, year, as_of)
    as_of = table.as_of
    villages = [r.village for r in table.rows]
    ids = [v.pk for v in villages]
    rows = table.rows
    title = f"{unit.name}{year}年一村一策"
    subtitle = f"截至 {as_of:%Y年%m月%d日}"

    summary_rows = [
        (
            r.station,
            r.district,
            r.village.name,
            r.target,
            "、".join(r.paths),
            r.expected if r.plan is not None else None,
            _reached(r),
            r.actual,
            r.measures,
            r.done,
            r.overdue,
            r.plan.summary if r.plan is not None else "",
        )
        for r in rows
    ]
    summary_totals = (
        "合计",
        "",
        f"{table.planned} 个村已编制",
        sum((r.target or ZERO for r in rows), ZERO),
        "",
        table.expected,
        f"{table.short} 个村未达到",
        sum((r.actual for r in rows), ZERO),
        table.measures,
        table.done,
        table.overdue,
        "",
    )

    measures = list(
        Measure.objects.filter(plan__year=year, plan__village_id__in=ids)
        .select_related("plan__village", "owner", "path")
        .order_by("plan__village__path", "deadline", "pk")
    )
    actuals = measure_actuals(measures, table.as_of)
    candidates = owner_candidates_by_village({m.plan.village for m in measures})
    measure_rows = []
    for m in measures:
        late = overdue_workdays(m.deadline, as_of) if m.status in OPEN_MEASURE_STATUSES else 0
        measure_rows.append(
            (
                m.plan.village.name,
                m.title,
                m.path.name if m.path else "",
                owner_label(m.owner, candidates.get(m.plan.village_id, [])),
                m.deadline,
                m.expected,
                actuals.get(m.pk, ZERO),
                m.get_status_display(),
                late if late > 0 else None,
            )
        )
    measure_totals = (
        "合计",
        f"{len(measures)} 项",
        "",
        "",
        None,
        sum((m.expected for m in measures), ZERO),
        sum(actuals.values(), ZERO),
        "",
        None,
    )

    chosen = list(
        PlanPath.objects.filter(plan__year=year, plan__village_id__in=ids)
        .select_related("plan__village", "path")
        .order_by("plan__village__path", "path__order", "path_id")
    )
    path_rows = [(p.plan.village.name, p.path.name, p.expected, p.note) for p in chosen]
    path_totals = ("合计", f"{len(chosen)} 条", sum((p.expected for p in chosen), ZERO), "")

    resources = (
        Resource.objects.filter(plan__year=year, plan__village_id__in=ids)
        .select_related("plan__village")
        .order_by("plan__village__path", "position", "id")
    )
    resource_rows = [
        (r.plan.village.name, r.get_kind_display(), r.name, r.area_mu, r.note) for r in resources
    ]

    return write_sheets(
        [
            Sheet(
                name="一村一策汇总",
                title=f"{title}汇总",
                subtitle=subtitle + "；是否达到目标：各增收路子预计收入之和是否达到年度目标",
                columns=SUMMARY_COLUMNS,
                rows=summary_rows,
                totals=summary_totals,
            ),
            Sheet(
                name="措施",
                title=f"{title}措施",
                subtitle=subtitle + "；逾期按工作日计",
                columns=MEASURE_COLUMNS,
                rows=measure_rows,
                totals=measure_totals,
            ),
            Sheet(
                name="增收路子",
                title=f"{title}增收方案",
                subtitle=subtitle,
                columns=PATH_COLUMNS,
                rows=path_rows,
                totals=path_totals,
            ),
            Sheet(
                name="资源清单",
                title=f"{title}资源清单",
                subtitle=subtitle,
                columns=RESOURCE_COLUMNS,
                rows=resource_rows,
                unit_line="面积单位：亩",
            ),
        ]
    )
