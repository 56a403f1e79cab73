"""The wall poster (挂图) of a progress table: the same rows, ranks and figures as the page, grouped by
grid station with a subtotal each, handed to the poster renderer in ``reports``."""

from __future__ import annotations

from decimal import Decimal

from qiangcun.core.money import fmt_wan, pct1
from qiangcun.reports.poster import Poster, PosterGroup, PosterRow
from qiangcun.reports.xlsx import Column
from qiangcun.supervision.documents import BAND_TEXT
from qiangcun.supervision.text import threshold
from qiangcun.targets.selectors import Progress, band_for

COLUMNS = [
    Column("名次", "int", 4),
    Column("村", "text", 8),
    Column("目标", "yuan", 10),
    Column("已审核收入", "yuan", 11),
    Column("完成率", "percent", 7),
]


def poster(p: Progress) -> Poster:
    margin = p.campaign.band_margin if p.campaign else Decimal("10")
    groups: list[PosterGroup] = []
    by_station: dict[str, list] = {}
    for row in p.villages:
        by_station.setdefault(row.station_code, []).append(row)
    names = {s.code: s for s in p.stations}
    for code in sorted(by_station, key=lambda c: (c == "", c)):
        rows = [
            PosterRow(
                cells=[r.rank, r.name, r.target, r.income, pct1(r.completion_exact) / 100],
                bar=float(r.completion_exact),  # drawing only
                band=r.band,
                band_text=BAND_TEXT[r.band],
            )
            for r in sorted(by_station[code], key=lambda r: (r.rank, r.code))
        ]
        station = names.get(code)
        if station is not None:
            gap = station.completion_exact - p.time_progress
            band = band_for(station.income, gap, margin)
            rows.append(
                PosterRow(
                    cells=[
                        None,
                        "小计",
                        station.target,
                        station.income,
                        pct1(station.completion_exact) / 100,
                    ],
                    bar=float(station.completion_exact),
                    band=band,
                    band_text=BAND_TEXT[band],
                    strong=True,
                )
            )
        groups.append(PosterGroup(title=station.name if station else "未分网格站", rows=rows))
    t = p.totals
    campaign = p.campaign
    summary = [
        ("全镇目标", f"{fmt_wan(t.target)}元"),
        ("已审核收入", f"{fmt_wan(t.income)}元"),
        ("完成率", f"{pct1(t.completion_exact)}%（时序进度 {pct1(p.time_progress)}%）"),
    ]
    if campaign is not None:
        summary += [
            (f"≥{threshold(campaign.baseline)}", f"{t.at_baseline} 个村"),
            (
                f"≥{threshold(campaign.top_tier)}",
                f"{t.at_top_tier} 个村"
                + (
                    f"（目标 {campaign.goal_top_tier_villages} 个）"
                    if campaign.goal_top_tier_villages
                    else ""
                ),
            ),
        ]
    summary.append(("领先 / 稍慢 / 落后", f"{t.bands['green']} / {t.bands['yellow']} / {t.bands['red']}"))
    return Poster(
        title=f"{p.unit.name}{p.year}年村级集体经济收入进度表",
        subtitle=f"截至{p.as_of.year}年{p.as_of.month}月{p.as_of.day}日　时序进度 {pct1(p.time_progress)}%　共 {t.villages} 个村",
        columns=COLUMNS,
        groups=groups,
        marker=float(p.time_progress),
        summary=summary,
        footer="数据来源：强村平台已审核台账（计入目标的收入）　● 领先：不慢于时序进度　▲ 稍慢　■ 落后或尚无收入",
    )


def poster_pdf(p: Progress, *, size: str = "A1") -> bytes:
    from qiangcun.reports.poster import to_poster_pdf

    return to_poster_pdf(poster(p), size=size)
