"""The bulletin's opening paragraph, written from the snapshot alone: every number in it is one of the
snapshot's figures and every comparison word (快/慢/持平, 新增/减少, 首次) agrees with them."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qiangcun.core.money import FEN, WAN

ZERO_NAMED = 5


def wan(amount: str | Decimal) -> str:
    """元 as 万元 with two decimals, no grouping: ``"12000.00"`` → ``"1.20"``."""
    return f"{(Decimal(amount) / WAN).quantize(FEN, rounding=ROUND_HALF_UP):f}"


def threshold(amount: str | Decimal) -> str:
    """A threshold as people say it: 30000 → "3万元", 25000 → "2.5万元", 8000 → "8000元"."""
    value = Decimal(amount)
    if value >= WAN:
        w = (value / WAN).normalize()
        return f"{w:f}万元"
    return f"{value.normalize():f}元"


def _day(iso: str) -> str:
    d = datetime.date.fromisoformat(iso)
    return f"{d.month}月{d.day}日"


def _names(villages: list[dict[str, Any]]) -> str:
    return "、".join(v["name"] for v in villages)


def summary(s: dict[str, Any]) -> str:
    t = s["totals"]
    by_code = {v["code"]: v for v in s["villages"]}
    parts: list[str] = []

    new = Decimal(t["new"])
    if new > 0:
        moved = f"全镇新增村集体经营性收入{wan(new)}万元"
    elif new < 0:
        moved = f"全镇村集体经营性收入净减少{wan(-new)}万元（含冲销）"
    else:
        moved = "全镇无新增村集体经营性收入"
    gap = Decimal(t["gap"])
    if gap > 0:
        pace = f"较时序进度（{s['time_progress']}%）快{gap:f}个百分点"
    elif gap < 0:
        pace = f"较时序进度（{s['time_progress']}%）慢{-gap:f}个百分点"
    else:
        pace = f"与时序进度（{s['time_progress']}%）持平"
    parts.append(
        f"本周（{_day(s['start'])}至{_day(s['end'])}），{moved}，累计{wan(t['income'])}万元，"
        f"完成年度目标{t['completion']}%，{pace}。"
    )

    movers = [by_code[c] for c in s["movers"]]
    if movers:
        listed = "、".join(f"{v['name']}（{wan(v['new'])}万元）" for v in movers)
        parts.append(f"本周新增收入较多的是{listed}。")

    climbers = sorted(
        (v for v in s["villages"] if v["rank_change"] > 0), key=lambda v: (-v["rank_change"], v["rank"])
    )
    if climbers:
        top = climbers[0]
        parts.append(f"排名上升最多的是{top['name']}，上升{top['rank_change']}位，现列第{top['rank']}位。")

    if s["baseline"] is not None:
        base, top_tier = threshold(s["baseline"]), threshold(s["top_tier"])
        reached = [v for v in s["villages"] if v["reached_baseline"]]
        reached_top = [v for v in s["villages"] if v["reached_top_tier"]]
        firsts = []
        if reached:
            firsts.append(f"首次达到{base}的有{_names(reached)}")
        if reached_top:
            firsts.append(f"首次达到{top_tier}的有{_names(reached_top)}")
        if firsts:
            parts.append(f"本周{'；'.join(firsts)}。")
        goal = f"（目标{s['goal_top_tier']}个）" if s["goal_top_tier"] else ""
        parts.append(
            f"截至{_day(s['end'])}，全镇{t['at_baseline']}个村达到{base}，"
            f"{t['at_top_tier']}个村达到{top_tier}{goal}。"
        )

    bands = t["bands"]
    parts.append(f"红色预警{bands['red']}个村，黄色预警{bands['yellow']}个村，绿色{bands['green']}个村。")

    zero = [v for v in s["villages"] if Decimal(v["income"]) <= 0]
    if zero:
        named = _names(zero[:ZERO_NAMED])
        more = "等" if len(zero) > ZERO_NAMED else ""
        parts.append(f"仍有{len(zero)}个村收入为零：{named}{more}。")
    elif s["villages"]:
        parts.append("全镇已无收入为零的村。")
    return "".join(parts)
