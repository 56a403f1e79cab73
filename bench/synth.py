"""Synthetic data at three sizes (issue 11), deterministic from a seed, loaded by bulk paths.

- **township**: the demo (``qiangcun.demo.builder.build()``: 67 villages, its own 619 ledger rows), or
  with ``--synthetic`` a township of the demo's shape with 15 rows a village-month (~12,000 rows);
- **county**: 15 townships, 1,000 villages, five years (the last up to the "as of" day), ~1,000,000 rows;
- **province**: 70,000 villages in the real shape (counties > townships > stations > districts >
  villages; cities exist only in the codes and names: the model's tree starts at the county), one year,
  ~14,000,000 rows — meant for PostgreSQL.

Importable (``build_county``, ``build_province``, ``build_township`` return a :class:`Summary`) and
runnable::

    uv run python bench/synth.py county [--villages N] [--townships T] [--years Y]
        [--rows-per-village-month K] [--seed S] [--as-of YYYY-MM-DD] [--code-prefix 99]
    uv run python bench/synth.py province [--villages N] [--year 2020] ...
    uv run python bench/synth.py township [--synthetic ...]

against the configured database (``DATABASE_URL``, else ``QIANGCUN_HOME``'s SQLite), migrated by the
caller. Small things go through the services (the roots', townships' admins and their grants, the year
campaigns); the big tables go by bulk paths: org units, village clerks (``bulk_create``), village
targets and ledger rows — ``COPY`` on PostgreSQL, one prepared ``executemany`` in chunks on SQLite. Ids of
org units and ledger rows are given explicitly (from the table's current maximum), so parents and
reversed rows are known while generating; the id sequences are reset afterwards. Bulk writes record no
change records (one per unit or row would be the slow part); the services' writes do.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
SUFFIXES = "庄屯寨营集店口洼楼堂"
NUMERALS = "零一二三四五六七八九"

#: Income lines of the demo's counted set (``ledger.defaults.CATEGORIES`` with "counts" on).
COUNTED_LINES = ("operating", "contracting", "investment")
#: (line, weight): four rows in five count.
CATEGORY_WEIGHTS = (("operating", 40), ("contracting", 25), ("investment", 15), ("subsidy", 12), ("other", 8))
#: Per path: summary templates and counterparties.
PATH_TEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "土地流转": (("集体土地流转承包费", "机动地发包收入", "坑塘发包费"), ("承包户", "种植大户", "家庭农场")),
    "现代农业": (("特色种植销售收入", "大棚蔬菜销售", "育苗收入"), ("果蔬收购商", "农产品批发市场")),
    "光伏发电": (("村级光伏电站发电收益结算",), ("县供电公司",)),
    "扶贫项目收益": (("扶贫车间租金", "扶贫项目收益分配"), ("县扶贫办", "扶贫车间承租企业")),
    "合作社": (("村党组织领办合作社分红", "合作社服务收入"), ("村股份经济合作社", "合作联社")),
    "有偿服务": (("农机作业有偿服务收入", "代耕代种服务费", "保洁服务费"), ("为农服务中心", "种植户")),
    "招商引资": (("招商项目土地租金", "项目分红"), ("养殖公司", "食品公司", "建材公司")),
    "边角经济": (("边角地租赁收入", "闲置房屋出租"), ("个体户", "商户")),
    "电商": (("电商平台销售收入",), ("电商平台",)),
    "其他": (("其他收入",), ("",)),
}
SUBSIDY_TEXT = (("上级扶持资金", "村级组织运转经费补助"), ("县财政局", "镇财政所"))
REVERSAL_REASONS = ("金额录入错误", "重复录入", "日期录入错误")
TARGET_CHOICES = (30_000, 35_000, 40_000, 50_000, 60_000, 80_000, 100_000, 120_000)
TARGET_WEIGHTS = (18, 10, 12, 14, 8, 7, 21, 10)  # about a third at or above the top tier, as the demo
MIN_FEN, MAX_FEN = 100, 5_000_000  # 1.00 to 50,000.00 元

ENTRY_COLUMNS = (
    "id",
    "village",
    "date",
    "amount",
    "category",
    "path",
    "summary",
    "counterparty",
    "status",
    "reverses",
    "entered_by",
    "created_at",
    "updated_at",
    "submitted_at",
    "reviewed_by",
    "reviewed_at",
    "return_reason",
    "import_batch",
    "version",
)
SQLITE_CACHE_KIB = int(os.environ.get("SYNTH_SQLITE_CACHE_KIB", 262_144))  # 256 MB
UNIT_COLUMNS = ("id", "level", "parent", "name", "code", "path", "illustrative")
TARGET_COLUMNS = ("campaign", "village", "amount")


@dataclass
class Summary:
    """What a build made: enough for a bench to find its units and check its figures."""

    scale: str
    seed: int
    vendor: str
    root_codes: list[str]  # the counties (roots of the tree)
    township_codes: list[str]
    root_admins: list[str]  # usernames: a 镇党建办 role granted on each root, in root order
    township_admins: list[str]  # usernames, in township order
    years: list[int]
    as_of: datetime.date  # the last day with rows (earlier years are whole)
    counts: dict[str, int] = field(default_factory=dict)
    #: year → the exact total (fen) of verified rows in counted categories dated in that year.
    counted_fen: dict[int, int] = field(default_factory=dict)
    #: phase → seconds.
    phases: dict[str, float] = field(default_factory=dict)
    #: SHA-256 of the generated ledger rows (only when asked for: it costs time).
    digest: str = ""

    def counted_yuan(self, year: int) -> Decimal:
        return Decimal(self.counted_fen.get(year, 0)) / 100

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the day as ISO text, the counted totals also as 元 strings (money is never a float)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["counted_fen"] = {str(y): fen for y, fen in self.counted_fen.items()}
        data["counted_yuan"] = {str(y): f"{self.counted_yuan(y):.2f}" for y in self.counted_fen}
        data["seconds"] = round(self.seconds, 3)
        return data


# ---------------------------------------------------------------------------------------------- the tree


@dataclass
class Unit:
    id: int
    level: str
    parent: Unit | None
    name: str
    code: str
    path: str

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.level,
            self.parent.id if self.parent else None,
            self.name,
            self.code,
            self.path,
            False,
        )


def _numeral(n: int) -> str:
    """1 to 99 in Chinese numerals: 一, 十, 十六, 二十三."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else NUMERALS[tens] + "十"
    return head + (NUMERALS[ones] if ones or not head else "")


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal whole shares, larger first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _place_names(rng: random.Random, count: int, ending: str) -> list[str]:
    """``count`` distinct place names (王庄村, 李集镇, …), numbered beyond the 360 combinations."""
    pool = [f"{s}{x}" for s in SURNAMES for x in SUFFIXES]
    names = rng.sample(pool, min(count, len(pool)))
    n = 2
    while len(names) < count:
        names += [f"{p}{n}" for p in rng.sample(pool, min(count - len(names), len(pool)))]
        n += 1
    return [name + ending for name in names]


@dataclass
class Tree:
    roots: list[Unit]
    townships: list[Unit]
    #: township index → its villages.
    villages: list[list[Unit]]
    units: list[Unit]  # every unit, parents before children


def plan_tree(
    rng: random.Random,
    *,
    first_id: int,
    prefix: str,
    counties: Sequence[tuple[int, int, int]],  # (city number, county number, townships)
    villages: int,
    stations: Callable[[], int],
    districts_per_station: int = 2,
    province: bool = False,
) -> Tree:
    """The units, with ids from ``first_id``; codes in the shape of the statistical codes: county
    ``{prefix}{city:02}{county:02}``, then 3 digits per township, 2 per station, 2 per district and 3 per
    village. Villages are spread evenly over townships, then over each township's districts."""
    next_id = first_id
    roots: list[Unit] = []
    townships: list[Unit] = []
    units: list[Unit] = []

    def make(level: str, parent: Unit | None, name: str, code: str) -> Unit:
        nonlocal next_id
        unit = Unit(next_id, level, parent, name, code, (parent.path if parent else "/") + code + "/")
        next_id += 1
        units.append(unit)
        return unit

    county_names = _place_names(rng, len(counties), "县")
    # A province: the province itself, its cities, their counties (the real shape, one tree); else the
    # counties are roots of their own.
    top = make("province", None, "合成省", prefix) if province else None
    cities: dict[int, Unit] = {}
    for (city, number, count), county_name in zip(counties, county_names, strict=True):
        parent = None
        if top is not None:
            if city not in cities:
                cities[city] = make("city", top, f"{_numeral(city)}市", f"{prefix}{city:02d}")
            parent = cities[city]
        name = f"{_numeral(city)}市{county_name}" if city else f"合成{county_name}"
        root = make("county", parent, name, f"{prefix}{city:02d}{number:02d}")
        roots.append(root)
        for t, t_name in enumerate(_place_names(rng, count, "镇"), start=1):
            townships.append(make("township", root, t_name, f"{root.code}{t:03d}"))
    per_township = _split(villages, len(townships))
    by_township: list[list[Unit]] = []
    for township, n_villages in zip(townships, per_township, strict=True):
        n_stations = max(1, min(stations(), n_villages // districts_per_station or 1))
        districts: list[Unit] = []
        for s in range(1, n_stations + 1):
            station = make("station", township, f"第{s}网格站", f"{township.code}{s:02d}")
            for d in range(1, districts_per_station + 1):
                number = (s - 1) * districts_per_station + d
                districts.append(make("district", station, f"第{number}管区", f"{station.code}{d:02d}"))
        mine: list[Unit] = []
        names = iter(_place_names(rng, n_villages, "村"))  # distinct within the township
        for district, n in zip(districts, _split(n_villages, len(districts)), strict=True):
            for v in range(1, n + 1):
                mine.append(make("village", district, next(names), f"{district.code}{v:03d}"))
        by_township.append(mine)
    # Parents before children, level by level.
    order = {
        "province": -2,
        "city": -1,
        "county": 0,
        "township": 1,
        "station": 2,
        "district": 3,
        "village": 4,
    }
    units.sort(key=lambda u: (order[u.level], u.id))
    return Tree(roots, townships, by_township, units)


# -------------------------------------------------------------------------------------------- the ledger


@dataclass
class LedgerPlan:
    """What the ledger generator needs, all as plain ids and ints."""

    years: list[int]
    as_of: datetime.date
    rows_per_month: int
    first_id: int
    categories: dict[str, int]  # line → id
    paths: dict[str, int]  # name → id
    #: (village id, clerk user id, reviewer user id, other enterer user id, {year: target fen})
    villages: list[tuple[int, int, int, int, dict[int, int]]]
    postgres: bool


class Ledger:
    """Generates the ledger rows as tuples in ``ENTRY_COLUMNS`` order, ready for COPY / executemany
    (dates and times as text: ``YYYY-MM-DD``; times in UTC, with ``+00`` on PostgreSQL), and keeps
    the counts and the counted totals as it goes."""

    def __init__(self, rng: random.Random, plan: LedgerPlan, *, digest: bool = False) -> None:
        self.rng = rng
        self.plan = plan
        self.next_id = plan.first_id
        self.counts: dict[str, int] = {"verified": 0, "submitted": 0, "draft": 0, "reversals": 0}
        self.counted_fen: dict[int, int] = dict.fromkeys(plan.years, 0)
        self.hash = hashlib.sha256() if digest else None
        counted = {plan.categories[line] for line in COUNTED_LINES}
        self.counted_ids = counted
        lines = [line for line, _ in CATEGORY_WEIGHTS]
        self.category_weights = [w for _, w in CATEGORY_WEIGHTS]
        self.category_ids = [plan.categories[line] for line in lines]
        self.subsidy_id = plan.categories["subsidy"]
        self.contracting_id = plan.categories["contracting"]
        self.path_names = list(PATH_TEXT)
        self.path_ids = [plan.paths[name] for name in self.path_names]
        self.land = self.path_names.index("土地流转")
        self.poverty = self.path_names.index("扶贫项目收益")

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The rows, village by village, year by year, month by month, in date order within a month.
        Ints and precomputed strings only: ``random()`` scaled instead of ``randrange`` (a third of
        the time), dates and times looked up by day number."""
        rng = self.rng
        rnd = rng.random
        lognorm = rng.lognormvariate
        plan = self.plan
        as_of = plan.as_of
        k = plan.rows_per_month
        tz = "+00" if plan.postgres else ""
        # Local time 08:00–18:59 (+08:00) is 00:00–10:59 UTC.
        clock = [f" {m // 60:02d}:{m % 60:02d}:00{tz}" for m in range(660)]
        table = [self.category_ids[i] for i, w in enumerate(self.category_weights) for _ in range(w)]
        slots = len(table)
        n_paths = len(self.path_ids)
        path_ids = self.path_ids
        texts = [PATH_TEXT[name] for name in self.path_names]
        subsidy, contracting, counted = self.subsidy_id, self.contracting_id, self.counted_ids
        land, poverty, other_path = self.land, self.poverty, n_paths - 1
        counts, counted_fen = self.counts, self.counted_fen
        digest = self._digest if self.hash is not None else None
        calendars = {year: _calendar(year) for year in plan.years}
        as_of_iso = as_of.isoformat()
        recent = (as_of - datetime.timedelta(days=14)).isoformat()
        current = as_of.year
        next_id = self.next_id
        for village, clerk, reviewer, other, targets in plan.villages:
            strength = rng.uniform(0.45, 1.6)
            for year in plan.years:
                days_iso, month_starts = calendars[year]
                goal = targets[year] * strength * rng.uniform(0.9, 1.15)
                # Rows a year, four in five counted: the mean counted row makes the year's goal.
                mean = goal / (k * 12 * 0.8)
                for month in range(1, 13):
                    if year == current and month > as_of.month:
                        break
                    first = month_starts[month - 1]
                    length = month_starts[month] - first
                    n = k - 2 + int(rnd() * 5)
                    if year == current and month == as_of.month:
                        n = round(n * as_of.day / length)
                        length = as_of.day
                    for offset in sorted(int(rnd() * length) for _ in range(n)):
                        index = first + offset
                        date = days_iso[index]
                        month_name = f"{month}月"
                        category = table[int(rnd() * slots)]
                        if category == subsidy:
                            p = poverty if rnd() < 0.5 else other_path
                            summaries, parties = SUBSIDY_TEXT
                        else:
                            p = land if category == contracting else int(rnd() * n_paths)
                            summaries, parties = texts[p]
                        fen = int(mean * lognorm(-0.5, 1.0))
                        fen = MIN_FEN if fen < MIN_FEN else MAX_FEN if fen > MAX_FEN else fen
                        summary = month_name + summaries[int(rnd() * len(summaries))]
                        party = parties[int(rnd() * len(parties))]
                        enterer = other if rnd() < 0.05 else clerk
                        created_at = date + clock[int(rnd() * 600)]
                        if date > recent:
                            r = rnd()
                            status = "draft" if r < 0.15 else "submitted" if r < 0.55 else "verified"
                        elif year == current and rnd() < 0.02:
                            status = "submitted"
                        else:
                            status = "verified"
                        row_id = next_id
                        next_id += 1
                        if status == "verified":
                            review = days_iso[index + 1 + int(rnd() * 5)]
                            if review > as_of_iso:
                                review = as_of_iso
                            reviewed_at = review + clock[600 + int(rnd() * 30)]
                            row = (row_id, village, date, fen, category, path_ids[p], summary, party, status, None,
                                   enterer, created_at, reviewed_at, created_at, reviewer, reviewed_at, "", None, 3)  # fmt: skip
                            if category in counted:
                                counted_fen[year] += fen
                        else:
                            submitted = created_at if status == "submitted" else None
                            row = (row_id, village, date, fen, category, path_ids[p], summary, party, status, None,
                                   enterer, created_at, created_at, submitted, None, None, "", None,
                                   2 if submitted else 1)  # fmt: skip
                        counts[status] += 1
                        if digest is not None:
                            digest(row, clerk)
                        yield row
                        if status == "verified" and rnd() < 0.004:
                            # A correction: a reversing row of the opposite amount on the same date,
                            # entered by the clerk and verified too.
                            reason = REVERSAL_REASONS[int(rnd() * len(REVERSAL_REASONS))]
                            rev_id = next_id
                            next_id += 1
                            when = row[12]
                            rev = (rev_id, village, date, -fen, category, path_ids[p], f"冲销：{summary}（原因：{reason}）",
                                   party, "verified", row_id, clerk, when, when, when, reviewer, when, "", None, 2)  # fmt: skip
                            counts["verified"] += 1
                            counts["reversals"] += 1
                            if category in counted:
                                counted_fen[year] -= fen
                            if digest is not None:
                                digest(rev, clerk)
                            yield rev
        self.next_id = next_id

    def _digest(self, row: tuple[Any, ...], clerk: int) -> None:
        """Hash a row with its people as roles (clerk or not; reviewed or not), not as user ids: user ids
        come from the database's sequence, which a rolled-back build does not give back on PostgreSQL."""
        assert self.hash is not None
        self.hash.update(repr((row[:10], row[10] == clerk, row[11:14], row[14] is None, row[15:])).encode())


def _calendar(year: int) -> tuple[list[str], list[int]]:
    """The ISO text of every day of ``year`` and ten days beyond (reviews a few days after a row), and
    the index of each month's first day (13 entries: the last is the year's end)."""
    first = datetime.date(year, 1, 1)
    end = datetime.date(year + 1, 1, 1)
    days = [(first + datetime.timedelta(days=i)).isoformat() for i in range((end - first).days + 10)]
    starts = [(datetime.date(year, m, 1) - first).days for m in range(1, 13)] + [(end - first).days]
    return days, starts


# -------------------------------------------------------------------------------------------- the writer


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def bulk_insert(
    model: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], *, chunk: int = 5000
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order, values already as the database takes them) into
    ``model``'s table: ``COPY … FROM STDIN`` on PostgreSQL, one prepared ``executemany`` in chunks on
    SQLite. Returns how many rows went in. Runs in the caller's transaction."""
    from django.db import connection

    ops = connection.ops
    meta = model._meta
    names = ", ".join(ops.quote_name(meta.get_field(c).column) for c in columns)
    table = ops.quote_name(meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
                    count += 1
        else:
            # A page cache big enough for the load's index pages (the default 2 MB spills to the WAL
            # over and over); the connection's own size is put back afterwards.
            cursor.execute("PRAGMA cache_size")
            cache = cursor.fetchone()[0]
            if SQLITE_CACHE_KIB:
                cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == chunk:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
    return count


@contextlib.contextmanager
def _secondary_keys_deferred(model: Any, enabled: bool) -> Iterator[None]:
    """On PostgreSQL, with ``enabled``: drop ``model``'s table's foreign keys, unique constraints and
    secondary indexes (the primary key stays), load, then create them again from their own definitions
    (``pg_get_constraintdef``, ``pg_indexes``) — the documented way to populate a table ("Populating a
    Database"): one sorted index build and one join per foreign key instead of 10 index insertions and
    5 queued foreign-key checks per row (queued in memory until the end of the statement). All inside
    the caller's transaction: on failure nothing is lost. Elsewhere, or not ``enabled``: nothing."""
    from django.db import connection

    if not enabled or connection.vendor != "postgresql":
        yield
        return
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)"
            " ORDER BY indexname",
            [table, table],
        )
        indexes = cursor.fetchall()
        # Run the foreign-key checks still queued by this transaction (an ALTER of a table with pending
        # trigger events is refused), then go on deferring as before.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, _ in constraints:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return int(model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _reset_sequences(*models: Any) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


# --------------------------------------------------------------------------------------------- the build


def build(
    *,
    scale: str,
    seed: int,
    counties: Sequence[tuple[int, int, int]],
    villages: int,
    stations: Callable[[random.Random], int],
    years: Sequence[int],
    as_of: datetime.date,
    rows_per_month: int,
    prefix: str = "99",
    digest: bool = False,
    defer_keys: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """Build one synthetic tree with users, campaigns, targets and ledger, in one transaction; then
    rebuild the ledger roll-up when there is one. The keyword ``counties`` gives (city, county number,
    townships) per root county."""
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
    from django.db import transaction
    from django.utils import timezone

    from qiangcun.accounts.models import Role, RoleGrant, User
    from qiangcun.accounts.services import grant_create, user_create
    from qiangcun.ledger.models import Category, DevelopmentPath, Entry
    from qiangcun.orgs.models import OrgUnit
    from qiangcun.targets.models import VillageTarget
    from qiangcun.targets.services import campaign_create

    say = log or (lambda _m: None)
    years = sorted(years)
    if as_of.year != years[-1]:
        raise ValueError(f"截止日期 {as_of} 应在最后一年 {years[-1]} 内")
    rng = random.Random(seed)
    phases: dict[str, float] = {}
    counts: dict[str, int] = {}
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now
        say(f"{name}: {phases[name]:.2f} s")

    with transaction.atomic():
        tree = plan_tree(
            rng,
            first_id=_next_id(OrgUnit),
            prefix=prefix,
            counties=counties,
            villages=villages,
            stations=lambda: stations(rng),
            province=scale == "province",
        )
        tops = [u.code for u in tree.units if u.level in ("province", "city", "county")]
        clash = OrgUnit.objects.filter(code__in=tops).values_list("code", flat=True)
        if clash:
            raise ValueError(f"代码 {', '.join(clash)} 已被使用：换一个 --code-prefix，或用空库")
        above = [u.row() for u in tree.units if u.level != "village"]
        below = [u.row() for u in tree.units if u.level == "village"]
        counts["units"] = bulk_insert(OrgUnit, UNIT_COLUMNS, above)
        phase("units above villages")

        # The people who act through services: an admin on each root and on each township.
        root_admins, township_admins = [], []
        for unit, names in ((tree.roots, root_admins), (tree.townships, township_admins)):
            for u in unit:
                model = OrgUnit(id=u.id, level=u.level, name=u.name, code=u.code, path=u.path)
                user = user_create(
                    actor=None,
                    username=f"synth-{u.code}-admin",
                    password=None,
                    display_name=f"{u.name}党建办",
                )
                grant_create(actor=None, user=user, role=Role.TOWNSHIP_ADMIN, unit=model)
                names.append(user)
        # Year campaigns, opened before the villages exist (so with no targets yet: they follow in bulk).
        counted = list(Category.objects.filter(line__in=COUNTED_LINES).order_by("order", "id"))
        campaigns: dict[tuple[int, int], int] = {}
        for township, admin, mine in zip(tree.townships, township_admins, tree.villages, strict=True):
            unit = OrgUnit.objects.get(pk=township.id)
            for year in years:
                campaign = campaign_create(
                    actor=admin,
                    township=unit,
                    year=year,
                    goal_top_tier_villages=round(len(mine) * 21 / 67),
                    counted_categories=counted,
                )
                campaigns[(township.id, year)] = campaign.pk
        counts["users"] = len(root_admins) + len(township_admins)
        counts["campaigns"] = len(campaigns)
        phase("admins and campaigns (services)")

        counts["units"] += bulk_insert(OrgUnit, UNIT_COLUMNS, below)
        counts["villages"] = len(below)
        _reset_sequences(OrgUnit)
        phase("villages")

        # One clerk per village (bulk: tens of thousands of accounts), unusable password as user_create.
        stamp = timezone.now()
        clerks = [
            User(
                username=f"synth-{v.code}",
                display_name=f"{v.name}报账员",
                unit_id=v.id,
                password=UNUSABLE_PASSWORD_PREFIX + f"{rng.getrandbits(160):040x}",
                date_joined=stamp,
            )
            for mine in tree.villages
            for v in mine
        ]
        made = User.objects.bulk_create(clerks, batch_size=2000)
        if any(u.pk is None for u in made):  # SQLite before 3.35 returns no ids
            ids = dict(User.objects.filter(username__startswith="synth-").values_list("username", "id"))
            for u in made:
                u.pk = ids[u.username]
        RoleGrant.objects.bulk_create(
            [RoleGrant(user_id=u.pk, role=Role.VILLAGE_CLERK, unit_id=u.unit_id) for u in made],
            batch_size=2000,
        )
        clerk_of = {u.unit_id: u.pk for u in made}
        counts["users"] += len(made)
        phase("village clerks (bulk_create)")

        targets: dict[tuple[int, int], int] = {}
        target_rows = []
        for township, mine in zip(tree.townships, tree.villages, strict=True):
            for year in years:
                campaign_id = campaigns[(township.id, year)]
                amounts = rng.choices(TARGET_CHOICES, TARGET_WEIGHTS, k=len(mine))
                for v, amount in zip(mine, amounts, strict=True):
                    targets[(v.id, year)] = amount * 100
                    target_rows.append((campaign_id, v.id, amount * 100))
        counts["targets"] = bulk_insert(VillageTarget, TARGET_COLUMNS, target_rows)
        phase("targets")

        root_admin_of = [root_admins[tree.roots.index(t.parent)].pk for t in tree.townships if t.parent]
        plan = LedgerPlan(
            years=list(years),
            as_of=as_of,
            rows_per_month=rows_per_month,
            first_id=_next_id(Entry),
            categories=dict(Category.objects.values_list("line", "id")),
            paths=dict(DevelopmentPath.objects.values_list("name", "id")),
            villages=[
                (
                    v.id,
                    clerk_of[v.id],
                    township_admins[t].pk,
                    root_admin_of[t],
                    {y: targets[(v.id, y)] for y in years},
                )
                for t, mine in enumerate(tree.villages)
                for v in mine
            ],
            postgres=_vendor() == "postgresql",
        )
        ledger = Ledger(rng, plan, digest=digest)
        if defer_keys is None:
            # Remaking the indexes costs the whole table: worth it when the load at least doubles it.
            months = 12 * (len(years) - 1) + as_of.month
            expected = len(plan.villages) * months * rows_per_month
            defer_keys = expected >= Entry.objects.count()
        with _secondary_keys_deferred(Entry, defer_keys):
            counts["entries"] = bulk_insert(Entry, ENTRY_COLUMNS, ledger.rows())
            phase("ledger")
        if defer_keys and _vendor() == "postgresql":
            phase("ledger indexes and foreign keys")
        _reset_sequences(Entry)
        counts.update({f"entries_{k}": v for k, v in ledger.counts.items()})
    phase("commit")

    try:
        from qiangcun.ledger import rollup  # type: ignore[attr-defined]
    except ImportError:
        rollup = None
    if rollup is not None:
        rollup.rebuild()
        phase("rollup rebuild")
    # Statistics for the query planner, as a running installation has them (PostgreSQL: autovacuum;
    # SQLite: the nightly job, ``core.tasks.refresh_statistics``).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    phase("analyze")

    return Summary(
        scale=scale,
        seed=seed,
        vendor=_vendor(),
        root_codes=[r.code for r in tree.roots],
        township_codes=[t.code for t in tree.townships],
        root_admins=[u.username for u in root_admins],
        township_admins=[u.username for u in township_admins],
        years=list(years),
        as_of=as_of,
        counts=counts,
        counted_fen=dict(ledger.counted_fen),
        phases=phases,
        digest=ledger.hash.hexdigest() if ledger.hash is not None else "",
    )


def build_county(
    *,
    seed: int = 2020,
    townships: int = 15,
    villages: int = 1000,
    years: Sequence[int] = (2016, 2017, 2018, 2019, 2020),
    rows_per_month: int = 19,
    as_of: datetime.date | None = None,
    prefix: str = "99",
    county: int = 1,
    digest: bool = False,
    defer_keys: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """One county (code ``{prefix}00{county:02}``) of ``townships`` townships (5 stations of 2 districts
    each, as the demo) and ``villages`` villages; a campaign per township and year; the ledger over
    ``years``, the last one up to ``as_of`` (default: 17 April, the demo's day). 19 rows a village-month
    make ~1,000,000 rows at the defaults (four whole years and three and a half months)."""
    years = sorted(years)
    return build(
        scale="county",
        seed=seed,
        counties=[(0, county, townships)],
        villages=villages,
        stations=lambda _rng: 5,
        years=years,
        as_of=as_of or datetime.date(years[-1], 4, 17),
        rows_per_month=rows_per_month,
        prefix=prefix,
        digest=digest,
        defer_keys=defer_keys,
        log=log,
    )


def province_shape(villages: int) -> list[tuple[int, int, int]]:
    """(city, county number, townships) for ``villages`` villages in a province's proportions: about 39
    villages a township, 13 townships a county, 8.6 counties a city (Shandong: 16 cities, 136 counties,
    ~1,800 townships, ~70,000 villages)."""
    n_townships = max(1, round(villages / 39))
    n_counties = max(1, round(n_townships / 13))
    n_cities = max(1, round(n_counties / 8.6))
    per_county = iter(_split(n_townships, n_counties))
    shape = []
    for city, n in enumerate(_split(n_counties, n_cities), start=1):
        for number in range(1, n + 1):
            shape.append((city, number, next(per_county)))
    return shape


def build_province(
    *,
    seed: int = 2020,
    villages: int = 70_000,
    year: int = 2020,
    rows_per_month: int = 17,
    as_of: datetime.date | None = None,
    prefix: str = "98",
    digest: bool = False,
    defer_keys: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """A province's villages (``province_shape``; 3–6 stations of 2 districts a township), one year,
    the whole year by default (``as_of`` 31 December): 70,000 × 12 × 17 ≈ 14,300,000 rows. Meant for
    PostgreSQL (it runs on SQLite, slowly)."""
    return build(
        scale="province",
        seed=seed,
        counties=province_shape(villages),
        villages=villages,
        stations=lambda rng: rng.randint(3, 6),
        years=[year],
        as_of=as_of or datetime.date(year, 12, 31),
        rows_per_month=rows_per_month,
        prefix=prefix,
        digest=digest,
        defer_keys=defer_keys,
        log=log,
    )


def build_township(
    *,
    demo: bool = True,
    seed: int = 2020,
    villages: int = 67,
    year: int = 2020,
    rows_per_month: int = 15,
    as_of: datetime.date | None = None,
    prefix: str = "97",
    log: Callable[[str], None] | None = None,
) -> Summary:
    """The township size. ``demo``: the demo township itself (its builder and its own fixed records —
    619 ledger rows in 2020, not 15 a village-month; ``seed`` does not apply), its counted total taken
    from the database as the progress table counts it. Otherwise a synthetic township of the demo's
    shape (``villages`` in 5 stations of 2 districts) under its own county, ``rows_per_month`` rows a
    village-month over ``year`` up to ``as_of`` (default 31 December)."""
    if not demo:
        return build(
            scale="township",
            seed=seed,
            counties=[(0, 1, 1)],
            villages=villages,
            stations=lambda _rng: 5,
            years=[year],
            as_of=as_of or datetime.date(year, 12, 31),
            rows_per_month=rows_per_month,
            prefix=prefix,
            log=log,
        )
    from django.db.models import Sum

    from qiangcun.demo import builder
    from qiangcun.ledger.models import Entry, Recognition
    from qiangcun.orgs.models import OrgUnit
    from qiangcun.targets.selectors import counted, counted_shares

    start = time.perf_counter()
    builder.build()
    township = OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)
    elapsed = round(time.perf_counter() - start, 3)
    if log:
        log(f"demo: {elapsed:.2f} s")
    rows = Entry.objects.filter(village__path__startswith=township.path)
    shares = Recognition.objects.filter(village__path__startswith=township.path)
    income = (
        counted(rows, builder.YEAR, township=township).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    ) + (
        counted_shares(shares, builder.YEAR, township=township).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    )
    return Summary(
        scale="township",
        seed=0,
        vendor=_vendor(),
        root_codes=[township.parent.code if township.parent else township.code],
        township_codes=[township.code],
        root_admins=[],
        township_admins=["demo-admin"],
        years=[builder.YEAR],
        as_of=datetime.date(builder.YEAR, 12, 31),
        counts={
            "villages": OrgUnit.objects.under(township).filter(level="village").count(),
            "entries": rows.count(),
        },
        counted_fen={builder.YEAR: int(income * 100)},
        phases={"demo": elapsed},
    )


# ------------------------------------------------------------------------------------------------ the CLI


def setup_django() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    import django

    django.setup()


def main(argv: list[str] | None = None) -> Summary:
    parser = argparse.ArgumentParser(description="合成数据：县（1,000 村、五年）或省（70,000 村、一年）")
    parser.add_argument("scale", choices=["township", "county", "province"])
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--villages", type=int)
    parser.add_argument("--townships", type=int, default=15, help="county only")
    parser.add_argument("--years", type=int, default=5, help="county: how many years, ending with --year")
    parser.add_argument("--year", type=int, default=2020, help="the last (province: the only) year")
    parser.add_argument("--rows-per-village-month", type=int, dest="rows")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, help="last day with rows (YYYY-MM-DD)")
    parser.add_argument(
        "--code-prefix", help="two digits that start every root code (county 99, province 98)"
    )
    parser.add_argument(
        "--defer-keys",
        action=argparse.BooleanOptionalAction,
        help="PostgreSQL: drop the ledger's indexes and foreign keys for the load, then make them again"
        " (default: when the load at least doubles the ledger table)",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="township: a synthetic one of the demo's shape, not the demo"
    )
    parser.add_argument("--json", type=Path, help="also write the summary to this file as JSON")
    parser.add_argument("--digest", action="store_true", help="SHA-256 of the generated rows")
    args = parser.parse_args(argv)
    setup_django()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.scale == "township":
        summary = build_township(
            demo=not args.synthetic,
            seed=args.seed,
            villages=args.villages or 67,
            year=args.year,
            rows_per_month=args.rows or 15,
            as_of=args.as_of,
            prefix=args.code_prefix or "97",
            log=log,
        )
    elif args.scale == "county":
        summary = build_county(
            seed=args.seed,
            townships=args.townships,
            villages=args.villages or 1000,
            years=range(args.year - args.years + 1, args.year + 1),
            rows_per_month=args.rows or 19,
            as_of=args.as_of,
            prefix=args.code_prefix or "99",
            digest=args.digest,
            defer_keys=args.defer_keys,
            log=log,
        )
    else:
        summary = build_province(
            seed=args.seed,
            villages=args.villages or 70_000,
            year=args.year,
            rows_per_month=args.rows or 17,
            as_of=args.as_of,
            prefix=args.code_prefix or "98",
            digest=args.digest,
            defer_keys=args.defer_keys,
            log=log,
        )
    entries = summary.counts.get("entries", 0)
    ledger_s = summary.phases.get("ledger", 0.0)
    print(f"{summary.scale} on {summary.vendor}: seed {summary.seed}, roots {', '.join(summary.root_codes[:5])}"
          f"{' …' if len(summary.root_codes) > 5 else ''}, {len(summary.township_codes)} townships")  # fmt: skip
    for key, value in summary.counts.items():
        print(f"  {key}: {value:,}")
    for year, fen in summary.counted_fen.items():
        print(f"  counted verified income {year}: {Decimal(fen) / 100:,.2f} 元")
    for name, seconds in summary.phases.items():
        print(f"  {name}: {seconds:.2f} s")
    total = summary.seconds
    rate = f", ledger {entries / ledger_s:,.0f} rows/s" if ledger_s else ""
    print(f"  total: {total:.2f} s{rate}")
    if summary.digest:
        print(f"  digest: {summary.digest}")
    if args.json:
        args.json.write_text(
            json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return summary


if __name__ == "__main__":
    main()
