"""The progress table (擂台) against its floor: one hand-written SQL aggregate over the ledger that returns
the same figures (per village: target, counted verified income as of the day and as of seven days before).

Runs in one process against a database that is already built (``bench/run.py`` builds it: the demo
township, a synthetic county or province), given by ``QIANGCUN_HOME`` / ``DATABASE_URL``:

    uv run python bench/progress.py --unit 371422105000 --label township --year 2020 --as-of 2020-04-17

Contenders, timed in interleaved rounds (each round runs every contender once, ``gc.collect()`` before
each), medians reported, every figure also as a ratio to the floor measured in the same rounds:

- ``floor``: the SQL aggregate (fetch all rows) — what any code must at least do to know the figures;
- ``summary`` / ``summary_api``: ``board_summary()`` and ``GET /api/v1/progress/summary`` — the totals by
  the units directly under the unit (a province's cities, a county's townships), no row per village;
- ``selector``: ``targets.selectors.progress()`` — what the page, the API and the CLI call (reads the
  monthly roll-up and the last weeks of the ledger);
- ``selector_ledger_only``: the same selector with income summed from the ledger alone, as before the
  roll-up (to show what the roll-up buys);
- ``api``: ``GET /api/v1/progress`` through Django's test client, in process (JSON);
- ``page``: ``GET /progress/`` through the test client (the HTML page: a province's or city's is its
  summary; from a county down the villages, 100 a page).

Before timing, the floor's figures are checked against the selector's, village by village, to the fen —
a floor that returned other figures would be no floor. Also measured once: verifying a row and reading
the progress table right after — the row must be in it (``visible_at_once``).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

FLOOR_SQL = """
SELECT t.village_id, t.amount, COALESCE(i.income, 0), COALESCE(i.income_before, 0)
FROM targets_villagetarget t
JOIN targets_campaign c ON c.id = t.campaign_id
JOIN orgs_orgunit v ON v.id = t.village_id
LEFT JOIN (
  SELECT e.village_id, SUM(e.amount) AS income,
         SUM(CASE WHEN e.date <= %(before)s THEN e.amount ELSE 0 END) AS income_before
  FROM (
    -- verified rows; a lump sum spread over its years (ledger_entry.spread) by its yearly shares
    SELECT village_id, category_id, date, amount FROM ledger_entry
    WHERE status = 'verified' AND NOT spread AND date >= %(jan1)s AND date <= %(as_of)s
    UNION ALL
    SELECT r.village_id, r.category_id, r.date, r.amount
    FROM ledger_recognition r JOIN ledger_entry re ON re.id = r.entry_id
    WHERE re.status = 'verified' AND r.date >= %(jan1)s AND r.date <= %(as_of)s
  ) e
  JOIN targets_villagetarget et ON et.village_id = e.village_id
  JOIN targets_campaign ec ON ec.id = et.campaign_id AND ec.year = %(year)s
  JOIN targets_campaign_counted_categories cc ON cc.campaign_id = ec.id AND cc.category_id = e.category_id
  JOIN orgs_orgunit ev ON ev.id = e.village_id
  WHERE ev.path LIKE %(prefix)s
  GROUP BY e.village_id
) i ON i.village_id = t.village_id
WHERE c.year = %(year)s AND v.path LIKE %(prefix)s
"""


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    import django

    django.setup()
    from django.db import connection

    # One connection for the whole run: the test client's requests would otherwise close it after each
    # request (CONN_MAX_AGE 0) and the next contender would pay for opening it again.
    connection.settings_dict["CONN_MAX_AGE"] = None


def viewer(unit: Any) -> Any:
    """A leader granted on ``unit`` (made once through the services): sees its whole board."""
    from qiangcun.accounts.models import Role, User
    from qiangcun.accounts.services import grant_create, user_create

    name = f"bench-{unit.code}"
    user = User.objects.filter(username=name).first()
    if user is None:
        user = user_create(actor=None, username=name, password="bench-Pass-2020!", display_name="压测领导")
        grant_create(actor=None, user=user, role=Role.LEADER, unit=unit)
    return user


def floor(unit: Any, year: int, as_of: datetime.date) -> dict[int, tuple[int, int, int]]:
    from django.db import connection

    before = as_of - datetime.timedelta(days=7)
    params = {
        "before": before,
        "jan1": datetime.date(year, 1, 1),
        "as_of": as_of,
        "year": year,
        "prefix": unit.path + "%",
    }
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, params)
        return {v: (int(t), int(i), int(b)) for v, t, i, b in cursor.fetchall()}


def ledger_only_income(root: Any, year: int, as_of: datetime.date, before: datetime.date) -> Any:
    """Income summed from the ledger alone — the selector as it was before the roll-up."""
    from django.db.models import Q, Sum

    from qiangcun.ledger.models import Entry, Recognition
    from qiangcun.orgs.models import Level
    from qiangcun.targets.selectors import ZERO, counted, counted_shares

    township = root if root.level == Level.TOWNSHIP else None
    sums = {"income": Sum("amount"), "income_before": Sum("amount", filter=Q(date__lte=before))}
    out: dict[int, tuple[Any, Any]] = {}
    # Rows counting with their own amount, and the yearly shares of spread rows.
    for part in (
        counted(
            Entry.objects.filter(village__path__startswith=root.path, date__lte=as_of),
            year,
            township=township,
        ),
        counted_shares(
            Recognition.objects.filter(village__path__startswith=root.path, date__lte=as_of),
            year,
            township=township,
        ),
    ):
        for r in part.values("village_id").annotate(**sums):
            income, before_ = out.get(r["village_id"], (ZERO, ZERO))
            out[r["village_id"]] = (income + (r["income"] or ZERO), before_ + (r["income_before"] or ZERO))
    return out


def same_figures(unit: Any, user: Any, year: int, as_of: datetime.date) -> int:
    from qiangcun.core.money import to_fen
    from qiangcun.targets.selectors import progress

    p = progress(user=user, unit=unit, year=year, as_of=as_of)
    ours = {r.id: (to_fen(r.target), to_fen(r.income), to_fen(r.income_before)) for r in p.villages}
    theirs = floor(unit, year, as_of)
    if ours != theirs:
        wrong = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))[:5]
        raise SystemExit(f"the floor and the selector disagree for villages {wrong}")
    return len(ours)


def visible_at_once(unit: Any, year: int, as_of: datetime.date) -> dict[str, Any]:
    """Verify one submitted row of a village under ``unit`` and read the table right after, in a
    transaction rolled back afterwards: the row's amount must be in the village's income already."""
    from decimal import Decimal

    from django.db import transaction

    from qiangcun.accounts.models import Role, User
    from qiangcun.accounts.services import grant_create, user_create
    from qiangcun.ledger.models import DevelopmentPath, Entry, Status
    from qiangcun.ledger.services import entry_verify
    from qiangcun.orgs.models import Level, OrgUnit
    from qiangcun.targets.models import Campaign, VillageTarget
    from qiangcun.targets.selectors import progress

    target = VillageTarget.objects.filter(campaign__year=year, village__path__startswith=unit.path).first()
    if target is None:
        return {"skipped": "no village target"}
    village = target.village
    township = OrgUnit.objects.get(code__in=village.ancestor_codes(), level=Level.TOWNSHIP)
    counted = Campaign.objects.get(township=township, year=year).counted_categories.first()
    with transaction.atomic():
        clerk = user_create(actor=None, username="bench-visible-clerk", password="bench-Pass-2020!")
        grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=village)
        reviewer = User.objects.filter(username="bench-visible-admin").first() or user_create(
            actor=None, username="bench-visible-admin", password="bench-Pass-2020!"
        )
        grant_create(actor=None, user=reviewer, role=Role.TOWNSHIP_ADMIN, unit=township)
        entry = Entry.objects.create(
            village=village,
            date=as_of,
            amount=Decimal("1234.56"),
            category=counted,
            path=DevelopmentPath.objects.first(),
            summary="压测：审核后即见",
            status=Status.SUBMITTED,
            entered_by=clerk,
        )
        before = progress(user=reviewer, unit=township, year=year, as_of=as_of)
        was = next(r.income for r in before.villages if r.id == village.pk)
        started = time.perf_counter()
        entry_verify(actor=reviewer, entries=[entry])
        verified_s = time.perf_counter() - started
        after = progress(user=reviewer, unit=township, year=year, as_of=as_of)
        seen_s = time.perf_counter() - started
        now = next(r.income for r in after.villages if r.id == village.pk)
        transaction.set_rollback(True)
    return {
        "village": village.name,
        "verify_s": verified_s,
        "verify_then_table_s": seen_s,
        "visible_at_once": now - was == Decimal("1234.56"),
    }


def timed(contenders: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm: imports, templates, the database's cache
        fn()
    for _ in range(repeat):
        for name, fn in contenders.items():
            gc.collect()
            started = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - started)
    return runs


def measure(code: str, year: int, as_of: datetime.date, repeat: int, skip: set[str]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client

    from qiangcun.orgs.models import OrgUnit
    from qiangcun.targets import selectors
    from qiangcun.targets.selectors import board_summary, progress

    unit = OrgUnit.objects.get(code=code)
    user = viewer(unit)
    villages = same_figures(unit, user, year, as_of)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    query = f"unit={code}&year={year}&as_of={as_of:%Y-%m-%d}"
    sizes: dict[str, int] = {}

    def get(url: str, name: str) -> Callable[[], None]:
        def run() -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            sizes[name] = len(response.content)

        return run

    def ledger_only() -> None:
        real = selectors.counted_income
        selectors.counted_income = ledger_only_income
        try:
            progress(user=user, unit=unit, year=year, as_of=as_of)
        finally:
            selectors.counted_income = real

    contenders: dict[str, Callable[[], Any]] = {
        "floor": lambda: floor(unit, year, as_of),
        "summary": lambda: board_summary(user=user, unit=unit, year=year, as_of=as_of),
        "summary_api": get(f"/api/v1/progress/summary?{query}", "summary_api"),
        "selector": lambda: progress(user=user, unit=unit, year=year, as_of=as_of),
        "selector_ledger_only": ledger_only,
        "api": get(f"/api/v1/progress?{query}", "api"),
        "page": get(f"/progress/?{query}", "page"),
    }
    for name in skip:
        contenders.pop(name, None)
    runs = timed(contenders, repeat)
    medians = {name: statistics.median(times) for name, times in runs.items()}
    from qiangcun.ledger.models import Entry, MonthIncome

    return {
        "unit": code,
        "unit_name": unit.name,
        "villages": villages,
        "ledger_rows": Entry.objects.count(),
        "rollup_lines": MonthIncome.objects.count(),
        "year": year,
        "as_of": as_of.isoformat(),
        "db": connection.vendor,
        "repeat": repeat,
        "median_s": medians,
        "ratio_to_floor": {name: medians[name] / medians["floor"] for name in medians},
        "runs_s": runs,
        "bytes": sizes,
        "visible": visible_at_once(unit, year, as_of),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", required=True, help="the unit's code (township, county, province)")
    parser.add_argument("--label", default="", help="a name for the report (township, county …)")
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=datetime.date(2020, 4, 17))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip", action="append", default=[], help="a contender not to run (e.g. page)")
    parser.add_argument("--output", type=Path, help="write the JSON here")
    args = parser.parse_args(argv)
    setup()
    result = measure(args.unit, args.year, args.as_of, args.repeat, set(args.skip))
    result["label"] = args.label
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    for name, seconds in result["median_s"].items():
        print(
            f"{args.label or args.unit} {name:22} {seconds * 1000:9.1f} ms  {result['ratio_to_floor'][name]:6.2f}× floor"
        )
    return result


if __name__ == "__main__":
    main()
