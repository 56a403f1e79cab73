"""Production settings from the environment: ``QIANGCUN_HTTPS=1`` turns on what HTTPS behind a proxy needs,
and ``check --deploy`` then has nothing to say. Each case runs ``qiangcun`` in a fresh process with a fresh
QIANGCUN_HOME, as an operator would."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' conftest for Playwright, never on a server
        if not k.startswith(("QIANGCUN_", "SECURE_"))
        and k not in ("DEBUG", "ALLOWED_HOSTS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        QIANGCUN_HOME=str(tmp_path / "data"),
        SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_SETTINGS_MODULE="qiangcun.settings",
    )
    env.update(extra)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qiangcun", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_https_on(tmp_path):
    """The issue's proof: DEBUG=0 ALLOWED_HOSTS=example.org QIANGCUN_HTTPS=1 qiangcun check --deploy
    --fail-level WARNING exits 0 with no warnings."""
    done = _check_deploy(_env(tmp_path, DEBUG="0", ALLOWED_HOSTS="example.org", QIANGCUN_HTTPS="1"))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "System check identified no issues (0 silenced)." in out
    assert not re.findall(r"security\.W\d+", out)


def test_without_https_the_deploy_warnings_appear(tmp_path):
    done = _check_deploy(_env(tmp_path, DEBUG="0", ALLOWED_HOSTS="example.org"))
    assert done.returncode != 0
    assert set(re.findall(r"security\.W\d+", done.stdout + done.stderr)) == DEPLOY_WARNINGS


def test_hsts_without_subdomains_is_the_operators_choice_and_check_says_so(tmp_path):
    env = _env(
        tmp_path, DEBUG="0", ALLOWED_HOSTS="example.org", QIANGCUN_HTTPS="1", QIANGCUN_HSTS_SUBDOMAINS="0"
    )
    done = _check_deploy(env)
    assert done.returncode != 0
    assert set(re.findall(r"security\.W\d+", done.stdout + done.stderr)) == {"security.W005", "security.W021"}


def _settings(env: dict[str, str]) -> dict[str, object]:
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n, None) for n in "
        "('SESSION_COOKIE_SECURE','CSRF_COOKIE_SECURE','SECURE_SSL_REDIRECT','SECURE_HSTS_SECONDS',"
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS','SECURE_HSTS_PRELOAD','SECURE_PROXY_SSL_HEADER',"
        "'CSRF_TRUSTED_ORIGINS','SECURE_REFERRER_POLICY','SECURE_CROSS_ORIGIN_OPENER_POLICY')}))"
    )
    done = subprocess.run(
        [sys.executable, "-m", "qiangcun", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_https_settings(tmp_path):
    found = _settings(
        _env(tmp_path, QIANGCUN_HTTPS="1", ALLOWED_HOSTS="qiangcun.example.org,.xiangya.gov.cn,10.0.0.5,*")
    )
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": [
            "https://qiangcun.example.org",
            "https://*.xiangya.gov.cn",
            "https://10.0.0.5",
        ],
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
    }


def test_plain_http_by_default(tmp_path):
    """The demo and an office PC serve plain http: no secure-only cookies, no redirect, no HSTS."""
    found = _settings(_env(tmp_path))
    assert found["SESSION_COOKIE_SECURE"] is False and found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_SSL_REDIRECT"] is False and found["SECURE_HSTS_SECONDS"] == 0
    assert found["SECURE_PROXY_SSL_HEADER"] is None and found["CSRF_TRUSTED_ORIGINS"] == []


@pytest.mark.parametrize("value", ["2", "maybe"])
def test_a_bad_value_is_refused_with_its_name(tmp_path, value):
    done = _check_deploy(_env(tmp_path, QIANGCUN_HTTPS=value))
    assert done.returncode != 0
    assert f"QIANGCUN_HTTPS={value!r}" in done.stderr


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_and_https_gets_hsts(client, settings):
    """The same values as QIANGCUN_HTTPS=1, in a live request: http goes to https, https carries HSTS and
    secure cookies."""
    settings.ALLOWED_HOSTS = ["example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.CSRF_COOKIE_SECURE = True
    plain = client.get("/login/", HTTP_HOST="example.org")
    assert plain.status_code == 301 and plain["Location"] == "https://example.org/login/"
    secure = client.get("/login/", HTTP_HOST="example.org", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert secure.cookies["csrftoken"]["secure"] is True
