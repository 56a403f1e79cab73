"""``bench/RESULTS.md`` from the runs' JSON in ``bench/results/run/``: the newest full (or quick) run and
the newest province run, each with the machine it ran on. Re-run ``python bench/results_md.py`` to
rewrite it from the JSON alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "run"

AIMS = {
    "progress": "township and county within 1.5× of the floor; a province's roll-up by city and county under 1 s",
    "http_page": "the progress page at ≥ ⅓ of the fixed page's requests a second",
    "http_create": "creating a row at ≥ ¼ of the fixed page's requests a second",
    "import": "≤ 3× the bare read on SQLite, ≤ 2× on PostgreSQL",
    "export": "≤ 2× a bare write-only openpyxl write of the same rows",
}


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.1f}"


def x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def machine_lines(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    return [
        f"- {m['date']}, commit `{m['commit']}`{' (with uncommitted changes)' if m.get('dirty') else ''}, "
        f"mode `{report['mode']}`, {report['seconds'] / 60:.0f} minutes in all",
        f"- {m['cpus']} CPUs ({m['cpu']}), {m['memory']}, {m['platform']}",
        f"- Python {m['python']}, Django {m['django']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, "
        f"gunicorn {m['gunicorn']}, openpyxl {m['openpyxl']}, python-calamine {m['python-calamine']}",
        f"- load average (1/5/15 min) at the start {report['load_start']}, at the end {report['load_end']} "
        "(2 CPUs: above 2 the machine was shared and seconds grow; the ratios, measured side by side, less)",
    ]


def progress_table(parts: dict[str, Any]) -> list[str]:
    rows = [
        "| table | db | villages | ledger rows | floor ms | summary by the units under it ms (× floor) "
        "| selector ms (×) | before the roll-up ms (×) | API ms (×) | page ms (×) | verified row shown at once |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for key, p in parts.items():
        if not key.startswith("progress_"):
            continue
        med, rat = p["median_s"], p["ratio_to_floor"]

        def cell(name: str, med: dict[str, float] = med, rat: dict[str, float] = rat) -> str:
            return f"{ms(med.get(name))} ({x(rat.get(name))})" if name in med else "–"

        visible = p.get("visible", {})
        seen = "yes" if visible.get("visible_at_once") else ("–" if "skipped" in visible else "**no**")
        if "verify_then_table_s" in visible:
            seen += f" ({ms(visible['verify_then_table_s'])} ms verify + read)"
        rows.append(
            f"| {p.get('label') or p['unit']} ({p['unit_name']}) | {p['db']} | {p['villages']:,} "
            f"| {p['ledger_rows']:,} | {ms(med['floor'])} | {cell('summary')} | {cell('selector')} "
            f"| {cell('selector_ledger_only')} "
            f"| {cell('api')} | {cell('page')} | {seen} |"
        )
    return rows


def http_table(parts: dict[str, Any]) -> list[str]:
    rows = [
        "| server, data | fixed page req/s | progress page req/s (share) | page p50 / p95 ms | page KB "
        "| fixed page req/s (20 clients) | create a row req/s (share) | create p50 / p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, h in parts.items():
        if not key.startswith("http_"):
            continue
        m = h["median"]
        rows.append(
            f"| {key.removeprefix('http_')} ({h['workers']} workers, {h['clients']} clients) "
            f"| {m['floor_read']['per_second']:,.0f} | {m['page']['per_second']:,.1f} "
            f"({h['page_share_of_floor']:.1%}) | {m['page']['p50_ms']:,.0f} / {m['page']['p95_ms']:,.0f} "
            f"| {h['page_bytes'] / 1024:,.0f} | {m['floor_write']['per_second']:,.0f} "
            f"| {m['create']['per_second']:,.1f} ({h['create_share_of_floor']:.1%}) "
            f"| {m['create']['p50_ms']:,.0f} / {m['create']['p95_ms']:,.0f} |"
        )
    return rows


def generic_table(parts: dict[str, Any], prefix: str) -> list[str]:
    found = {k: v for k, v in parts.items() if k.startswith(prefix)}
    if not found:
        return ["(not run)"]
    rows = [
        "| run | rows | db | baseline s | ours s | ours / baseline | detail |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for key, r in found.items():
        r = normalize(r)
        baseline = r.get("bare_read_s", r.get("baseline_s"))
        ours = r.get("ours_s")
        ratio = r.get("ratio") or (ours / baseline if ours and baseline else None)
        detail = ", ".join(
            f"{k} {v:.2f} s"
            for k, v in r.items()
            if k.endswith("_s")
            and k not in ("bare_read_s", "baseline_s", "ours_s")
            and isinstance(v, int | float)
        )
        rows.append(
            f"| {key} | {r.get('rows', '?'):,} | {r.get('db', 'sqlite')} | {baseline or 0:.2f} | {ours or 0:.2f} "
            f"| {x(ratio)} | {detail} |"
        )
    return rows


def _ours_bytes(value: Any) -> float:
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if k.startswith("ours")), 0)
    return float(value or 0)


def normalize(r: dict[str, Any]) -> dict[str, Any]:
    """The import and export benches' JSON in the table's terms (baseline_s, ours_s, ratio, db)."""
    seconds = r.get("seconds")
    if isinstance(seconds, dict) and "ours_job_end_to_end" in seconds:  # export_ledger.py
        db = r.get("database", {})
        return {
            "rows": r.get("rows"),
            "db": db.get("vendor", "sqlite") if isinstance(db, dict) else db,
            "baseline_s": seconds["baseline_bare_write_only"],
            "ours_s": seconds["ours_job_end_to_end"],
            "ratio": r.get("ratio_ours_over_baseline"),
            "file_mb": _ours_bytes(r.get("file_bytes")) / 1e6,
        }
    return r


def newest(*modes: str) -> dict[str, Any] | None:
    for mode in modes:
        path = RUNS / f"run_{mode}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def write(_report: dict[str, Any] | None = None, output: Path = BENCH / "RESULTS.md") -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by `uv run python bench/run.py` (`--quick`: the township and the county on SQLite; "
        "`--province`: the province on PostgreSQL, separately) from the JSON in `bench/results/run/`. "
        "How each figure is taken: `bench/README.md`. Medians; every figure beside a ratio to its baseline "
        "measured in the same run. Seconds on a shared 2-core machine move with its load; the ratios move less.",
        "",
    ]
    for title, report in (("Township and county", newest("full", "quick")), ("Province", newest("province"))):
        lines += [f"## {title}", ""]
        if report is None:
            lines += ["Not run yet.", ""]
            continue
        parts = report["parts"]
        lines += [*machine_lines(report), ""]
        lines += ["### The progress table against its SQL floor", "", f"Aim: {AIMS['progress']}.", ""]
        lines += [*progress_table(parts), ""]
        if any(k.startswith("http_") for k in parts):
            lines += ["### Over HTTP against a fixed page from the same server", ""]
            lines += [f"Aims: {AIMS['http_page']}; {AIMS['http_create']}.", ""]
            lines += [*http_table(parts), ""]
        if any(k.startswith(("import_", "export_")) for k in parts):
            lines += ["### Import of a ledger workbook", "", f"Aim: {AIMS['import']}.", ""]
            lines += [*generic_table(parts, "import_"), ""]
            lines += ["### Export of a ledger", "", f"Aim: {AIMS['export']}.", ""]
            lines += [*generic_table(parts, "export_"), ""]
        plans = report.get("explain", {})
        if plans:
            lines += ["### Query plans of the hot queries", ""]
            for key, found in plans.items():
                times = ", ".join(
                    f"{name} {p['execution'].removeprefix('Execution Time: ')}"
                    for name, p in found["plans"].items()
                    if p["execution"]
                )
                lines.append(f"- `results/run/{key}.md` ({found['db']}){': ' + times if times else ''}")
            lines.append("")
    notes = BENCH / "results" / "notes.md"
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    output.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    write(None, Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "RESULTS.md")
