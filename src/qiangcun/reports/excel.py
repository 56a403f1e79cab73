"""Every table a user can see, as .xlsx: the same figures as the page, with the user's scope applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from qiangcun.core.excel import Column, write_table
from qiangcun.ledger.models import Entry
from qiangcun.orgs.models import OrgUnit
from qiangcun.targets.selectors import BAND_LABELS, Progress, VillageProgress, pct1

LEDGER_COLUMNS = [
    Column("村名", "text", 12),
    Column("日期", "date", 12),
    Column("金额（元）", "yuan", 14),
    Column("收入类别", "text", 14),
    Column("增收路子", "text", 12),
    Column("摘要", "text", 36),
    Column("付款单位", "text", 22),
    Column("状态", "text", 8),
    Column("录入人", "text", 14),
    Column("审核人", "text", 14),
]


def progress_workbook(p: Progress, rows: Sequence[VillageProgress], filters: str = "") -> bytes:
    columns = [
        Column("排名", "int", 6),
        Column("排名变化", "int", 8),
        Column("村", "text", 12),
        Column("网格站", "text", 20),
        Column("管区", "text", 10),
        Column("目标（元）", "yuan", 14),
        Column("已审核收入（元）", "yuan", 16),
        Column("完成率", "percent", 9),
        Column("时序进度", "percent", 9),
        Column("与时序差（百分点）", "points", 12),
        Column("距目标（元）", "yuan", 14),
        Column("状态", "text", 8),
    ]
    tp = pct1(p.time_progress) / 100
    body: list[tuple[object, ...]] = [
        (
            r.rank,
            r.rank_change,
            r.name,
            r.station,
            r.district,
            r.target,
            r.income,
            r.completion_pct / 100,
            tp,
            r.gap_points,
            r.shortfall,
            BAND_LABELS[r.band],
        )
        for r in rows
    ]
    t = p.totals
    body.append(
        (
            None,
            None,
            "合计",
            "",
            "",
            t.target,
            t.income,
            pct1(t.completion_exact) / 100,
            tp,
            None,
            None,
            f"{t.villages} 个村",
        )
    )
    subtitle = f"截至 {p.as_of:%Y年%m月%d日}，时序进度 {pct1(p.time_progress)}%" + (
        f"；筛选：{filters}" if filters else ""
    )
    return write_table(
        title=f"{p.unit.name}{p.year}年村集体经济收入进度表",
        subtitle=subtitle,
        columns=columns,
        rows=body,
        sheet_name="进度表",
    )


def ledger_rows(entries: Iterable[Entry]) -> Iterable[tuple[object, ...]]:
    for e in entries:
        yield (
            e.village.name,
            e.date,
            e.amount,
            e.category.name,
            e.path.name,
            e.summary,
            e.counterparty,
            e.get_status_display(),
            str(e.entered_by),
            str(e.reviewed_by) if e.reviewed_by_id else "",
        )


def ledger_workbook(entries: Iterable[Entry], *, title: str, subtitle: str = "") -> bytes:
    return write_table(
        title=title, subtitle=subtitle, columns=LEDGER_COLUMNS, rows=ledger_rows(entries), sheet_name="台账"
    )


def targets_workbook(
    targets: Iterable[tuple[str, str, str, Decimal]], *, title: str, subtitle: str = ""
) -> bytes:
    columns = [
        Column("村名", "text", 12),
        Column("网格站", "text", 20),
        Column("管区", "text", 10),
        Column("目标（元）", "yuan", 14),
    ]
    return write_table(title=title, subtitle=subtitle, columns=columns, rows=targets, sheet_name="目标")


def units_workbook(
    township: OrgUnit,
    villages: Sequence[OrgUnit],
    placement: dict[int, tuple[OrgUnit | None, OrgUnit | None]],
    tags: dict[int, list[str]],
) -> bytes:
    rows = []
    for v in villages:
        station, district = placement.get(v.pk, (None, None))
        rows.append(
            (
                station.name if station else "",
                district.name if district else "",
                v.name,
                v.code,
                "、".join(sorted(tags.get(v.pk, []))),
            )
        )
    columns = [
        Column("网格站", "text", 20),
        Column("管区", "text", 12),
        Column("村名", "text", 12),
        Column("代码", "text", 16),
        Column("标签", "text", 40),
    ]
    return write_table(
        title=f"{township.name}组织结构", columns=columns, rows=rows, unit_line="", sheet_name="组织"
    )
