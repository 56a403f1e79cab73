"""``qiangcun demo`` as a user runs it: a real process serving on a port, stopped with SIGTERM or Ctrl-C.

The demo supervises the web server and the background worker: a stop signal ends both, the death of
one ends the other, and gunicorn's files (pid, control socket) stay under QIANGCUN_HOME, not in HOME.
The demo database is built once for the module in a temporary QIANGCUN_HOME (SQLite, ~10 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..live import (
    BOOT_TIMEOUT,
    STOP_TIMEOUT,
    children,
    env,
    free_port,
    kill_all,
    wait_until_gone,
    wait_until_serving,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-serve")
    data, home = root / "data", root / "build-home"
    home.mkdir()
    subprocess.run(
        [sys.executable, "-m", "qiangcun", "demo", "--no-serve"],
        env=env(data, home),
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
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiangcun", "demo", "--port", str(port), "--workers", "1"],
        env=env(built, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal meant for the demo never reaches pytest
    )
    try:
        wait_until_serving(proc, port)
        yield proc, home
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        kill_all(built)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_server_and_the_worker(serve, built, signum):
    proc, home = serve
    kids = children(built, proc.pid)
    assert set(kids) == {"gunicorn", "db_worker"}, kids
    proc.send_signal(signum)
    assert proc.wait(timeout=STOP_TIMEOUT) == 0
    assert wait_until_gone(built) == {}
    # gunicorn's control socket and pid file lived under QIANGCUN_HOME and nothing was written to HOME.
    assert list(home.iterdir()) == []


def test_gunicorn_files_are_under_qiangcun_home(serve, built):
    proc, home = serve
    deadline = time.monotonic() + BOOT_TIMEOUT
    run = built / "run"
    while not (run / "gunicorn.ctl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (run / "gunicorn.ctl").is_socket()
    assert int((run / "gunicorn.pid").read_text()) == children(built, proc.pid)["gunicorn"]
    assert list(home.iterdir()) == []


def test_when_the_worker_dies_the_server_is_stopped_too(serve, built):
    proc, _home = serve
    kids = children(built, proc.pid)
    os.kill(kids["db_worker"], signal.SIGKILL)
    assert proc.wait(timeout=STOP_TIMEOUT) != 0
    assert wait_until_gone(built) == {}


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
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiangcun", "demo", "--port", str(port), "--workers", "1"],
        env=env(built, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_serving(proc, port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0
    finally:
        zombie.wait()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        kill_all(built)
