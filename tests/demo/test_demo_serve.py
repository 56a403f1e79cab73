"""``qiangcun demo`` as a user runs it: a real process serving on a port, stopped with SIGTERM or Ctrl-C.

The demo supervises the web server and the background worker: a stop signal ends both, the death of
one ends the other, and gunicorn's files (pid, control socket) stay under QIANGCUN_HOME, not in HOME.
The demo database is built once for the module in a temporary QIANGCUN_HOME (SQLite, ~10 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def _env(data: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "XDG_RUNTIME_DIR")}
    env.update(QIANGCUN_HOME=str(data), HOME=str(home), DJANGO_SETTINGS_MODULE="qiangcun.settings")
    return env


def _ours(data: Path) -> dict[int, str]:
    """Live processes started with this QIANGCUN_HOME (found by their environment): pid -> command line."""
    marker = f"QIANGCUN_HOME={data}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in environ or str(data) in cmdline:
            found[int(entry.name)] = cmdline
    return found


def _kill_all(data: Path) -> None:
    for pid in _ours(data):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the demo ended before serving (exit {proc.returncode})"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the demo did not answer on port {port} within {BOOT_TIMEOUT:.0f} s")


def _wait_until_gone(data: Path) -> dict[int, str]:
    deadline = time.monotonic() + STOP_TIMEOUT
    while (left := _ours(data)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-serve")
    data, home = root / "data", root / "build-home"
    home.mkdir()
    subprocess.run(
        [sys.executable, "-m", "qiangcun", "demo", "--no-serve"],
        env=_env(data, home),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return data


@pytest.fixture
def serve(built: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The demo serving on a free port, with an empty HOME; every process it left is killed afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiangcun", "demo", "--port", str(port), "--workers", "1"],
        env=_env(built, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal meant for the demo never reaches pytest
    )
    try:
        _wait_until_serving(proc, port)
        yield proc, home
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        _kill_all(built)


def _children(data: Path, demo_pid: int) -> dict[str, int]:
    """The demo's direct children: the gunicorn master and the worker."""
    commands = _ours(data)
    deadline = time.monotonic() + BOOT_TIMEOUT
    while not any("db_worker" in c for c in commands.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
        commands = _ours(data)
    kinds = {}
    for pid, command in commands.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != demo_pid:  # direct children only
            continue
        for kind in ("gunicorn", "db_worker"):
            if kind in command:
                kinds[kind] = pid
    return kinds


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_server_and_the_worker(serve, built, signum):
    proc, home = serve
    children = _children(built, proc.pid)
    assert set(children) == {"gunicorn", "db_worker"}, children
    proc.send_signal(signum)
    assert proc.wait(timeout=STOP_TIMEOUT) == 0
    assert _wait_until_gone(built) == {}
    # gunicorn's control socket and pid file lived under QIANGCUN_HOME and nothing was written to HOME.
    assert list(home.iterdir()) == []


def test_gunicorn_files_are_under_qiangcun_home(serve, built):
    proc, home = serve
    deadline = time.monotonic() + BOOT_TIMEOUT
    run = built / "run"
    while not (run / "gunicorn.ctl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (run / "gunicorn.ctl").is_socket()
    assert int((run / "gunicorn.pid").read_text()) == _children(built, proc.pid)["gunicorn"]
    assert list(home.iterdir()) == []


def test_when_the_worker_dies_the_server_is_stopped_too(serve, built):
    proc, _home = serve
    children = _children(built, proc.pid)
    os.kill(children["db_worker"], signal.SIGKILL)
    assert proc.wait(timeout=STOP_TIMEOUT) != 0
    assert _wait_until_gone(built) == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_a_pid_file_left_by_a_killed_server_does_not_stop_the_next_demo(built, tmp_path):
    """A server killed with SIGKILL leaves gunicorn.pid; while its pid is an unreaped zombie (or a
    reused pid), gunicorn alone would refuse to start ("Already running")."""
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never ended"
        time.sleep(0.05)
    (built / "run").mkdir(exist_ok=True)
    (built / "run" / "gunicorn.pid").write_text(f"{zombie.pid}\n")
    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiangcun", "demo", "--port", str(port), "--workers", "1"],
        env=_env(built, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_until_serving(proc, port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0
    finally:
        zombie.wait()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        _kill_all(built)
