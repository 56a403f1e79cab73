"""Load: many people at once on one township, served exactly as in production (issue 10).

    uv run --group bench python bench/load.py --quick                       # 1.5 minutes, 8 users
    uv run --group bench python bench/load.py                               # SQLite, 50 users, 10 minutes
    uv run --group bench python bench/load.py --db postgres                 # PostgreSQL, 200 users, 10 minutes
    uv run --group bench python bench/load.py --db sqlite --users 20 --minutes 3

"50 users for 10 minutes on SQLite and 200 on PostgreSQL, 70 % reads and 30 % ledger writes. Every write
that got a success answer is in the database; no "database is locked"; p95 of saving a row and of the
progress table reported. Aim: p95 under 300 ms on SQLite with 50 users."

Four steps, each in its own process:

1. **setup** (Django): a fresh ``QIANGCUN_HOME`` in a temporary folder (SQLite there, or a PostgreSQL
   database made with ``createdb`` on 127.0.0.1:5432), ``migrate``, the demo township, and one account per
   virtual user made through the services (``user_create``, ``grant_create``, ``token_create``): village
   clerks spread over the 67 villages, station heads over the 5 stations, leaders on the township.
2. **serve**: ``python -m qiangcun serve`` on a free loopback port — gunicorn with its default workers and
   the background worker, as a real install runs — its output kept in ``server.log``.
3. **drive** (locust as a library, headless): the users sign in through the login page, then act until
   the time is up. Of their actions 70 % are reads (the progress table page and its API, the 擂台 filtered
   by station as the page's htmx refresh asks for it, "my work", a village's ledger page and the ledger API,
   the station heads' review queue) and 30 % are a clerk saving a ledger row — three in four through the
   entry form (GET the form, POST it, follow the redirect to the village page, as a browser does; half of
   them 提交审核, half 存为草稿), one in four through ``POST /api/v1/ledger`` with a bearer token and an
   ``Idempotency-Key``. Every write that got a success answer (302 to the village page, or 201) is written
   down with what it saved.
4. **verify** (Django, after the server stopped): every acknowledged write is in the database exactly once,
   with its village, date, amount to the fen, category, path, status and author (and id, for the API);
   the server's log and locust's failures are searched for "database is locked", 5xx answers, tracebacks
   and worker timeouts.

Results: ``results/load_<db>.json`` (every figure) and ``results/load.md`` (both databases, rebuilt from
the JSON files); ``--quick`` runs write to ``bench/out/`` (git-ignored) instead. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bench_common import git, version  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
OUT_DIR = BENCH_DIR / "out"  # git-ignored
PASSWORD = "Load-test-2020"
TODAY = "2020-04-17"  # the demo's day: its campaign year is open and rows up to this day count
WRITE_SHARE = 0.30
FORM_SHARE = 0.75  # of the writes; the rest through the API
AIM_MS = 300.0
PG_URL = "postgres://postgres@127.0.0.1:5432/"

# Request names: the kinds the report gives percentiles for.
LOGIN_PAGE = "login page (GET /login/)"
LOGIN = "sign in (POST /login/)"
PROGRESS = "progress table (GET /progress/)"
PROGRESS_API = "progress API (GET /api/v1/progress)"
BOARD = "擂台 by station (htmx GET /progress/?station=)"
MY_WORK = "my work (GET /)"
VILLAGE = "village ledger page (GET /villages/<code>/)"
LEDGER_API = "ledger list API (GET /api/v1/ledger)"
REVIEW = "review queue (GET /review/)"
ENTRY_FORM = "entry form (GET /ledger/new/)"
SAVE_FORM = "save a row: form (POST /ledger/new/)"
SAVE_API = "save a row: API (POST /api/v1/ledger)"
AFTER_SAVE = "village page after saving (redirect)"
KEY_KINDS = (SAVE_FORM, SAVE_API, PROGRESS, PROGRESS_API)

# A saved row's summary carries its key: "4月特色种植销售收入（压测 r<run>-<serial>）".
KEY_RE = re.compile(r"（压测 (r[0-9a-f]+-[0-9a-z-]+)）")


# ------------------------------------------------------------------------------- the bench's own checks
# Plain functions over plain data, without Django or locust: tests/bench/test_load_checks.py runs them.


def write_key(summary: str) -> str | None:
    """The key a saved row's summary carries, or None for a row the load did not write."""
    found = KEY_RE.search(summary)
    return found[1] if found else None


#: What an acknowledged write must match in the database.
CHECKED_FIELDS = ("village", "date", "amount_fen", "category", "path", "status", "entered_by")


def check_writes(acked: Sequence[dict[str, Any]], rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Every acknowledged write against the rows found in the database.

    ``acked``: one dict per write that got a success answer — ``key`` plus the ``CHECKED_FIELDS`` and,
    for the API, the ``id`` it answered. ``rows``: the database's rows carrying a load key (``summary``,
    ``id`` and the same fields). A write is *present* when exactly one row has its key and every field
    (and the id, when answered) matches; otherwise it is *missing*, *duplicated* or *mismatched*. Rows
    with a key nobody acknowledged (a save whose answer was lost, e.g. a timeout) are listed apart: they
    are not a failure of the promise."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = write_key(row["summary"])
        if key is not None:
            found[key].append(row)
    missing: list[dict[str, Any]] = []
    duplicated: list[dict[str, Any]] = []
    mismatched: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    for write in acked:
        seen_keys.add(write["key"])
        matches = found.get(write["key"], [])
        if not matches:
            missing.append(write)
            continue
        if len(matches) > 1:
            duplicated.append({"write": write, "rows": [m["id"] for m in matches]})
            continue
        row = matches[0]
        wrong = {f: (write[f], row.get(f)) for f in CHECKED_FIELDS if write[f] != row.get(f)}
        if write.get("id") is not None and write["id"] != row["id"]:
            wrong["id"] = (write["id"], row["id"])
        if wrong:
            mismatched.append({"write": write, "wrong": wrong})
    unacknowledged = sorted(k for k in found if k not in seen_keys)
    present = len(acked) - len(missing) - len(duplicated) - len(mismatched)
    return {
        "acknowledged": len(acked),
        "present": present,
        "missing": missing,
        "duplicated": duplicated,
        "mismatched": mismatched,
        "unacknowledged": unacknowledged,
        "ok": not (missing or duplicated or mismatched),
    }


ACCESS_STATUS = re.compile(r'"[A-Z]+ [^"]*" (\d{3}) ')


def scan_log(lines: Iterable[str]) -> dict[str, Any]:
    """The server's output: gunicorn's access log (status of every answer) and what Django and gunicorn
    report — "database is locked", tracebacks, worker timeouts and crashes."""
    statuses: Counter[str] = Counter()
    locked: list[str] = []
    tracebacks = 0
    timeouts: list[str] = []
    server_errors: list[str] = []
    for line in lines:
        if "database is locked" in line:
            locked.append(line.strip()[:300])
        if line.startswith("Traceback (most recent call last)"):
            tracebacks += 1
        if "WORKER TIMEOUT" in line or "Worker failed to boot" in line or "was sent SIGKILL" in line:
            timeouts.append(line.strip()[:300])
        m = ACCESS_STATUS.search(line)
        if m:
            statuses[m[1]] += 1
            if m[1].startswith("5"):
                server_errors.append(line.strip()[:300])
    return {
        "answers": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "5xx_lines": server_errors[:20],
        "database_is_locked": len(locked),
        "database_is_locked_lines": locked[:20],
        "tracebacks": tracebacks,
        "worker_timeouts": timeouts[:20],
    }


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of values already sorted (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def summarize(samples: Sequence[tuple[float, str, float, bool]], *, since: float = 0.0) -> dict[str, Any]:
    """Per request name: count, failures, p50/p95/p99/max in ms, over samples ``(t, name, ms, ok)`` with
    ``t >= since`` (seconds from the start of the run)."""
    by: dict[str, list[float]] = defaultdict(list)
    failed: Counter[str] = Counter()
    times = [t for t, *_ in samples if t >= since]
    for t, name, ms, ok in samples:
        if t < since:
            continue
        by[name].append(ms)
        if not ok:
            failed[name] += 1
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    kinds = {}
    for name, values in sorted(by.items()):
        values.sort()
        kinds[name] = {
            "requests": len(values),
            "failures": failed[name],
            "per_s": round(len(values) / span, 2) if span else 0.0,
            "p50": round(percentile(values, 50), 1),
            "p95": round(percentile(values, 95), 1),
            "p99": round(percentile(values, 99), 1),
            "max": round(values[-1], 1),
        }
    total = sum(k["requests"] for k in kinds.values())
    return {
        "seconds": round(span, 1),
        "requests": total,
        "failures": sum(failed.values()),
        "per_s": round(total / span, 2) if span else 0.0,
        "kinds": kinds,
    }


# ---------------------------------------------------------------------------------------------- plan


@dataclass
class Plan:
    db: str
    users: int
    minutes: float
    spawn_rate: float
    wait_min: float
    wait_max: float
    quick: bool
    clerks: int = 0
    stations: int = 0
    leaders: int = 0
    run_id: str = ""

    def __post_init__(self) -> None:
        # Leaders and station heads only read; clerks read and write so that 30 % of all actions are writes.
        self.leaders = max(1, round(self.users * 0.06))
        self.stations = max(1, round(self.users * 0.14))
        self.clerks = self.users - self.leaders - self.stations
        if self.clerks < 1 or WRITE_SHARE * self.users > self.clerks:
            raise SystemExit(f"--users {self.users}: too few users for the mix (need at least 3)")
        self.run_id = self.run_id or "r" + uuid.uuid4().hex[:6]

    @property
    def clerk_write_share(self) -> float:
        """A clerk's share of writes, so that writes are WRITE_SHARE of everyone's actions."""
        return WRITE_SHARE * self.users / self.clerks


# -------------------------------------------------------------------------------- step 1: setup (Django)


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    import django

    django.setup()


def phase_setup(workdir: Path) -> None:
    """Migrate, build the demo, make the load's accounts; write ``accounts.json``."""
    plan = Plan(**json.loads((workdir / "plan.json").read_text()))
    os.environ.pop("QIANGCUN_TODAY", None)  # the demo's ledger runs to December: build it on the real date
    django_setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from qiangcun.accounts.models import Role
    from qiangcun.accounts.services import grant_create, token_create, user_create
    from qiangcun.demo import builder
    from qiangcun.orgs.models import Level, OrgUnit

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    t1 = time.perf_counter()
    builder.build()
    t2 = time.perf_counter()
    township = OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)
    under = OrgUnit.objects.filter(path__startswith=township.path)
    villages = list(under.filter(level=Level.VILLAGE).order_by("code"))
    stations = list(under.filter(level=Level.STATION).order_by("code"))
    station_of = {}
    for station in stations:
        for v in villages:
            if v.path.startswith(station.path):
                station_of[v.code] = station.code
    password = make_password(PASSWORD)  # one hash for all: as the demo does, and 0.5 s less per account
    accounts: list[dict[str, Any]] = []

    def make(kind: str, n: int, role: str, unit: Any, display: str) -> None:
        username = f"load-{kind}-{n:03d}"
        user = user_create(actor=None, username=username, password=None, display_name=display)
        user.password = password
        user.save(update_fields=["password", "password_changed_at"])
        grant_create(actor=None, user=user, role=role, unit=unit)
        _token, raw = token_create(actor=None, user=user, name="压测")
        accounts.append(
            {
                "kind": kind,
                "username": username,
                "token": raw,
                "unit": unit.code,
                "station": station_of.get(unit.code, unit.code if unit.level == Level.STATION else ""),
            }
        )

    with transaction.atomic():
        for i in range(plan.clerks):
            v = villages[i % len(villages)]  # 67 villages: every village has a clerk before any has two
            make("clerk", i, Role.VILLAGE_CLERK, v, f"{v.name}报账员（压测）")
        for i in range(plan.stations):
            s = stations[i % len(stations)]
            make("station", i, Role.STATION_HEAD, s, f"{s.name}站长（压测）")
        for i in range(plan.leaders):
            make("leader", i, Role.LEADER, township, "镇领导（压测）")
    t3 = time.perf_counter()
    (workdir / "accounts.json").write_text(
        json.dumps(
            {
                "accounts": accounts,
                "villages": [v.code for v in villages],
                "stations": [s.code for s in stations],
                "station_of": station_of,
                "seconds": {
                    "migrate": round(t1 - t0, 1),
                    "demo": round(t2 - t1, 1),
                    "accounts": round(t3 - t2, 1),
                },
            },
            ensure_ascii=False,
        )
    )


# -------------------------------------------------------------------------------- step 3: drive (locust)


CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ONCE_RE = re.compile(r'name="once" value="([^"]+)"')
RADIO_RE = re.compile(r'<input type="radio" name="(category|path)" value="(\d+)"[^>]*><span>([^<]+)</span>')
SUMMARIES = {
    "经营收入": "特色种植销售收入",
    "发包及上交收入": "集体土地流转承包费",
    "投资收益": "合作社分红",
    "补助收入": "上级专项补助资金",
    "其他收入": "其他收入",
}


def phase_drive(workdir: Path) -> None:
    """Run the users headless for the plan's minutes; write ``samples.json`` and ``acked.jsonl``."""
    import gevent
    from locust import HttpUser, between, events, task
    from locust.env import Environment

    plan = Plan(**json.loads((workdir / "plan.json").read_text()))
    setup = json.loads((workdir / "accounts.json").read_text())
    host = (workdir / "host").read_text().strip()
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for account in setup["accounts"]:
        pools[account["kind"]].append(account)
    villages: list[str] = setup["villages"]
    stations: list[str] = setup["stations"]
    station_of: dict[str, str] = setup["station_of"]
    samples: list[tuple[float, str, float, bool]] = []
    errors: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    acked_file = (workdir / "acked.jsonl").open("w", encoding="utf-8")
    serial = iter(range(10**9))
    signed_in: list[float] = []  # seconds from the start at which each user had signed in
    rng = random.Random(plan.run_id)
    first_day = datetime.date(2020, 1, 1).toordinal()
    last_day = datetime.date.fromisoformat(TODAY).toordinal()

    @events.request.add_listener
    def _on_request(
        name: str, response_time: float, exception: BaseException | None, start_time: float, **kw: Any
    ) -> None:
        samples.append((round(start_time - wall_start, 3), name, float(response_time), exception is None))
        if exception is not None:
            errors[f"{name}: {str(exception)[:200]}"] += 1

    def acknowledge(write: dict[str, Any]) -> None:
        acked_file.write(json.dumps(write, ensure_ascii=False) + "\n")
        acked_file.flush()

    class Person(HttpUser):
        abstract = True
        wait_time = between(plan.wait_min, plan.wait_max)
        kind = ""

        def on_start(self) -> None:
            self.account = pools[self.kind].pop()
            self.bearer = {"Authorization": f"Bearer {self.account['token']}"}
            page = self.client.get("/login/", name=LOGIN_PAGE)
            token = CSRF_RE.search(page.text)
            with self.client.post(
                "/login/",
                data={
                    "username": self.account["username"],
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": token[1] if token else "",
                    "next": "/",
                },
                name=LOGIN,
                allow_redirects=False,
                catch_response=True,
            ) as r:
                if r.status_code != 302 or "/login" in r.headers.get("Location", "/login"):
                    r.failure(f"sign-in refused: {r.status_code}")
                    self.stop(force=True)
            signed_in.append(time.monotonic() - start)

        def get(self, url: str, name: str, **kw: Any) -> Any:
            with self.client.get(url, name=name, catch_response=True, **kw) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code}")
                elif "/login/" in r.url:
                    r.failure("signed out")
                return r

        def read(self) -> None:
            raise NotImplementedError

    # Each class names its one task itself: locust adds a base class's tasks to a subclass's own.

    class Clerk(Person):
        kind = "clerk"
        fixed_count = plan.clerks

        def on_start(self) -> None:
            super().on_start()
            self.village = self.account["unit"]
            self.choices: dict[str, dict[str, str]] = {}

        @task
        def act(self) -> None:
            if rng.random() < plan.clerk_write_share:
                operations["write"] += 1
                if rng.random() < FORM_SHARE:
                    self.save_by_form()
                else:
                    self.save_by_api()
            else:
                operations["read"] += 1
                self.read()

        def read(self) -> None:
            v = self.village
            choice = rng.choices(range(6), weights=(2, 3, 2, 1, 1, 1))[0]
            if choice == 0:
                self.get("/", MY_WORK)
            elif choice == 1:
                self.get(f"/villages/{v}/?year=2020", VILLAGE)
            elif choice == 2:
                self.get("/progress/", PROGRESS)
            elif choice == 3:
                self.get("/api/v1/progress", PROGRESS_API, headers=self.bearer)
            elif choice == 4:
                self.get(f"/api/v1/ledger?village={v}&year=2020&limit=50", LEDGER_API, headers=self.bearer)
            else:
                self.get(f"/progress/?station={station_of[v]}", BOARD, headers={"HX-Request": "true"})

        def new_row(self) -> dict[str, Any]:
            n = next(serial)
            day = datetime.date.fromordinal(rng.randint(first_day, last_day))
            fen = rng.randrange(100, 5_000_000)
            return {
                "key": f"{plan.run_id}-{n}",
                "username": self.account["username"],
                "village": self.village,
                "date": day.isoformat(),
                "amount_fen": fen,
                "month": day.month,
            }

        def save_by_form(self) -> None:
            page = self.get(f"/ledger/new/?village={self.village}", ENTRY_FORM)
            csrf, once = CSRF_RE.search(page.text or ""), ONCE_RE.search(page.text or "")
            if page.status_code != 200 or not csrf or not once:
                return
            if not self.choices:
                for field, value, label in RADIO_RE.findall(page.text):
                    self.choices.setdefault(field, {})[label] = value
            if not self.choices.get("category") or not self.choices.get("path"):
                errors["entry form without category/path choices"] += 1
                return
            row = self.new_row()
            category = rng.choice(sorted(self.choices["category"]))
            path = rng.choice(sorted(self.choices["path"]))
            submit = rng.random() < 0.5
            yuan = row["amount_fen"] / 100
            typed = rng.choice([f"{yuan:.2f}", f"{yuan:,.2f}", f"{yuan:.2f}元"])
            summary = f"{row['month']}月{SUMMARIES.get(category, '收入')}（压测 {row['key']}）"
            data = {
                "csrfmiddlewaretoken": csrf[1],
                "once": once[1],
                "village": self.village,
                "amount": typed,
                "date": row["date"],
                "category": self.choices["category"][category],
                "path": self.choices["path"][path],
                "summary": summary,
                "counterparty": "压测付款单位",
                "submit" if submit else "draft": "1",
            }
            with self.client.post(
                f"/ledger/new/?village={self.village}",
                data=data,
                name=SAVE_FORM,
                allow_redirects=False,
                catch_response=True,
            ) as r:
                location = r.headers.get("Location", "")
                if r.status_code == 302 and location.startswith(f"/villages/{self.village}/"):
                    acknowledge(
                        {
                            "key": row["key"],
                            "via": "form",
                            "id": None,
                            "village": self.village,
                            "date": row["date"],
                            "amount_fen": row["amount_fen"],
                            "typed": typed,
                            "category": category,
                            "path": path,
                            "status": "submitted" if submit else "draft",
                            "entered_by": self.account["username"],
                        }
                    )
                else:
                    text = re.sub(r"\s+", " ", r.text or "")
                    said = re.findall(r'class="error"[^>]*>([^<]{1,120})<', text)
                    r.failure(f"{r.status_code} {'; '.join(said[:2])}".strip())
                    return
            self.get(location, AFTER_SAVE)

        def save_by_api(self) -> None:
            row = self.new_row()
            names = {"category": ["经营收入", "发包及上交收入", "投资收益"], "path": ["土地流转", "现代农业"]}
            category = rng.choice(names["category"])
            path = rng.choice(names["path"])
            body = {
                "village": self.village,
                "date": row["date"],
                "amount": f"{row['amount_fen'] / 100:.2f}",
                "category": category,
                "path": path,
                "summary": f"{row['month']}月{SUMMARIES[category]}（压测 {row['key']}）",
                "counterparty": "压测付款单位",
            }
            with self.client.post(
                "/api/v1/ledger",
                json=body,
                headers={**self.bearer, "Idempotency-Key": str(uuid.uuid4())},
                name=SAVE_API,
                catch_response=True,
            ) as r:
                if r.status_code != 201:
                    r.failure(f"{r.status_code} {(r.text or '')[:160]}")
                    return
                answer = r.json()
                if answer.get("amount") != body["amount"] or answer.get("summary") != body["summary"]:
                    r.failure(f"201 with another row: {answer}")
                    return
                acknowledge(
                    {
                        "key": row["key"],
                        "via": "api",
                        "id": answer["id"],
                        "village": self.village,
                        "date": row["date"],
                        "amount_fen": row["amount_fen"],
                        "typed": body["amount"],
                        "category": category,
                        "path": path,
                        "status": "draft",
                        "entered_by": self.account["username"],
                    }
                )

    class StationHead(Person):
        kind = "station"
        fixed_count = plan.stations

        @task
        def act(self) -> None:
            self.read()

        def read(self) -> None:
            operations["read"] += 1
            s = self.account["unit"]
            mine = [v for v in villages if station_of.get(v) == s]
            choice = rng.choices(range(6), weights=(2, 2, 2, 2, 2, 1))[0]
            if choice == 0:
                self.get("/", MY_WORK)
            elif choice == 1:
                self.get("/review/", REVIEW)
            elif choice == 2:
                self.get("/progress/", PROGRESS)
            elif choice == 3:
                self.get(f"/progress/?station={s}", BOARD, headers={"HX-Request": "true"})
            elif choice == 4:
                self.get(f"/villages/{rng.choice(mine)}/?year=2020", VILLAGE)
            else:
                self.get("/api/v1/progress", PROGRESS_API, headers=self.bearer)

    class Leader(Person):
        kind = "leader"
        fixed_count = plan.leaders

        @task
        def act(self) -> None:
            self.read()

        def read(self) -> None:
            operations["read"] += 1
            choice = rng.choices(range(5), weights=(3, 2, 1, 2, 1))[0]
            if choice == 0:
                self.get("/progress/", PROGRESS)
            elif choice == 1:
                s = rng.choice(stations)
                self.get(f"/progress/?station={s}", BOARD, headers={"HX-Request": "true"})
            elif choice == 2:
                self.get("/api/v1/progress", PROGRESS_API, headers=self.bearer)
            elif choice == 3:
                self.get(f"/villages/{rng.choice(villages)}/?year=2020", VILLAGE)
            else:
                self.get("/", MY_WORK)

    assert all(len(c.tasks) == 1 for c in (Clerk, StationHead, Leader)), "one task per kind of user"
    # At the end each user finishes the action under way (up to a minute), so that a save in flight is
    # answered and checked like any other instead of being cut off after the server committed it.
    env = Environment(user_classes=[Clerk, StationHead, Leader], host=host, events=events, stop_timeout=60)
    runner = env.create_local_runner()
    wall_start, start = time.time(), time.monotonic()  # samples and sign-ins count from here
    runner.start(plan.users, spawn_rate=plan.spawn_rate)
    seconds = plan.minutes * 60
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    acked_file.close()
    stats = env.stats
    (workdir / "samples.json").write_text(
        json.dumps(
            {
                "samples": samples,
                "errors": errors.most_common(),
                "locust_errors": [
                    {"name": e.name, "error": str(e.error)[:300], "occurrences": e.occurrences}
                    for e in stats.errors.values()
                ],
                "operations": dict(operations),
                # When the last user had signed in (the sign-ins queue behind each other's password hashing).
                "all_users_at": round(signed_in[plan.users - 1], 1) if len(signed_in) >= plan.users else None,
                "signed_in": len(signed_in),
                "locust_cpu_warning": bool(getattr(runner, "cpu_warning_emitted", False)),
                "seconds": round(time.monotonic() - start, 1),
            },
            ensure_ascii=False,
        )
    )


# ----------------------------------------------------------------------------- step 4: verify (Django)


def phase_verify(workdir: Path) -> None:
    """Read every row the load wrote and check the acknowledged writes; write ``verify.json``."""
    plan = Plan(**json.loads((workdir / "plan.json").read_text()))
    django_setup()
    from qiangcun.ledger.models import Entry

    acked = [json.loads(line) for line in (workdir / "acked.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [
        {
            "id": e.pk,
            "summary": e.summary,
            "village": e.village.code,
            "date": e.date.isoformat(),
            "amount_fen": int(e.amount * 100),
            "category": e.category.name,
            "path": e.path.name,
            "status": e.status,
            "entered_by": e.entered_by.username,
        }
        for e in Entry.objects.filter(summary__contains=f"（压测 {plan.run_id}-").select_related(
            "village", "category", "path", "entered_by"
        )
    ]
    report = check_writes(acked, rows)
    report["rows_in_database"] = len(rows)
    report["by_channel"] = dict(Counter(w["via"] for w in acked))
    report["ledger_rows_total"] = Entry.objects.count()
    (workdir / "verify.json").write_text(json.dumps(report, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------------- machine


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / hz
    return out


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped before answering (exit {server.returncode})")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        time.sleep(1)
    raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------ run it all


def run_step(step: str, workdir: Path, env: dict[str, str], timeout: float) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--step", step, "--workdir", str(workdir)],
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed (exit {done.returncode}); data kept in {workdir}")
    return time.perf_counter() - t0


def run(plan: Plan, workdir: Path, keep: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANGCUN_")}
    env.update(
        QIANGCUN_HOME=str(workdir / "home"),
        QIANGCUN_TODAY=TODAY,
        DJANGO_SETTINGS_MODULE="qiangcun.settings",
        PYTHONUNBUFFERED="1",
    )
    database = ""
    if plan.db == "postgres":
        database = f"qc_load_{plan.run_id}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
        env["DATABASE_URL"] = PG_URL + database
    else:
        env.pop("DATABASE_URL", None)
    (workdir / "plan.json").write_text(json.dumps(asdict(plan)))
    result: dict[str, Any] = {"plan": asdict(plan), "load_average": {}, "database_name": database}
    try:
        print(f"[load] setup: migrate, demo township, {plan.users} accounts …", flush=True)
        result["setup_seconds"] = round(run_step("setup", workdir, env, 900), 1)
        setup = json.loads((workdir / "accounts.json").read_text())
        result["setup"] = setup["seconds"]

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        (workdir / "host").write_text(host)
        log = (workdir / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "qiangcun", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(host + "/login/", server)
            tree = descendants(server.pid)
            result["server"] = {
                "command": f"qiangcun serve --port {port} (defaults: host 127.0.0.1, gunicorn, 2 workers)",
                "processes": [command_of(p) for p in tree],
                "gunicorn_workers": max(
                    0, sum(1 for p in tree if "gunicorn" in command_of(p)) - 1
                ),  # the master and its workers
            }
            print(
                f"[load] serving on {host} ({result['server']['gunicorn_workers']} gunicorn workers); "
                f"driving {plan.users} users for {plan.minutes:g} min …",
                flush=True,
            )
            cpu_before = cpu_seconds(tree)
            busy0, total0 = cpu_ticks()
            result["load_average"]["before"] = os.getloadavg()
            driver = subprocess.Popen(
                [sys.executable, __file__, "--step", "drive", "--workdir", str(workdir)], env=env
            )
            driver_start = time.monotonic()
            loads = []
            deadline = driver_start + plan.minutes * 60 + 240
            while driver.poll() is None:
                if time.monotonic() > deadline:
                    driver.kill()
                    raise SystemExit("the load driver ran past its time; killed")
                time.sleep(5)
                loads.append([round(time.monotonic() - driver_start), *os.getloadavg()])
            busy1, total1 = cpu_ticks()
            tree = descendants(server.pid)
            cpu_after = cpu_seconds(tree)
            if driver.returncode not in (0, None):
                raise SystemExit(f"the load driver failed (exit {driver.returncode}); data in {workdir}")
            result["load_average"]["during"] = loads
            result["load_average"]["end"] = os.getloadavg()
            result["machine_cpu_busy_pct"] = round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)
            result["server_cpu_seconds"] = round(
                sum(cpu_after.get(p, 0) - cpu_before.get(p, 0) for p in cpu_after), 1
            )
        finally:
            stop(server)
            log.close()
        print("[load] checking every acknowledged write in the database …", flush=True)
        run_step("verify", workdir, env, 600)
        drive = json.loads((workdir / "samples.json").read_text())
        with (workdir / "server.log").open(encoding="utf-8", errors="replace") as fh:
            result["server_log"] = scan_log(fh)
        result["writes"] = json.loads((workdir / "verify.json").read_text())
        samples = [tuple(s) for s in drive.pop("samples")]
        result["driver"] = drive
        result["whole_run"] = summarize(samples)  # type: ignore[arg-type]
        ramp = drive["all_users_at"] or 0.0
        result["steady"] = summarize(samples, since=ramp)  # type: ignore[arg-type]
        locked_in_failures = sum(n for e, n in drive["errors"] if "database is locked" in e)
        result["database_is_locked"] = result["server_log"]["database_is_locked"] + locked_in_failures
    finally:
        if plan.db == "postgres" and database and not keep:
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=False
            )
    return result


def describe_machine() -> dict[str, Any]:
    db_versions = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        import sqlite3

        db_versions["sqlite"] = sqlite3.sqlite_version
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        db_versions["postgres"] = done.stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "locust": version("locust"),
        "databases": db_versions,
    }


# ------------------------------------------------------------------------------------------- report


def verdict(result: dict[str, Any]) -> list[str]:
    """The issue's promises, each met or not, in words."""
    w, log = result["writes"], result["server_log"]
    steady = result["steady"]["kinds"]
    lines = [
        f"every acknowledged write in the database: **{'yes' if w['ok'] else 'NO'}** "
        f"({w['present']} of {w['acknowledged']}; missing {len(w['missing'])}, duplicated "
        f"{len(w['duplicated'])}, wrong {len(w['mismatched'])})",
        f'"database is locked": **{result["database_is_locked"]}**; 5xx answers: **{log["5xx"]}**; '
        f"tracebacks: {log['tracebacks']}; worker timeouts: {len(log['worker_timeouts'])}",
    ]
    if result["plan"]["db"] == "sqlite":
        worst = max((steady[k]["p95"] for k in (SAVE_FORM, SAVE_API, PROGRESS) if k in steady), default=0.0)
        lines.append(
            f"aim p95 < {AIM_MS:.0f} ms (saving a row, progress table) with {result['plan']['users']} users: "
            f"**{'met' if worst < AIM_MS else 'not met'}** (worst p95 {worst:.0f} ms)"
        )
    return lines


def table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "| request | n | failed | per s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = [SAVE_FORM, SAVE_API, PROGRESS, PROGRESS_API, BOARD, MY_WORK, VILLAGE, LEDGER_API, REVIEW]
    order += [ENTRY_FORM, AFTER_SAVE, LOGIN_PAGE, LOGIN]
    kinds = summary["kinds"]
    for name in [*order, *sorted(set(kinds) - set(order))]:
        if name in kinds:
            k = kinds[name]
            bold = "**" if name in KEY_KINDS else ""
            lines.append(
                f"| {bold}{name}{bold} | {k['requests']} | {k['failures']} | {k['per_s']} | "
                f"{bold}{k['p50']:.0f}{bold} | {bold}{k['p95']:.0f}{bold} | {k['p99']:.0f} | {k['max']:.0f} |"
            )
    lines.append(f"| all | {summary['requests']} | {summary['failures']} | {summary['per_s']} | | | | |")
    return lines


def render_one(result: dict[str, Any]) -> str:
    plan, m = result["plan"], result["machine"]
    loads = result["load_average"]
    during = [row[1] for row in loads.get("during", [])]
    ops = result["driver"]["operations"]
    total_ops = sum(ops.values()) or 1
    db = "SQLite" if plan["db"] == "sqlite" else "PostgreSQL"
    version_of = m["databases"].get(plan["db"], "")
    out = [
        f"## {db} {version_of}: {plan['users']} users, {plan['minutes']:g} minutes"
        + (" (quick)" if plan["quick"] else ""),
        "",
        f"{m['date']}, commit `{m['commit']}`, {m['cpus']} CPUs **shared** with other work, Python "
        f"{m['python']}, Django {m['django']}, gunicorn {m['gunicorn']}, locust {m['locust']}. Served by "
        f"`{result['server']['command'].split(' (')[0]}`: gunicorn with **{result['server']['gunicorn_workers']}** "
        "sync workers (its default) and the background worker, on loopback; locust (one process) on the "
        "same machine.",
        "",
        f"Users: {plan['clerks']} village clerks (over {min(plan['clerks'], 67)} villages), {plan['stations']} "
        f"station heads, {plan['leaders']} leaders, each their own account, signed in through the login page; "
        f"spawned {plan['spawn_rate']:.2g}/s (all signed in by {result['driver']['all_users_at']} s), think time "
        f"{plan['wait_min']:g}–{plan['wait_max']:g} s between actions. Actions: {ops.get('read', 0)} reads, "
        f"{ops.get('write', 0)} writes ({100 * ops.get('write', 0) / total_ops:.1f} % writes).",
        "",
        *[f"- {line}" for line in verdict(result)],
        f"- writes acknowledged: {result['writes']['by_channel']}; rows written but never acknowledged "
        f"(answer lost): {len(result['writes']['unacknowledged'])}",
        f"- load average: {', '.join(f'{x:.2f}' for x in loads['before'])} before; during the run "
        f"{min(during, default=0):.2f}–{max(during, default=0):.2f} (1-minute; {mean_load(result):.2f} on average); "
        f"{', '.join(f'{x:.2f}' for x in loads['end'])} at the end. Machine CPU busy "
        f"{result['machine_cpu_busy_pct']} % of {m['cpus']} cores; the server (gunicorn + worker) used "
        f"{result['server_cpu_seconds']} CPU-seconds "
        f"({1000 * result['server_cpu_seconds'] / max(1, result['whole_run']['requests']):.0f} ms a request)"
        + (
            "; locust warned that its own CPU was above 90 %"
            if result["driver"]["locust_cpu_warning"]
            else ""
        )
        + ".",
        "",
        f"After every user had signed in (from {result['driver']['all_users_at']} s, {result['steady']['seconds']} s):",
        "",
        *table(result["steady"]),
        "",
        f"Whole run, sign-ins included ({result['whole_run']['seconds']} s): "
        f"{result['whole_run']['requests']} requests, {result['whole_run']['per_s']}/s, "
        f"{result['whole_run']['failures']} failed.",
        "",
    ]
    statuses = result["server_log"]["statuses"]
    out.append(f"Server answers by status: {statuses}.")
    failures = result["driver"]["errors"]
    if failures:
        out += ["", "Failures seen by locust:", ""]
        out += [f"- {n} × {e}" for e, n in failures[:15]]
    return "\n".join(out) + "\n"


def one_line(name: str, result: dict[str, Any]) -> str:
    """A run in one line: what was driven, the promises, the key p95s."""
    plan, steady = result["plan"], result["steady"]["kinds"]
    p95 = ", ".join(f"{k.split(' (')[0]} p95 {steady[k]['p95']:.0f} ms" for k in KEY_KINDS if k in steady)
    w = result["writes"]
    return (
        f"- `{name}` ({result['machine']['date']}, commit `{result['machine']['commit']}`): {plan['db']}, "
        f"{plan['users']} users, {plan['minutes']:g} min; {w['present']} of {w['acknowledged']} acknowledged "
        f'writes present, "database is locked" {result["database_is_locked"]}, 5xx '
        f"{result['server_log']['5xx']}; {result['steady']['per_s']} requests/s; {p95}; machine load average "
        f"{mean_load(result):.2f} on average (1-minute), CPU {result['machine_cpu_busy_pct']} % busy."
    )


def mean_load(result: dict[str, Any]) -> float:
    """The machine's 1-minute load average over the run, on average."""
    during = [row[1] for row in result["load_average"].get("during", [])]
    return sum(during) / len(during) if during else 0.0


def render(results: dict[str, dict[str, Any]], others: dict[str, dict[str, Any]] | None = None) -> str:
    parts = [
        "# Load (issue 10)",
        "",
        "`uv run --group bench python bench/load.py [--db sqlite|postgres]` — see bench/README.md. "
        "Percentiles are exact (nearest rank over every request), in milliseconds, client side (locust).",
        "",
    ]
    for db in ("sqlite", "postgres"):
        if db in results:
            parts.append(render_one(results[db]))
    if others:
        parts += ["## Other runs", "", *[one_line(n, r) for n, r in sorted(others.items())], ""]
    return "\n".join(parts)


def write_report() -> None:
    """results/load.md from every results/load_*.json: the two main runs in full, the others a line each."""
    main_runs = {}
    for db in ("sqlite", "postgres"):
        path = RESULTS_DIR / f"load_{db}.json"
        if path.exists():
            main_runs[db] = json.loads(path.read_text())
    others = {
        path.name: json.loads(path.read_text())
        for path in RESULTS_DIR.glob("load_*.json")
        if path.stem not in ("load_sqlite", "load_postgres")
    }
    (RESULTS_DIR / "load.md").write_text(render(main_runs, others))
    print(f"[load] {RESULTS_DIR / 'load.md'}")


# --------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, help="virtual users (default 50 on SQLite, 200 on PostgreSQL)")
    parser.add_argument("--minutes", type=float, help="length of the run (default 10)")
    parser.add_argument("--quick", action="store_true", help="1.5 minutes, 8 users, results to bench/out/")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default users / 30)")
    parser.add_argument("--wait", default="2,8", help="think time between a user's actions, s (default 2,8)")
    parser.add_argument("--output", type=Path, help="JSON result (default results/load_<db>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and PostgreSQL db)")
    parser.add_argument(
        "--render", action="store_true", help="only rebuild results/load.md from the JSON files"
    )
    parser.add_argument("--step", choices=("setup", "drive", "verify"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.render:
        write_report()
        return
    if args.step:
        {"setup": phase_setup, "drive": phase_drive, "verify": phase_verify}[args.step](args.workdir)
        return

    users = args.users or (8 if args.quick else 50 if args.db == "sqlite" else 200)
    minutes = args.minutes or (1.5 if args.quick else 10.0)
    wait_min, wait_max = (float(x) for x in args.wait.split(","))
    plan = Plan(
        db=args.db,
        users=users,
        minutes=minutes,
        spawn_rate=args.spawn_rate or max(1.0, users / 30),
        wait_min=wait_min,
        wait_max=wait_max,
        quick=args.quick,
    )
    output = args.output or (
        OUT_DIR / f"load_{args.db}_quick.json" if args.quick else RESULTS_DIR / f"load_{args.db}.json"
    )
    workdir = Path(tempfile.mkdtemp(prefix="qiangcun-load-"))
    print(f"[load] {plan.db}, {plan.users} users, {plan.minutes:g} min, run {plan.run_id}, data in {workdir}")
    machine = describe_machine()
    try:
        result = run(plan, workdir, args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["machine"] = machine
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n")
    print(render_one(result))
    print(f"[load] {output}")
    if output.parent == RESULTS_DIR:
        write_report()
    ok = result["writes"]["ok"] and result["database_is_locked"] == 0 and result["server_log"]["5xx"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
