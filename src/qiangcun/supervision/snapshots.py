"""A bulletin's figures: the township's progress table at the end of a week and at the end of the week
before, turned into one plain JSON document (money as strings in 元, percentages with one decimal).
The bulletin freezes this document when it is issued; its text, tables, chart and files are made from
it alone."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qiangcun.core.money import FEN, pct1, yuan_str
from qiangcun.core.scope import Action
from qiangcun.orgs.models import OrgUnit
from qiangcun.supervision.weeks import Week
from qiangcun.targets.selectors import Progress, progress

SNAPSHOT_VERSION = 1
MOVERS = 3


@dataclass(frozen=True)
class TownshipBoard:
    """Reads one township's progress table — the 擂台, public within the township — on behalf of a
    caller whose right to it was checked already (the page, the command line, the scheduled job)."""

    path: str
    pk: None = None
    is_authenticated: bool = True
    is_active: bool = True

    def scope_paths(self, action: str) -> tuple[str, ...]:
        return (self.path,) if action == Action.VIEW else ()


def _pct(value: Decimal) -> str:
    return f"{pct1(value):f}"


def _points(value: Decimal) -> str:
    """Signed percentage points with one decimal: "+3.2", "-4.0", "0.0"."""
    p = pct1(value)
    return f"+{p:f}" if p > 0 else f"{p:f}"


def board_at(township: OrgUnit, year: int, day: datetime.date) -> Progress:
    return progress(user=TownshipBoard(township.path), unit=township, year=year, as_of=day)


@dataclass(frozen=True)
class Standing:
    """A village's standing at the end of the week before: its counted income and its rank."""

    income: Decimal
    rank: int


def take(
    *,
    township: OrgUnit,
    week: Week,
    issuer: str,
    issued_on: datetime.date,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The figures of ``week`` for ``township``: as of the week's last day, with the change since the week
    before. When the week before was issued, the change is taken from that bulletin's frozen figures —
    so 新增 is everything verified since it (rows dated earlier but verified late included) and
    this 累计 minus that one's is always this 新增; otherwise from the table at the end of the week before,
    as it stands now (nothing before 1 January: the year starts from zero)."""
    now = board_at(township, week.year, week.end)
    prior: dict[str, Standing] = {}
    before_totals: dict[str, Any] = {}
    if previous is not None:
        prior = {v["code"]: Standing(Decimal(v["income"]), v["rank"]) for v in previous["villages"]}
        before_totals = previous["totals"]
    elif week.start > datetime.date(week.year, 1, 1):
        before = board_at(township, week.year, week.start - datetime.timedelta(days=1))
        prior = {r.code: Standing(r.income, r.rank) for r in before.villages}
        before_totals = {
            "income": yuan_str(before.totals.income),
            "at_baseline": before.totals.at_baseline,
            "at_top_tier": before.totals.at_top_tier,
        }
    tp = now.time_progress
    campaign = now.campaign

    villages: list[dict[str, Any]] = []
    new_total = Decimal("0.00")
    for r in now.villages:
        was = prior.get(r.code)
        income_before = was.income if was else Decimal("0.00")
        rank_before = was.rank if was else r.rank
        new = r.income - income_before
        new_total += new
        behind = (r.target * tp - r.income).quantize(FEN, rounding=ROUND_HALF_UP)
        villages.append(
            {
                "code": r.code,
                "name": r.name,
                "station": r.station,
                "station_code": r.station_code,
                "district": r.district,
                "target": yuan_str(r.target),
                "income": yuan_str(r.income),
                "income_before": yuan_str(income_before),
                "new": yuan_str(new),
                "completion": _pct(r.completion_exact),
                "gap": _points(r.gap_exact),
                "behind": yuan_str(max(behind, Decimal("0.00"))),
                "band": r.band,
                "rank": r.rank,
                "rank_before": rank_before,
                "rank_change": rank_before - r.rank,
                "reached_baseline": r.income >= r.baseline and income_before < r.baseline,
                "reached_top_tier": r.income >= r.top_tier and income_before < r.top_tier,
            }
        )

    stations = []
    station_new: dict[str, Decimal] = {}
    for v in villages:
        station_new[v["station_code"]] = station_new.get(v["station_code"], Decimal(0)) + Decimal(v["new"])
    ordered = sorted(now.stations, key=lambda s: (-s.completion_exact, -s.income, s.code))
    for rank, s in enumerate(ordered, start=1):
        stations.append(
            {
                "code": s.code,
                "name": s.name,
                "villages": s.villages,
                "target": yuan_str(s.target),
                "income": yuan_str(s.income),
                "new": yuan_str(station_new.get(s.code, Decimal(0))),
                "completion": _pct(s.completion_exact),
                "gap": _points(s.completion_exact - tp),
                "at_baseline": s.at_baseline,
                "at_top_tier": s.at_top_tier,
                "bands": dict(s.bands),
                "rank": rank,
            }
        )

    movers = sorted(
        (v for v in villages if Decimal(v["new"]) > 0), key=lambda v: (-Decimal(v["new"]), v["rank"])
    )
    t = now.totals
    return {
        "version": SNAPSHOT_VERSION,
        "township": {"code": township.code, "name": township.name},
        "issuer": issuer,
        "year": week.year,
        "week": week.number,
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "issued_on": issued_on.isoformat(),
        "time_progress": _pct(tp),
        "baseline": yuan_str(campaign.baseline) if campaign else None,
        "top_tier": yuan_str(campaign.top_tier) if campaign else None,
        "goal_top_tier": campaign.goal_top_tier_villages if campaign else 0,
        "totals": {
            "villages": t.villages,
            "target": yuan_str(t.target),
            "income": yuan_str(t.income),
            "income_before": before_totals.get("income", "0.00"),
            "new": yuan_str(new_total),
            "completion": _pct(t.completion_exact),
            "gap": _points(now.gap_exact),
            "at_baseline": t.at_baseline,
            "at_top_tier": t.at_top_tier,
            "at_baseline_before": before_totals.get("at_baseline", 0),
            "at_top_tier_before": before_totals.get("at_top_tier", 0),
            "bands": dict(t.bands),
            "zero": sum(1 for v in villages if Decimal(v["income"]) <= 0),
        },
        "villages": villages,
        "stations": stations,
        "movers": [v["code"] for v in movers[:MOVERS]],
        "since": "previous_bulletin" if previous is not None else "week_before",
        "overdue": overdue_sections(township, week.end),
    }


# --- the annex: what is overdue at the end of the week ---------------------------------------------------
#
# ``snapshot["overdue"]`` is a list of sections, each a plain JSON table:
#   {"key": "rectifications", "title": "逾期未销号的整改事项",
#    "columns": [{"header": "村", "kind": "text", "width": 8}, ...],   kind: text | int
#    "rows": [["孙庄村", "…", "张三", "2020-05-06", 3], ...], "empty": "无逾期的整改事项。"}
# The bulletin prints them in order as its annex (附件), the page too. Snapshots taken before the annex
# existed have no "overdue" key and print without it. To add a section (the plans' overdue measures),
# append a function to ``OVERDUE_SECTIONS`` that takes (township, as_of) and returns one such dict.


def rectification_section(township: OrgUnit, as_of: datetime.date) -> dict[str, Any]:
    """The rectification items of ``township`` overdue at the end of ``as_of`` (village, item, owner,
    deadline, its status at the end of ``as_of`` — a 待销号 one with the day it was submitted, the wait
    then being the inspector's — working days overdue)."""
    from qiangcun.supervision.selectors import rectifications_overdue, status_on_label

    rows = [
        [
            d.item.village.name,
            d.item.title,
            str(d.item.owner),
            d.item.deadline.isoformat(),
            status_on_label(d.item, as_of),
            d.overdue_days,
        ]
        for d in rectifications_overdue(township, as_of)
    ]
    return {
        "key": "rectifications",
        "title": "逾期未销号的整改事项",
        "columns": [
            {"header": "村", "kind": "text", "width": 8},
            {"header": "整改事项", "kind": "text", "width": 20},
            {"header": "责任人", "kind": "text", "width": 7},
            {"header": "整改期限", "kind": "text", "width": 10},
            {"header": "状态", "kind": "text", "width": 9},
            {"header": "逾期（工作日）", "kind": "int", "width": 7},
        ],
        "rows": rows,
        "empty": "无逾期未销号的整改事项。",
    }


def measure_section(township: OrgUnit, as_of: datetime.date) -> dict[str, Any]:
    """The 一村一策 measures of ``township`` past their deadline and not finished at the end of ``as_of``
    (village, measure, owner, deadline, working days overdue), most overdue first."""
    from qiangcun.plans.selectors import measures_overdue

    rows = [
        [
            m.plan.village.name,
            m.title,
            str(m.owner),
            m.deadline.isoformat(),
            "未开始" if m.status == "planned" else "推进中",
            days,
        ]
        for m, days in measures_overdue(None, unit=township, year=as_of.year, as_of=as_of)
    ]
    return {
        "key": "measures",
        "title": "逾期未完成的一村一策措施",
        "columns": [
            {"header": "村", "kind": "text", "width": 8},
            {"header": "措施", "kind": "text", "width": 20},
            {"header": "责任人", "kind": "text", "width": 7},
            {"header": "完成时限", "kind": "text", "width": 10},
            {"header": "状态", "kind": "text", "width": 6},
            {"header": "逾期（工作日）", "kind": "int", "width": 7},
        ],
        "rows": rows,
        "empty": "无逾期未完成的措施。",
    }


#: The annex's sections, in print order: each (township, as_of) → section dict (see above).
OVERDUE_SECTIONS: list[Callable[[OrgUnit, datetime.date], dict[str, Any]]] = [
    rectification_section,
    measure_section,
]


def overdue_sections(township: OrgUnit, as_of: datetime.date) -> list[dict[str, Any]]:
    """The annex of the bulletin whose week ends on ``as_of``: every section of ``OVERDUE_SECTIONS``."""
    return [section(township, as_of) for section in OVERDUE_SECTIONS]
