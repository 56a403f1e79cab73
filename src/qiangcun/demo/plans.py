"""The demo's 一村一策: a plan for each of the 67 villages, made from the roster and the ledger.

Each village's plan chooses exactly the roster's development paths (so the table of plans counts
34 villages on 土地流转 and 13 on 现代农业, as the article says, from the plans themselves); the
income expected of each path is the ledger's 2020 income on that path, rounded to 500 元 and moved by
a village-specific factor (a few plans fall short of the target and are flagged); the villages on
土地流转 list their idle collective land and assets (the article: "针对村集体固定资产长期闲置未有效
利用情况"); each path has a measure owned by the village clerk (or the district secretary), linked to
the ledger rows on its path; the 7 villages planning a 强村贷 and the 2 doing 清产核资 have those
measures. Statuses stand on the article's day, 17 April 2020: measures due earlier are mostly done,
a few are overdue; later ones are under way or not started."""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qiangcun.core.workdays import add_workdays
from qiangcun.ledger.models import DevelopmentPath, Entry
from qiangcun.orgs.models import OrgUnit
from qiangcun.plans import services as plans
from qiangcun.plans.models import MeasureStatus, ResourceKind

#: What each path's measure says (the roster's paths; the article's words where it has them).
MEASURE_TITLES = {
    "土地流转": "盘活闲置集体土地和资产，通过有偿转让、租赁公开发包",
    "现代农业": "发展特色种植，提档升级、提效增产",
    "光伏发电": "做好村级光伏电站运维，按季结算发电收益",
    "扶贫项目收益": "落实上龙食品驴肉加工扶贫项目收益分配",
    "合作社": "村党组织领办合作社规范运营，年底按股分红",
    "有偿服务": "依托民旺为农服务中心开展农机作业有偿服务",
    "招商引资": "配合招商项目用地，按合同收取用地租金",
    "边角经济": "清理废旧坑塘、边角地，公开发包",
    "电商": "合作社产品上线电商平台销售",
}
SPECIAL_TITLES = {
    ("孙庄村", "现代农业"): "卓冉合作社中药材种植提档升级",
    ("刘道村", "现代农业"): "特色冬瓜种植提效增产",
    ("杨老头村", "现代农业"): "山楂树采摘园旅游观光，增加采摘收入",
}
ADVANTAGES = {
    "现代农业": "有特色种植基础和种植大户",
    "光伏发电": "村级光伏电站（扶贫项目）已并网发电",
    "扶贫项目收益": "入股上龙食品驴肉加工扶贫项目",
    "合作社": "村党组织领办合作社已成立",
    "有偿服务": "民旺为农服务中心就近提供农机服务",
    "招商引资": "有招商项目落地，可提供项目用地",
    "电商": "合作社有可上网销售的特色农产品",
}
SPECIAL_ADVANTAGES = {
    "孙庄村": "卓冉合作社中药材（丹参）种植基地",
    "刘道村": "特色冬瓜种植传统，品牌有口碑",
    "杨老头村": "山楂树采摘园，适合旅游观光",
}
#: When each path's measure is due (month, day) — early steps before the article's day, the rest later.
DUE = {
    "土地流转": [(3, 31), (4, 10), (5, 31), (6, 30)],
    "现代农业": [(4, 15), (5, 31), (6, 30)],
    "光伏发电": [(3, 31), (6, 30)],
    "扶贫项目收益": [(1, 31), (7, 31)],
    "合作社": [(4, 10), (6, 30), (12, 20)],
    "有偿服务": [(6, 30)],
    "招商引资": [(11, 30)],
    "边角经济": [(3, 20), (4, 3), (10, 31)],
    "电商": [(2, 28), (4, 30), (8, 31)],
}
ARTICLE_DATE = datetime.date(2020, 4, 17)
STEP = Decimal("500")


def _round(value: Decimal) -> Decimal:
    return ((value / STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * STEP).quantize(Decimal("0.01"))


def build_plans(
    *,
    year: int,
    facts: dict[str, dict[str, Any]],
    villages: dict[str, OrgUnit],
    clerks: dict[str, Any],
    district_secretary: dict[str, Any],
    admin: Any,
) -> None:
    rng = random.Random(year * 10 + 9)
    paths = {p.name: p for p in DevelopmentPath.objects.all()}
    ledger: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    for e in Entry.objects.filter(
        village_id__in=[v.pk for v in villages.values()],
        date__year=year,
        reverses__isnull=True,
        reversal__isnull=True,
        category__counts_toward_target=True,
    ).select_related("path"):
        ledger[(e.village_id, e.path.name)].append(e)

    for name, fact in facts.items():
        village = villages[name]
        clerk = clerks[name]
        resources: list[plans.ResourceInput] = []
        chosen: list[plans.PathInput] = []
        factor = Decimal(rng.randrange(82, 118)) / 100
        for path_name in fact["paths"]:
            rows = ledger.get((village.pk, path_name), [])
            income = sum((e.amount for e in rows), Decimal(0))
            expected = _round(income * factor) if income else Decimal("5000.00")
            chosen.append(plans.PathInput(path=paths[path_name], expected=expected))
        if "土地流转" in fact["paths"]:
            resources.append(
                plans.ResourceInput(
                    kind=ResourceKind.LAND,
                    name="长期闲置的集体机动地",
                    area_mu=Decimal(rng.randrange(20, 160)) + Decimal(rng.choice([0, 50])) / 100,
                    note="拟通过有偿转让、租赁公开发包",
                )
            )
            resources.append(
                plans.ResourceInput(
                    kind=ResourceKind.ASSET,
                    name=rng.choice(["闲置旧村部院落", "废弃小学校舍", "闲置集体仓库", "原村办砖厂场地"]),
                    area_mu=Decimal(rng.randrange(2, 12)),
                    note="未有效利用",
                )
            )
        if "边角经济" in fact["paths"]:
            resources.append(
                plans.ResourceInput(
                    kind=ResourceKind.LAND, name="废旧坑塘、边角地", area_mu=Decimal(rng.randrange(5, 25))
                )
            )
        for path_name in fact["paths"]:
            text = SPECIAL_ADVANTAGES.get(name) if path_name == "现代农业" else ADVANTAGES.get(path_name)
            if text:
                resources.append(plans.ResourceInput(kind=ResourceKind.ADVANTAGE, name=text))
        if "软弱涣散村" in fact["tags"]:
            weakness = "班子战斗力不强，集体经济发展思路不清"
        elif "省级重点贫困村" in fact["tags"]:
            weakness = "产业基础薄弱，收入依赖扶贫项目"
        elif "清产核资" in fact["tags"]:
            weakness = "集体资产底数不清，部分承包费未收缴"
        else:
            weakness = "集体经营性资产少，收入来源单一"
        resources.append(plans.ResourceInput(kind=ResourceKind.WEAKNESS, name=weakness))
        plan = plans.plan_save(
            actor=clerk,
            village=village,
            year=year,
            summary=f"立足{name}村情，走{'、'.join(fact['paths'])}的路子，确保年底集体收入达到目标。",
            resources=resources,
            paths=chosen,
        )

        for index, path_name in enumerate(fact["paths"]):
            month, day = rng.choice(DUE[path_name])
            owner = district_secretary[name] if rng.random() < 0.2 else clerk
            expected = next(p.expected for p in chosen if p.path.name == path_name)
            measure = plans.measure_create(
                actor=clerk,
                plan=plan,
                title=SPECIAL_TITLES.get((name, path_name), MEASURE_TITLES[path_name]),
                path=paths[path_name],
                owner=owner,
                deadline=datetime.date(year, month, day),
                expected=expected,
            )
            _progress(measure, owner=owner, rng=rng, first=index == 0)
            measure.refresh_from_db()
            rows = ledger.get((village.pk, path_name), [])
            if rows and measure.status != MeasureStatus.PLANNED:  # a measure not started brought nothing yet
                plans.measure_link(actor=clerk, measure=measure, entries=rows)
        extra = []
        if "计划使用强村贷" in fact["tags"]:
            extra.append(("申请“鲁担惠农贷—强村贷”，发展壮大集体经济", datetime.date(year, 6, 30)))
        if "清产核资" in fact["tags"]:
            extra.append(("开展清产核资，理清家底，按程序处置，确保应收尽收", datetime.date(year, 4, 10)))
        for title, deadline in extra:
            measure = plans.measure_create(
                actor=clerk,
                plan=plan,
                title=title,
                owner=district_secretary[name],
                deadline=deadline,
                expected=Decimal("0.00"),
            )
            _progress(measure, owner=district_secretary[name], rng=rng, first=True)


def _progress(measure: Any, *, owner: Any, rng: random.Random, first: bool) -> None:
    """Statuses and notes as they stood on the article's day."""
    deadline = measure.deadline
    started = max(
        min(
            deadline - datetime.timedelta(days=rng.randrange(20, 50)),
            datetime.date(deadline.year, 2, 20) + datetime.timedelta(days=rng.randrange(0, 20)),
        ),
        datetime.date(deadline.year, 1, 2),
    )
    if deadline < ARTICLE_DATE:
        if rng.random() < 0.78:
            plans.measure_status_set(actor=owner, measure=measure, status=MeasureStatus.ACTIVE, on=started)
            done = min(add_workdays(started, rng.randrange(5, 25)), deadline)
            plans.measure_note_add(actor=owner, measure=measure, date=done, text="已按方案推进，取得阶段成效")
            plans.measure_status_set(actor=owner, measure=measure, status=MeasureStatus.DONE, on=done)
        else:
            plans.measure_status_set(actor=owner, measure=measure, status=MeasureStatus.ACTIVE, on=started)
            plans.measure_note_add(
                actor=owner, measure=measure, date=started, text="已召开两委会研究，正在对接承包方"
            )
    elif first or rng.random() < 0.5:
        plans.measure_status_set(actor=owner, measure=measure, status=MeasureStatus.ACTIVE, on=started)
        plans.measure_note_add(actor=owner, measure=measure, date=started, text="已启动，正在推进")
