"""``qiangcun serve`` with waitress — the server it runs on Windows, where gunicorn does not — chosen here
by ``QIANGCUN_SERVER=waitress`` on Linux: it answers (with the policy headers), and SIGTERM stops it and the
worker. The same supervisor as with gunicorn (tests/demo/test_demo_serve.py, tests/accounts/test_init.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from qiangcun.core.serving import default_server, waitress_argv

from ..live import children, env, free_port, kill_all, wait_until_gone, wait_until_serving


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are read from /proc")
def test_serve_with_waitress_answers_and_stops_with_the_worker(tmp_path: Path):
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    environ = env(data, home, QIANGCUN_SERVER="waitress")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiangcun", "serve", "--port", str(port), "--workers", "1"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_serving(proc, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            body = answer.read().decode()
            headers = answer.headers
        assert "qiangcun init --township" in body  # the first-run page of an empty database
        assert headers["Server"] == "qiangcun"  # waitress's --ident: it is waitress that answered
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/qiangcun.css", timeout=10) as css:
            assert b".w-100" in css.read()  # static files through WhiteNoise
        kids = children(data, proc.pid)
        assert set(kids) == {"waitress", "db_worker"}, kids
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert wait_until_gone(data) == {}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
        kill_all(data)
    assert not (data / "run" / "gunicorn.pid").exists()


def test_the_server_is_chosen_by_the_environment_then_by_the_platform(monkeypatch):
    assert default_server({"QIANGCUN_SERVER": "waitress"}) == "waitress"
    assert default_server({"QIANGCUN_SERVER": " Gunicorn "}) == "gunicorn"
    monkeypatch.setattr("qiangcun.core.serving.WINDOWS", True)
    assert default_server({}) == "waitress"
    monkeypatch.setattr("qiangcun.core.serving.WINDOWS", False)
    assert default_server({}) == "gunicorn"
    with pytest.raises(ValueError, match="QIANGCUN_SERVER='uwsgi'"):
        default_server({"QIANGCUN_SERVER": "uwsgi"})


def test_waitress_listens_where_asked():
    assert "--listen=0.0.0.0:8000" in waitress_argv(host="0.0.0.0", port=8000, threads=8)
    assert "--listen=[::1]:8001" in waitress_argv(host="::1", port=8001, threads=4)
    assert "--threads=8" in waitress_argv(host="0.0.0.0", port=8000, threads=8)


def test_a_wrong_server_is_refused_before_anything_starts(tmp_path: Path):
    environ = env(tmp_path / "data", tmp_path, QIANGCUN_SERVER="uwsgi")
    done = subprocess.run(
        [sys.executable, "-m", "qiangcun", "serve", "--port", str(free_port())],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "应为 gunicorn 或 waitress" in done.stderr
