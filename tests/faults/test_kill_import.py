"""``kill -9`` of the server in the middle of a ledger import, 20 times (issue 10, "Faults").

The path a user takes: ``qiangcun serve`` on the demo township (gunicorn and the worker, real processes);
the township admin ``demo-admin`` signs in and, on 导入 → 台账, uploads 8,000-row workbooks (over
``QIANGCUN_IMPORT_BACKGROUND_KB``: the worker checks and imports them) and confirms each check. At a
seeded random moment of an import — spread over reading the file and writing it — every process of the
server is frozen, the database is looked at as the kill finds it, and every process group is SIGKILLed;
then the server is started again. After every kill:

- the file's rows are all in the ledger (its row count and its exact sum) or none of them, with its
  import batch and its change record or without; the job says "done" exactly when they are there;
- SQLite: ``PRAGMA integrity_check`` is ok and no foreign key dangles; both backends: the import batches
  and the change log's ``ledger.import`` records agree, and the audit chain verifies;
- after the restart no job is left "running": ``qiangcun serve`` failed it before serving, and its page
  says so in Chinese (``imports.jobs.INTERRUPTED``) — or it is done and its page shows the summary.

The kills must land at least 3 times inside the write transaction (while frozen: SQLite's write lock held
after the file was read to the end; PostgreSQL: the import's row locks held) and 3 times while reading,
or the test proves too little and fails. ``QIANGCUN_FAULT_TRIES`` changes the number of tries (20; below 10
the phases are not counted). Each try's phase, outcome and times go to test-results/faults-kill-<backend>.json."""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.db.models import Count, Sum

from qiangcun.core import audit
from qiangcun.core.audit import ChangeRecord
from qiangcun.demo.builder import DEMO_PASSWORD
from qiangcun.imports.jobs import INTERRUPTED
from qiangcun.imports.models import ImportJob
from qiangcun.ledger.models import Entry, ImportBatch
from qiangcun.orgs.models import Level, OrgUnit

from ..live import Browser, Server, database, env, kill9, wait_for
from .conftest import on_postgres

TRIES = int(os.environ.get("QIANGCUN_FAULT_TRIES", "20"))
SEED = 2020
ROWS = 8_000  # ~300 KB: over the 256 KB that sends a file to the worker; ~1 s to import on 2 cores
TODAY = datetime.date(2020, 4, 17)  # the demo's day: rows are dated before it
PLACEHOLDER = "QCF000"  # ASCII: openpyxl writes other characters as &#…; references
HEADERS = ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要", "付款单位"]
KINDS = [
    ("发包及上交收入", "土地流转", "集体土地流转承包费", "种植大户"),
    ("经营收入", "现代农业", "特色种植销售收入", "果蔬收购商"),
    ("经营收入", "光伏发电", "村级光伏电站发电收益结算", "国网宁津县供电公司"),
    ("投资收益", "合作社", "村党组织领办合作社分红", "村股份经济合作社"),
]
RESULTS = Path("test-results")


@dataclass
class Book:
    marker: str
    path: Path
    rows: int
    total: Decimal


def write_books(folder: Path, villages: list[str], count: int) -> list[Book]:
    """``count`` workbooks of ROWS rows each, alike but for a marker in every 摘要 (so that no row of one
    is a duplicate of another's): one written with openpyxl, the others copied from it with the marker
    replaced in the sheet's XML (writing each with openpyxl would take 1.5 s apiece)."""
    from openpyxl import Workbook

    folder.mkdir()
    rng = random.Random(SEED)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(HEADERS)
    total = Decimal("0.00")
    days = (TODAY - datetime.date(2020, 1, 1)).days
    for i in range(1, ROWS + 1):
        category, path, stem, payer = KINDS[rng.randrange(len(KINDS))]
        date = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(days))
        amount = Decimal(rng.randrange(100, 5_000_001)) / 100
        total += amount
        village = villages[rng.randrange(len(villages))]
        ws.append(
            [village, date, float(amount), category, path, f"{stem}〔故障{PLACEHOLDER}〕第{i:05d}笔", payer]
        )
    base = folder / "base.xlsx"
    wb.save(base)
    books = []
    for n in range(count):
        code = f"QCF{n:03d}"
        marker = f"〔故障{code}〕"
        path = folder / f"故障台账-{code}.xlsx"
        with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                body = src.read(item.filename)
                if item.filename.endswith(".xml"):
                    body = body.replace(PLACEHOLDER.encode(), code.encode())
                dst.writestr(item, body)
        books.append(Book(marker, path, ROWS, total))
    return books


@contextmanager
def server_database(data: Path) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Where the server keeps its data: a SQLite file in its folder, or a PostgreSQL database of its own
    on the suite's server (created here, dropped afterwards). The alias settings and DATABASE_URL."""
    default = connections.settings["default"]
    if not on_postgres():
        yield {"NAME": str(data / "qiangcun.sqlite3")}, None
        return
    import psycopg

    name = f"qc_faults_{uuid.uuid4().hex[:10]}"
    where = {k.lower(): default[k] for k in ("HOST", "PORT", "USER", "PASSWORD") if default.get(k)}
    with psycopg.connect(dbname="postgres", autocommit=True, **where) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = default["USER"] + (f":{default['PASSWORD']}" if default.get("PASSWORD") else "")
    url = f"postgres://{auth}@{default.get('HOST') or '127.0.0.1'}:{default.get('PORT') or 5432}/{name}"
    try:
        yield {"NAME": name}, url
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **where) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Try:
    number: int
    offset: float
    phase: str  # what the kill interrupted: "read" (the file), "write" (the transaction) or "done"
    rows_read: int
    outcome: str  # "none" or "all"
    seconds: float  # the whole try: confirm, import until killed, checks, restart, the job's page
    confirm: float  # from the confirm post to the worker starting the import
    checks: float  # what the kill left (while the server starts again)
    boot: float  # from the restart to the job's page answered


def test_kill_9_in_the_middle_of_an_import(tmp_path: Path, unblocked: None) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("processes are found, frozen and killed through /proc and signals (Linux)")
    started = time.monotonic()
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    postgres = on_postgres()
    with server_database(data) as (conf, url):
        subprocess.run(
            [sys.executable, "-m", "qiangcun", "demo", "--no-serve"],
            env=env(data, home, database_url=url),
            check=True,
            capture_output=True,
            timeout=600,
        )
        built = time.monotonic() - started
        environ = env(
            data,
            home,
            database_url=url,
            QIANGCUN_TODAY=TODAY.isoformat(),  # the demo's day, as `qiangcun demo` serves it
            QIANGCUN_OTP_REQUIRED_ROLES="",  # the demo's accounts have no authenticator
            QIANGCUN_PASSWORD_MAX_AGE_DAYS="0",
        )
        with database("faults", **conf) as db:
            run_tries(tmp_path, data, environ, db, postgres=postgres, built=built, started=started)


def run_tries(
    tmp_path: Path,
    data: Path,
    environ: dict[str, str],
    db: str,
    *,
    postgres: bool,
    built: float,
    started: float,
) -> None:
    villages = list(OrgUnit.objects.using(db).filter(level=Level.VILLAGE).values_list("name", flat=True))
    books = write_books(tmp_path / "books", villages, TRIES + 1)
    jobs = ImportJob.objects.using(db)

    def writing() -> bool:
        """Whether the import's write transaction is open, while every process is frozen."""
        if postgres:
            tables = (OrgUnit._meta.db_table, ImportBatch._meta.db_table, Entry._meta.db_table)
            with connections[db].cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.pid <> pg_backend_pid() AND l.granted AND ("
                    "(c.relname = %s AND l.mode = 'RowShareLock') OR "
                    "(c.relname IN (%s, %s) AND l.mode = 'RowExclusiveLock'))",
                    tables,
                )
                return bool(cursor.fetchone()[0])
        probe = sqlite3.connect(data / "qiangcun.sqlite3", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc) or "busy" in str(exc), exc
            return True
        else:
            probe.execute("ROLLBACK")
            return False
        finally:
            probe.close()

    def upload(browser: Browser, book: Book) -> str:
        answer = browser.post("/import/ledger/", {"year": "2020", "township": ""}, files={"file": book.path})
        location = answer.headers.get("Location", "") if answer.status == 302 else ""
        found = re.fullmatch(r"/import/jobs/([0-9a-f-]{36})/", location)
        assert found, f"the upload was not taken: {answer.status} {location} {answer.text[:300]}"
        return found.group(1)

    def confirm(browser: Browser, job: str) -> float:
        """Confirm the check; the moment the worker starts the import."""
        answer = browser.post(f"/import/jobs/{job}/confirm/", {})
        assert answer.status == 302, answer.status
        wait_for(
            lambda: (
                jobs.filter(pk=job, stage=ImportJob.Stage.IMPORT)
                .exclude(state=ImportJob.State.QUEUED)
                .exists()
            ),
            timeout=60,
            every=0.005,
            message="the worker did not start the import",
        )
        return time.monotonic()

    def ledger_state(book: Book) -> tuple[str, ImportBatch | None]:
        got = (
            Entry.objects.using(db)
            .filter(summary__contains=book.marker)
            .aggregate(n=Count("id"), s=Sum("amount"))
        )
        batches = list(ImportBatch.objects.using(db).filter(file_name=book.path.name))
        assert len(batches) <= 1, batches
        batch = batches[0] if batches else None
        if got["n"] == 0:
            assert batch is None, "an import batch without its rows"
            return "none", None
        assert (got["n"], got["s"]) == (book.rows, book.total), f"a part of the file: {got}"
        assert batch is not None and batch.rows_imported == book.rows
        assert Entry.objects.using(db).filter(import_batch=batch).count() == book.rows
        return "all", batch

    def sessions() -> set[int]:
        """The server's PostgreSQL sessions (every session on its database but the test's)."""
        with connections[db].cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return {row[0] for row in cursor.fetchall()}

    def database_whole(killed: set[int]) -> None:
        if postgres:  # the killed server's sessions end first (a transaction they left open is rolled back)
            wait_for(
                lambda: not (sessions() & killed), timeout=30, every=0.05, message="killed sessions linger"
            )
        else:
            check = sqlite3.connect(data / "qiangcun.sqlite3")
            try:
                assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                assert check.execute("PRAGMA foreign_key_check").fetchall() == []
            finally:
                check.close()
        batches = ImportBatch.objects.using(db).filter(kind=ImportBatch.Kind.LEDGER).count()
        records = ChangeRecord.objects.using(db).filter(action="ledger.import").count()
        assert batches == records, f"{batches} ledger import batches, {records} change records"
        verdict = audit.verify(using=db)
        assert verdict.ok, f"audit chain broken at {verdict.broken_id}: {verdict.reason}"

    server = Server(data, environ).start()
    tries: list[Try] = []
    checked = started
    try:
        browser = Browser(server.base)
        browser.login("demo-admin", DEMO_PASSWORD)
        ids = [upload(browser, book) for book in books]
        wait_for(
            lambda: (
                jobs.filter(pk__in=ids, state__in=[ImportJob.State.DONE, ImportJob.State.FAILED]).count()
                == len(ids)
            ),
            timeout=60 + 5 * len(ids),
            every=0.1,
            message="the worker did not check every upload",
        )
        for job in jobs.filter(pk__in=ids):
            assert job.result.get("ok") and f"将导入 {ROWS} 条" in job.result["summary"], job.result
        checked = time.monotonic()

        # One import to the end: how long the worker takes, to spread the kills over it.
        began = confirm(browser, ids[0])
        wait_for(
            lambda: jobs.filter(pk=ids[0], state=ImportJob.State.DONE).exists(), timeout=120, every=0.005
        )
        span = time.monotonic() - began
        assert ledger_state(books[0])[0] == "all"
        rng = random.Random(SEED)
        slots = list(range(TRIES))
        rng.shuffle(slots)
        offsets = [span * 1.15 * (slot + rng.random()) / TRIES for slot in slots]

        for number, (book, job, offset) in enumerate(zip(books[1:], ids[1:], offsets, strict=True), start=1):
            confirmed = time.monotonic()
            began = confirm(browser, job)
            started_import = began - confirmed
            time.sleep(max(0.0, began + offset - time.monotonic()))

            def look(job: str = job) -> tuple[str, int, set[int]]:
                seen = jobs.get(pk=job)
                killed = sessions() if postgres else set()
                if seen.state == ImportJob.State.DONE:
                    return "done", seen.rows_read, killed
                assert seen.state == ImportJob.State.RUNNING, seen.state
                # The file was read to the end (rows_read = rows_total) before the transaction began.
                read = seen.rows_total > 0 and seen.rows_read >= seen.rows_total
                return ("write" if read and writing() else "read"), seen.rows_read, killed

            seen = kill9(data, while_frozen=look)
            assert seen is not None
            phase, rows_read, killed = seen
            server.reap()
            # Started again at once; what the kill left is checked while it boots. (Its start fails the jobs
            # left running, so a job is "done" — or not — the same before and after.)
            booted = time.monotonic()
            server = Server(data, environ).launch()
            database_whole(killed)
            outcome, _batch = ledger_state(book)
            state = jobs.get(pk=job).state
            assert (state == ImportJob.State.DONE) == (outcome == "all"), (state, outcome)
            if phase == "read":
                assert outcome == "none"
            if phase == "done":
                assert outcome == "all"
            checks = time.monotonic() - booted

            server.wait()  # `qiangcun serve` fails the jobs left running before it opens the port
            after = jobs.get(pk=job)
            browser.base = server.base
            page = browser.get(f"/import/jobs/{job}/")
            assert page.status == 200
            said = f"try {number} ({phase}, {outcome}): {after.state} {after.runner!r} {after.result}"
            if outcome == "none":  # failed by `qiangcun serve` before it served: not left running
                assert after.state == ImportJob.State.FAILED and after.result["refused"] == INTERRUPTED, said
                assert INTERRUPTED in page.text, said
            else:
                assert after.state == ImportJob.State.DONE, said
                assert f"已导入 {ROWS} 条" in page.text, said
            boot = time.monotonic() - booted
            tries.append(
                Try(number, round(offset, 3), phase, rows_read, outcome, round(time.monotonic() - began, 2),
                    round(started_import, 2), round(checks, 2), round(boot, 2))
            )  # fmt: skip

        done = subprocess.run(
            [sys.executable, "-m", "qiangcun", "audit", "verify"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and "审计链完整" in done.stdout, done.stdout + done.stderr
        assert server.stop() == 0
    finally:
        server.close()
        report(tries, postgres=postgres, built=built, checked=checked - started, started=started)

    phases = Counter(t.phase for t in tries)
    if TRIES >= 10:  # fewer (QIANGCUN_FAULT_TRIES, a quick local run) may by chance miss a phase
        assert phases["write"] >= 3, f"only {phases['write']} kills inside the write transaction: {phases}"
        assert phases["read"] >= 3, f"only {phases['read']} kills while reading the file: {phases}"
    assert (
        sum(t.outcome == "all" for t in tries) + 1
        == ImportBatch.objects.using(db).filter(file_name__startswith="故障台账-").count()
    )


def report(tries: list[Try], *, postgres: bool, built: float, checked: float, started: float) -> None:
    """What each kill interrupted and what it left, to stdout and test-results/faults-kill-<backend>.json."""
    backend = "postgresql" if postgres else "sqlite"
    seconds = round(time.monotonic() - started, 1)
    phases = Counter(t.phase for t in tries)
    outcomes = Counter(t.outcome for t in tries)
    print(f"\nkill -9 ({backend}): {len(tries)} tries in {seconds} s (demo built in {built:.1f} s); "
          f"interrupted {dict(phases)}; left {dict(outcomes)}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"faults-kill-{backend}.json").write_text(
        json.dumps(
            {
                "backend": backend,
                "seconds": seconds,
                "demo_built_seconds": round(built, 1),
                "uploaded_and_checked_at_seconds": round(checked, 1),
                "phases": dict(phases),
                "outcomes": dict(outcomes),
                "tries": [asdict(t) for t in tries],
            },
            ensure_ascii=False,
            indent=1,
        )
    )
