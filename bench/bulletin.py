"""Benchmark: one weekly bulletin (.docx + .pdf) and one wall poster (A1, also A0/A3 once) for the demo
township (67 villages) and for a synthetic township of 400 villages, side by side with the floor cost of
any PDF: WeasyPrint rendering a one-page HTML "hello" in Noto Sans CJK SC.

    uv run python bench/bulletin.py                 # median of 5
    uv run python bench/bulletin.py --repeat 1      # quick check
    uv run python bench/bulletin.py --profile       # also cProfile the demo's bulletin and A1 poster

Everything runs in one process against a fresh ``QIANGCUN_HOME`` (SQLite unless ``DATABASE_URL`` is
set): migrate, build the demo township, build the 400-village township through the services, then time.
The first call of each step is reported apart (for the demo it is the cold call of the process: imports
of WeasyPrint, python-docx, matplotlib, fonts); the medians are over ``--repeat`` further rounds, each
round running the baseline and both townships one after the other, so that a change of machine load hits
all of them alike.

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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bench_common import git, version  # noqa: E402

RESULTS_MD = BENCH_DIR / "results" / "bulletin.md"
RESULTS_JSON = BENCH_DIR / "results" / "bulletin.json"
PROFILE_DIR = BENCH_DIR / "out"  # git-ignored
YEAR = 2020
CUTOFF = 4  # the demo township's cut-off day (Friday): week 16 of 2020 ends on 2020-04-17
WEEK = 16
AIM_SECONDS = 2.0

# The synthetic township: 16 stations × 5 districts × 5 villages = 400 villages.
BIG_COUNTY_CODE = "379900000000"
BIG_TOWNSHIP_CODE = "379901000000"
BIG_STATIONS, BIG_DISTRICTS, BIG_VILLAGES = 16, 5, 5
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
SUFFIXES = "庄屯寨营集店口洼楼堂"
STREAMS = [
    ("发包及上交收入", "土地流转", "集体土地流转承包费", "承包户"),
    ("经营收入", "现代农业", "特色种植销售收入", "果蔬收购商"),
    ("经营收入", "光伏发电", "村级光伏电站发电收益结算", "国网宁津县供电公司"),
    ("投资收益", "合作社", "村党组织领办合作社分红", "村股份经济合作社"),
    ("经营收入", "有偿服务", "农机作业有偿服务收入", "民旺为农服务中心"),
    ("补助收入", "扶贫项目收益", "上级扶贫专项补助资金", "宁津县财政局"),  # recorded, not counted
]

HELLO = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
    "@page { size: A4; margin: 2cm; } body { font-family: 'Noto Sans CJK SC'; font-size: 16pt; }"
    "</style></head><body><p>你好，hello</p></body></html>"
)


def load() -> str:
    """The time (UTC) and the load averages over 1, 5 and 15 minutes, as ``uptime`` gives them."""
    now = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S UTC")
    return f"{now}, load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF, by poppler's ``pdfinfo`` (the page objects sit in compressed object streams);
    0 when it is not installed."""
    if not shutil.which("pdfinfo"):
        return 0
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, timeout=30, check=False)
    found = re.search(rb"^Pages:\s+(\d+)", done.stdout, re.M)
    return int(found[1]) if found else 0


# ---------------------------------------------------------------------------------------------- setup


def setup_django(home: Path) -> None:
    os.environ["QIANGCUN_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qiangcun.settings"
    os.environ.pop("QIANGCUN_TODAY", None)  # a verified import must be dated before the current year
    os.environ.pop("QIANGCUN_DEMO", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build_demo() -> Any:
    from qiangcun.demo import builder
    from qiangcun.orgs.models import OrgUnit

    builder.build()
    return OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)


def village_names(count: int) -> list[str]:
    names = [f"{s}{x}村" for x in SUFFIXES for s in SURNAMES]
    if count > len(names):
        names += [f"{s}{x}{n}村" for n in range(2, 10) for x in SUFFIXES for s in SURNAMES]
    return names[:count]


def build_big(seed: int) -> Any:
    """A township of 400 villages (16 stations, 80 districts), campaign 2020 with targets, and six
    verified ledger rows per village (five counted, one grant not counted), imported as a past year's
    ledger by the township admin: all through the services."""
    from django.db import transaction

    from qiangcun.accounts.models import Role
    from qiangcun.accounts.services import grant_create, user_create
    from qiangcun.ledger.importing.ledger import ParsedRow
    from qiangcun.ledger.models import Category, DevelopmentPath
    from qiangcun.ledger.services import entries_import
    from qiangcun.orgs.models import Level
    from qiangcun.orgs.services import unit_create
    from qiangcun.targets.services import campaign_create, targets_set

    rng = random.Random(seed)
    names = iter(village_names(BIG_STATIONS * BIG_DISTRICTS * BIG_VILLAGES))
    with transaction.atomic():
        county = unit_create(actor=None, level=Level.COUNTY, name="基准县", code=BIG_COUNTY_CODE)
        township = unit_create(
            actor=None, level=Level.TOWNSHIP, name="基准镇", code=BIG_TOWNSHIP_CODE, parent=county
        )
        villages = []
        number = 0
        for s in range(1, BIG_STATIONS + 1):
            station = unit_create(
                actor=None,
                level=Level.STATION,
                name=f"第{s}网格站",
                code=f"{BIG_TOWNSHIP_CODE}-S{s:02d}",
                parent=township,
            )
            for d in range(1, BIG_DISTRICTS + 1):
                district = unit_create(
                    actor=None,
                    level=Level.DISTRICT,
                    name=f"第{s}站第{d}片区",
                    code=f"{BIG_TOWNSHIP_CODE}-D{(s - 1) * BIG_DISTRICTS + d:03d}",
                    parent=station,
                )
                for _ in range(BIG_VILLAGES):
                    number += 1
                    villages.append(
                        unit_create(
                            actor=None,
                            level=Level.VILLAGE,
                            name=next(names),
                            code=f"379901{200 + number:06d}",
                            parent=district,
                        )
                    )
        admin = user_create(actor=None, username="bench-admin", password=None, display_name="基准镇党建办")
        grant_create(actor=None, user=admin, role=Role.TOWNSHIP_ADMIN, unit=township)
        campaign = campaign_create(actor=admin, township=township, year=YEAR, goal_top_tier_villages=40)
        targets = {
            v.pk: Decimal(rng.choice([30_000, 40_000, 50_000, 60_000, 100_000, 120_000])) for v in villages
        }
        targets_set(actor=admin, campaign=campaign, amounts={k: v for k, v in targets.items() if v > 30_000})

        categories = {c.name: c for c in Category.objects.all()}
        paths = {p.name: p for p in DevelopmentPath.objects.all()}
        rows = []
        for v in villages:
            for category, path, summary, counterparty in STREAMS:
                date = datetime.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
                fen = rng.randrange(100_000, 2_500_000)
                rows.append(
                    ParsedRow(
                        row=len(rows) + 2,
                        village=v,
                        date=date,
                        amount=Decimal(fen) / 100,
                        category=categories[category],
                        path=paths[path],
                        summary=f"{date.month}月{summary}",
                        counterparty=counterparty,
                    )
                )
        entries_import(
            actor=admin, rows=rows, file_name="基准镇2020年台账.xlsx", sha256="0" * 64, verified=True
        )
    return township


# ---------------------------------------------------------------------------------------------- steps


class Township:
    """The steps timed for one township, each a callable returning what the next step needs."""

    def __init__(self, label: str, unit: Any) -> None:
        from qiangcun.supervision.services import issuer_of
        from qiangcun.supervision.weeks import weeks_of

        self.label = label
        self.unit = unit
        self.week = weeks_of(YEAR, CUTOFF)[WEEK - 1]
        self.issuer = issuer_of(unit)
        self.villages: int | None = None
        self.sizes: dict[str, int] = {}

    def bulletin(self) -> dict[str, float]:
        """snapshot → summary → chart → document → docx → pdf, each timed (= take + render)."""
        from qiangcun.reports.official import to_docx, to_pdf
        from qiangcun.supervision import documents, snapshots, text

        t0 = time.perf_counter()
        s = snapshots.take(township=self.unit, week=self.week, issuer=self.issuer, issued_on=self.week.end)
        s["number"] = WEEK
        t1 = time.perf_counter()
        summary = text.summary(s)
        t2 = time.perf_counter()
        chart = documents.chart_png(s) if s["stations"] else None
        t3 = time.perf_counter()
        doc = documents.document(s, summary, chart=chart)
        t4 = time.perf_counter()
        docx = to_docx(doc)
        t5 = time.perf_counter()
        pdf = to_pdf(doc)
        t6 = time.perf_counter()
        self.villages = s["totals"]["villages"]
        self.sizes.update(docx_bytes=len(docx), pdf_bytes=len(pdf), pdf_pages=pdf_pages(pdf))
        self.sizes["chart_bytes"] = len(chart or b"")
        return {
            "snapshot": t1 - t0,
            "summary": t2 - t1,
            "chart": t3 - t2,
            "document": t4 - t3,
            "docx": t5 - t4,
            "pdf": t6 - t5,
            "render": t6 - t2,  # chart + document + docx + pdf = documents.render()
        }

    def poster(self, size: str = "A1") -> dict[str, float]:
        from qiangcun.supervision import posters
        from qiangcun.supervision.snapshots import TownshipBoard
        from qiangcun.targets.selectors import progress

        t0 = time.perf_counter()
        p = progress(user=TownshipBoard(self.unit.path), unit=self.unit, year=YEAR, as_of=self.week.end)
        t1 = time.perf_counter()
        pdf = posters.poster_pdf(p, size=size)
        t2 = time.perf_counter()
        self.sizes[f"poster_{size}_bytes"] = len(pdf)
        self.sizes[f"poster_{size}_pages"] = pdf_pages(pdf)
        return {"progress": t1 - t0, f"poster_{size}": t2 - t1}


def hello() -> dict[str, float]:
    from qiangcun.reports.weasy import html_to_pdf

    t0 = time.perf_counter()
    pdf = html_to_pdf(HELLO)
    t1 = time.perf_counter()
    assert pdf_pages(pdf) in (0, 1)
    return {"hello": t1 - t0}


def docx_hello() -> dict[str, float]:
    import io

    import docx

    t0 = time.perf_counter()
    document = docx.Document()
    document.add_paragraph("你好，hello")
    out = io.BytesIO()
    document.save(out)
    return {"docx_hello": time.perf_counter() - t0}


def timed(fn: Callable[[], dict[str, float]]) -> dict[str, float]:
    gc.collect()
    return fn()


def profile(towns: list[Township]) -> None:
    import cProfile
    import pstats

    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    for town in towns:
        for name, fn in (("bulletin", town.bulletin), ("poster_A1", town.poster)):
            profiler = cProfile.Profile()
            profiler.enable()
            fn()
            profiler.disable()
            out = PROFILE_DIR / f"bulletin_{town.label}_{name}.prof"
            profiler.dump_stats(out)
            print(f"\ncProfile of one {name} of {town.label} (saved to {out}), by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
            print(f"\n… by own time ({name}, {town.label}):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


# ---------------------------------------------------------------------------------------------- runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm rounds (median; default 5)")
    parser.add_argument("--seed", type=int, default=YEAR)
    parser.add_argument("--profile", action="store_true", help="also cProfile one warm run of each (untimed)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_MD, help="markdown results (a .json beside it)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary QIANGCUN_HOME")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="qiangcun-bench-"))
    try:
        run(args, home)
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path) -> None:
    started = datetime.datetime.now(datetime.UTC)
    load_start = load()
    print(f"start: {load_start}", flush=True)
    t = time.perf_counter()
    setup_django(home)
    from django.db import connection

    demo_unit = build_demo()
    t_demo = time.perf_counter() - t
    t = time.perf_counter()
    big_unit = build_big(args.seed)
    t_big = time.perf_counter() - t
    print(
        f"setup ({connection.vendor}): migrate + demo {t_demo:.1f}s, 400-village township {t_big:.1f}s",
        flush=True,
    )
    demo = Township("demo", demo_unit)
    big = Township("400", big_unit)
    towns = [demo, big]
    load_measure = load()
    print(f"before timing: {load_measure}", flush=True)

    # First calls: the demo's are the process's cold calls (nothing has imported WeasyPrint, python-docx
    # or matplotlib yet, no font is loaded); the 400's are their first with a warm process.
    first: dict[str, dict[str, float]] = {}
    for town in towns:
        first[town.label] = {**timed(town.bulletin), **timed(town.poster)}
        print(
            f"  first {town.label}: " + ", ".join(f"{k} {v:.3f}s" for k, v in first[town.label].items()),
            flush=True,
        )
    first["baseline"] = {**timed(hello), **timed(docx_hello)}

    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "demo": [], "400": []}
    for i in range(args.repeat):
        runs["baseline"].append({**timed(hello), **timed(docx_hello)})
        for town in towns:
            runs[town.label].append({**timed(town.bulletin), **timed(town.poster)})
        print(
            f"  round {i + 1}: hello {runs['baseline'][-1]['hello']:.3f}s; "
            + "; ".join(
                f"{town.label} render {runs[town.label][-1]['render']:.3f}s "
                f"poster {runs[town.label][-1]['poster_A1']:.3f}s"
                for town in towns
            ),
            flush=True,
        )
    once: dict[str, dict[str, float]] = {}
    for town in towns:
        once[town.label] = {}
        for size in ("A0", "A3"):
            once[town.label].update(timed(lambda town=town, size=size: town.poster(size)))
    load_end = load()
    print(f"end: {load_end}", flush=True)

    medians = {
        label: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for label, rs in runs.items() if rs
    }
    for label in ("demo", "400"):
        m = medians[label]
        m["bulletin_with_snapshot"] = statistics.median(r["snapshot"] + r["render"] for r in runs[label])
        m["poster_A1_with_progress"] = statistics.median(r["progress"] + r["poster_A1"] for r in runs[label])
    result = {
        "benchmark": "bulletin",
        "date": started.isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "week": f"{YEAR}-W{WEEK:02d} (cut-off Friday, {demo.week.start}–{demo.week.end})",
        "townships": {
            t.label: {"name": t.unit.name, "villages": t.villages, "sizes": t.sizes} for t in towns
        },
        "setup_seconds": {"migrate_and_demo": t_demo, "township_400": t_big},
        "first": first,
        "median": medians,
        "runs": runs,
        "once": once,
        "load": {"start": load_start, "before_timing": load_measure, "end": load_end},
        "environment": {
            "python": platform.python_version(),
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "database": connection.vendor,
            "git": {
                "commit": git("rev-parse", "--short", "HEAD"),
                "src_modified": bool(git("status", "--porcelain", "src")),
            },
            **{
                d: version(d)
                for d in ("django", "weasyprint", "pydyf", "python-docx", "matplotlib", "fonttools")
            },
        },
    }
    text = markdown(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    args.output.with_suffix(".json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print()
    print(text)
    print(f"\nsaved {args.output} and {args.output.with_suffix('.json')}")
    if args.profile:
        profile(towns)


ROWS = [
    ("snapshot", "snapshot (`snapshots.take`, week 16: two `progress()` reads)"),
    ("summary", "opening paragraph (`text.summary`)"),
    ("chart", "bulletin: chart PNG (`documents.chart_png`, matplotlib)"),
    ("document", "bulletin: blocks (`documents.document`)"),
    ("docx", "bulletin: .docx (`to_docx`, python-docx)"),
    ("pdf", "bulletin: .pdf (`to_pdf`, WeasyPrint)"),
    ("render", "**bulletin .docx + .pdf** (`documents.render`: chart + blocks + docx + pdf)"),
    ("bulletin_with_snapshot", "bulletin with its snapshot (take + render)"),
    ("progress", "poster: `progress()` (week 16's last day)"),
    ("poster_A1", "**A1 poster** (`posters.poster_pdf`, WeasyPrint)"),
    ("poster_A1_with_progress", "A1 poster with its `progress()` (what the poster page does)"),
]


def markdown(r: dict) -> str:
    env = r["environment"]
    med, first, once = r["median"], r["first"], r["once"]
    base = med["baseline"]["hello"]
    towns = r["townships"]
    demo_n, big_n = towns["demo"]["villages"], towns["400"]["villages"]

    def cell(label: str, key: str) -> str:
        m = med[label].get(key)
        f = first[label].get(key)
        if m is None:
            return "| | |"
        f_text = f"{f:.3f}" if f is not None else ""
        return f"{f_text} | {m:.3f} | {m / base:.1f}×"

    lines = [
        f"# Bulletin and poster benchmark ({r['date'][:10]})",
        "",
        f"Week {r['week']}; first call apart, then the median of {r['repeat']} warm rounds in one process "
        f"({env['database']}). Ratios are to the baseline of the same rounds: WeasyPrint rendering a one-page "
        f'HTML "你好，hello" in Noto Sans CJK SC (`reports.weasy.html_to_pdf`), **{base:.3f} s** median '
        f"(first call {first['baseline']['hello']:.3f} s). For the demo the first call is the process's cold one "
        "(imports, fonts).",
        "",
        f"| | demo ({towns['demo']['name']}, {demo_n} villages): first s | median s | × hello "
        f"| {towns['400']['name']} ({big_n} villages): first s | median s | × hello |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, name in ROWS:
        lines.append(f"| {name} | {cell('demo', key)} | {cell('400', key)} |")
    for size in ("A0", "A3"):
        key = f"poster_{size}"
        lines.append(
            f"| {size} poster (once, warm) | | {once['demo'][key]:.3f} | {once['demo'][key] / base:.1f}× "
            f"| | {once['400'][key]:.3f} | {once['400'][key] / base:.1f}× |"
        )
    lines.append(
        f"| baseline: python-docx one-paragraph document | {first['baseline']['docx_hello']:.3f} | "
        f"{med['baseline']['docx_hello']:.3f} | {med['baseline']['docx_hello'] / base:.1f}× | | | |"
    )
    lines.append(
        f"| **baseline: WeasyPrint one-page hello** | {first['baseline']['hello']:.3f} | {base:.3f} | 1.0× | | | |"
    )
    lines.append("")
    for label in ("demo", "400"):
        sz = towns[label]["sizes"]
        lines.append(
            f"- {towns[label]['name']}: bulletin PDF {sz['pdf_pages']} pages ({sz['pdf_bytes'] / 1024:.0f} KiB), "
            f".docx {sz['docx_bytes'] / 1024:.0f} KiB, chart {sz['chart_bytes'] / 1024:.0f} KiB; poster "
            + ", ".join(
                f"{s} {sz[f'poster_{s}_pages']} page ({sz[f'poster_{s}_bytes'] / 1024:.0f} KiB)"
                for s in ("A1", "A0", "A3")
            )
        )
    d = med["demo"]
    lines += [
        "",
        f"- Aim, demo under {AIM_SECONDS:.0f} s each: bulletin .docx + .pdf {d['render']:.2f} s "
        f"({'met' if d['render'] < AIM_SECONDS else 'NOT met'}; with its snapshot {d['bulletin_with_snapshot']:.2f} s), "
        f"A1 poster {d['poster_A1']:.2f} s ({'met' if d['poster_A1'] < AIM_SECONDS else 'NOT met'}; "
        f"with its `progress()` {d['poster_A1_with_progress']:.2f} s).",
        f"- Setup (not timed): migrate + demo {r['setup_seconds']['migrate_and_demo']:.1f} s, "
        f"400-village township {r['setup_seconds']['township_400']:.1f} s.",
        f"- Load: at start `{r['load']['start']}`; before timing `{r['load']['before_timing']}`; "
        f"at end `{r['load']['end']}`.",
        f"- Machine: {env['nproc']} CPUs, {env['platform']}; Python {env['python']}, Django {env['django']}, "
        f"WeasyPrint {env['weasyprint']} (pydyf {env['pydyf']}, fonttools {env['fonttools']}), "
        f"python-docx {env['python-docx']}, matplotlib {env['matplotlib']}; commit `{env['git']['commit']}`"
        + (" (src/ modified)" if env["git"]["src_modified"] else "")
        + ".",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))
    main()
