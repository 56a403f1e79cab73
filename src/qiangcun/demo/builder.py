"""The demo township: 相衙镇 (宁津县, 德州市, 山东省) in 2020, built through the platform's own services
from the roster ``xiangya-2020.json`` (a copy of ``shared/demo``). Deterministic: the same records on
every run; running it again when the township exists changes nothing.

Every figure comes out of records: targets are village targets, income is ledger rows (verified by
the station heads), the 招商引资 22万 is the sum of the 招商引资 rows dated on or before 2020-04-17.
"""

from __future__ import annotations

import datetime
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.demo.assets import build_assets
from qiangcun.demo.boundaries import boundaries_bytes
from qiangcun.demo.contracts import ContractMaker
from qiangcun.demo.inspections import build_inspections
from qiangcun.demo.plans import build_plans
from qiangcun.ledger import services as ledger
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, Status
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import geometry_import, unit_create
from qiangcun.supervision import services as supervision
from qiangcun.supervision.weeks import weeks_of
from qiangcun.targets.selectors import progress
from qiangcun.targets.services import campaign_create, targets_set

ROSTER = Path(__file__).with_name("xiangya-2020.json")
YEAR = 2020
COUNTY_CODE = "371422000000"
TOWNSHIP_CODE = "371422105000"
DEMO_PASSWORD = "qiangcun2020"
ARTICLE_DATE = datetime.date(2020, 4, 17)

#: The demo's accounts: username, display name, role, the unit it is granted on (by name).
ACCOUNTS = [
    ("demo-admin", "镇党建办（演示）", Role.TOWNSHIP_ADMIN, "township"),
    ("demo-leader", "镇领导（演示）", Role.LEADER, "township"),
    ("demo-station", "网格站长（演示）", Role.STATION_HEAD, "station:孙庄村"),
    ("demo-district", "包区书记（演示）", Role.DISTRICT_SECRETARY, "district:孙庄村"),
    ("demo-instructor", "党建指导员（演示）", Role.INSTRUCTOR, "village:孙庄村"),
    ("demo-secretary", "孙庄村书记（演示）", Role.VILLAGE_SECRETARY, "village:孙庄村"),
    ("demo-clerk", "孙庄村报账员（演示）", Role.VILLAGE_CLERK, "village:孙庄村"),
    ("demo-clerk-liudao", "刘道村报账员（演示）", Role.VILLAGE_CLERK, "village:刘道村"),
    ("demo-sysadmin", "系统管理员（演示）", Role.SYSTEM_ADMIN, "township"),
    ("demo-auditor", "审计管理员（演示）", Role.AUDITOR, "township"),
]

#: 招商引资: land for the pig farm and 幸福苑, paid to three villages before the article (22万 in all).
INVESTMENT_PAYMENTS = [
    (
        "后许口村",
        datetime.date(2020, 1, 10),
        Decimal("80000.00"),
        "生猪养殖项目流转土地租金（首期）",
        "宁津县某畜禽养殖公司",
    ),
    (
        "萧家村",
        datetime.date(2020, 1, 16),
        Decimal("50000.00"),
        "幸福苑养老服务中心流转土地租金",
        "幸福苑养老服务中心",
    ),
    (
        "南卢洼村",
        datetime.date(2020, 3, 20),
        Decimal("50000.00"),
        "幸福苑养老服务中心流转土地租金",
        "幸福苑养老服务中心",
    ),
    (
        "后许口村",
        datetime.date(2020, 4, 8),
        Decimal("40000.00"),
        "生猪养殖项目流转土地租金（二期）",
        "宁津县某畜禽养殖公司",
    ),
]


@dataclass(frozen=True)
class Stream:
    """How one development path brings money in over a year."""

    category: str
    months: tuple[tuple[int, int], ...]  # (month, weight)
    summary: str
    counterparty: str
    weight: int
    cents: bool = False
    rows_per_month: int = 1


STREAMS: dict[str, Stream] = {
    "土地流转": Stream(
        "发包及上交收入",
        ((1, 1), (3, 1), (6, 1), (10, 2), (11, 3)),
        "集体土地流转承包费",
        "承包户",
        5,
        rows_per_month=3,
    ),
    "现代农业": Stream(
        "经营收入", ((6, 2), (7, 3), (8, 3), (9, 2), (10, 2)), "特色种植销售收入", "果蔬收购商", 4
    ),
    "光伏发电": Stream(
        "经营收入",
        ((3, 1), (6, 1), (9, 1), (12, 1)),
        "村级光伏电站发电收益结算",
        "国网宁津县供电公司",
        3,
        True,
    ),
    "扶贫项目收益": Stream(
        "投资收益", ((1, 1), (7, 1), (12, 2)), "上龙食品驴肉加工扶贫项目收益分配", "上龙食品有限公司", 3
    ),
    "合作社": Stream("投资收益", ((4, 1), (12, 3)), "村党组织领办合作社分红", "村股份经济合作社", 3),
    "有偿服务": Stream("经营收入", ((6, 2), (10, 2)), "农机作业有偿服务收入", "民旺为农服务中心", 2),
    "招商引资": Stream("发包及上交收入", ((11, 1),), "招商项目用地租金", "项目业主", 1),
    "边角经济": Stream(
        "发包及上交收入", ((3, 1), (10, 2)), "废旧坑塘及边角地发包收入", "承包户", 2, rows_per_month=2
    ),
    "电商": Stream(
        "经营收入",
        ((2, 1), (4, 1), (5, 1), (6, 1), (8, 1), (9, 1), (11, 2), (12, 2)),
        "合作社电商平台销售收入",
        "电商平台",
        2,
        True,
        2,
    ),
}

SPECIAL_SUMMARIES = {
    ("孙庄村", "现代农业"): ("卓冉合作社中药材种植收益", "宁津县卓冉种植专业合作社"),
    ("刘道村", "现代农业"): ("特色冬瓜种植销售收入", "冬瓜收购商"),
    ("杨老头村", "现代农业"): ("山楂树采摘园门票及采摘收入", "采摘游客（汇总）"),
}


def roster() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ROSTER.read_text(encoding="utf-8"))
    return data


def is_built() -> bool:
    return OrgUnit.objects.filter(code=TOWNSHIP_CODE).exists()


def _day(rng: random.Random, month: int) -> datetime.date:
    last = 28 if month == 2 else 30
    return datetime.date(YEAR, month, rng.randint(3, last))


def _split(total: Decimal, weights: list[int], rng: random.Random, cents: bool) -> list[Decimal]:
    """Split ``total`` by ``weights`` with a little noise, rounded to 10 元 (or to the fen), exact sum."""
    noisy = [w * (0.85 + 0.3 * rng.random()) for w in weights]
    scale = sum(noisy)
    step = Decimal("0.01") if cents else Decimal("10")
    parts = []
    for w in noisy[:-1]:
        raw = total * Decimal(str(round(w / scale, 6)))
        if cents:
            parts.append((raw + Decimal(rng.randint(0, 99)) / 100).quantize(step))
        else:
            parts.append((raw / step).quantize(Decimal(1)) * step)
    parts.append(total - sum(parts, Decimal(0)))
    return parts


@transaction.atomic
def build(*, stdout: Any = None) -> bool:
    """Build the demo township; returns False (and changes nothing) when it is already there."""
    if is_built():
        return False
    data = roster()
    rng = random.Random(YEAR)
    password_hash = make_password(DEMO_PASSWORD)

    county = unit_create(actor=None, level=Level.COUNTY, name=data["county"], code=COUNTY_CODE)
    township = unit_create(
        actor=None, level=Level.TOWNSHIP, name=data["township"], code=TOWNSHIP_CODE, parent=county
    )
    facts = {v["name"]: v for v in data["villages"]}
    villages: dict[str, OrgUnit] = {}
    station_of: dict[str, OrgUnit] = {}
    district_of: dict[str, OrgUnit] = {}
    all_districts: list[OrgUnit] = []
    number = 0
    for s_index, s in enumerate(data["stations"], start=1):
        station = unit_create(
            actor=None,
            level=Level.STATION,
            name=s["name"],
            code=f"{TOWNSHIP_CODE}-S{s_index}",
            parent=township,
            illustrative=True,
        )
        for d in s["districts"]:
            district = unit_create(
                actor=None,
                level=Level.DISTRICT,
                name=d["name"],
                code=f"{TOWNSHIP_CODE}-D{len(all_districts) + 1:02d}",
                parent=station,
                illustrative=True,
            )
            all_districts.append(district)
            for name in d["villages"]:
                number += 1
                fact = facts[name]
                village = unit_create(
                    actor=None,
                    level=Level.VILLAGE,
                    name=name,
                    code=f"371422105{200 + number:03d}",
                    parent=district,
                    tags=fact["tags"],
                    illustrative=fact["illustrative"],
                )
                villages[name] = village
                station_of[name] = station
                district_of[name] = district

    def make_user(username: str, display: str) -> User:
        user = user_create(actor=None, username=username, password=None, display_name=display)
        user.password = password_hash
        user.save(update_fields=["password", "password_changed_at"])
        return user

    def unit_for(spec: str) -> OrgUnit:
        if spec == "township":
            return township
        kind, village_name = spec.split(":")
        return {"station": station_of, "district": district_of, "village": villages}[kind][village_name]

    accounts: dict[str, User] = {}
    for username, display, role, spec in ACCOUNTS:
        accounts[username] = make_user(username, display)
        grant_create(actor=None, user=accounts[username], role=role, unit=unit_for(spec))
    station_heads: dict[int, User] = {}
    for s_index, station in enumerate(sorted(set(station_of.values()), key=lambda u: u.code), start=1):
        head = (
            accounts["demo-station"]
            if station == station_of["孙庄村"]
            else make_user(f"station-{s_index}", f"{station.name}站长（演示）")
        )
        if head != accounts["demo-station"]:
            grant_create(actor=None, user=head, role=Role.STATION_HEAD, unit=station)
        station_heads[station.pk] = head
    secretaries: dict[int, User] = {district_of["孙庄村"].pk: accounts["demo-district"]}
    for d_index, district in enumerate(all_districts, start=1):
        if district != district_of["孙庄村"]:
            sec = make_user(f"district-{d_index:02d}", f"{district.name}包区书记（演示）")
            grant_create(actor=None, user=sec, role=Role.DISTRICT_SECRETARY, unit=district)
            secretaries[district.pk] = sec
    clerks: dict[str, User] = {"孙庄村": accounts["demo-clerk"], "刘道村": accounts["demo-clerk-liudao"]}
    for name, village in villages.items():
        if name not in clerks:
            clerks[name] = make_user(f"clerk-{village.code}", f"{name}报账员（演示）")
            grant_create(actor=None, user=clerks[name], role=Role.VILLAGE_CLERK, unit=village)

    admin = accounts["demo-admin"]
    facts_t = data["township_facts"]
    campaign = campaign_create(
        actor=admin,
        township=township,
        year=YEAR,
        baseline=Decimal(facts_t["baseline"]),
        top_tier=Decimal(facts_t["top_tier"]),
        goal_top_tier_villages=facts_t["top_tier_villages_goal"],
    )
    targets_set(
        actor=admin,
        campaign=campaign,
        amounts={villages[n].pk: Decimal(f["target_2020"]) for n, f in facts.items()},
    )

    # 示意 boundaries: generated from the roster's districts, imported like a township's own file.
    geometry_import(
        actor=admin,
        township=township,
        data=boundaries_bytes([d["villages"] for s in data["stations"] for d in s["districts"]]),
        illustrative=True,
    )

    categories = {c.name: c for c in Category.objects.all()}
    paths = {p.name: p for p in DevelopmentPath.objects.all()}
    to_verify: list[Entry] = []

    def add(
        name: str,
        date: datetime.date,
        amount: Decimal,
        category: str,
        path: str,
        summary: str,
        counterparty: str,
        verify: bool = True,
    ) -> Entry:
        entry = ledger.entry_create(
            actor=clerks[name],
            village=villages[name],
            date=date,
            amount=amount,
            category=categories[category],
            path=paths[path],
            summary=summary,
            counterparty=counterparty,
            submit=True,
        )
        if verify:
            to_verify.append(entry)
        return entry

    fixed: dict[str, Decimal] = {}
    land_rows: dict[str, list[tuple[datetime.date, Decimal]]] = {}
    for name, date, amount, summary, counterparty in INVESTMENT_PAYMENTS:
        add(name, date, amount, "发包及上交收入", "招商引资", summary, counterparty)
        fixed[name] = fixed.get(name, Decimal(0)) + amount

    for name, fact in facts.items():
        top = Decimal(fact["target_2020"]) >= Decimal(facts_t["top_tier"])
        # Year-end counted income: every village reaches 3万; exactly the top-target villages reach 10万.
        low, high = (102_000, 148_000) if top else (31_500, 92_000)
        low = max(low, int(fixed.get(name, 0)) + 20_000)
        year_total = Decimal(rng.randrange(low, high, 10))
        rest = year_total - fixed.get(name, Decimal(0))
        streams = [p for p in fact["paths"] if p in STREAMS and not (p == "招商引资" and name in fixed)] or [
            "土地流转"
        ]
        shares = _split(rest, [STREAMS[p].weight for p in streams], rng, cents=False)
        for path_name, share in zip(streams, shares, strict=True):
            stream = STREAMS[path_name]
            summary, counterparty = SPECIAL_SUMMARIES.get(
                (name, path_name), (stream.summary, stream.counterparty)
            )
            months = [m for m, _ in stream.months]
            amounts = _split(share, [w for _, w in stream.months], rng, cents=stream.cents)
            for month, amount in zip(months, amounts, strict=True):
                rows = rng.randint(1, stream.rows_per_month) if amount > 3000 else 1
                for part in _split(amount, [1] * rows, rng, cents=stream.cents):
                    day = _day(rng, month)
                    if path_name == "土地流转":  # not typed: the payments on the village's land contracts
                        land_rows.setdefault(name, []).append((day, part))
                        continue
                    add(name, day, part, stream.category, path_name, f"{month}月{summary}", counterparty)
    # 合同: the land-transfer income is the payments on the villages' contracts (demo/contracts.py).
    contracts = ContractMaker(villages=villages, clerks=clerks, rng=random.Random(f"{YEAR}-contracts"))
    to_verify += contracts.land_rows(land_rows)

    # Grants from above (补助收入) — recorded, verified, and not counted toward targets.
    for name, fact in facts.items():
        if "省级重点贫困村" in fact["tags"]:
            add(
                name,
                _day(rng, 3),
                Decimal(rng.randrange(20_000, 50_000, 1000)),
                "补助收入",
                "扶贫项目收益",
                "上级扶贫专项补助资金",
                "宁津县财政局",
            )

    # Verified by the head of each village's station, a station at a time.
    by_station: dict[int, list[Entry]] = {}
    for entry in to_verify:
        by_station.setdefault(station_of[entry.village.name].pk, []).append(entry)
    for station_pk, entries in by_station.items():
        ledger.entry_verify(actor=station_heads[station_pk], entries=entries)

    # A mistake corrected the right way: 孙庄村 entered 12,800 for 12,080, the station reversed it.
    wrong = add(
        "孙庄村",
        datetime.date(2020, 3, 26),
        Decimal("12800.00"),
        "经营收入",
        "现代农业",
        "3月卓冉合作社中药材（丹参）销售收入",
        "宁津县卓冉种植专业合作社",
        verify=False,
    )
    ledger.entry_verify(actor=station_heads[station_of["孙庄村"].pk], entries=[wrong])
    reversal = ledger.entry_reverse(
        actor=station_heads[station_of["孙庄村"].pk], entry=wrong, reason="金额录错，应为 12,080.00 元"
    )
    # A reversal needs a second person: the district secretary verifies the station head's.
    ledger.entry_verify(actor=accounts["demo-district"], entries=[reversal])
    fixed_row = add(
        "孙庄村",
        datetime.date(2020, 3, 26),
        Decimal("12080.00"),
        "经营收入",
        "现代农业",
        "3月卓冉合作社中药材（丹参）销售收入（更正）",
        "宁津县卓冉种植专业合作社",
        verify=False,
    )
    ledger.entry_verify(actor=station_heads[station_of["孙庄村"].pk], entries=[fixed_row])

    # The moment of the article: rows of mid-April still awaiting verification, some sent back.
    # Several of them in the demo station head's own station, so the queue has work in it.
    home_station = station_of["孙庄村"]
    neighbours = sorted(n for n in facts if station_of[n] == home_station and n != "孙庄村")
    elsewhere = sorted(n for n in facts if station_of[n] != home_station)
    pending_villages = rng.sample(neighbours, 4) + rng.sample(elsewhere, 6)
    for index, name in enumerate(["孙庄村", *pending_villages]):
        path_name = facts[name]["paths"][0] if facts[name]["paths"][0] in STREAMS else "土地流转"
        stream = STREAMS[path_name]
        day, amount = datetime.date(2020, 4, rng.randint(9, 16)), Decimal(rng.randrange(1_500, 9_000, 10))
        if path_name == "土地流转":
            entry = contracts.pending(name, day, amount)
        else:
            entry = add(
                name,
                day,
                amount,
                stream.category,
                path_name,
                f"4月{stream.summary}",
                stream.counterparty,
                verify=False,
            )
        if index % 3 == 2:
            ledger.entry_return(
                actor=station_heads[station_of[name].pk],
                entries=[entry],
                reason="缺少收入凭证，请补充收据后重新提交",
            )
    # A draft on the clerk's phone.
    ledger.entry_create(
        actor=clerks["孙庄村"],
        village=villages["孙庄村"],
        date=ARTICLE_DATE,
        amount=Decimal("3600.00"),
        category=categories["经营收入"],
        path=paths["合作社"],
        summary="4月合作社中药材种苗销售收入",
        counterparty="种植户（汇总）",
    )
    # 一村一策: a plan for each village from the roster's paths and the ledger (demo/plans.py).
    build_plans(
        year=YEAR,
        facts=facts,
        villages=villages,
        clerks=clerks,
        district_secretary={name: secretaries[district_of[name].pk] for name in villages},
        admin=admin,
    )
    # 三资: every village's asset register and the two 清产核资 rounds (demo/assets.py).
    build_assets(
        villages=villages,
        clerks=clerks,
        verifiers={name: station_heads[station_of[name].pk] for name in villages},
        rng=random.Random(f"{YEAR}-assets"),
    )
    # 一月一督查: a year of monthly rounds, items followed to closure, interviews (demo/inspections.py).
    board = progress(user=admin, unit=township, year=YEAR, as_of=ARTICLE_DATE)
    build_inspections(
        villages=villages,
        clerks=clerks,
        district_of=district_of,
        station_of=station_of,
        district_secretary={name: secretaries[district_of[name].pk] for name in villages},
        station_head={name: station_heads[station_of[name].pk] for name in villages},
        instructor=accounts["demo-instructor"],
        admin=admin,
        red=[
            row.name
            for row in sorted(board.villages, key=lambda r: r.rank, reverse=True)
            if row.band == "red"
        ],
    )
    # 一周一通报: the township's week ends on Friday; bulletins 第1–16期 were issued each Friday at 17:00,
    # the last on the article's day. Each is made from the ledger as it stood at the end of its week.
    supervision.bulletin_settings_update(
        actor=admin,
        township=township,
        cutoff_weekday=4,
        issuer="相衙镇党建办公室",
        schedule_weekday=4,
        schedule_time=datetime.time(17, 0),
    )
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    for week in weeks_of(2020, 4):
        if week.end > ARTICLE_DATE:
            break
        supervision.bulletin_issue(
            actor=admin,
            township=township,
            week=week,
            issued_at=datetime.datetime.combine(week.end, datetime.time(17, 0), tzinfo=shanghai),
            render=False,  # its .docx and .pdf are written on first download, from the frozen figures
        )
    if stdout is not None:
        stdout.write(
            f"已建成演示乡镇：{township.name}，{len(villages)} 个行政村，"
            f"{Entry.objects.filter(village__path__startswith=township.path).count()} 条台账，"
            f"其中已审核 {Entry.objects.filter(status=Status.VERIFIED).count()} 条"
        )
    return True
