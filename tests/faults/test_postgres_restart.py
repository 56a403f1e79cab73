"""PostgreSQL restarted in the middle of a load (issue 10, "Faults"): the app recovers without being
restarted, and no confirmed write is lost.

A PostgreSQL cluster of the test's own (tests/live.py ``PrivatePostgres``: the shared server at
127.0.0.1:5432, which the rest of the suite uses, is never touched) holds the demo township, and
``qiangcun serve`` (gunicorn, 2 workers, and the background worker) runs against it. Three client threads
create ledger rows through the API as fast as it answers — the village clerk's token, each request with
its own ``Idempotency-Key``. Two seconds in, PostgreSQL is restarted with ``pg_ctl restart -m immediate``
(a crash stop: recovery from the WAL at start), and the load goes on for four seconds after it answers
again. Then:

- the server was not restarted: the same supervisor, web server and worker processes, and it answers;
- every write answered 201 is in the database, once;
- a write that failed got 503 with a Chinese ``detail`` saying to retry with the same key — and only
  while PostgreSQL was down (from the restart until it answered again, plus one second for requests in
  flight): no 500, no broken connection, no error once it is back;
- every failed write, sent again with its key, is answered 201 and is then in the database exactly once
  (a write whose commit reached the disk before the answer was lost is answered from its key, not made
  twice);
- the background worker still runs jobs: a workbook uploaded afterwards is checked by it.

Runs only on PostgreSQL (``DATABASE_URL=postgres://…``), with the server binaries in
/usr/lib/postgresql/*/bin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connections
from django.db.models import Count
from openpyxl import Workbook

from qiangcun.demo.builder import DEMO_PASSWORD
from qiangcun.imports.models import ImportJob
from qiangcun.ledger.models import Entry, RequestKey
from qiangcun.orgs.models import OrgUnit

from ..live import Browser, PrivatePostgres, Server, children, database, env, postgres_bin, wait_for
from .conftest import on_postgres

pytestmark = [
    pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only: set DATABASE_URL=postgres://… to run it"),
    pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL server binaries in /usr/lib/postgresql"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are read from /proc"),
]

THREADS = 3
RESTART_AFTER = 2.0  # seconds of load before PostgreSQL is restarted
LOAD_AFTER = 4.0  # seconds of load after it answers again
IN_FLIGHT = 1.0  # a request started this long after PostgreSQL answered may still have met it down
RESULTS = Path("test-results")


@dataclass
class Write:
    key: str
    body: dict[str, str]
    began: float
    ended: float = 0.0
    status: int = 0  # 0: no HTTP answer (connection refused, reset, timeout)
    answer: dict = field(default_factory=dict)
    error: str = ""


def send(base: str, token: str, write: Write) -> None:
    request = urllib.request.Request(
        f"{base}/api/v1/ledger",
        data=json.dumps(write.body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": write.key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            write.status, body = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        write.status, body = err.code, err.read()
    except OSError as err:
        write.error, body = f"{type(err).__name__}: {err}", b""
    write.ended = time.monotonic()
    try:
        write.answer = json.loads(body) if body else {}
    except ValueError:
        write.answer = {"raw": body[:200].decode(errors="replace")}


def test_postgres_restarted_in_the_middle_of_a_load(tmp_path: Path, unblocked: None) -> None:
    started = time.monotonic()
    pg = PrivatePostgres().start()
    try:
        import psycopg

        with psycopg.connect(pg.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE qiangcun")
        data, home = tmp_path / "data", tmp_path / "home"
        home.mkdir()
        url = pg.url("qiangcun")
        subprocess.run(
            [sys.executable, "-m", "qiangcun", "demo", "--no-serve"],
            env=env(data, home, database_url=url),
            check=True,
            capture_output=True,
            timeout=600,
        )
        environ = env(
            data,
            home,
            database_url=url,
            QIANGCUN_TODAY="2020-04-17",
            QIANGCUN_OTP_REQUIRED_ROLES="",
            QIANGCUN_PASSWORD_MAX_AGE_DAYS="0",
            QIANGCUN_IMPORT_BACKGROUND_KB="0",  # every upload goes to the worker
        )
        token = subprocess.run(
            [sys.executable, "-m", "qiangcun", "createtoken", "demo-clerk"],
            env=environ,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.strip()
        built = time.monotonic() - started
        with database(
            "private", NAME="qiangcun", HOST="127.0.0.1", PORT=str(pg.port), USER="postgres", PASSWORD=""
        ):
            village = OrgUnit.objects.using("private").get(name="孙庄村").code
            connections["private"].close()
            with Server(data, environ, workers=2) as server:
                run_load(server, data, pg, token, village, tmp_path, built=built, started=started)
    finally:
        pg.stop()


def run_load(
    server: Server,
    data: Path,
    pg: PrivatePostgres,
    token: str,
    village: str,
    tmp_path: Path,
    *,
    built: float,
    started: float,
) -> None:
    browser = Browser(server.base)
    browser.login("demo-clerk", DEMO_PASSWORD)  # a session made before the restart, used after it
    assert server.proc is not None
    before = {**children(data, server.proc.pid), "supervisor": server.proc.pid}
    assert set(before) == {"supervisor", "gunicorn", "db_worker"}, before

    writes: list[Write] = []
    lock = threading.Lock()
    stop = threading.Event()

    def new_write(number: int, n: int) -> Write:
        body = {
            "village": village,
            "date": f"2020-04-{1 + n % 16:02d}",
            "amount": f"{100 + n}.{number:02d}",
            "category": "经营收入",
            "path": "现代农业",
            "summary": f"数据库重启测试 客户{number} 第{n}笔",
            "counterparty": "果蔬收购商",
        }
        return Write(key=str(uuid.uuid4()), body=body, began=time.monotonic())

    def client(number: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            write = new_write(number, n)
            send(server.base, token, write)
            with lock:
                writes.append(write)
            if write.status != 201:
                time.sleep(0.05)  # as a client would, not hammering a server that is down

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(THREADS)]
    load_began = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(RESTART_AFTER)
    down = time.monotonic()
    pg.restart("immediate")

    wait_until_up(pg)
    up = time.monotonic()
    time.sleep(LOAD_AFTER)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    load_seconds = time.monotonic() - load_began

    # It answers again (the session made before the restart still holds).
    page = browser.get("/")
    assert page.status in (200, 302), page.status

    # Then PostgreSQL restarts while nobody writes (at night, say). The first requests after it — each on a
    # web worker's kept connection, dead now — succeed: a kept connection is checked before it is used.
    quiet_down = time.monotonic()
    pg.restart("immediate")
    wait_until_up(pg)
    quiet = [new_write(10 + i, n) for i in range(4) for n in range(1, 4)]
    senders = [threading.Thread(target=send, args=(server.base, token, w)) for w in quiet]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    page = browser.get("/")
    assert page.status in (200, 302), f"the first page after a quiet restart: {page.status}"
    for w in quiet:
        assert w.status == 201, f"a write after a quiet restart failed: {w.status} {w.error} {w.answer}"
    writes.extend(quiet)
    quiet_seconds = time.monotonic() - quiet_down

    # Through both restarts the server was not restarted: the same supervisor, web server and worker.
    assert server.proc.poll() is None, "the server stopped"
    after = {**children(data, server.proc.pid), "supervisor": server.proc.pid}
    assert after == before, f"processes changed: {before} → {after}"

    confirmed = [w for w in writes if w.status == 201]
    failed = [w for w in writes if w.status != 201]  # the quiet restart's are all 201 (above)
    during = [w for w in writes if w.ended >= down and w.began <= up + IN_FLIGHT]
    assert len(confirmed) >= 20, f"too little load to prove anything: {len(confirmed)} writes answered"
    assert any(w.began > up for w in confirmed), "no write succeeded after PostgreSQL came back"
    for w in failed:
        assert w.ended >= down and w.began <= up + IN_FLIGHT, (
            f"a write failed while PostgreSQL was up: {w.status} {w.error} {w.answer} "
            f"(began {w.began - down:+.2f} s, ended {w.ended - down:+.2f} s from the restart, up at {up - down:+.2f} s)"
        )
        assert w.status == 503, f"not a clear answer: {w.status} {w.error} {w.answer}"
        assert "稍后重试" in w.answer.get("detail", "") and "Idempotency-Key" in w.answer["detail"], w.answer

    # Every confirmed write is there, once; every failed one, sent again with its key, is then answered.
    with database(
        "private", NAME="qiangcun", HOST="127.0.0.1", PORT=str(pg.port), USER="postgres", PASSWORD=""
    ):
        entries = Entry.objects.using("private")
        for w in confirmed:
            row = entries.filter(pk=w.answer["id"]).values_list("summary", "amount").first()
            assert row is not None, f"a confirmed write is lost: {w.body['summary']} (id {w.answer['id']})"
            assert row[0] == w.body["summary"] and f"{row[1]:.2f}" == w.body["amount"]
        # A failed write whose commit had reached the disk before its answer was lost: there already.
        lost_answers = entries.filter(summary__in=[w.body["summary"] for w in failed]).count()
        for w in failed:
            again = Write(key=w.key, body=w.body, began=time.monotonic())
            send(server.base, token, again)
            assert again.status == 201, f"a retry was refused: {again.status} {again.answer}"
        summaries = [w.body["summary"] for w in writes]
        counts = dict(
            entries.filter(summary__startswith="数据库重启测试")
            .values_list("summary")
            .annotate(n=Count("id"))
        )
        assert counts == {s: 1 for s in summaries}, "a write is missing or twice"
        assert RequestKey.objects.using("private").filter(key__in=[w.key for w in writes]).count() == len(
            writes
        )

        # The worker runs jobs again: an upload (over QIANGCUN_IMPORT_BACKGROUND_KB=0) is checked by it.
        browser.get("/import/ledger/")
        answer = browser.post(
            "/import/ledger/", {"year": "2020", "township": ""}, files={"file": workbook(tmp_path, village)}
        )
        assert answer.status == 302, answer.status
        job = answer.headers["Location"].split("/")[3]
        done = wait_for(
            lambda: ImportJob.objects.using("private").filter(pk=job, state=ImportJob.State.DONE).first(),
            timeout=60,
            every=0.2,
            message="the worker did not run the job after the restart",
        )
        assert done.result.get("ok"), done.result

    report(
        writes,
        failed,
        during,
        lost_answers,
        down=down,
        up=up,
        load=load_seconds,
        quiet=quiet_seconds,
        built=built,
        started=started,
    )


def wait_until_up(pg: PrivatePostgres) -> None:
    import psycopg

    def answers() -> bool:
        try:
            with psycopg.connect(pg.url("qiangcun"), connect_timeout=2) as probe:
                probe.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    wait_for(answers, timeout=60, every=0.05, message="PostgreSQL did not come back")


def workbook(tmp_path: Path, village: str) -> Path:
    wb = Workbook()
    wb.active.append(["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"])
    wb.active.append(["孙庄村", "2020-04-10", "1,234.56", "经营收入", "现代农业", "数据库重启之后的导入"])
    path = tmp_path / "after-restart.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def report(
    writes: list[Write],
    failed: list[Write],
    during: list[Write],
    lost_answers: int,
    *,
    down: float,
    up: float,
    load: float,
    quiet: float,
    built: float,
    started: float,
) -> None:
    statuses: dict[str, int] = {}
    for w in writes:
        key = str(w.status) if w.status else w.error.split(":")[0]
        statuses[key] = statuses.get(key, 0) + 1
    summary = {
        "seconds": round(time.monotonic() - started, 1),
        "setup_seconds": round(built, 1),
        "load_seconds": round(load, 1),
        "postgres_down_seconds": round(up - down, 2),
        "quiet_restart_and_writes_seconds": round(quiet, 1),
        "writes": len(writes),
        "answers": statuses,
        "failed_during_outage": len(failed),
        "failed_but_committed": lost_answers,
        "requests_overlapping_the_outage": len(during),
        "example_failure": failed[0].answer if failed else None,
    }
    print(f"\nPostgreSQL restart: {json.dumps(summary, ensure_ascii=False)}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "faults-postgres-restart.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
