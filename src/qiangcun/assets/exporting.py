"""The register and a 清产核资 round as .xlsx. The round is laid out like the annual 清查 forms
(《农村集体资产清查表》): a title, the village and the base date (清查基准日), one line per item with its book
figures, the counted figure and the gain (盘盈) or loss (盘亏), and the sign-off lines (清查人、审核人、日期)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qiangcun.assets.models import Asset, RoundLine, VerificationRound
from qiangcun.assets.selectors import ZERO_YUAN, round_summary, totals
from qiangcun.reports.xlsx import Column, Sheet, write_sheets

REGISTER_COLUMNS = [
    Column("村", "text", 10),
    Column("资产编号", "text", 12),
    Column("名称", "text", 24),
    Column("类别", "text", 14),
    Column("地类 / 类型", "text", 14),
    Column("面积（亩）", "yuan", 12),
    Column("建筑面积（㎡）", "yuan", 12),
    Column("账面价值（元）", "yuan", 16),
    Column("坐落", "text", 20),
    Column("四至", "text", 24),
    Column("状态", "text", 8),
    Column("取得日期", "date", 12),
    Column("备注", "text", 24),
]
SUMMARY_COLUMNS = [
    Column("分类", "text", 18),
    Column("项数", "int", 8),
    Column("面积（亩）", "yuan", 14),
    Column("账面价值（元）", "yuan", 16),
]
ROUND_COLUMNS = [
    Column("序号", "int", 6),
    Column("资产编号", "text", 12),
    Column("名称", "text", 22),
    Column("类别", "text", 14),
    Column("坐落", "text", 18),
    Column("面积（亩）", "yuan", 12),
    Column("账面价值", "yuan", 14),
    Column("清查数", "yuan", 14),
    Column("盘盈", "yuan", 12),
    Column("盘亏", "yuan", 12),
    Column("差异说明", "text", 36),
]


def register_workbook(assets: list[Asset], title: str, subtitle: str = "") -> bytes:
    """The given assets (already restricted to the reader's scope) and their totals by kind and land class."""
    rows = [
        (
            a.village.name,
            a.code,
            a.name,
            a.get_kind_display(),
            a.type_label,
            a.area_mu,
            a.floor_area_m2,
            a.value,
            a.location,
            a.boundaries,
            a.get_status_display(),
            a.acquired_on,
            a.note,
        )
        for a in assets
    ]
    live = [a for a in assets if a.status != "disposed"]
    area = sum((a.area_mu or Decimal("0") for a in live), Decimal("0.00"))
    value = sum((a.value or ZERO_YUAN for a in live), ZERO_YUAN)
    total_row = ("合计", f"{len(live)} 项（不含已处置）", "", "", "", area, None, value, "", "", "", None, "")
    figures = totals(Asset.objects.filter(pk__in=[a.pk for a in assets]))
    summary = [
        (r.label, r.count, r.area_mu, r.value)
        for r in [*figures.by_kind, *(_indent(r) for r in figures.by_land_class), figures.idle, figures.all]
    ]
    return write_sheets(
        [
            Sheet(
                name="资产台账",
                title=title,
                subtitle=subtitle,
                columns=REGISTER_COLUMNS,
                rows=rows,
                totals=total_row,
                unit_line="面积单位：亩；金额单位：元",
            ),
            Sheet(
                name="分类汇总",
                title=f"{title}分类汇总",
                subtitle="不含已处置资产；地类为资源性资产的细分",
                columns=SUMMARY_COLUMNS,
                rows=summary,
                unit_line="面积单位：亩；金额单位：元",
            ),
        ]
    )


def _indent(row: Any) -> Any:
    row.label = f"　其中：{row.label}"
    return row


def _explain(line: RoundLine) -> str:
    if not line.counted:
        return "未清查"
    parts = [line.get_result_display()]
    if line.added:
        parts.append("账外资产")
    elif not line.found:
        parts.append("未找到")
    else:
        diff = line.area_diff
        if diff:
            parts.append(f"面积 {line.area_mu or 0:,.2f} → {line.counted_area_mu or 0:,.2f} 亩")
        if line.counted_status and line.counted_status != line.status:
            parts.append(f"状态 {line.get_status_display()} → {line.get_counted_status_display()}")
    if line.counted_note:
        parts.append(line.counted_note)
    return "；".join(parts)


def round_workbook(r: VerificationRound, lines: list[RoundLine]) -> bytes:
    """One round as the 清查表: book area and value, counted value (清查数), gain and loss in 元, why."""
    rows = []
    for line in lines:
        diff = line.value_diff
        rows.append(
            (
                line.position,
                line.asset.code if line.added and line.asset is not None else line.code,
                line.name,
                line.get_kind_display(),
                line.location,
                line.counted_area_mu if line.added else line.area_mu,
                None if line.added else line.value,
                (line.counted_value if line.found else ZERO_YUAN) if line.counted else None,
                diff if diff is not None and diff > 0 else None,
                -diff if diff is not None and diff < 0 else None,
                _explain(line),
            )
        )
    s = round_summary(lines)
    book = sum((line.value or ZERO_YUAN for line in lines if not line.added), ZERO_YUAN)
    counted = sum(
        (line.counted_value or ZERO_YUAN for line in lines if line.counted and line.found), ZERO_YUAN
    )
    total_row = (
        None,
        "合计",
        f"{s.lines} 项",
        "",
        "",
        None,
        book,
        counted,
        s.surplus_value,
        s.loss_value,
        f"一致 {s.same}，盘盈 {s.surplus}，盘亏 {s.loss}，变动 {s.changed}",
    )
    signer = str(r.signed_by) if r.signed_by else ""
    date = f"{r.signed_at:%Y年%m月%d日}" if r.signed_at else ""
    status = "" if r.signed_by else "（尚未签字确认）"
    return write_sheets(
        [
            Sheet(
                name="资产清查表",
                title="农村集体资产清查表",
                subtitle=f"单位：{r.village.name}    清查基准日：{r.base_date:%Y年%m月%d日}{status}",
                columns=ROUND_COLUMNS,
                rows=rows,
                totals=total_row,
                unit_line="金额单位：元；面积单位：亩",
                footer=[
                    f"清查人：{r.started_by}        审核人：{signer or '__________'}        "
                    f"日期：{date or '____年__月__日'}",
                ],
            )
        ]
    )
