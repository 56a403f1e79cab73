"""我的工作: what is the signed-in person's to do, gathered from every app, each line linking to the thing
itself. Everything here goes through the apps' scoped selectors: a clerk sees their village's, a station
head their station's, the township everything."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from qiangcun.contracts.selectors import summary as contract_summary
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.money import fmt_yuan
from qiangcun.core.scope import Action
from qiangcun.core.workdays import calendar_known
from qiangcun.ledger.models import Status
from qiangcun.ledger.selectors import entries_for_review, entries_visible
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import widest_units
from qiangcun.plans.selectors import measures_due, measures_overdue
from qiangcun.supervision.selectors import interviews_follow_up_due, rectifications, rectifications_due
from qiangcun.targets.selectors import Progress, Summary, board_summary, board_year, default_as_of, progress

#: How many lines a section shows before "全部 N 条".
SHOWN = 12


@dataclass
class Item:
    text: str
    url: str
    note: str = ""
    urgent: bool = False


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)
    total: int = 0
    more_url: str = ""
    empty: str = "没有待办。"
    #: The number on the section's title: the lines it holds, or what one line stands for.
    badge: int = 0

    @property
    def hidden(self) -> int:
        return max(self.total - len(self.items), 0)


@dataclass
class MyWork:
    year: int
    as_of: datetime.date
    units: list[OrgUnit]
    sections: list[Section]
    boards: list[Progress | Summary]
    calendar_known: bool = True

    @property
    def urgent(self) -> int:
        return sum(1 for s in self.sections for i in s.items if i.urgent)


def _section(
    key: str,
    title: str,
    items: list[Item],
    *,
    more_url: str = "",
    empty: str = "没有待办。",
    badge: int | None = None,
) -> Section:
    return Section(
        key=key,
        title=title,
        items=items[:SHOWN],
        total=len(items),
        more_url=more_url,
        empty=empty,
        badge=len(items) if badge is None else badge,
    )


def _as_of(year: int) -> datetime.date:
    return today() if today().year == year else default_as_of(year)


def my_work(user: Any) -> MyWork:
    year = board_year(user)
    as_of = _as_of(year)
    units = widest_units(user, Action.VIEW)
    #: A reader above the village level (station, district, township): their own measures; a village's
    #: people: every measure of their village, whoever owns it.
    wide_scope = any(u.level != Level.VILLAGE for u in units)
    sections: list[Section] = []

    if user.can(Action.ENTER):
        mine = entries_visible(user=user, action=Action.ENTER)
        returned = [
            Item(
                text=f"{e.village.name} {e.date:%m-%d} {fmt_yuan(e.amount)} 元 {e.summary}",
                url=reverse("entry_edit", args=[e.pk]),
                note=f"退回原因：{e.return_reason}",
                urgent=True,
            )
            for e in mine.filter(status=Status.RETURNED).order_by("-reviewed_at", "-pk")
        ]
        drafts = [
            Item(
                text=f"{e.village.name} {e.date:%m-%d} {fmt_yuan(e.amount)} 元 {e.summary}",
                url=reverse("entry_edit", args=[e.pk]),
                note="草稿，尚未提交审核",
            )
            for e in mine.filter(status=Status.DRAFT).order_by("-created_at", "-pk")
        ]
        sections.append(_section("returned", "被退回的台账", returned, empty="没有被退回的台账。"))
        if drafts:
            sections.append(_section("drafts", "未提交的草稿", drafts))

    if user.can(Action.VERIFY):
        waiting = entries_for_review(user=user)
        count = waiting.count()
        villages = waiting.values("village").distinct().count()
        items = (
            [Item(text=f"{count} 条台账待审核（{villages} 个村）", url=reverse("review"), urgent=count > 0)]
            if count
            else []
        )
        sections.append(_section("review", "待审核的台账", items, empty="没有待审核的台账。", badge=count))

    owned = [
        Item(
            text=f"{m.plan.village.name}：{m.title}",
            url=reverse("measure", args=[m.pk]),
            note=(f"责任人 {m.owner} · " if m.owner_id != user.pk else "")
            + (f"逾期 {late} 个工作日" if late else f"{m.deadline:%Y年%-m月%-d日}前完成"),
            urgent=late > 0,
        )
        for m, late in measures_due(user, as_of=as_of, village_wide=not wide_scope)
    ]
    if owned or user.can(Action.PLAN):
        title = "我负责的措施" if wide_scope else "本村措施"
        sections.append(
            _section("measures", f"{title}（14 天内到期或已逾期）", owned, empty="近期没有到期的措施。")
        )

    # 整改: what waits on this person (theirs to put right; submitted, theirs to close or send back).
    due = rectifications_due(user, as_of=as_of)
    fixing = [
        Item(
            text=f"{d.item.village.name}：{d.item.title}",
            url=reverse("rectification", args=[d.item.pk]),
            note=(
                f"{d.item.get_status_display()} · 逾期 {d.overdue_days} 个工作日"
                if d.overdue
                else f"{d.item.get_status_display()} · {d.effective_deadline:%Y年%-m月%-d日}前整改"
            ),
            urgent=d.overdue,
        )
        for d in due
        if d.why == "owner"
    ]
    if fixing or user.can(Action.ENTER):
        sections.append(
            _section(
                "rect_owner",
                "我负责的整改事项",
                fixing,
                more_url=reverse("rectifications"),
                empty="没有待整改的事项。",
            )
        )
    to_close = [
        Item(
            text=f"{d.item.village.name}：{d.item.title}",
            url=reverse("rectification", args=[d.item.pk]),
            note=f"责任人 {d.item.owner} 已提交整改材料，待销号",
            urgent=True,
        )
        for d in due
        if d.why == "close"
    ]
    if to_close or user.can(Action.INSPECT):
        sections.append(
            _section(
                "rect_close",
                "待我销号的整改事项",
                to_close,
                more_url=reverse("rectifications") + "?status=submitted",
                empty="没有待销号的事项。",
            )
        )

    wide = [u for u in units if u.level != Level.VILLAGE]
    # Overdue items: across the reader's scope; for a village's people, their village's (whoever owns
    # them — theirs appear above too).
    late_items = [
        Item(
            text=f"{item.village.name}：{item.title}",
            url=reverse("rectification", args=[item.pk]),
            note=f"责任人 {item.owner} · {item.get_status_display()} · 逾期 {item.overdue_days} 个工作日",
            urgent=True,
        )
        for item in sorted(
            rectifications(user, overdue=True, as_of=as_of), key=lambda i: (-i.overdue_days, i.pk)
        )
    ]
    if wide or late_items:
        sections.append(
            _section(
                "rect_overdue",
                "逾期未销号的整改事项" if wide else "本村逾期未销号的整改事项",
                late_items,
                more_url=reverse("rectifications") + "?overdue=1",
                empty="没有逾期的整改事项。",
            )
        )
    if wide:
        overdue = [
            Item(
                text=f"{m.plan.village.name}：{m.title}",
                url=reverse("measure", args=[m.pk]),
                note=f"责任人 {m.owner} · 逾期 {late} 个工作日",
                urgent=True,
            )
            for m, late in measures_overdue(user, as_of=as_of)
        ]
        sections.append(
            _section(
                "measures_overdue",
                "逾期的一村一策措施",
                overdue,
                more_url=reverse("plans") + f"?year={year}&show=overdue",
                empty="没有逾期的措施。",
            )
        )

    # 应收尽收: rent overdue and contracts ending soon, for the units of the reader's scope (a city or a
    # province reads them county by county on the contracts page, not on its home page).
    late_rent: list[Item] = []
    ending: list[Item] = []
    for unit in units:
        if unit.level in (Level.CITY, Level.PROVINCE):
            continue
        rent = contract_summary(user=user, unit=unit, year=as_of.year, as_of=as_of)
        late_rent += [
            Item(
                text=f"{a.contract.village.name}：{a.contract.title}（{a.contract.party_name}）",
                url=reverse("contract", args=[a.contract.pk]),
                note=f"未收 {fmt_yuan(a.line.outstanding)} 元 · 逾期 {a.line.overdue_workdays} 个工作日",
                urgent=True,
            )
            for a in rent.arrears
        ]
        ending += [
            Item(
                text=f"{c.village.name}：{c.title}（{c.party_name}）",
                url=reverse("contract", args=[c.pk]),
                note=f"{c.end:%Y年%-m月%-d日}到期，请及时续签或重新发包",
            )
            for c in rent.expiring
        ]
    if late_rent or user.can(Action.ASSETS):
        sections.append(
            _section(
                "rent_overdue",
                "逾期未收的合同租金",
                late_rent,
                more_url=reverse("contracts"),
                empty="没有逾期未收的租金。",
            )
        )
    if ending:
        sections.append(
            _section("contracts_ending", "90 天内到期的合同", ending, more_url=reverse("contracts"))
        )

    if user.can(Action.INSPECT):
        follow = [
            Item(
                text=f"{d.interview.village.name}：约谈 {d.interview.interviewee}（{d.interview.post}）",
                url=reverse("interview", args=[d.interview.pk]),
                note=(
                    f"回访逾期 {d.overdue_days} 个工作日"
                    if d.overdue_days
                    else f"{d.effective_deadline:%Y年%-m月%-d日}回访"
                ),
                urgent=d.overdue_days > 0,
            )
            for d in interviews_follow_up_due(user, as_of=as_of)
        ]
        sections.append(
            _section(
                "interviews",
                "约谈回访",
                follow,
                more_url=reverse("interviews"),
                empty="近期没有要回访的约谈。",
            )
        )

    boards: list[Progress | Summary] = []
    reds: list[Item] = []
    red_villages = 0  # the badge counts villages: a province's one line stands for many
    for unit in units:
        if unit.level in (Level.PROVINCE, Level.CITY):  # tens of thousands of villages: the summary
            try:
                summary = board_summary(user=user, unit=unit, year=year, as_of=as_of)
            except ServiceError:
                continue
            boards.append(summary)
            red_villages += summary.totals.bands["red"]
            if summary.totals.bands["red"]:
                reds.append(
                    Item(
                        text=f"{unit.name}落后的村 {summary.totals.bands['red']} 个",
                        url=reverse("progress") + f"?unit={unit.code}&year={year}",
                        note="按下级单位查看",
                        urgent=True,
                    )
                )
            continue
        try:
            board = progress(user=user, unit=unit, year=year, as_of=as_of)
        except ServiceError:  # the year has no campaign here: no flags from this unit
            continue
        boards.append(board)
        for row in board.villages:
            if row.band == "red":
                red_villages += 1
                reds.append(
                    Item(
                        text=f"{row.name} 完成 {row.completion_pct}%",
                        url=reverse("village", args=[row.code]) + f"?year={year}",
                        note=f"落后时序 {abs(row.gap_points)} 个百分点 · 差目标 {fmt_yuan(row.shortfall)} 元",
                        urgent=True,
                    )
                )
    if wide or reds:
        sections.append(
            _section(
                "red",
                "红色预警村",
                reds,
                more_url=reverse("progress") + f"?year={year}&band=red",
                empty="没有红色预警村。",
                badge=red_villages,
            )
        )
    return MyWork(
        year=year,
        as_of=as_of,
        units=units,
        sections=sections,
        boards=boards,
        calendar_known=calendar_known(as_of.year),
    )
