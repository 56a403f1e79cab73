"""A bulletin's document, made from its snapshot alone and handed to the renderers in ``reports``:
the same data gives the .docx, the .pdf and the preview."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from qiangcun.reports.official import Figure, Heading, OfficialDocument, Paragraph, Table
from qiangcun.reports.xlsx import Column
from qiangcun.supervision.text import threshold, wan
from qiangcun.targets.selectors import BAND_ICONS, BAND_LABELS

#: A band as printed: its symbol and word (grey printers lose the colour), from the progress table's own.
BAND_TEXT = {band: f"{BAND_ICONS[band]} {label}" for band, label in BAND_LABELS.items()}
BAND_COLOURS = {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828"}


def _date_text(iso: str) -> str:
    d = datetime.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"


def _pct(text: str) -> Decimal:
    return Decimal(text) / 100


def _change(change: int) -> str:
    if change > 0:
        return f"▲{change}"
    if change < 0:
        return f"▼{-change}"
    return "—"


def wan_text(amount: str) -> str:
    return f"{wan(amount)}万元"


def default_issuer(township_name: str) -> str:
    return f"{township_name}党建办公室"


def chart_png(s: dict[str, Any]) -> bytes:
    from qiangcun.reports.charts import bar_chart_png

    stations = s["stations"]
    tp = Decimal(s["time_progress"])
    return bar_chart_png(
        labels=[st["name"] for st in stations],
        values=[float(_pct(st["completion"])) for st in stations],  # drawing only: ratios, not money
        marker=float(tp / 100),
        marker_label=f"时序进度 {tp}%",
        colors=[BAND_COLOURS["green" if Decimal(st["gap"]) >= 0 else "red"] for st in stations],
        title="各网格站完成率",
    )


def document(s: dict[str, Any], summary: str, *, chart: bytes | None = None) -> OfficialDocument:
    t = s["totals"]
    name = s["township"]["name"]
    base = threshold(s["baseline"]) if s["baseline"] else "基础线"
    top = threshold(s["top_tier"]) if s["top_tier"] else "强村线"
    villages = s["villages"]

    overview = Table(
        columns=[
            Column("目标", "yuan"),
            Column("累计收入", "yuan"),
            Column("本周新增", "yuan"),
            Column("完成率", "percent"),
            Column("时序进度", "percent"),
            Column("较时序进度", "points"),
            Column(f"≥{base}", "int"),
            Column(f"≥{top}", "int"),
        ],
        rows=[
            [
                Decimal(t["target"]),
                Decimal(t["income"]),
                Decimal(t["new"]),
                _pct(t["completion"]),
                _pct(s["time_progress"]),
                Decimal(t["gap"]),
                t["at_baseline"],
                t["at_top_tier"],
            ]
        ],
        caption=f"全镇 {t['villages']} 个村",
        note="较时序进度：完成率减时序进度，单位为百分点。",
    )
    station_table = Table(
        columns=[
            Column("名次", "int", 5),
            Column("网格站", "text", 16),
            Column("村数", "int", 5),
            Column("目标", "yuan", 11),
            Column("累计收入", "yuan", 11),
            Column("本周新增", "yuan", 10),
            Column("完成率", "percent", 8),
            Column("较时序", "points", 7),
            Column("红/黄/绿", "text", 8),
        ],
        rows=[
            [
                st["rank"],
                st["name"],
                st["villages"],
                Decimal(st["target"]),
                Decimal(st["income"]),
                Decimal(st["new"]),
                _pct(st["completion"]),
                Decimal(st["gap"]),
                f"{st['bands']['red']}/{st['bands']['yellow']}/{st['bands']['green']}",
            ]
            for st in s["stations"]
        ],
        totals=[
            None,
            "合计",
            t["villages"],
            Decimal(t["target"]),
            Decimal(t["income"]),
            Decimal(t["new"]),
            _pct(t["completion"]),
            Decimal(t["gap"]),
            f"{t['bands']['red']}/{t['bands']['yellow']}/{t['bands']['green']}",
        ],
    )
    village_table = Table(
        columns=[
            Column("名次", "int", 5),
            Column("变化", "text", 5),
            Column("村", "text", 9),
            Column("目标", "yuan", 11),
            Column("累计收入", "yuan", 11),
            Column("本周新增", "yuan", 10),
            Column("完成率", "percent", 8),
            Column("预警", "text", 8),
        ],
        rows=[
            [
                v["rank"],
                _change(v["rank_change"]),
                v["name"],
                Decimal(v["target"]),
                Decimal(v["income"]),
                Decimal(v["new"]),
                _pct(v["completion"]),
                BAND_TEXT[v["band"]],
            ]
            for v in villages
        ],
        note="变化：与上周末的排名相比，▲ 上升，▼ 下降。各村所属网格站见第二部分。",
    )

    blocks: list[Any] = [Paragraph(summary)]
    blocks += [Heading("一、全镇总体进展"), overview]
    blocks += [Heading("二、各网格站进展"), station_table]
    if chart is not None and s["stations"]:
        blocks.append(Figure(chart, caption=f"各网格站完成率（虚线为时序进度 {s['time_progress']}%）"))
    blocks += [Heading("三、各村排名"), village_table]

    reached = [v for v in villages if v["reached_baseline"]]
    reached_top = [v for v in villages if v["reached_top_tier"]]
    blocks.append(Heading("四、本周达标情况"))
    if reached or reached_top:
        if reached:
            blocks.append(Paragraph("、".join(v["name"] for v in reached) + "。", lead=f"首次达到{base}："))
        if reached_top:
            blocks.append(
                Paragraph("、".join(v["name"] for v in reached_top) + "。", lead=f"首次达到{top}：")
            )
    else:
        blocks.append(Paragraph(f"本周没有村首次达到{base}或{top}。"))

    blocks.append(Heading("五、三色预警"))
    warning_columns = [
        Column("名次", "int", 5),
        Column("村", "text", 9),
        Column("累计收入", "yuan", 11),
        Column("完成率", "percent", 8),
        Column("落后时序（百分点）", "points", 10),
        Column("落后时序（元）", "yuan", 11),
    ]
    for band, title in (("red", "（一）红色预警"), ("yellow", "（二）黄色预警")):
        listed = [v for v in villages if v["band"] == band]
        blocks.append(Heading(f"{title}（{len(listed)} 个村）", level=2))
        if listed:
            blocks.append(
                Table(
                    columns=warning_columns,
                    rows=[
                        [
                            v["rank"],
                            v["name"],
                            Decimal(v["income"]),
                            _pct(v["completion"]),
                            Decimal(v["gap"]),
                            Decimal(v["behind"]),
                        ]
                        for v in listed
                    ],
                )
            )
        else:
            blocks.append(Paragraph("无。"))
    blocks += annex(s)
    issuer = s["issuer"]
    return OfficialDocument(
        organ=f"{name}村级集体经济增收工作通报",
        number=f"{s['year']}年第{s['number']}期",
        issuer=issuer,
        date_text=_date_text(s["issued_on"]),
        title=f"关于第{s['week']}周村级集体经济增收进展情况的通报",
        blocks=blocks,
        distribution=issuer,
        footer_note=(
            f"数据截至{_date_text(s['end'])}，口径为已审核、计入目标的村集体收入；"
            f"全镇累计{wan(t['income'])}万元。"
        ),
    )


def annex(s: dict[str, Any]) -> list[Any]:
    """The annex (附件): the snapshot's overdue sections, each a table or its "无" line. A snapshot from
    before the annex existed (no ``overdue`` key) has none."""
    sections = s.get("overdue")
    if not sections:
        return []
    blocks: list[Any] = [Heading("附件：逾期事项")]
    numerals = "一二三四五六七八九十"
    for index, section in enumerate(sections):
        rows = section["rows"]
        count = f"（{len(rows)} 项）"
        blocks.append(Heading(f"（{numerals[index % 10]}）{section['title']}{count}", level=2))
        if rows:
            blocks.append(
                Table(
                    columns=[Column(c["header"], c["kind"], c.get("width", 10)) for c in section["columns"]],
                    rows=rows,
                    unit_line="",
                )
            )
        else:
            blocks.append(Paragraph(section.get("empty") or "无。"))
    return blocks


def annex_cards(s: dict[str, Any]) -> list[dict[str, Any]]:
    """The annex for the page: each section with its rows as (header, value) pairs."""
    return [
        {
            "key": section.get("key", ""),
            "title": section["title"],
            "empty": section.get("empty") or "无。",
            "rows": [
                [(c["header"], value) for c, value in zip(section["columns"], row, strict=False)]
                for row in section["rows"]
            ],
        }
        for section in s.get("overdue") or []
    ]


def render(s: dict[str, Any], summary: str) -> tuple[bytes, bytes]:
    """The bulletin's .docx and .pdf, both from the same document."""
    from qiangcun.reports.official import to_docx, to_pdf

    doc = document(s, summary, chart=chart_png(s) if s["stations"] else None)
    return to_docx(doc), to_pdf(doc)
