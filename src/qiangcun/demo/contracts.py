"""The demo's contracts (合同): the land-transfer (土地流转) income of 2020 is not typed into the ledger — it
is the payments on the villages' land contracts, each posting its one ledger row, as the platform asks
villages to work.

For each payment the builder would have typed (a date and an amount), a contract is made whose 2020
instalment that payment settles: a household or a company takes the village's land by tender, auction
or negotiation for three to ten years from the first of that month, rent due within 30 days. Some
variations show what the township has to watch:

- half-year seasonal leases from 1 January: they end on 30 June — "expiring within 90 days" on the
  article's day;
- a few tenants paid their spring instalment late (due early March, paid in June): overdue on the
  article's day, settled later in the year;
- some tenants have not paid at all (extra contracts, no payment): arrears at the year's end;
- one company paid five years' rent up front in March: the ledger shows the receipt, and only one
  fifth counts toward 2020 (分年确认) — the same fifth the builder would have typed;
- one rent far below the township's median per 亩 for 耕地.

Each contract lets a parcel of the village's land, entered in its asset register (资源性资产, 出租 / 发包)
as the contract is recorded.

Names, ID numbers and companies are invented (the ID numbers are valid in form only)."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from qiangcun.accounts.models import User
from qiangcun.assets.models import AssetKind
from qiangcun.assets.services import AssetData, asset_create
from qiangcun.contracts.models import Contract
from qiangcun.contracts.schedule import add_months
from qiangcun.contracts.services import LET_STATUS, ContractInput, contract_create, payment_record
from qiangcun.core.pii import check_char
from qiangcun.ledger.models import Entry
from qiangcun.orgs.models import OrgUnit

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = [
    "建国",
    "国强",
    "志刚",
    "秀英",
    "桂兰",
    "玉梅",
    "春生",
    "明亮",
    "金山",
    "德胜",
    "海军",
    "红霞",
    "保国",
    "长顺",
    "丰收",
    "永福",
]
COMPANIES = [
    "宁津县丰泽农业开发有限公司",
    "宁津县绿源家庭农场",
    "德州市鲁北种植专业合作社",
    "宁津县金穗农机服务有限公司",
    "宁津县润田生态农业有限公司",
    "山东德润农业科技有限公司",
]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LAND = [("arable", 16), ("pond", 2), ("garden", 1), ("forest", 1)]
TITLES = {"arable": "集体耕地流转", "pond": "坑塘发包", "garden": "集体园地流转", "forest": "集体林地流转"}
PARCELS = {"arable": "耕地", "pond": "坑塘", "garden": "果园", "forest": "林地"}
PLACES = ["村东", "村西", "村南", "村北", "东洼", "西洼", "南坡", "北坡", "河沿", "路南", "路北", "老场院"]
PER_MU = {"arable": (650, 1000), "pond": (400, 700), "garden": (700, 1100), "forest": (200, 400)}


def _person(rng: random.Random) -> tuple[str, str, str]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    born = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 40))
    first17 = f"371422{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    phone = f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}"
    return name, first17 + check_char(first17), phone


def _company(rng: random.Random) -> tuple[str, str]:
    return rng.choice(COMPANIES), "91371422" + "".join(rng.choice(USCC_CHARS) for _ in range(10))


def _land(rng: random.Random) -> str:
    return rng.choices([c for c, _ in LAND], weights=[w for _, w in LAND])[0]


class ContractMaker:
    """Makes the demo's contracts and payments; its own random stream, so the rest of the demo draws as
    it did before contracts existed."""

    def __init__(self, *, villages: dict[str, OrgUnit], clerks: dict[str, User], rng: random.Random) -> None:
        self.villages = villages
        self.clerks = clerks
        self.rng = rng
        self.numbers: dict[str, int] = {}

    def make(
        self,
        name: str,
        *,
        start: datetime.date,
        end: datetime.date,
        rent: Decimal,
        schedule: str = "annual",
        land: str | None = None,
        low: bool = False,
        signed: datetime.date | None = None,
    ) -> Contract:
        rng = self.rng
        self.numbers[name] = self.numbers.get(name, 0) + 1
        village = self.villages[name]
        land = land or _land(rng)
        low_price, high_price = PER_MU[land]
        per_mu = Decimal(rng.randrange(low_price, high_price, 10)) if not low else Decimal("180")
        area = max(Decimal("0.50"), (rent / per_mu).quantize(Decimal("0.01")))
        company = rng.random() < 0.25 or low
        if company:
            party, id_number = _company(rng)
            phone = ""
        else:
            party, id_number, phone = _person(rng)
        kind = "contracting" if land == "pond" else "transfer"
        place = rng.choice(PLACES)
        parcel = asset_create(
            actor=self.clerks[name],
            village=village,
            data=AssetData(
                code=f"LZ-{self.numbers[name]:03d}",  # 流转 parcels: their own series beside the register's ZY-
                name=f"{place}{PARCELS[land]}",
                kind=AssetKind.RESOURCE,
                land_class=land,
                area_mu=area,
                location=f"{village.name}{place}",
                status=LET_STATUS[kind],
            ),
        )
        method = rng.choices(["tender", "auction", "negotiation"], weights=[5, 3, 2])[0]
        title = TITLES[land] + (f"（{party[3:7]}）" if company else f"（{party[:1]}户）")
        return contract_create(
            actor=self.clerks[name],
            village=village,
            data=ContractInput(
                code=f"{village.code[-3:]}-{start:%Y}-{self.numbers[name]:03d}",
                title=title,
                kind=kind,
                land_class=land,
                area_mu=area,
                party_kind="company" if company else "person",
                party_name=party,
                party_id_number=id_number,
                party_phone=phone,
                start=start,
                end=end,
                price_mode="per_year",
                price=rent,
                schedule=schedule,
                method=method,
                signed_on=signed or start - datetime.timedelta(days=rng.randrange(3, 20)),
                assets=(parcel,),
            ),
        )

    def pay(
        self, name: str, contract: Contract, day: datetime.date, amount: Decimal, note: str = ""
    ) -> Entry:
        return payment_record(
            actor=self.clerks[name], contract=contract, date=day, amount=amount, note=note
        ).entry

    def land_rows(self, rows: dict[str, list[tuple[datetime.date, Decimal]]]) -> list[Entry]:
        """Contracts whose 2020 payments are ``rows`` (village → (date, amount)); the posted rows."""
        rng = self.rng
        posted: list[Entry] = []
        spread_done = low_done = False
        for name in sorted(rows, key=lambda n: self.villages[n].code):
            for day, amount in sorted(rows[name]):
                start = datetime.date(2020, day.month, 1)
                years = rng.choice([3, 5, 5, 10])
                end = add_months(start, 12 * years) - datetime.timedelta(days=1)
                if not spread_done and day.month == 3:
                    # Five years paid up front: the receipt is five times the year's share.
                    spread_done = True
                    c = self.make(
                        name,
                        start=datetime.date(2020, 1, 1),
                        end=datetime.date(2024, 12, 31),
                        rent=amount,
                        schedule="upfront",
                        land="arable",
                    )
                    posted.append(self.pay(name, c, day, amount * 5, "一次性收取五年租金"))
                elif not low_done and day.month == 1:
                    # Let by negotiation years ago at a fraction of what land fetches now.
                    low_done = True
                    c = self.make(
                        name,
                        start=start,
                        end=end,
                        rent=amount,
                        land="arable",
                        low=True,
                        signed=datetime.date(2019, 12, 20),
                    )
                    posted.append(self.pay(name, c, day, amount))
                elif day.month == 1 and rng.random() < 0.3:
                    # A seasonal half-year lease: the half year's rent is the row.
                    c = self.make(name, start=start, end=datetime.date(2020, 6, 30), rent=amount * 2)
                    posted.append(self.pay(name, c, day, amount))
                elif day.month == 6 and rng.random() < 0.2:
                    # Due at the start of March, paid in June: overdue on the article's day.
                    begin = datetime.date(2020, 2, 1)
                    c = self.make(
                        name,
                        start=begin,
                        end=add_months(begin, 12 * years) - datetime.timedelta(days=1),
                        rent=amount,
                    )
                    posted.append(self.pay(name, c, day, amount, "逾期缴纳"))
                else:
                    c = self.make(name, start=start, end=end, rent=amount)
                    posted.append(self.pay(name, c, day, amount))
        # Tenants who have not paid: instalments due 31 January, still owed at the year's end.
        for name in rng.sample(sorted(rows), min(6, len(rows))):
            self.make(
                name,
                start=datetime.date(2020, 1, 1),
                end=datetime.date(2022, 12, 31),
                rent=Decimal(rng.randrange(2_000, 8_000, 100)),
            )
        return posted

    def pending(self, name: str, day: datetime.date, amount: Decimal) -> Entry:
        """A payment of mid-April on a contract from 1 April, awaiting verification."""
        start = datetime.date(2020, 4, 1)
        c = self.make(name, start=start, end=add_months(start, 36) - datetime.timedelta(days=1), rent=amount)
        return self.pay(name, c, day, amount)
