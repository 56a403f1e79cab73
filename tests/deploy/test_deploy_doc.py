"""docs/deploy.md is run, not only read: the commands of its ```bash test blocks run here against a fresh
data folder with the doc's own environment file; the PostgreSQL block runs when DATABASE_URL is PostgreSQL;
the systemd unit goes through ``systemd-analyze verify`` and the nginx site through ``nginx -t`` where the
machine has them. A command the test cannot run must be listed below with its reason, and every other
```bash block must say in the doc why it is not run — so nothing new slips in untested."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
BLOCK = re.compile(r"(?:<!--(?P<note>.*?)-->\n)?```(?P<lang>\w+)(?P<tags>[^\n]*)\n(?P<body>.*?)```", re.S)

#: Lines of ```bash test blocks that cannot run in a test, and why.
NOT_RUN = {
    "cd /opt/qiangcun": "the test runs in this checkout",
    "sudo -u qiangcun git pull": "no remote to pull from in a test",
    "sudo -u qiangcun uv sync --frozen --no-dev": "the test already runs in the synced environment (and needs its dev tools)",
    "set -a; . /etc/qiangcun/qiangcun.env; set +a": "the test sets the same variables from the doc's env block",
    "sudo systemctl restart qiangcun": "no root and no systemd PID 1 in a test",
}


def _blocks(lang: str, tag: str | None = None) -> list[re.Match[str]]:
    found = [m for m in BLOCK.finditer(DOC.read_text()) if m.group("lang") == lang]
    if tag is not None:
        found = [m for m in found if m.group("tags").split() == [tag]]
    return found


def _doc_env() -> dict[str, str]:
    (block,) = _blocks("ini", "env")
    return dict(line.split("=", 1) for line in block.group("body").strip().splitlines())


def _pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _pg_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    env = dict(os.environ, PGHOST=parts.hostname or "127.0.0.1", PGPORT=str(parts.port or 5432))
    env["PGUSER"] = parts.username or "postgres"
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return env


def test_every_bash_block_is_run_or_says_why_not():
    blocks = _blocks("bash")
    assert len(blocks) >= 6
    for block in blocks:
        if block.group("tags").split() in (["test"], ["pg"]):
            continue
        note = (block.group("note") or "").strip()
        assert note.startswith("测试不运行："), (
            f"a ```bash block without its reason: {block.group('body')[:60]!r}"
        )
    assert len(_blocks("bash", "test")) == 2  # 初始化、检查 and 升级


def test_the_readme_links_the_deploy_doc():
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("index", [0, 1], ids=["first-install", "upgrade"])
def test_the_test_blocks_run(tmp_path, index):
    block = _blocks("bash", "test")[index]
    env = {  # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' conftest for Playwright, never on a server
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QIANGCUN_") and k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(_doc_env())
    env.update(QIANGCUN_HOME=str(tmp_path / "data"), SECRET_KEY=secrets.token_urlsafe(64))
    env["DJANGO_SETTINGS_MODULE"] = "qiangcun.settings"
    created = None
    if (url := _pg_url()) is not None:  # the doc's PostgreSQL, as a fresh database of this server
        created = f"qc_doc_{secrets.token_hex(4)}"
        subprocess.run(["createdb", created], env=_pg_env(url), check=True, timeout=60)
        env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + created
    else:
        env.pop("DATABASE_URL", None)  # SQLite in the fresh QIANGCUN_HOME
    ran = []
    try:
        for line in block.group("body").strip().splitlines():
            if line in NOT_RUN:
                continue
            assert line.startswith("uv run qiangcun "), (
                f"neither runnable here nor listed in NOT_RUN: {line!r}"
            )
            argv = [sys.executable, "-m", "qiangcun", *shlex.split(line.removeprefix("uv run qiangcun "))]
            done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            ran.append((line, done.stdout + done.stderr))
    finally:
        if created is not None:
            subprocess.run(["dropdb", "--if-exists", created], env=_pg_env(_pg_url() or ""), timeout=60)
    assert [line for line, _ in ran] == [
        "uv run qiangcun migrate",
        "uv run qiangcun collectstatic --noinput",
        "uv run qiangcun check --deploy --fail-level WARNING",
    ]
    assert "System check identified no issues (0 silenced)." in ran[-1][1]
    assert (tmp_path / "data" / "static" / "css" / "qiangcun.css").exists()  # where nginx's alias points


@pytest.mark.skipif(_pg_url() is None, reason="DATABASE_URL is not PostgreSQL")
def test_the_postgresql_block_runs():
    (block,) = _blocks("bash", "pg")
    url = _pg_url() or ""
    name = f"qc_doc_{secrets.token_hex(4)}"
    env = _pg_env(url)
    try:
        for line in block.group("body").strip().splitlines():
            assert line.startswith("sudo -u postgres "), line
            command = re.sub(r"\bqiangcun\b", name, line.removeprefix("sudo -u postgres "))
            subprocess.run(shlex.split(command), env=env, check=True, timeout=60, capture_output=True)
        owner = subprocess.run(
            ["psql", "-At", "-c", f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'"],
            env=env, check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert owner.stdout.strip() == name
    finally:
        subprocess.run(["dropdb", "--if-exists", name], env=env, timeout=60)
        subprocess.run(["dropuser", "--if-exists", name], env=env, timeout=60)


def test_the_systemd_unit(tmp_path):
    (block,) = _blocks("ini", "systemd")
    unit = block.group("body")
    assert "ExecStart=/opt/qiangcun/.venv/bin/qiangcun serve " in unit
    assert "EnvironmentFile=/etc/qiangcun/qiangcun.env" in unit and "KillSignal=SIGTERM" in unit
    assert f"ReadWritePaths={_doc_env()['QIANGCUN_HOME']}" in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    env_file = tmp_path / "qiangcun.env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in _doc_env().items()) + "\n")
    qiangcun = Path(sys.executable).parent / "qiangcun"
    local = (
        unit.replace("/opt/qiangcun/.venv/bin/qiangcun", str(qiangcun))
        .replace("/etc/qiangcun/qiangcun.env", str(env_file))
        .replace("WorkingDirectory=/opt/qiangcun", f"WorkingDirectory={ROOT}")
    )
    path = tmp_path / "qiangcun.service"
    path.write_text(local)
    done = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "qiangcun.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_the_nginx_site(tmp_path):
    (block,) = _blocks("nginx", "site")
    site = block.group("body")
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "proxy_pass http://127.0.0.1:8000;" in site  # where the systemd unit serves
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))  # type: ignore[union-attr]
    assert body_mb * 1024 * 1024 > max(settings.IMPORT_MAX_BYTES, settings.EVIDENCE_MAX_BYTES)
    assert f"alias {_doc_env()['QIANGCUN_HOME']}/static/;" in site  # STATIC_ROOT = QIANGCUN_HOME/static
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=qiangcun",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    local = site.replace("/etc/ssl/qiangcun/fullchain.pem", str(cert)).replace(
        "/etc/ssl/qiangcun/privkey.pem", str(key)
    )
    (tmp_path / "site.conf").write_text(local)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    done = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
