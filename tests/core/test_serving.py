"""The supervisor's housekeeping: a pid file left by a killed server does not stop the next start."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from qiangcun.core.serving import clear_stale_pidfile

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _pidfile(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "gunicorn.pid"
    path.write_text(content)
    return path


def _zombie() -> subprocess.Popen[bytes]:
    """A child that has ended and is not yet reaped: ``kill(pid, 0)`` still succeeds on it."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never ended"
        time.sleep(0.05)
    return child


def test_no_pid_file_is_nothing_to_do(tmp_path):
    assert clear_stale_pidfile(tmp_path / "gunicorn.pid") is False


def test_a_pid_that_no_longer_runs_is_cleared(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    path = _pidfile(tmp_path, f"{child.pid}\n")
    assert clear_stale_pidfile(path) is True
    assert not path.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_a_zombie_left_by_a_killed_server_is_cleared(tmp_path):
    child = _zombie()
    try:
        path = _pidfile(tmp_path, f"{child.pid}\n")
        assert clear_stale_pidfile(path) is True
        assert not path.exists()
    finally:
        child.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="command lines are read from /proc")
def test_a_pid_reused_by_another_program_is_cleared(tmp_path):
    other = subprocess.Popen(SLEEP)
    try:
        path = _pidfile(tmp_path, f"{other.pid}\n")
        assert clear_stale_pidfile(path) is True
        assert not path.exists()
        assert other.poll() is None  # the other program is left alone
    finally:
        other.kill()
        other.wait()


def test_a_running_gunicorn_keeps_its_pid_file(tmp_path):
    running = subprocess.Popen([*SLEEP, "gunicorn"])
    try:
        path = _pidfile(tmp_path, f"{running.pid}\n")
        assert clear_stale_pidfile(path) is False
        assert path.read_text() == f"{running.pid}\n"
    finally:
        running.kill()
        running.wait()


@pytest.mark.parametrize("content", ["", "not a pid\n", "-1\n"])
def test_an_unreadable_pid_file_is_cleared(tmp_path, content):
    path = _pidfile(tmp_path, content)
    assert clear_stale_pidfile(path) is True
    assert not path.exists()
