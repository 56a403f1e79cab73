"""The query plans of the hot queries, on the database given by ``QIANGCUN_HOME`` / ``DATABASE_URL``:
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite.

    uv run python bench/explain.py --unit <code> [--year 2020] [--as-of 2020-04-17] --output F.json

Queries: the progress table's income (``targets.selectors.counted_income``: roll-up months and the ledger's
last weeks), the floor it is measured against (``bench/progress.py``), a village's ledger page (its newest 200
rows) and the review queue of the unit (submitted rows, oldest first). Writes the plans and, on PostgreSQL,
each query's execution time as the server reports it; ``--output`` as JSON, and a ``.md`` beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def queries(code: str, year: int, as_of: datetime.date) -> dict[str, tuple[str, Any]]:
    import progress as bench_progress

    from qiangcun.ledger.models import Entry, Status
    from qiangcun.orgs.models import OrgUnit
    from qiangcun.targets import selectors

    unit = OrgUnit.objects.get(code=code)
    before = as_of - datetime.timedelta(days=7)
    income_sql, income_params = selectors.income_statement(unit, year, as_of, before)
    jan1 = datetime.date(year, 1, 1)
    floor_params = {
        "before": before,
        "jan1": jan1,
        "as_of": as_of,
        "year": year,
        "prefix": unit.path + "%",
    }
    village = OrgUnit.objects.filter(path__startswith=unit.path, level="village").order_by("path").first()
    assert village is not None
    page = Entry.objects.filter(village=village).order_by("-date", "-id")[:200]
    review = Entry.objects.filter(village__path__startswith=unit.path, status=Status.SUBMITTED).order_by(
        "submitted_at", "id"
    )[:50]
    return {
        "progress income (roll-up + last weeks)": (income_sql, income_params),
        "floor (the ledger summed)": (bench_progress.FLOOR_SQL, floor_params),
        "a village's ledger page (newest 200)": page.query.sql_with_params(),
        "the review queue (50 oldest submitted)": review.query.sql_with_params(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", required=True)
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=datetime.date(2020, 4, 17))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    import django

    django.setup()
    from django.db import connection

    result: dict[str, Any] = {"unit": args.unit, "db": connection.vendor, "plans": {}}
    for name, (sql, params) in queries(args.unit, args.year, args.as_of).items():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                lines = [r[0] for r in cursor.fetchall()]
                took = next((ln for ln in reversed(lines) if ln.startswith("Execution Time")), "")
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                lines = [" ".join(str(c) for c in r[1:]) for r in cursor.fetchall()]
                took = ""
        result["plans"][name] = {"plan": lines, "execution": took}
        print(f"{name}: {took}")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        md = [f"# Query plans: unit {args.unit} on {connection.vendor}", ""]
        for name, plan in result["plans"].items():
            md += [f"## {name}", "", f"{plan['execution']}", "", "```", *plan["plan"], "```", ""]
        args.output.with_suffix(".md").write_text("\n".join(md), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
