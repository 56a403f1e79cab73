"""``qiangcun init`` and ``qiangcun serve``: a township from nothing, then a real server for it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.scope import Action
from qiangcun.orgs.models import Level, OrgUnit

from ..live import env, free_port, kill_all, wait_until_gone, wait_until_serving

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _init(*args: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("init", *args, stdout=out, stderr=err)
    assert "只显示这一次" in err.getvalue()
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_init_makes_the_township_and_two_people():
    lines = _init(
        "--township", "相衙镇", "--code", "371422105", "--admin", "djb", "--sysadmin", "xtgl",
        "--county", "宁津县", "--county-code", "371422", "--admin-name", "王干事",
    )  # fmt: skip
    township = OrgUnit.objects.get(code="371422105")
    assert township.level == Level.TOWNSHIP and township.parent.name == "宁津县"
    printed = dict(line.split(" ") for line in lines)
    assert list(printed) == ["djb", "xtgl"]
    for username, role in (("djb", Role.TOWNSHIP_ADMIN), ("xtgl", Role.SYSTEM_ADMIN)):
        user = User.objects.get(username=username)
        assert user.check_password(printed[username]) and user.must_change_password
        assert user.unit == township
        assert list(RoleGrant.objects.filter(user=user).values_list("role", "unit")) == [(role, township.pk)]
    assert User.objects.get(username="djb").display_name == "王干事"
    assert printed["djb"] != printed["xtgl"]
    # Recorded, by nobody (the installation), where the township's auditor will read it.
    assert ChangeRecord.objects.filter(action="user.create", actor=None, unit_path=township.path).count() == 2
    # The system admin may manage accounts but sees no business, once the password is changed.
    sysadmin = User.objects.get(username="xtgl")
    User.objects.filter(pk=sysadmin.pk).update(must_change_password=False)
    sysadmin.refresh_from_db()
    assert sysadmin.can(Action.MANAGE_USERS, township) and not sysadmin.can(Action.VIEW)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--admin", "same", "--sysadmin", "SAME"], "两个不同的账号"),
        (["--admin", "a3", "--sysadmin", "ａ３"], "两个不同的账号"),  # full width is the same name
        (["--admin", "a b", "--sysadmin", "x"], "不能有空格"),
        (["--county", "宁津县"], "要一起给"),
    ],
)
def test_init_refuses_with_the_reason_and_makes_nothing(args, reason):
    base = {"--township": "相衙镇", "--code": "371422105", "--admin": "djb", "--sysadmin": "xtgl"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    with pytest.raises(CommandError, match=reason):
        call_command("init", *[x for pair in base.items() for x in pair], stdout=io.StringIO())
    assert not OrgUnit.objects.exists() and not User.objects.exists()


@pytest.mark.django_db
def test_init_refuses_a_township_that_exists_and_leaves_it_alone():
    _init("--township", "相衙镇", "--code", "371422105", "--admin", "djb", "--sysadmin", "xtgl")
    before = (OrgUnit.objects.count(), User.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(CommandError, match="已经存在"):
        call_command(
            "init", "--township", "别的镇", "--code", "371422105", "--admin", "a2", "--sysadmin", "s2",
            stdout=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="已有名为“相衙镇”的镇"):
        call_command(
            "init", "--township", "相衙镇", "--code", "999", "--admin", "a2", "--sysadmin", "s2",
            stdout=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="已被使用"):
        call_command(
            "init", "--township", "新镇", "--code", "998", "--admin", "DJB", "--sysadmin", "s2",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert (OrgUnit.objects.count(), User.objects.count(), ChangeRecord.objects.count()) == before


def test_init_then_serve_a_real_install(tmp_path: Path):
    """On a fresh data folder: the server on an empty database says what to run; init makes the
    township; the server then signs the admin in and sends them to change the password; SIGTERM
    stops the server and the worker."""
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    environ = env(data, home)
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
        # The port opens before gunicorn's worker has imported the app: on a busy machine the first answer
        # takes a while (this is about what it says, not how fast).
        first = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=90).read().decode()
        assert "qiangcun init --township" in first
        done = subprocess.run(
            [sys.executable, "-m", "qiangcun", "init", "--township", "相衙镇", "--code", "371422105",
             "--admin", "djb", "--sysadmin", "xtgl"],
            env=environ, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        lines = done.stdout.splitlines()
        assert [line.split(" ")[0] for line in lines] == ["djb", "xtgl"]
        again = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60)
        assert again.url.endswith("/login/?next=/")  # a township now: sign in first
        # The demo's login hints are not shown on a real install.
        assert "演示账号" not in again.read().decode()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert wait_until_gone(data) == {}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
        kill_all(data)
    assert os.listdir(home) == []
    assert (data / "qiangcun.sqlite3").exists()


@pytest.mark.django_db
def test_the_new_admin_is_shown_the_first_steps(client):
    from django.core.management import call_command as run

    run("init", "--township", "柳河镇", "--code", "371422199", "--admin", "djb", "--sysadmin", "xt",
        stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    User.objects.update(must_change_password=False)
    client.force_login(User.objects.get(username="djb"))
    html = client.get("/progress/").content.decode()
    assert "开始使用" in html
    for kind in ("units", "targets", "ledger"):
        assert f'href="/import/{kind}/"' in html
    client.force_login(User.objects.get(username="xt"))
    assert client.get("/progress/").status_code == 403
