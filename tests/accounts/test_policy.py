"""安全策略 (issue 10, separation of duties): the security admin sets the password, lockout, session and
second-factor rules in the app; what they leave empty follows the server's settings; every change is in
force at the next request and in the change log; no one else may change them, and the floors hold."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from qiangcun.accounts import policy
from qiangcun.accounts.models import Role, SecurityPolicy
from qiangcun.accounts.services import grant_create, password_change, policy_update
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from tests.conftest import PASSWORD, _user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

NUMBERS = {
    "password_min_length": "10",
    "password_min_classes": "4",
    "password_history": "5",
    "password_max_age_days": "30",
    "lockout_failures": "3",
    "lockout_minutes": "30",
    "idle_minutes": "15",
    "session_hours": "8",
}


@pytest.fixture
def security_admin(tree):
    return _user("secadmin", Role.SECURITY_ADMIN, tree.township)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["reauth_at"] = 4102444800  # re-authenticated (far in the future: always fresh)
    session.save()
    return client


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.0.0.2")


def test_without_a_policy_the_settings_rule(settings):
    assert policy.current() == policy.from_settings()
    settings.PASSWORD_MIN_LENGTH = 12
    assert policy.current().password_min_length == 12


def test_the_security_admin_sets_the_policy_and_it_is_in_force_and_recorded(security_admin, personas):
    client = _signed_in(security_admin)
    page = client.get(reverse("security_policy"))
    assert page.status_code == 200
    assert "按服务器设置：8" in page.content.decode()
    answer = client.post(
        reverse("security_policy"),
        {**NUMBERS, "otp_required_roles": ["township_admin", "leader"]},
        REMOTE_ADDR="10.3.3.3",
    )
    assert answer.status_code == 302
    now = policy.current()
    assert (now.password_min_length, now.lockout_failures, now.idle_minutes, now.session_hours) == (
        10,
        3,
        15,
        8,
    )
    assert now.otp_required_roles == ("township_admin", "leader", "system_admin", "security_admin", "auditor")
    rec = ChangeRecord.objects.get(action="policy.update")
    assert (rec.actor, rec.address, rec.ok) == (security_admin, "10.3.3.3", True)
    assert rec.before["password_min_length"] is None and rec.after["password_min_length"] == 10
    # in force: a nine-character password is now too short, for everyone
    clerk = personas["village_clerk"]
    with pytest.raises(ServiceError, match="至少 10 位"):
        password_change(user=clerk, old=PASSWORD, new="Abcdef-12")
    # and the lockout comes after three wrong passwords, not five
    client = Client()
    assert _login(client, clerk.username, "wrong-1").status_code == 200
    assert _login(client, clerk.username, "wrong-2").status_code == 200
    locked = _login(client, clerk.username, "wrong-3")
    assert locked.status_code == 429 and "已被锁定 30 分钟" in locked.content.decode()


def test_an_idle_session_ends_by_the_policy(security_admin, personas):
    policy_update(actor=security_admin, values={"idle_minutes": 10}, otp_roles=None)
    client = Client()
    client.force_login(personas["village_clerk"])
    assert client.get("/").status_code == 200
    session = client.session
    session["seen_at"] -= 11 * 60
    session.save()
    assert client.get("/progress/")["Location"].startswith("/login/?expired=idle")


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("password_min_length", "6", "“密码最短长度”应在 8–64 位之间（填的是 6）"),
        ("password_min_classes", "2", "“密码至少含几类字符”应在 3–4 类之间"),
        ("lockout_failures", "0", "“连续输错几次锁定”应在 3–10 次之间"),
        ("session_hours", "48", "“登录最长小时数”应在 1–24 小时之间"),
        ("idle_minutes", "三十", "“闲置几分钟退出”要填整数"),
        ("lockout_minutes", "-5", "“锁定分钟数”要填整数"),
    ],
)
def test_out_of_range_is_refused_by_name_and_nothing_is_saved(security_admin, field, typed, message):
    client = _signed_in(security_admin)
    page = client.post(reverse("security_policy"), {**NUMBERS, field: typed})
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not SecurityPolicy.objects.exists()
    assert not ChangeRecord.objects.filter(action="policy.update").exists()
    failed = ChangeRecord.objects.get(ok=False)  # the refused write is in the log
    assert message in failed.note


def test_the_three_system_roles_keep_their_second_factor(security_admin):
    with pytest.raises(ServiceError, match="三员）必须使用动态口令"):
        policy_update(actor=security_admin, values={}, otp_roles=["township_admin"])
    # the page cannot leave them out either: their boxes are always sent as checked
    client = _signed_in(security_admin)
    client.post(reverse("security_policy"), {"otp_required_roles": []})
    assert set(policy.current().otp_required_roles) == {"system_admin", "security_admin", "auditor"}


def test_reset_follows_the_settings_again(security_admin, settings):
    policy_update(actor=security_admin, values={"password_min_length": 12}, otp_roles=None)
    assert policy.current().password_min_length == 12
    answer = _signed_in(security_admin).post(reverse("security_policy"), {"reset": "1"})
    assert answer.status_code == 302
    assert policy.current() == policy.from_settings()


@pytest.mark.parametrize("who", ["township_admin", "system_admin", "auditor", "village_clerk", "leader"])
def test_no_one_else_sets_the_policy(personas, who):
    client = _signed_in(personas[who])
    assert client.get(reverse("security_policy")).status_code == 403
    assert client.post(reverse("security_policy"), NUMBERS).status_code == 403
    assert not SecurityPolicy.objects.exists()
    with pytest.raises(PermissionDeniedError):
        policy_update(actor=personas[who], values={"idle_minutes": 10}, otp_roles=None)


def test_saving_asks_for_the_password_again(security_admin):
    client = _signed_in(security_admin)
    session = client.session
    session["reauth_at"] -= 4102444800  # signed in long ago
    session.save()
    asked = client.post(reverse("security_policy"), NUMBERS)
    assert 'name="_reauth_password"' in asked.content.decode()
    assert not SecurityPolicy.objects.exists()
    done = client.post(reverse("security_policy"), {**NUMBERS, "_reauth_password": PASSWORD})
    assert done.status_code == 302
    assert policy.current().password_min_length == 10


def test_the_security_admin_sees_the_page_in_the_menu(security_admin, personas):
    assert "安全策略" in _signed_in(security_admin).get(reverse("roles")).content.decode()
    assert "安全策略" not in _signed_in(personas["system_admin"]).get(reverse("people")).content.decode()
    assert grant_create  # the security admin's other work (roles) is unchanged: tested in test_services


def test_a_role_the_policy_names_must_bind_an_authenticator(security_admin, personas):
    policy_update(
        actor=security_admin,
        values={},
        otp_roles=["leader", "system_admin", "security_admin", "auditor"],
    )
    leader = Client()
    assert _login(leader, personas["leader"].username, PASSWORD)["Location"] == "/"
    assert leader.get("/progress/")["Location"].startswith("/account/security/")
    clerk = Client()
    _login(clerk, personas["village_clerk"].username, PASSWORD)
    assert clerk.get("/progress/").status_code == 200  # not named: as before


def test_the_lockout_ends_when_the_policy_says(security_admin, personas):
    import datetime

    from axes.models import AccessAttempt
    from django.utils import timezone

    policy_update(actor=security_admin, values={"lockout_failures": 3, "lockout_minutes": 5}, otp_roles=None)
    clerk = personas["village_clerk"]
    client = Client()
    for n in range(3):
        _login(client, clerk.username, f"wrong-{n}")
    assert _login(client, clerk.username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=6))
    assert _login(client, clerk.username, PASSWORD).status_code == 302  # 5 minutes, not the default 10
