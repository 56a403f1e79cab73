"""Pages over HTTP, served as in production (``qiangcun serve``: gunicorn, two sync workers, loopback),
against the framework's floor: ``/healthz``, a Django view that returns a fixed page from the same server.

    QIANGCUN_HOME=… uv run python bench/http.py --unit 371422105000 --seconds 10

Measured in alternating rounds (floor, page, floor, page …, so machine load falls on both):

- **the progress page** ``GET /progress/?unit=…&year=…&as_of=…`` with ``--clients`` (8) clients, signed in
  as a leader of the unit, against ``GET /healthz`` with as many clients: requests a second, p50, p95;
- **creating a ledger row** ``POST /api/v1/ledger`` (a village clerk's bearer token, an Idempotency-Key,
  a draft row) with ``--write-clients`` (20) clients, against ``/healthz`` with as many.

The clients are threads of this process (``http.client``, one connection a request as a browser behind
gunicorn's sync workers gets); they share the 2 cores with the server, for the floor as for the page.
Every answer is checked (200, or 201 with the row's amount); a wrong answer fails the run.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

PASSWORD = "bench-Pass-2020!"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accounts(code: str) -> dict[str, Any]:
    """A leader of the unit (to read its table) and a clerk of one of its villages with an API token,
    made through the services in this process before the server starts."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    import django

    django.setup()
    from django.db import connections

    from qiangcun.accounts.models import Role, User
    from qiangcun.accounts.services import grant_create, token_create, user_create
    from qiangcun.ledger.models import Category, DevelopmentPath
    from qiangcun.orgs.models import Level, OrgUnit
    from qiangcun.targets.models import VillageTarget

    unit = OrgUnit.objects.get(code=code)
    leader = User.objects.filter(username=f"bench-{code}").first()
    if leader is None:
        leader = user_create(actor=None, username=f"bench-{code}", password=PASSWORD, display_name="压测领导")
        grant_create(actor=None, user=leader, role=Role.LEADER, unit=unit)
    village = (
        VillageTarget.objects.filter(village__path__startswith=unit.path, village__level=Level.VILLAGE)
        .order_by("village__path")
        .first()
    )
    assert village is not None, "no village with a target under the unit"
    name = f"bench-clerk-{uuid.uuid4().hex[:8]}"
    clerk = user_create(actor=None, username=name, password=PASSWORD, display_name="压测报账员")
    grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=village.village)
    _row, token = token_create(actor=None, user=clerk, name="bench")
    found = {
        "leader": leader.username,
        "token": token,
        "village": village.village.code,
        "category": Category.objects.order_by("order", "id").first().name,  # type: ignore[union-attr]
        "path": DevelopmentPath.objects.order_by("order", "id").first().name,  # type: ignore[union-attr]
    }
    connections.close_all()
    return found


class Server:
    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-http-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qiangcun", "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"the server did not start: {Path(self.log.name).read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


def sign_in(port: int, username: str) -> str:
    """The session cookie header of ``username`` signed in through the login page."""
    status, page, response = request(port, "GET", "/login/")
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    token = CSRF_RE.search(page.decode())
    assert status == 200 and token, "no login page"
    form = f"username={username}&password={PASSWORD}&csrfmiddlewaretoken={token[1]}".encode()
    cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
    status, _body, response = request(
        port,
        "POST",
        "/login/",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    if status != 302 or "sessionid" not in jar:
        raise SystemExit(f"sign-in of {username} failed: {status}")
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())


def drive(port: int, clients: int, seconds: float, make: Any) -> dict[str, Any]:
    """``clients`` threads sending ``make()``'s requests for ``seconds``; each answer is checked."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            method, path, body, headers, check = make()
            started = time.perf_counter()
            try:
                status, content, _r = request(port, method, path, body, headers)
            except OSError as exc:
                with lock:
                    errors.append(str(exc))
                continue
            mine.append(time.perf_counter() - started)
            problem = check(status, content)
            if problem:
                with lock:
                    errors.append(problem)
        with lock:
            times.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    times.sort()
    return {
        "requests": len(times),
        "per_second": len(times) / elapsed,
        "p50_ms": 1000 * times[len(times) // 2] if times else None,
        "p95_ms": 1000 * times[max(0, int(len(times) * 0.95) - 1)] if times else None,
        "errors": errors[:5],
        "error_count": len(errors),
    }


def ok200(status: int, content: bytes) -> str:
    return "" if status == 200 else f"{status}: {content[:200]!r}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", required=True)
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--as-of", default="2020-04-17")
    parser.add_argument("--seconds", type=float, default=10.0, help="per contender per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--write-clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    found = accounts(args.unit)
    env = {**os.environ, "QIANGCUN_TODAY": args.as_of}
    server = Server(env, args.workers)
    try:
        cookie = sign_in(server.port, found["leader"])
        page_path = f"/progress/?unit={args.unit}&year={args.year}&as_of={args.as_of}"
        status, page, _r = request(server.port, "GET", page_path, headers={"Cookie": cookie})
        assert status == 200, f"progress page: {status}"
        day = datetime.date.fromisoformat(args.as_of)
        counter = iter(range(10**9))

        def floor() -> tuple[Any, ...]:
            return ("GET", "/healthz", None, {}, ok200)

        def progress_page() -> tuple[Any, ...]:
            return ("GET", page_path, None, {"Cookie": cookie}, ok200)

        def create() -> tuple[Any, ...]:
            n = next(counter)
            amount = f"{1 + n % 50000}.{n % 100:02d}"
            body = {
                "village": found["village"],
                "date": (day - datetime.timedelta(days=n % 30)).isoformat(),
                "amount": amount,
                "category": found["category"],
                "path": found["path"],
                "summary": f"压测录入第 {n} 笔",
                "counterparty": "压测单位",
            }

            def check(status: int, content: bytes) -> str:
                if status != 201:
                    return f"{status}: {content[:200]!r}"
                return (
                    ""
                    if json.loads(content).get("amount") == amount
                    else f"201 with another row: {content!r}"
                )

            headers = {
                "Authorization": f"Bearer {found['token']}",
                "Idempotency-Key": str(uuid.uuid4()),
                "Content-Type": "application/json",
            }
            return ("POST", "/api/v1/ledger", json.dumps(body).encode(), headers, check)

        runs: dict[str, list[dict[str, Any]]] = {
            "floor_read": [],
            "page": [],
            "floor_write": [],
            "create": [],
        }
        for _ in range(args.rounds):
            runs["floor_read"].append(drive(server.port, args.clients, args.seconds, floor))
            runs["page"].append(drive(server.port, args.clients, args.seconds, progress_page))
            runs["floor_write"].append(drive(server.port, args.write_clients, args.seconds, floor))
            runs["create"].append(drive(server.port, args.write_clients, args.seconds, create))
    finally:
        server.stop()

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name] if r[key] is not None)

    result = {
        "unit": args.unit,
        "workers": args.workers,
        "clients": args.clients,
        "write_clients": args.write_clients,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "page_bytes": len(page),
        "median": {name: {k: med(name, k) for k in ("per_second", "p50_ms", "p95_ms")} for name in runs},
        "runs": runs,
        "errors": sum(r["error_count"] for rs in runs.values() for r in rs),
    }
    m = result["median"]
    result["page_share_of_floor"] = m["page"]["per_second"] / m["floor_read"]["per_second"]
    result["create_share_of_floor"] = m["create"]["per_second"] / m["floor_write"]["per_second"]
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    for name, figures in m.items():
        print(
            f"{name:12} {figures['per_second']:8.1f} req/s  p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms"
        )
    print(
        f"page / floor {result['page_share_of_floor']:.3f}; create / floor {result['create_share_of_floor']:.3f}"
    )
    if result["errors"]:
        raise SystemExit(f"{result['errors']} wrong answers: {runs}")
    return result


if __name__ == "__main__":
    main()
