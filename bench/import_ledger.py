"""Benchmark: import a large ledger workbook, side by side with a bare python-calamine read of the same
file and with django-import-export importing the same rows into the same model.

    uv run --group bench python bench/import_ledger.py                      # 100,000 rows, 3 repetitions
    uv run --group bench python bench/import_ledger.py --rows 2000 --repeat 1   # quick check
    uv run python bench/import_ledger.py --db both --skip-ie                # SQLite and PostgreSQL side by side

Everything runs in one process against a fresh ``QIANGCUN_HOME`` and a fresh database (a temporary
SQLite file, or with ``--db postgres`` a scratch PostgreSQL database made with ``createdb`` on
127.0.0.1:5432 and dropped afterwards; ``--db both`` runs the script once for each, one after the other,
and reports them side by side): migrate, build the demo township (67 villages, campaign 2020), generate a
seeded workbook, then time each contender ``--repeat`` times and report the median. Imports run inside a
transaction that is rolled back after timing and checking, so every repetition starts from the same
database. The JSON (``--output``) has at its top ``rows``, ``db``, ``bare_read_s``, ``ours_s``,
``parse_s``, ``insert_s``, ``ratio`` (ours / bare read), ``aim`` and ``versions``, for ``bench/run.py``.

See bench/README.md for what is measured and how to read the results.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bench_common import git, version  # noqa: E402

PG_URL = "postgres://postgres@127.0.0.1:5432/"
#: The aim of issue 11: ours within this many times the bare read, per database.
AIMS = {"sqlite": 3.0, "postgresql": 2.0}
RESULTS = BENCH_DIR / "results" / "import_ledger.json"
PROFILE = BENCH_DIR / "out" / "import_ledger.prof"  # bench/out/ is git-ignored
YEAR = 2020
SHEET = "台账"
HEADERS = ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要", "付款单位"]

# What a village ledger row says: (category, path, summary stem, counterparties).
KINDS = [
    ("发包及上交收入", "土地流转", "集体土地流转承包费", ["承包户", "种植大户", "家庭农场"]),
    ("经营收入", "现代农业", "特色种植销售收入", ["果蔬收购商", "农产品批发市场"]),
    ("经营收入", "光伏发电", "村级光伏电站发电收益结算", ["国网宁津县供电公司"]),
    ("投资收益", "扶贫项目收益", "扶贫项目收益分配", ["上龙食品有限公司"]),
    ("投资收益", "合作社", "村党组织领办合作社分红", ["村股份经济合作社"]),
    ("经营收入", "有偿服务", "农机作业有偿服务收入", ["民旺为农服务中心", "种植户"]),
    ("发包及上交收入", "招商引资", "招商项目用地租金", ["项目业主", "宁津县某畜禽养殖公司"]),
    ("发包及上交收入", "边角经济", "废旧坑塘及边角地发包收入", ["承包户"]),
    ("经营收入", "电商", "合作社电商平台销售收入", ["电商平台"]),
    ("补助收入", "扶贫项目收益", "上级扶贫专项补助资金", ["宁津县财政局"]),
    ("其他收入", "其他", "村集体资产处置收入", ["个人", "村民"]),
]


def mb(kib: int) -> float:
    return round(kib / 1024, 1)


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def git_state() -> dict:
    """The commit the code under test is at, and whether src/ differs from it."""
    return {"commit": git("rev-parse", "HEAD"), "src_modified": bool(git("status", "--porcelain", "src"))}


# ---------------------------------------------------------------------------------------------- setup


def setup_django(home: Path) -> None:
    os.environ["QIANGCUN_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qiangcun.settings"
    # A pinned "today" (the demo's 2020-04-17) would refuse rows dated after it.
    os.environ.pop("QIANGCUN_TODAY", None)
    os.environ.pop("QIANGCUN_DEMO", None)
    import django

    django.setup()
    from django.core.management import call_command

    from qiangcun.demo import builder

    call_command("migrate", verbosity=0, interactive=False)
    builder.build()


def generate(path: Path, rows: int, seed: int, villages: list[str], prefix: tuple[Path, int] | None) -> dict:
    """Write the ledger with openpyxl in write-only mode; return the count and exact sum of amounts
    (and of the first ``prefix`` rows, written to a second file, when asked)."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    start = datetime.date(YEAR, 1, 1)
    days = (datetime.date(YEAR, 12, 31) - start).days + 1
    books = []
    for _ in range(2 if prefix else 1):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(SHEET)
        ws.append(HEADERS)
        books.append((wb, ws))
    total = Decimal("0.00")
    prefix_total = Decimal("0.00")
    keys: set[tuple[Any, ...]] = set()
    for i in range(1, rows + 1):
        village = villages[rng.randrange(len(villages))]
        date = start + datetime.timedelta(days=rng.randrange(days))
        # Amounts with fen (some whole yuan) from 1.00 to 50,000.00: numeric cells.
        fen = rng.randrange(100, 5_000_001)
        if rng.random() < 0.2:
            fen -= fen % 100
        amount = Decimal(fen) / 100
        category, path_name, stem, counterparties = KINDS[rng.randrange(len(KINDS))]
        summary = f"{date.month}月{stem}（台账第{i:06d}笔）"
        counterparty = counterparties[rng.randrange(len(counterparties))]
        key = (village, date, amount, category, summary)
        assert key not in keys
        keys.add(key)
        row = [village, date, float(amount), category, path_name, summary, counterparty]
        books[0][1].append(row)
        total += amount
        if prefix and i <= prefix[1]:
            books[1][1].append(row)
            prefix_total += amount
    books[0][0].save(path)
    out = {"rows": rows, "sum": total, "bytes": path.stat().st_size}
    if prefix:
        books[1][0].save(prefix[0])
        out["prefix"] = {"rows": prefix[1], "sum": prefix_total, "path": prefix[0]}
    return out


# ------------------------------------------------------------------------------------ contenders


def bare_to_python(path: Path, expect_rows: int) -> dict:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python()
    assert len(rows) == expect_rows + 1, len(rows)
    return {}


def bare_iter_rows(path: Path, expect_rows: int) -> dict:
    from python_calamine import CalamineWorkbook

    count = 0
    for _row in CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).iter_rows():
        count += 1
    assert count == expect_rows + 1, count
    return {}


def ledger_state() -> tuple[int, Decimal, int]:
    from django.db.models import Count, Q, Sum

    from qiangcun.ledger.models import Entry, Status

    agg = Entry.objects.aggregate(
        n=Count("id"), s=Sum("amount"), verified=Count("id", filter=Q(status=Status.VERIFIED))
    )
    return agg["n"], agg["s"] or Decimal("0.00"), agg["verified"]


def check_added(before: tuple[int, Decimal, int], expect_rows: int, expect_sum: Decimal, who: str) -> None:
    n, s, verified = ledger_state()
    added, added_sum, added_verified = n - before[0], s - before[1], verified - before[2]
    if added != expect_rows or added_sum != expect_sum or added_verified != expect_rows:
        raise SystemExit(
            f"FAIL ({who}): added {added} rows ({added_verified} verified) summing {added_sum}; "
            f"expected {expect_rows} verified rows summing {expect_sum}"
        )


def ours(path: Path, expect_rows: int, expect_sum: Decimal, admin: Any) -> dict:
    """parse_ledger_file + entries_import(verified=True), as the CLI does; rolled back afterwards."""
    from django.db import transaction

    from qiangcun.imports.lookups import import_villages
    from qiangcun.ledger.importing.ledger import parse_ledger_file
    from qiangcun.ledger.services import entries_import

    with transaction.atomic():
        before = ledger_state()
        t0 = time.perf_counter()
        villages = import_villages(admin)
        # As `qiangcun import-ledger --verified` calls it (red-ink rows allowed when migrating as verified).
        parsed = parse_ledger_file(path, name=path.name, year=YEAR, villages=villages, allow_negative=True)
        t1 = time.perf_counter()
        if not parsed.ok:
            raise SystemExit(f"FAIL (ours): {len(parsed.errors)} errors, first: {parsed.errors[:3]}")
        outcome = entries_import(
            actor=admin,
            rows=parsed.rows,
            file_name=path.name,
            sha256=parsed.sha256,
            skipped=parsed.skipped,
            verified=True,
        )
        t2 = time.perf_counter()
        if outcome.imported != expect_rows or outcome.duplicates:
            raise SystemExit(f"FAIL (ours): imported {outcome.imported}, duplicates {outcome.duplicates}")
        check_added(before, expect_rows, expect_sum, "ours")
        transaction.set_rollback(True)
    return {"parse": t1 - t0, "insert": t2 - t1, "total": t2 - t0}


IE_CONFIGS = {
    # import-export's documented settings for large imports of new rows.
    "bulk": {
        "use_bulk": True,  # bulk_create in batches instead of save() per row
        "batch_size": 2000,
        "force_init_instance": True,  # rows are all new: no per-row lookup of an existing instance
        "skip_diff": True,  # no deepcopy + diff (and no HTML diff) per row
    },
    # Its defaults: save() per row in a savepoint, instance lookup by id, diff per row.
    "default": {},
}


def make_resource(admin: Any, config: str) -> Any:
    """A django-import-export ModelResource for Entry, written the way its documentation suggests."""
    from django.utils import timezone
    from import_export import fields, resources, widgets

    from qiangcun.ledger.models import Category, DevelopmentPath, Entry, Status
    from qiangcun.orgs.models import Level, OrgUnit

    class VillageWidget(widgets.ForeignKeyWidget):
        def get_queryset(self, value: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
            return OrgUnit.objects.filter(level=Level.VILLAGE)

    class YuanWidget(widgets.Widget):
        """A numeric (or text) cell to Decimal yuan, exactly, for MoneyField."""

        def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Decimal | None:
            if value is None or value == "":
                return None
            return Decimal(str(value)).quantize(Decimal("0.01"))

    class EntryResource(resources.ModelResource):
        village = fields.Field(attribute="village", column_name="村名", widget=VillageWidget(OrgUnit, "name"))
        date = fields.Field(attribute="date", column_name="日期", widget=widgets.DateWidget())
        amount = fields.Field(attribute="amount", column_name="金额（元）", widget=YuanWidget())
        category = fields.Field(
            attribute="category", column_name="收入类别", widget=widgets.ForeignKeyWidget(Category, "name")
        )
        path = fields.Field(
            attribute="path", column_name="增收路子", widget=widgets.ForeignKeyWidget(DevelopmentPath, "name")
        )
        summary = fields.Field(attribute="summary", column_name="摘要", widget=widgets.CharWidget())
        counterparty = fields.Field(
            attribute="counterparty", column_name="付款单位", widget=widgets.CharWidget()
        )

        Meta = type(
            "Meta",
            (),
            {
                "model": Entry,
                "fields": ("id", "village", "date", "amount", "category", "path", "summary", "counterparty"),
                **IE_CONFIGS[config],
            },
        )

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.now = timezone.now()

        def init_instance(self, row: Any = None) -> Entry:
            # Fixed for every row: entered by the admin, imported as verified (a DB check requires a
            # reviewer on verified rows).
            return Entry(
                entered_by=admin,
                status=Status.VERIFIED,
                submitted_at=self.now,
                reviewed_by=admin,
                reviewed_at=self.now,
            )

    return EntryResource


def ie_config_text(config: str) -> str:
    options = ", ".join(f"{k}={v}" for k, v in IE_CONFIGS[config].items()) or "default options"
    return f"{config}: ModelResource, {options}"


def import_export(path: Path, expect_rows: int, expect_sum: Decimal, admin: Any, config: str) -> dict:
    """tablib Dataset via import-export's own XLSX format (openpyxl, read-only) + import_data."""
    from django.db import transaction
    from import_export.formats.base_formats import XLSX

    resource_class = make_resource(admin, config)
    with transaction.atomic():
        before = ledger_state()
        t0 = time.perf_counter()
        dataset = XLSX().create_dataset(path.read_bytes())
        t1 = time.perf_counter()
        result = resource_class().import_data(
            dataset, dry_run=False, use_transactions=True, raise_errors=True
        )
        t2 = time.perf_counter()
        if result.has_errors() or result.has_validation_errors():
            raise SystemExit("FAIL (import-export): the result has errors")
        check_added(before, expect_rows, expect_sum, "import-export")
        transaction.set_rollback(True)
    return {"read": t1 - t0, "import": t2 - t1, "total": t2 - t0}


# ---------------------------------------------------------------------------------------------- runner


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the probe), user + system: on a machine
    shared with other work, wall seconds wander with the load and CPU seconds much less. (PostgreSQL's
    own server processes are not children: their CPU is not in it.)"""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def repeat(label: str, n: int, fn: Callable[[], dict]) -> dict:
    """Run ``fn`` n times (GC collected before each); the median run's phases and total."""
    runs = []
    for i in range(n):
        gc.collect()
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        phases = fn()
        wall = time.perf_counter() - t0
        phases.setdefault("total", wall)
        phases["cpu"] = cpu_seconds() - c0
        runs.append(phases)
        print(f"  {label} #{i + 1}: " + ", ".join(f"{k} {v:.3f}s" for k, v in phases.items()), flush=True)
    # The run with the median total (the lower of the two middle ones for an even count), phases and
    # all, so that its phases add up to its total.
    median = statistics.median_low(r["total"] for r in runs)
    out = dict(next(r for r in runs if r["total"] == median))
    out["runs"] = [r["total"] for r in runs]
    out["cpu_runs"] = [r["cpu"] for r in runs]
    out["peak_rss_mib_after"] = mb(peak_rss_kib())
    return out


def profile_ours(path: Path, expect_rows: int, expect_sum: Decimal, admin: Any, out: Path) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    ours(path, expect_rows, expect_sum, admin)
    profiler.disable()
    profiler.dump_stats(out)
    print(f"\ncProfile of one run of ours (saved to {out}):")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="ledger rows to generate (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each contender (median)")
    parser.add_argument("--seed", type=int, default=YEAR)
    parser.add_argument(
        "--ie-rows",
        type=int,
        default=0,
        help="time django-import-export on only the first N rows and extrapolate linearly (default: all)",
    )
    parser.add_argument(
        "--ie-config",
        choices=sorted(IE_CONFIGS),
        default="bulk",
        help="django-import-export configuration (default: bulk, its fastest)",
    )
    parser.add_argument("--skip-ie", action="store_true", help="leave django-import-export out")
    parser.add_argument("--profile", action="store_true", help="also cProfile one run of ours (untimed)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres", "both"),
        default="sqlite",
        help="a temporary SQLite file (default), a scratch PostgreSQL database on 127.0.0.1:5432 "
        "(createdb/dropdb), or both, one after the other, reported side by side",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary QIANGCUN_HOME")
    args = parser.parse_args()
    if args.db == "both":
        both(args)
        return
    if args.ie_rows >= args.rows:
        args.ie_rows = 0
    if not args.skip_ie and importlib.util.find_spec("import_export") is None:
        parser.error(
            "django-import-export is not installed: run with `uv run --group bench ...` (or --skip-ie)"
        )
    args.git = git_state()

    started = datetime.datetime.now(datetime.UTC)
    home = Path(tempfile.mkdtemp(prefix="qiangcun-bench-"))
    database = ""
    if args.db == "postgres":
        database = f"qc_bench_import_{uuid.uuid4().hex[:10]}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
        os.environ["DATABASE_URL"] = PG_URL + database
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        run(args, home, started)
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
        if database:
            from django.db import connections

            connections.close_all()
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=False
            )


def both(args: argparse.Namespace) -> None:
    """This script once on SQLite and once on PostgreSQL (each in its own process: Django is set up once
    per process), then one JSON and one table with both."""
    results = {}
    for db in ("sqlite", "postgres"):
        out = args.output.with_name(f"{args.output.stem}.{db}{args.output.suffix}")
        argv = [a for a in sys.argv[1:]]
        for flag in ("--db", "--output"):
            while flag in argv:
                at = argv.index(flag)
                del argv[at : at + 2]
            argv = [a for a in argv if not a.startswith(flag + "=")]
        print(f"=== {db} ===", flush=True)
        subprocess.run([sys.executable, __file__, *argv, "--db", db, "--output", str(out)], check=True)
        results[db] = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
    combined = {
        "benchmark": "import_ledger",
        "db": "both",
        "rows": results["sqlite"]["rows"],
        "side_by_side": {r["db"]: {k: r[k] for k in SUMMARY_KEYS} for r in results.values()},
        "runs": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(combined, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print()
    print(side_by_side(list(results.values())))
    print(f"\nsaved {args.output}")


SUMMARY_KEYS = (
    "bare_read_s",
    "ours_s",
    "parse_s",
    "insert_s",
    "ratio",
    "aim",
    "aim_met",
    "cpu_s",
    "cpu_ratio",
)


def side_by_side(results: list[dict]) -> str:
    head = "| | " + " | ".join(r["environment"]["database"] for r in results) + " |"
    lines = [
        f"Import of a {results[0]['rows']:,}-row ledger workbook, median of {results[0]['repeat']}, side by side",
        "",
        head,
        "| --- |" + " ---: |" * len(results),
    ]
    for label, key in (
        ("bare read (calamine) s", "bare_read_s"),
        ("**ours** s", "ours_s"),
        ("  parse s", "parse_s"),
        ("  insert s", "insert_s"),
    ):
        lines.append(f"| {label} | " + " | ".join(f"{r[key]:.2f}" for r in results) + " |")
    lines.append("| **ours / bare read** | " + " | ".join(f"**{r['ratio']:.2f}×**" for r in results) + " |")
    lines.append(
        "| CPU s: bare read / ours | "
        + " | ".join(f"{r['cpu_s']['bare_read']:.2f} / {r['cpu_s']['ours']:.2f}" for r in results)
        + " |"
    )
    lines.append(
        "| ours / bare read in CPU s | " + " | ".join(f"{r['cpu_ratio']:.2f}×" for r in results) + " |"
    )
    lines.append(
        "| load average at the end | " + " | ".join(f"{r['load_average'][0]:.1f}" for r in results) + " |"
    )
    lines.append(
        "| aim | "
        + " | ".join(f"≤ {r['aim']:g}× — {'met' if r['aim_met'] else 'not met'}" for r in results)
        + " |"
    )
    if all(r["seconds"].get("import_export_total") for r in results):
        lines.append(
            "| django-import-export s | "
            + " | ".join(f"{r['seconds']['import_export_total']:.2f}" for r in results)
            + " |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, home: Path, started: datetime.datetime) -> None:
    t = time.perf_counter()
    setup_django(home)
    if not args.skip_ie:
        # Imported now, not when first used, and versions read now: the run must not depend on the
        # environment staying put (another `uv run` without the bench group would uninstall it).
        for module in (
            "import_export.formats.base_formats",
            "import_export.resources",
            "import_export.widgets",
        ):
            importlib.import_module(module)
    args.versions = {
        dist: version(dist)
        for dist in ("django", "django-import-export", "tablib", "openpyxl", "python-calamine", "psycopg")
    }
    from django.db import connection

    from qiangcun.accounts.models import User
    from qiangcun.orgs.models import Level, OrgUnit

    admin = User.objects.get(username="demo-admin")
    villages = sorted(OrgUnit.objects.filter(level=Level.VILLAGE).values_list("name", flat=True))
    assert len(villages) == 67, len(villages)
    print(f"setup (migrate + demo, {connection.vendor}): {time.perf_counter() - t:.1f}s", flush=True)

    t = time.perf_counter()
    path = home / f"ledger-{args.rows}.xlsx"
    prefix = (home / f"ledger-{args.ie_rows}.xlsx", args.ie_rows) if args.ie_rows else None
    data = generate(path, args.rows, args.seed, villages, prefix)
    print(
        f"generated {args.rows:,} rows, {data['bytes'] / 1e6:.1f} MB, sum {data['sum']:,} 元: "
        f"{time.perf_counter() - t:.1f}s (not timed)",
        flush=True,
    )
    rss_before = peak_rss_kib()

    n, total = data["rows"], data["sum"]
    print(f"timing (median of {args.repeat}):", flush=True)
    bare_py = repeat("calamine to_python", args.repeat, lambda: bare_to_python(path, n))
    bare_it = repeat("calamine iter_rows", args.repeat, lambda: bare_iter_rows(path, n))
    our = repeat("ours", args.repeat, lambda: ours(path, n, total, admin))
    ie = None
    if not args.skip_ie:
        if prefix:
            p = data["prefix"]
            ie = repeat(
                f"import-export ({p['rows']:,} rows)",
                args.repeat,
                lambda: import_export(p["path"], p["rows"], p["sum"], admin, args.ie_config),
            )
            ie["measured_rows"] = p["rows"]
            ie["measured"] = {k: ie[k] for k in ("read", "import", "total")}
            scale = n / p["rows"]
            for k in ("read", "import", "total"):
                ie[k] = ie[k] * scale
            ie["extrapolated"] = True
        else:
            ie = repeat(
                "import-export",
                args.repeat,
                lambda: import_export(path, n, total, admin, args.ie_config),
            )
            ie["measured_rows"] = n
            ie["extrapolated"] = False

    baseline_name = "to_python" if bare_py["total"] <= bare_it["total"] else "iter_rows"
    baseline = min(bare_py["total"], bare_it["total"])
    bare_cpu = min(bare_py["cpu"], bare_it["cpu"])
    ratios = {
        "ours_over_bare": our["total"] / baseline,
        "ours_parse_over_bare": our["parse"] / baseline,
    }
    if ie:
        ratios["ours_over_import_export"] = our["total"] / ie["total"]
        ratios["import_export_over_bare"] = ie["total"] / baseline

    db = connection.settings_dict
    aim = AIMS.get(connection.vendor, 2.0)
    result = {
        "benchmark": "import_ledger",
        "date": started.isoformat(timespec="seconds"),
        "rows": n,
        "db": connection.vendor,
        "bare_read_s": baseline,
        "ours_s": our["total"],
        "parse_s": our["parse"],
        "insert_s": our["insert"],
        "ratio": ratios["ours_over_bare"],
        "cpu_s": {"bare_read": bare_cpu, "ours": our["cpu"]},
        "cpu_ratio": our["cpu"] / bare_cpu,
        "load_average": os.getloadavg(),
        "aim": aim,
        "aim_met": ratios["ours_over_bare"] <= aim,
        "versions": {
            "python": platform.python_version(),
            **args.versions,
            "database": database_version(connection),
        },
        "repeat": args.repeat,
        "seed": args.seed,
        "file_bytes": data["bytes"],
        "sum_yuan": f"{total:.2f}",
        "seconds": {
            "bare_calamine_to_python": bare_py["total"],
            "bare_calamine_iter_rows": bare_it["total"],
            "bare_baseline": baseline,
            "ours_total": our["total"],
            "ours_parse": our["parse"],
            "ours_insert": our["insert"],
            **(
                {
                    "import_export_total": ie["total"],
                    "import_export_read": ie["read"],
                    "import_export_import": ie["import"],
                }
                if ie
                else {}
            ),
        },
        "runs": {
            "bare_calamine_to_python": bare_py["runs"],
            "bare_calamine_iter_rows": bare_it["runs"],
            "ours_total": our["runs"],
            **({"import_export_total": ie["runs"]} if ie else {}),
        },
        "baseline": f"calamine {baseline_name}",
        "ratios": ratios,
        "aims": {
            f"ours_within_{aim:g}x_bare": ratios["ours_over_bare"] <= aim,
            **({"ours_faster_than_import_export": ratios["ours_over_import_export"] < 1} if ie else {}),
        },
        "import_export": (
            {
                "configuration": ie_config_text(args.ie_config),
                "reader": "import_export.formats.base_formats.XLSX (openpyxl read_only, data_only)",
                "measured_rows": ie["measured_rows"],
                "extrapolated_linearly": ie["extrapolated"],
                **({"measured_seconds": ie["measured"]} if ie["extrapolated"] else {}),
            }
            if ie
            else None
        ),
        "peak_rss_mib": {
            "after_setup_and_generation": mb(rss_before),
            "after_bare_read": bare_it["peak_rss_mib_after"],
            "after_ours": our["peak_rss_mib_after"],
            **({"after_import_export": ie["peak_rss_mib_after"]} if ie else {}),
            "process": mb(peak_rss_kib()),
        },
        "environment": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            **args.versions,
            "git": args.git,
            "database": database_version(connection),
            "db_option": args.db,
            "database_name": str(db["NAME"]) if connection.vendor != "sqlite" else "(temporary SQLite file)",
            "database_scratch": True,
            "nproc": os.cpu_count(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print()
    print(markdown(result))
    print(f"\nsaved {args.output}")

    if args.profile:
        PROFILE.parent.mkdir(parents=True, exist_ok=True)
        profile_ours(path, n, total, admin, PROFILE)


def database_version(connection: Any) -> str:
    if connection.vendor == "sqlite":
        return f"sqlite {connection.Database.sqlite_version}"
    if connection.vendor == "postgresql":
        major, minor = divmod(connection.pg_version, 10000)
        return f"postgresql {major}.{minor}"
    return connection.vendor


def markdown(r: dict) -> str:
    s = r["seconds"]
    base = s["bare_baseline"]
    rows = [
        ("python-calamine `to_python()` (bare read)", s["bare_calamine_to_python"]),
        ("python-calamine `iter_rows()` (bare read)", s["bare_calamine_iter_rows"]),
        ("**ours** total (`parse_ledger_file` + `entries_import`)", s["ours_total"]),
        ("  ours: parse", s["ours_parse"]),
        ("  ours: insert", s["ours_insert"]),
    ]
    ie = r["import_export"]
    if ie:
        note = f" — extrapolated from {ie['measured_rows']:,} rows" if ie["extrapolated_linearly"] else ""
        rows += [
            (f"django-import-export total{note}", s["import_export_total"]),
            ("  import-export: read (tablib/openpyxl)", s["import_export_read"]),
            ("  import-export: import_data", s["import_export_import"]),
        ]
    lines = [
        f"Import of a {r['rows']:,}-row ledger workbook ({r['file_bytes'] / 1e6:.1f} MB), "
        f"median of {r['repeat']}, {r['environment']['database']}, {r['environment']['nproc']} CPUs",
        "",
        "| | seconds | × bare read |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {sec:.2f} | {sec / base:.1f}× |" for name, sec in rows]
    ratios = r["ratios"]
    lines += [
        "",
        f"- ours / bare read ({r['baseline']}): **{ratios['ours_over_bare']:.2f}×** (aim ≤ {r['aim']:g}× on "
        f"{r['db']}: {'met' if r['aim_met'] else 'not met'})",
    ]
    if "ours_over_import_export" in ratios:
        lines.append(
            f"- ours / django-import-export: **{ratios['ours_over_import_export']:.2f}×** (aim < 1×; "
            f"import-export is {1 / ratios['ours_over_import_export']:.1f}× ours)"
        )
        lines.append(f"- import-export configuration: {ie['configuration']}")
    rss = r["peak_rss_mib"]
    lines.append("- peak RSS (MiB, cumulative): " + ", ".join(f"{k} {v}" for k, v in rss.items()))
    env = r["environment"]
    lines.append(
        f"- Python {env['python']}, Django {env['django']}, django-import-export {env['django-import-export']}, "
        f"tablib {env['tablib']}, openpyxl {env['openpyxl']}, python-calamine {env['python-calamine']}; "
        f"{r['date']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))
    main()
