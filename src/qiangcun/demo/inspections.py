"""The demo's 一月一督查: a year of monthly inspection rounds (May 2019 – April 2020), their findings and
rectification items followed to closure, and the township's interviews (约谈) of red-band villages.

Each month every district secretary visits about a third of their district's villages and the station
heads one village each; the instructor of 孙庄村 visits it every month. About half the visits open an
item, owned by the village's clerk. Items of earlier months were put right and closed (a few sent back
once first); the rounds of March and April 2020 leave items in every state on the article's day —
待整改, 整改中, 待销号, 已销号, and sent back — some of them overdue on the working calendar."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from qiangcun.core.workdays import add_workdays
from qiangcun.orgs.models import OrgUnit
from qiangcun.supervision import services
from qiangcun.supervision.models import Rectification
from qiangcun.supervision.services import FindingInput

ARTICLE_DATE = datetime.date(2020, 4, 17)

#: (finding, the item's title, what must be shown to close it)
FINDINGS = [
    ("台账登记不及时，3月份部分收入未入账", "补登3月份收入台账", "补登后的台账照片"),
    ("部分收入缺少收款凭证", "补齐收入凭证", "补齐的收据复印件"),
    ("村务公开栏未公开集体收入情况", "公开集体收入情况", "公开栏照片"),
    ("闲置集体资产未登记入册", "闲置资产登记入册", "资产登记表"),
    ("承包费收缴不及时，有欠缴户", "催收欠缴承包费", "收款凭证"),
    ("土地发包合同未经村民代表会议通过", "补开村民代表会议，完善发包程序", "会议记录"),
    ("一村一策措施推进缓慢", "制定推进计划，明确时间节点", "推进计划"),
    ("合作社账目与村集体账目混用", "分设合作社账目", "分账后的账簿照片"),
]
NO_ITEM = [
    "集体经济台账登记规范",
    "村两委班子分工明确，增收思路清晰",
    "光伏电站运行正常，收益按季结算",
    "合作社运营正常",
]
REASONS = ["收入排名靠后，完成率低于时序进度", "连续两周无新增收入", "承包费收缴不力"]


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def _visit_day(rng: random.Random, year: int, month: int) -> datetime.date:
    """A working day in the first three weeks of the month."""
    day = datetime.date(year, month, rng.randint(3, 20))
    return add_workdays(day, 0)


def build_inspections(
    *,
    villages: dict[str, OrgUnit],
    clerks: dict[str, Any],
    district_of: dict[str, OrgUnit],
    station_of: dict[str, OrgUnit],
    district_secretary: dict[str, Any],
    station_head: dict[str, Any],
    instructor: Any,
    admin: Any,
    red: list[str],
) -> None:
    rng = random.Random(20200417)
    months = [(2019, m) for m in range(5, 13)] + [(2020, m) for m in range(1, 5)]
    by_district: dict[int, list[str]] = {}
    for name in sorted(villages, key=lambda n: villages[n].code):
        by_district.setdefault(district_of[name].pk, []).append(name)
    by_station: dict[int, list[str]] = {}
    for name in sorted(villages, key=lambda n: villages[n].code):
        by_station.setdefault(station_of[name].pk, []).append(name)

    for index, (year, month) in enumerate(months):
        visits: list[tuple[str, Any]] = []
        for names in by_district.values():
            share = names[index % 3 :: 3]
            visits += [(name, district_secretary[name]) for name in share]
        for names in by_station.values():
            name = names[(index * 5) % len(names)]
            if all(v != name for v, _ in visits):
                visits.append((name, station_head[name]))
        if all(v != "孙庄村" for v, _ in visits):
            visits.append(("孙庄村", instructor))
        recent = (year, month) >= (2020, 3)
        for name, inspector in visits:
            day = _visit_day(rng, year, month)
            if day > ARTICLE_DATE:
                day = ARTICLE_DATE - datetime.timedelta(days=rng.randint(1, 4))
            opens = rng.random() < (0.6 if recent else 0.45)
            findings: list[FindingInput | str] = [rng.choice(NO_ITEM)]
            problem = rng.choice(FINDINGS)
            if opens:
                findings.insert(
                    0,
                    FindingInput(
                        text=problem[0], owner=clerks[name], title=problem[1], required_evidence=problem[2]
                    ),
                )
            inspection = services.inspection_record(
                actor=inspector,
                village=villages[name],
                visited_on=day,
                met="村党支部书记、村报账员",
                findings=findings,
                score=rng.randint(72, 98),
                summary="查看集体经济台账、收入凭证和一村一策推进情况。",
                at=_at(day, 16),
            )
            if opens:
                item = Rectification.objects.get(finding__inspection=inspection)
                _follow(item, inspector=inspector, clerk=clerks[name], day=day, rng=rng, recent=recent)

    # 约谈: the township interviews the secretaries of red-band villages in March and April 2020.
    for number, name in enumerate(red[:8]):
        held = add_workdays(datetime.date(2020, 3, 16) + datetime.timedelta(days=number * 3), 0)
        interview = services.interview_record(
            actor=admin,
            village=villages[name],
            held_on=held,
            interviewee=f"{name}党支部书记（演示）",
            post="村党支部书记",
            reason=REASONS[number % len(REASONS)],
            agreed="两周内拿出增收措施，按一村一策时间节点推进，每周向包区书记报告进展。",
            follow_up_on=add_workdays(held, 10),
            at=_at(held, 15),
        )
        follow = add_workdays(held, 10)
        if follow <= ARTICLE_DATE - datetime.timedelta(days=2) and number % 2 == 0:
            services.interview_follow_up(
                actor=admin,
                interview=interview,
                note="已回访：措施已落实，本周新增收入已入账。",
                at=_at(follow, 11),
            )


def _follow(
    item: Rectification, *, inspector: Any, clerk: Any, day: datetime.date, rng: random.Random, recent: bool
) -> None:
    """The item's life up to the article's day: older ones closed; recent ones in every state."""
    start = add_workdays(day, rng.randint(1, 3))
    fate = rng.random()
    if recent:
        if fate < 0.2:
            return  # 待整改 (perhaps overdue)
        if start > ARTICLE_DATE:
            return
        services.rectification_start(actor=clerk, item=item, note="已安排专人整改", at=_at(start, 9))
        if fate < 0.45:
            return  # 整改中
    else:
        services.rectification_start(actor=clerk, item=item, note="已安排专人整改", at=_at(start, 9))
    submit = add_workdays(start, rng.randint(2, 8))
    if submit > ARTICLE_DATE:
        return
    services.rectification_submit(
        actor=clerk, item=item, account="已按要求整改完毕，材料附后（演示）", at=_at(submit, 10)
    )
    if recent and fate < 0.65:
        return  # 待销号
    check = add_workdays(submit, rng.randint(1, 3))
    if check > ARTICLE_DATE:
        return
    if fate > 0.88:
        services.rectification_reopen(
            actor=inspector, item=item, reason="整改材料不全，请补充凭证照片后重新提交", at=_at(check, 15)
        )
        again = add_workdays(check, rng.randint(2, 5))
        if again > ARTICLE_DATE or (recent and fate > 0.94):
            return  # 退回重改, still being put right
        services.rectification_submit(
            actor=clerk, item=item, account="已补充凭证照片（演示）", at=_at(again, 10)
        )
        check = add_workdays(again, 1)
        if check > ARTICLE_DATE:
            return
    services.rectification_close(
        actor=inspector, item=item, note="经核查，整改到位，同意销号", at=_at(check, 16)
    )
