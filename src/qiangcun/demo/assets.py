"""The demo's asset register (三资) and its two 清产核资 rounds.

Every village gets a plausible register, entered by its clerk through the register's services: its
collective land by class (机动地 as 耕地, and by chance 林地, 坑塘水面, a 建设用地 yard, 未利用地) in 亩,
the village office and square (非经营性资产), and now and then a storehouse or a machine. The 11 villages
whose roster paths hold 光伏发电 own a village PV station (村级光伏扶贫电站) and the share in the
扶贫项目 that pays them. Some land and buildings are idle (闲置), so the township has idle 亩 to let —
none is marked leased or contracted out: the contracts app makes its own leased land.

The two villages tagged 清产核资 in the roster run a round based early in 2020: one signed off by
its station head with a gain (盘盈, a pond never on the books) and a loss (盘亏, a machine gone), the
other still being counted on the article's day."""

from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from qiangcun.accounts.models import User
from qiangcun.assets import services
from qiangcun.assets.models import Asset, AssetKind, AssetStatus
from qiangcun.orgs.models import OrgUnit

ROSTER = Path(__file__).with_name("xiangya-2020.json")
ROUND_TAG = "清产核资"
PV_PATH = "光伏发电"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))

#: The signed round: based on 2020-01-31, started 2020-02-10, signed 2020-03-20; the open one: based on
#: 2020-03-31, started 2020-04-08 and half counted by the article's day.
SIGNED_BASE = datetime.date(2020, 1, 31)
SIGNED_START = datetime.datetime(2020, 2, 10, 9, 0, tzinfo=SHANGHAI)
SIGNED_AT = datetime.datetime(2020, 3, 20, 16, 0, tzinfo=SHANGHAI)
OPEN_BASE = datetime.date(2020, 3, 31)
OPEN_START = datetime.datetime(2020, 4, 8, 9, 0, tzinfo=SHANGHAI)

DIRECTIONS = ("村东", "村西", "村南", "村北")


def _mu(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 10, high * 10)) / 10


def _yuan(rng: random.Random, low: int, high: int, step: int = 1000) -> Decimal:
    return Decimal(rng.randint(low // step, high // step) * step).quantize(Decimal("0.01"))


def _roster_paths() -> dict[str, list[str]]:
    data: dict[str, Any] = json.loads(ROSTER.read_text(encoding="utf-8"))
    return {v["name"]: list(v["paths"]) for v in data["villages"]}


def _register(name: str, paths: list[str], rng: random.Random, idle: bool) -> list[services.AssetData]:
    """The items of one village's register (codes ZY-/JY-/FJ- numbered in order)."""
    items: list[dict[str, Any]] = []
    where = list(DIRECTIONS)
    rng.shuffle(where)
    items.append(
        {
            "name": f"{where[0]}集体机动地",
            "kind": AssetKind.RESOURCE,
            "land_class": "arable",
            "area_mu": _mu(rng, 15, 120),
            "location": f"{name}{where[0]}",
            "boundaries": f"东至生产路，西至{where[1][1]}干渠，南至农户承包地，北至村道",
            "status": AssetStatus.IN_USE,
            "acquired_on": datetime.date(1998, 10, 1),
            "note": "二轮延包预留机动地",
        }
    )
    if idle:
        items.append(
            {
                "name": f"{where[1]}闲置废旧坑塘" if rng.random() < 0.5 else f"{where[1]}边角空闲地",
                "kind": AssetKind.RESOURCE,
                "land_class": "pond" if rng.random() < 0.5 else "unused",
                "area_mu": _mu(rng, 3, 25),
                "location": f"{name}{where[1]}",
                "status": AssetStatus.IDLE,
                "note": "长期闲置，拟清理后公开发包",
            }
        )
    if rng.random() < 0.35:
        items.append(
            {
                "name": "护村林带",
                "kind": AssetKind.RESOURCE,
                "land_class": "forest",
                "area_mu": _mu(rng, 5, 40),
                "location": f"{name}{where[2]}",
                "status": AssetStatus.IN_USE,
            }
        )
    if rng.random() < 0.3:
        items.append(
            {
                "name": "原村小学旧址院落",
                "kind": AssetKind.RESOURCE,
                "land_class": "construction",
                "area_mu": _mu(rng, 2, 8),
                "location": f"{name}{where[3]}",
                "status": AssetStatus.IDLE if idle or rng.random() < 0.5 else AssetStatus.PENDING,
                "note": "学校撤并后空置",
            }
        )
    items.append(
        {
            "name": "村委会办公室及党群服务中心",
            "kind": AssetKind.NON_OPERATING,
            "item_type": "building",
            "floor_area_m2": Decimal(rng.randint(12, 40) * 10),
            "value": _yuan(rng, 150000, 600000),
            "location": f"{name}村中",
            "status": AssetStatus.IN_USE,
            "acquired_on": datetime.date(rng.randint(2008, 2018), rng.randint(1, 12), 1),
        }
    )
    items.append(
        {
            "name": "村文化广场及健身器材",
            "kind": AssetKind.NON_OPERATING,
            "item_type": "infrastructure",
            "value": _yuan(rng, 40000, 150000),
            "location": f"{name}村中",
            "status": AssetStatus.IN_USE,
        }
    )
    if rng.random() < 0.4:
        items.append(
            {
                "name": "集体仓库",
                "kind": AssetKind.OPERATING,
                "item_type": "building",
                "floor_area_m2": Decimal(rng.randint(10, 40) * 10),
                "value": _yuan(rng, 30000, 120000),
                "location": f"{name}{where[2]}",
                "status": AssetStatus.IDLE if idle and rng.random() < 0.6 else AssetStatus.IN_USE,
            }
        )
    if rng.random() < 0.3:
        items.append(
            {
                "name": "集体农机（旋耕机）",
                "kind": AssetKind.OPERATING,
                "item_type": "equipment",
                "value": _yuan(rng, 8000, 30000, 500),
                "status": AssetStatus.IN_USE,
            }
        )
    if PV_PATH in paths:
        kw = rng.choice((100, 150, 200))
        items.append(
            {
                "name": f"村级光伏扶贫电站（{kw} 千瓦）",
                "kind": AssetKind.OPERATING,
                "item_type": "pv",
                "value": Decimal(kw * 6000).quantize(Decimal("0.01")),
                "location": "村委会及村集体建设用地屋顶",
                "status": AssetStatus.IN_USE,
                "acquired_on": datetime.date(2017, 6, 30),
                "note": "扶贫项目资产，已并网发电，收益按季结算",
            }
        )
        items.append(
            {
                "name": "上龙食品驴肉加工扶贫项目股权",
                "kind": AssetKind.OPERATING,
                "item_type": "equity",
                "value": _yuan(rng, 100000, 300000, 10000),
                "status": AssetStatus.INVESTED,
                "acquired_on": datetime.date(2018, 12, 1),
                "note": "扶贫资金入股，按年分红",
            }
        )
    out = []
    numbers = {AssetKind.RESOURCE: 0, AssetKind.OPERATING: 0, AssetKind.NON_OPERATING: 0}
    for item in items:
        kind = item["kind"]
        numbers[kind] += 1
        code = f"{services.CODE_PREFIX[kind]}-{numbers[kind]:03d}"
        out.append(services.AssetData(code=code, **item))
    return out


def build_assets(
    *,
    villages: dict[str, OrgUnit],
    clerks: dict[str, User],
    verifiers: dict[str, User],
    rng: random.Random,
) -> None:
    """Registers for ``villages`` (name → village), entered by ``clerks`` (name → the village's clerk), and a
    清产核资 round for each village tagged 清产核资 — the first (by code) signed by its ``verifiers`` entry
    (name → a person with VERIFY on the village: its station head), the second still open."""
    paths = _roster_paths()
    names = sorted(villages, key=lambda n: villages[n].code)
    idle = set(rng.sample(names, k=max(1, len(names) * 2 // 5)))
    for name in names:
        for item in _register(name, paths.get(name, []), rng, name in idle):
            services.asset_create(actor=clerks[name], village=villages[name], data=item)

    tagged = [n for n in names if villages[n].tags.filter(name=ROUND_TAG).exists()]
    for index, name in enumerate(tagged):
        if index == 0:
            _signed_round(villages[name], clerks[name], verifiers[name])
        else:
            _open_round(villages[name], clerks[name])


def _signed_round(village: OrgUnit, clerk: User, verifier: User) -> None:
    """Base date 2020-01-31: a pond never on the books (盘盈), a machine gone (盘亏, or the storehouse
    written down when the village has no machine), land re-measured larger, the rest as booked."""
    # a machine to lose, if the village has none of its own
    if not Asset.objects.filter(village=village, item_type="equipment").exists():
        n = Asset.objects.filter(village=village, kind=AssetKind.OPERATING).count() + 1
        services.asset_create(
            actor=clerk,
            village=village,
            data=services.AssetData(
                code=f"JY-{n:03d}",
                name="集体农机（小型拖拉机）",
                kind=AssetKind.OPERATING,
                item_type="equipment",
                value=Decimal("12000.00"),
                status=AssetStatus.IN_USE,
                acquired_on=datetime.date(2009, 5, 1),
            ),
        )
    r = services.round_start(
        actor=clerk, village=village, base_date=SIGNED_BASE, note="2019 年度清产核资", started_at=SIGNED_START
    )
    for line in r.lines.select_related("asset").order_by("position"):
        if line.asset is not None and line.asset.item_type == "equipment":
            data = services.CountData(found=False, note="早年报废变卖，未办理核销手续")
        elif line.land_class == "arable":
            data = services.CountData(
                found=True,
                area_mu=(line.area_mu or Decimal("0")) + Decimal("2.30"),
                note="实测面积大于账面，按实测调整",
            )
        else:
            data = services.CountData(found=True)
        services.round_line_count(actor=clerk, line=line, data=data)
    services.round_add_found(
        actor=clerk,
        round=r,
        name="村北废旧坑塘",
        kind=AssetKind.RESOURCE,
        land_class="pond",
        location=f"{village.name}村北",
        area_mu=Decimal("6.80"),
        value=Decimal("0.00"),
        status=AssetStatus.IDLE,
        note="历年未登记入账的集体坑塘，清查发现",
    )
    services.round_sign(actor=verifier, round=r, note="经核实，同意清查结果", signed_at=SIGNED_AT)


def _open_round(village: OrgUnit, clerk: User) -> None:
    """Base date 2020-03-31, started 2020-04-08: the land counted, the buildings and the rest not yet."""
    r = services.round_start(
        actor=clerk, village=village, base_date=OPEN_BASE, note="2020 年一季度清产核资", started_at=OPEN_START
    )
    for line in r.lines.filter(kind=AssetKind.RESOURCE).order_by("position"):
        services.round_line_count(actor=clerk, line=line, data=services.CountData(found=True))
