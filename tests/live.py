"""Real processes for the tests that need them (tests/demo, tests/deploy, tests/accounts/test_init.py,
tests/faults): ``qiangcun serve`` or ``qiangcun demo`` on a free port with its own QIANGCUN_HOME, in its
own session so that a signal meant for it never reaches pytest; every process it started, found by its
environment, to stop, freeze or kill; a small HTTP client (cookies, CSRF, uploads, bearer tokens); and a
private PostgreSQL cluster that a test may restart without touching the shared server at 127.0.0.1:5432."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
T = TypeVar("T")

# ------------------------------------------------------------------------------------------ processes


def env(data: Path, home: Path, *, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a server: this data folder, this HOME, SQLite unless ``database_url``."""
    out = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "XDG_RUNTIME_DIR")}
    out.update(QIANGCUN_HOME=str(data), HOME=str(home), DJANGO_SETTINGS_MODULE="qiangcun.settings")
    if database_url:
        out["DATABASE_URL"] = database_url
    out.update(extra)
    return out


def ours(data: Path) -> dict[int, str]:
    """Live processes started with this QIANGCUN_HOME (found by their environment): pid -> command line."""
    marker = f"QIANGCUN_HOME={data}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("Z", "X"):
            continue
        if marker in environ or str(data) in cmdline:
            found[int(entry.name)] = cmdline
    return found


def kill_all(data: Path) -> None:
    for pid in ours(data):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(proc: subprocess.Popen[bytes], port: int, timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server ended before serving (exit {proc.returncode})"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answered on port {port} within {timeout:.0f} s")


def wait_until_gone(data: Path, timeout: float = STOP_TIMEOUT) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := ours(data)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children(
    data: Path, parent: int, kinds: Iterable[str] = ("waitress", "gunicorn", "db_worker")
) -> dict[str, int]:
    """The supervisor's direct children by kind (the web server's master and the worker), once the worker
    has started (or after BOOT_TIMEOUT)."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        found: dict[str, int] = {}
        for pid, command in ours(data).items():
            if parent_of(pid) != parent:
                continue
            for kind in kinds:
                if kind in command:
                    found[kind] = pid
        if "db_worker" in found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def kill9(data: Path, *, while_frozen: Callable[[], T] | None = None) -> T | None:
    """``kill -9`` of the whole server: every process of this data folder is stopped (SIGSTOP) at once,
    ``while_frozen`` looks at the database as the kill finds it, then every process group is SIGKILLed.
    Returns what ``while_frozen`` saw. (A process that is stopped first dies exactly where it stood, and
    none of them can react to another's death in between — the supervisor's children would otherwise get
    a SIGTERM when it dies.)"""
    pids = list(ours(data))
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    seen = while_frozen() if while_frozen is not None else None
    groups = set()
    for pid in pids:
        with suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    kill_all(data)  # anything that was in no group of ours
    left = wait_until_gone(data)
    assert left == {}, f"still running after SIGKILL: {left}"
    return seen


class Server:
    """``qiangcun serve`` (or ``demo``) in its own session on a free port; ``stop()`` sends a signal and
    waits, ``close()`` kills whatever is left."""

    def __init__(
        self, data: Path, environ: dict[str, str], *, command: str = "serve", workers: int = 1
    ) -> None:
        self.data, self.environ, self.command, self.workers = data, environ, command, workers
        self.port = 0
        self.args: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"{data.name}-server.log"

    def start(self) -> Server:
        return self.launch().wait()

    def launch(self) -> Server:
        """Start the server without waiting for it (``wait()`` does)."""
        self.port = free_port()
        self.args = ["--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "qiangcun", self.command, *self.args],
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait(self) -> Server:
        """Until the port answers (gunicorn's worker may still be loading the app: the first request waits)."""
        assert self.proc is not None
        wait_until_serving(self.proc, self.port)
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=STOP_TIMEOUT + 10)

    def reap(self) -> None:
        """After a kill: collect the supervisor's exit status (it was our child)."""
        if self.proc is not None:
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_TIMEOUT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        kill_all(self.data)
        self.reap()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------- http


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """What a browser does against a live server, without rendering: cookies, the CSRF token in forms,
    multipart uploads. Redirects are not followed (``Answer.headers["Location"]`` says where)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.jar if c.name == name), "")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as answer:
                return Answer(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.headers, err.read())

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, fields: dict[str, str], files: dict[str, Path] | None = None) -> Answer:
        """A form post with the CSRF token (fetch a page first so that the cookie is set)."""
        fields = {"csrfmiddlewaretoken": self.cookie("csrftoken"), **fields}
        if not files:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in fields.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                )
            for name, path_ in files.items():
                head = (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path_.name}"\r\n'
                    "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                )
                parts.append(head.encode() + path_.read_bytes() + b"\r\n")
            parts.append(f"--{boundary}--\r\n".encode())
            body = b"".join(parts)
            kind = f"multipart/form-data; boundary={boundary}"
        return self.request("POST", path, body=body, headers={"Content-Type": kind})

    def login(self, username: str, password: str) -> None:
        self.get("/login/")
        answer = self.post("/login/", {"username": username, "password": password})
        assert answer.status == 302, f"sign-in of {username} failed: {answer.status} {answer.text[:300]}"


# ------------------------------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name or 0)
    )
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of its own: a temporary folder, a free port on 127.0.0.1, trust auth, the
    superuser ``postgres``. As root the server runs as the ``postgres`` user (it refuses to run as root)."""

    def __init__(self) -> None:
        bindir = postgres_bin()
        assert bindir is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
        self.bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qiangcun-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True, cwd=self.root)

    @property
    def options(self) -> str:
        return f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"

    def start(self) -> PrivatePostgres:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def restart(self, mode: str = "immediate") -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.root / "log"),
            "-m", mode, "-w", "restart",
        )  # fmt: skip

    def stop(self) -> None:
        with suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


# ----------------------------------------------------------------------------- the server's database


@contextmanager
def database(alias: str, **conf: Any) -> Iterator[str]:
    """The server's database as one more Django alias in the test process (the same engine as the test
    database, other NAME/HOST/PORT), so that checks read it through the models: ``Entry.objects.using(alias)``.
    The caller unblocks database access (pytest-django's ``django_db_blocker``)."""
    from django.db import connections

    settings = dict(connections.settings["default"])
    settings.update(conf)
    settings["TEST"] = {}
    connections.settings[alias] = settings
    try:
        yield alias
    finally:
        with suppress(Exception):
            connections[alias].close()
        with suppress(AttributeError):
            delattr(connections._connections, alias)
        connections.settings.pop(alias, None)


def wait_for(what: Callable[[], T], *, timeout: float, every: float = 0.02, message: str = "") -> T:
    """Poll until ``what()`` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not within {timeout} s")
        time.sleep(every)
