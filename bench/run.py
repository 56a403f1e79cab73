"""Every benchmark, from one command, into ``bench/RESULTS.md``.

    uv run python bench/run.py --quick        # the demo township and a synthetic county on SQLite (minutes)
    uv run python bench/run.py                # also the county on PostgreSQL, full-size imports and exports
    uv run python bench/run.py --province     # the province on PostgreSQL only (long; separate)

Each benchmark runs in its own process against a database built for it in a temporary folder (SQLite) or
a scratch PostgreSQL database on 127.0.0.1:5432 (dropped at the end): the demo township (``qiangcun demo
--no-serve``), a synthetic county and province (``bench/synth.py``). Every figure is a median over
repeated runs and is given as a ratio to its baseline measured side by side in the same run: the SQL
floor for the progress table, ``/healthz`` for pages over HTTP, a bare read (import) or a bare write-only
write (export) of the same rows. The JSON of each part goes to ``bench/results/run/`` and the summary
to ``bench/RESULTS.md`` (``--output`` to write it elsewhere).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_common import git, version  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/"
CODES = """
import json, django
django.setup()
from qiangcun.orgs.models import OrgUnit
from qiangcun.ledger.models import Entry, MonthIncome
out = {}
for level in ("province", "city", "county", "township"):
    u = OrgUnit.objects.filter(level=level).order_by("path").first()
    if u: out[level] = u.code
out["villages"] = OrgUnit.objects.filter(level="village").count()
out["ledger_rows"] = Entry.objects.count()
out["rollup_lines"] = MonthIncome.objects.count()
print(json.dumps(out))
"""


class Dataset:
    """A database holding one dataset, and the environment that points a process at it."""

    def __init__(self, name: str, db: str, keep: bool) -> None:
        self.name, self.db, self.keep = name, db, keep
        self.home = Path(tempfile.mkdtemp(prefix=f"qc-bench-{name}-"))
        self.env = {
            **os.environ,
            "QIANGCUN_HOME": str(self.home),
            "DJANGO_SETTINGS_MODULE": "qiangcun.settings",
        }
        self.env.pop("QIANGCUN_TODAY", None)
        self.env.pop("DATABASE_URL", None)
        self.pg_name = ""
        if db == "postgres":
            self.pg_name = f"qc_bench_{name}_{uuid.uuid4().hex[:6]}"
            run(["createdb", "-h", "127.0.0.1", "-U", "postgres", self.pg_name])
            self.env["DATABASE_URL"] = PG + self.pg_name
        self.info: dict[str, Any] = {}
        self.build_s: float = 0.0

    def python(self, *argv: str, timeout: float | None = None) -> str:
        return run([sys.executable, *argv], env=self.env, timeout=timeout)

    def codes(self) -> dict[str, Any]:
        self.info = json.loads(self.python("-c", CODES).strip().splitlines()[-1])
        return self.info

    def drop(self) -> None:
        if self.keep:
            print(f"  kept {self.home} {self.pg_name}")
            return
        shutil.rmtree(self.home, ignore_errors=True)
        if self.pg_name:
            run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", self.pg_name])


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float | None = None) -> str:
    print("  $", " ".join(argv[:6]), "…" if len(argv) > 6 else "", flush=True)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(argv)}")
    return done.stdout


def build(name: str, db: str, keep: bool, synth_args: list[str] | None) -> Dataset:
    data = Dataset(name, db, keep)
    started = time.monotonic()
    if synth_args is None:
        data.python("-m", "qiangcun", "demo", "--no-serve")
    else:
        data.python("-m", "qiangcun", "migrate", "--no-input")
        data.python(str(BENCH / "synth.py"), *synth_args)
    data.build_s = time.monotonic() - started
    data.codes()
    print(f"  {name} on {db}: {data.info} in {data.build_s:.0f} s", flush=True)
    return data


def part(data: Dataset, script: str, out: Path, *argv: str) -> dict[str, Any]:
    data.python(str(BENCH / script), *argv, "--output", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def loadavg() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pg = ""
    try:
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        pass
    import sqlite3

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "openpyxl": version("openpyxl"),
        "python-calamine": version("python-calamine"),
        "gunicorn": version("gunicorn"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Every benchmark, from one command, into bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="the township and the county on SQLite only")
    parser.add_argument("--province", action="store_true", help="the province on PostgreSQL only (long)")
    parser.add_argument("--villages", type=int, help="county/province size (default 1,000 / 70,000)")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each in-process timing")
    parser.add_argument("--seconds", type=float, default=10.0, help="per HTTP contender per round")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the databases and folders")
    args = parser.parse_args(argv)

    out = BENCH / "results" / "run"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": machine(),
        "load_start": loadavg(),
        "mode": "",
        "parts": {},
        "explain": {},
    }
    started = time.monotonic()
    parts = report["parts"]

    def progress_of(data: Dataset, level: str, label: str, *extra: str) -> None:
        code = data.info.get(level)
        if not code:
            return
        key = f"progress_{label}_{data.db}"
        print(f"- progress: {label} ({code}) on {data.db}", flush=True)
        parts[key] = part(data, "progress.py", out / f"{key}.json", "--unit", code, "--label", label,
                          "--repeat", str(args.repeat), *extra)  # fmt: skip
        parts[key]["dataset"] = {**data.info, "build_s": data.build_s}

    def explain(data: Dataset, level: str, *extra: str) -> None:
        """The hot queries' plans (EXPLAIN ANALYZE on PostgreSQL) into results/run/explain_*.md."""
        key = f"explain_{level}_{data.db}"
        print(f"- query plans: {level} on {data.db}", flush=True)
        data.python(
            str(BENCH / "explain.py"),
            "--unit",
            data.info[level],
            *extra,
            "--output",
            str(out / f"{key}.json"),
        )
        report["explain"][key] = json.loads((out / f"{key}.json").read_text(encoding="utf-8"))

    if args.province:
        report["mode"] = "province"
        villages = args.villages or 70000
        data = build("province", "postgres", args.keep, ["province", "--villages", str(villages)])
        try:
            as_of = ("--as-of", "2020-12-31")  # the province's ledger runs the whole year
            progress_of(data, "province", "province", "--skip", "api", "--repeat", "3", *as_of)
            progress_of(data, "city", "city", *as_of)
            progress_of(data, "county", "county_in_province", *as_of)
            progress_of(data, "township", "township_in_province", *as_of)
            explain(data, "province", *as_of)
        finally:
            data.drop()
    else:
        report["mode"] = "quick" if args.quick else "full"
        county_args = ["county"] + (["--villages", str(args.villages)] if args.villages else [])
        township = build("township", "sqlite", args.keep, None)
        try:
            progress_of(township, "township", "township")
            print("- pages over HTTP: the demo township", flush=True)
            parts["http_township_sqlite"] = part(
                township, "pages.py", out / "http_township_sqlite.json", "--unit", township.info["township"],
                "--seconds", str(args.seconds), "--rounds", "2",
            )  # fmt: skip
        finally:
            township.drop()
        databases = ["sqlite"] if args.quick else ["sqlite", "postgres"]
        for db in databases:
            county = build("county", db, args.keep, county_args)
            try:
                progress_of(county, "township", "township_in_county")
                progress_of(county, "county", "county")
                explain(county, "county")
                if db == "sqlite" or not args.quick:
                    print(f"- pages over HTTP: a township of the county on {db}", flush=True)
                    parts[f"http_county_township_{db}"] = part(
                        county, "pages.py", out / f"http_county_township_{db}.json",
                        "--unit", county.info["township"], "--seconds", str(args.seconds), "--rounds", "2",
                    )  # fmt: skip
            finally:
                county.drop()
        rows = "20000" if args.quick else "100000"
        for db in databases:
            if (BENCH / "import_ledger.py").exists():
                print(f"- import of a {rows}-row workbook on {db}", flush=True)
                key = f"import_{db}"
                env_data = Dataset("import", "sqlite", args.keep)  # a folder; the script builds its own data
                try:
                    extra = ["--db", "postgres"] if db == "postgres" else []
                    parts[key] = part(env_data, "import_ledger.py", out / f"{key}.json", "--rows", rows,
                                      "--repeat", "3", "--skip-ie", *extra)  # fmt: skip
                finally:
                    env_data.drop()
        if (BENCH / "export_ledger.py").exists():
            runs = (
                [("50000", "sqlite")]
                if args.quick
                else [("50000", "sqlite"), ("50000", "postgres"), ("1000000", "sqlite")]
            )
            for size, db in runs:
                print(f"- export of {size} rows on {db}", flush=True)
                key = f"export_{size}_{db}"
                env_data = Dataset(
                    "export", db, args.keep
                )  # an empty database: the bench builds the demo in it
                try:
                    parts[key] = part(env_data, "export_ledger.py", out / f"{key}.json", "--rows", size,
                                      "--repeat", "3" if size == "50000" else "1")  # fmt: skip
                finally:
                    env_data.drop()

    report["seconds"] = time.monotonic() - started
    report["load_end"] = loadavg()
    (out / f"run_{report['mode']}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    from results_md import write

    write(report, args.output)
    print(f"wrote {args.output} in {report['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
