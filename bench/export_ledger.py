"""Benchmark: export a large ledger to .xlsx (issue 11), side by side with a bare openpyxl write-only
write of the same rows.

    uv run python bench/export_ledger.py                          # 50,000 rows (a township), median of 3
    uv run python bench/export_ledger.py --rows 1000000 --repeat 1   # a county
    uv run python bench/export_ledger.py --rows 2000 --repeat 1      # quick check

Everything runs in one process against a fresh ``QIANGCUN_HOME`` (SQLite unless ``DATABASE_URL`` is
set): migrate, build the demo township (67 villages), add verified ledger rows up to ``--rows`` with one
prepared INSERT (as ``ledger.services._insert_imported`` writes an import), then time each contender
``--repeat`` times and report the median:

- *baseline*: the same rows, already in memory as tuples, appended to a bare ``Workbook(write_only=True)``
  and saved to a file;
- *ours*: the export job (``exports.services.job_run``) end to end, from the database to the file:
  the scoped, joined query read in chunks, the styled table (title, unit line, header, formats), the
  progress reports and the job's state.

``main(argv)`` returns the result (also printed and written as JSON to ``--output``), so that a runner
can call it, or run this file as a subprocess with ``--rows N --repeat R --output PATH``.
See bench/README.md for what is measured and how to read the results.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bench_common import git, version  # noqa: E402
from import_ledger import KINDS  # noqa: E402

RESULTS = BENCH_DIR / "results" / "export_ledger.json"
YEAR = 2020
#: Issue 11's aim: ours within twice the bare write.
AIM_RATIO = 2.0


def mb(kib: int) -> float:
    return round(kib / 1024, 1)


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------------------------------------- setup


def setup_django(home: Path) -> None:
    os.environ["QIANGCUN_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qiangcun.settings"
    os.environ.pop("QIANGCUN_TODAY", None)
    os.environ.pop("QIANGCUN_DEMO", None)
    import django

    django.setup()
    from django.core.management import call_command

    from qiangcun.demo import builder

    call_command("migrate", verbosity=0, interactive=False)
    builder.build()


def add_rows(rows: int, seed: int) -> int:
    """Verified rows for the year, spread over the demo's villages, until the year has ``rows`` rows
    (one prepared INSERT, executemany in chunks of 5,000, in one transaction). How many were added."""
    from django.db import connection, transaction
    from django.utils import timezone

    from qiangcun.accounts.models import User
    from qiangcun.ledger.models import Category, DevelopmentPath, Entry
    from qiangcun.orgs.models import Level, OrgUnit

    have = Entry.objects.filter(date__year=YEAR).count()
    missing = rows - have
    if missing <= 0:
        return 0
    rng = random.Random(seed)
    villages = list(OrgUnit.objects.filter(level=Level.VILLAGE).values_list("pk", flat=True))
    categories = dict(Category.objects.values_list("name", "pk"))
    paths = dict(DevelopmentPath.objects.values_list("name", "pk"))
    clerk = User.objects.get(username="demo-clerk").pk
    admin = User.objects.get(username="demo-admin").pk
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    start = datetime.date(YEAR, 1, 1)
    columns = (
        "village_id, date, amount, category_id, path_id, summary, counterparty, status, entered_by_id, "
        "created_at, updated_at, submitted_at, reviewed_by_id, reviewed_at, return_reason, version"
    )
    sql = f"INSERT INTO {Entry._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * 16)})"
    with transaction.atomic(), connection.cursor() as cursor:
        chunk: list[tuple[Any, ...]] = []
        for i in range(1, missing + 1):
            date = start + datetime.timedelta(days=rng.randrange(366))
            fen = rng.randrange(100, 5_000_001)
            category, path_name, stem, parties = KINDS[rng.randrange(len(KINDS))]
            chunk.append(
                (
                    villages[rng.randrange(len(villages))],
                    ops.adapt_datefield_value(date),
                    fen,
                    categories[category],
                    paths[path_name],
                    f"{date.month}月{stem}（导出第{i:07d}笔）",
                    parties[rng.randrange(len(parties))],
                    "verified",
                    clerk,
                    stamp,
                    stamp,
                    stamp,
                    admin,
                    stamp,
                    "",
                    1,
                )
            )
            if len(chunk) == 5000:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
    return missing


def expected() -> tuple[int, Decimal]:
    from django.db.models import Count, Sum

    from qiangcun.ledger.models import Entry

    agg = Entry.objects.filter(date__year=YEAR).aggregate(n=Count("id"), s=Sum("amount"))
    return agg["n"], agg["s"]


def read_back(path: Path) -> tuple[int, Decimal]:
    """Rows and the sum of the amount column (column C) of a written workbook, read with calamine."""
    from python_calamine import CalamineWorkbook

    n, total = 0, Decimal("0.00")
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    for i, row in enumerate(sheet.iter_rows()):
        if i < 3:  # title, unit line, header (the baseline has none: it starts at row 1)
            if not isinstance(row[2], float | int):
                continue
        n += 1
        total += Decimal(str(row[2])).quantize(Decimal("0.01"))
    return n, total


# ------------------------------------------------------------------------------------ contenders


def baseline(rows: Sequence[tuple[Any, ...]], path: Path) -> dict:
    """A bare write-only openpyxl write of ``rows`` (tuples in memory) to a file."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    for row in rows:
        ws.append(row)
    wb.save(path)
    return {}


def ours(admin: Any, path_of: Callable[[Any], Path]) -> dict:
    """The export job, end to end: ``job_run`` on a queued job of the admin's ledger of the year."""
    from qiangcun.exports.models import ExportJob
    from qiangcun.exports.services import job_run
    from qiangcun.ledger.exporting import LedgerFilter, ledger_export_plan

    export = ledger_export_plan(user=admin, filters=LedgerFilter(year=YEAR))
    job = ExportJob.objects.create(
        user=admin, kind="ledger", options=export.filters.as_json(), file_name=export.file_name
    )
    t0 = time.perf_counter()
    job_run(str(job.pk))
    wall = time.perf_counter() - t0
    job.refresh_from_db()
    if job.state != ExportJob.State.DONE:
        raise SystemExit(f"FAIL (ours): the job ended {job.state}: {job.error}")
    return {"total": wall, "path": path_of(job)}


def repeat_round(label: str, i: int, fn: Callable[[], dict], runs: list[dict]) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    out.setdefault("total", time.perf_counter() - t0)
    runs.append(out)
    print(f"  {label} #{i + 1}: {out['total']:.3f}s", flush=True)
    return out


def median(runs: list[dict]) -> float:
    return statistics.median_low(r["total"] for r in runs)


# ---------------------------------------------------------------------------------------------- runner


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="ledger rows of the year (default 50000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each contender (median)")
    parser.add_argument("--seed", type=int, default=YEAR)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary QIANGCUN_HOME")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    home = Path(tempfile.mkdtemp(prefix="qiangcun-bench-"))
    try:
        return run(args, home, started)
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path, started: datetime.datetime) -> dict:
    load_start = load()
    t = time.perf_counter()
    setup_django(home)
    from django.db import connection

    from qiangcun.accounts.models import User
    from qiangcun.exports.services import file_path
    from qiangcun.ledger.exporting import LedgerFilter, ledger_export_plan

    added = add_rows(args.rows, args.seed)
    n, total = expected()
    admin = User.objects.get(username="demo-admin")
    print(
        f"setup (migrate + demo + {added:,} rows inserted, {connection.vendor}): "
        f"{time.perf_counter() - t:.1f}s; the year has {n:,} rows, {total:,} 元",
        flush=True,
    )
    rss_setup = peak_rss_kib()
    print(f"timing (median of {args.repeat}):", flush=True)
    our_runs: list[dict] = []
    base_runs: list[dict] = []
    # Ours first, before the baseline's rows are in memory: the peak RSS after it is ours alone.
    first = repeat_round("ours", 0, lambda: ours(admin, file_path), our_runs)
    rss_ours = peak_rss_kib()
    got = read_back(first["path"])
    if got != (n, total):
        raise SystemExit(f"FAIL (ours): the file holds {got[0]} rows summing {got[1]}; expected {n}, {total}")
    our_bytes = first["path"].stat().st_size
    # The baseline's rows: exactly what ours writes, as tuples (not timed).
    rows = list(ledger_export_plan(user=admin, filters=LedgerFilter(year=YEAR)).rows())
    base_path = home / "baseline.xlsx"
    for i in range(args.repeat):
        repeat_round("baseline", i, lambda: baseline(rows, base_path), base_runs)
        if i + 1 < args.repeat:
            repeat_round("ours", i + 1, lambda: ours(admin, file_path), our_runs)
    rss_end = peak_rss_kib()
    got = read_back(base_path)
    if got != (n, total):
        raise SystemExit(f"FAIL (baseline): the file holds {got[0]} rows summing {got[1]}")
    base_bytes = base_path.stat().st_size
    ours_s, base_s = median(our_runs), median(base_runs)
    ratio = ours_s / base_s
    db = connection.settings_dict
    result = {
        "benchmark": "export_ledger",
        "date": started.isoformat(timespec="seconds"),
        "rows": n,
        "sum_yuan": f"{total:.2f}",
        "repeat": args.repeat,
        "seed": args.seed,
        "seconds": {"baseline_bare_write_only": base_s, "ours_job_end_to_end": ours_s},
        "runs": {
            "baseline_bare_write_only": [r["total"] for r in base_runs],
            "ours_job_end_to_end": [r["total"] for r in our_runs],
        },
        "ratio_ours_over_baseline": ratio,
        "aim_ratio": AIM_RATIO,
        "aim_met": ratio <= AIM_RATIO,
        "rows_per_second": {"baseline": n / base_s, "ours": n / ours_s},
        "file_bytes": {"baseline": base_bytes, "ours": our_bytes},
        "peak_rss_mib": {
            "after_setup": mb(rss_setup),
            "after_ours": mb(rss_ours),
            "after_baseline_rows_in_memory": mb(rss_end),
        },
        "database": {"vendor": connection.vendor, "name": str(db.get("NAME", ""))[-40:]},
        "load_average": {"start": load_start, "end": load()},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {d: version(d) for d in ("django", "openpyxl", "python-calamine", "qiangcun")},
        "git": {
            "commit": git("rev-parse", "HEAD"),
            "src_modified": bool(git("status", "--porcelain", "src")),
        },
    }
    print(
        f"\n{n:,} rows: baseline {base_s:.2f}s, ours {ours_s:.2f}s, ratio {ratio:.2f}× "
        f"(aim ≤ {AIM_RATIO}×: {'met' if ratio <= AIM_RATIO else 'NOT met'}); files {base_bytes / 1e6:.1f} / "
        f"{our_bytes / 1e6:.1f} MB; peak RSS after setup {mb(rss_setup)} MiB, after ours {mb(rss_ours)} MiB",
        flush=True,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print(f"written {args.output}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
