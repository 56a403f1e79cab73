"""The account pages as the system admin uses them, and the one-time password as its holder meets it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.accounts.services import grant_create, password_reset, user_create
from qiangcun.orgs.models import OrgUnit

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _otp(html: str) -> str:
    found = re.search(r'class="otp-password">([a-z0-9-]+)<', html)
    assert found, "the page shows the one-time password"
    return found.group(1)


def test_create_an_account_see_the_password_once_grant_a_role(tree, personas):
    admin = _client(personas["system_admin"])
    page = admin.get(reverse("person_new"))
    assert page.status_code == 200 and "孙庄村（行政村）" in page.content.decode()
    answer = admin.post(
        reverse("person_new"),
        {"display_name": "孙小红", "phone": "13800001111", "username": "sunxh", "unit": tree.sunzhuang.code},
    )
    html = answer.content.decode()
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    password = _otp(html)
    person = User.objects.get(username="sunxh")
    assert person.check_password(password) and person.must_change_password
    # The password is nowhere to be read again.
    assert password not in admin.get(reverse("person", args=[person.pk])).content.decode()
    assert password not in admin.get(reverse("people")).content.decode()
    # Grant a role on the person's page.
    done = admin.post(
        reverse("person_grant", args=[person.pk]), {"role": Role.VILLAGE_CLERK, "unit": tree.sunzhuang.code}
    )
    assert done.status_code == 302
    assert list(RoleGrant.objects.filter(user=person).values_list("role", "unit")) == [
        (Role.VILLAGE_CLERK, tree.sunzhuang.pk)
    ]
    # A role on the wrong level is refused, in Chinese, and nothing is granted.
    refused = admin.post(
        reverse("person_grant", args=[person.pk]),
        {"role": Role.STATION_HEAD, "unit": tree.sunzhuang.code},
        follow=True,
    )
    assert "网格站长只能授予在网格站上" in refused.content.decode()
    assert RoleGrant.objects.filter(user=person).count() == 1


def test_form_errors_name_the_field(tree, personas):
    admin = _client(personas["system_admin"])
    answer = admin.post(
        reverse("person_new"),
        {"display_name": "重名", "phone": "123", "username": "clerk", "unit": tree.sunzhuang.code},
    )
    html = answer.content.decode()
    assert answer.status_code == 200 and "账号 clerk 已被使用" in html
    answer = admin.post(
        reverse("person_new"),
        {"display_name": "某人", "phone": "123", "username": "someone", "unit": tree.sunzhuang.code},
    )
    assert "手机号应为 11 位数字" in answer.content.decode()
    answer = admin.post(
        reverse("person_new"),
        {"display_name": "某人", "phone": "", "username": "someone", "unit": "NOT-A-UNIT"},
    )
    assert "选择一个有效的选项" in answer.content.decode()  # a unit not offered is not taken
    assert not User.objects.filter(username="someone").exists()


def test_people_page_lists_who_has_no_role(tree, personas, other_township):
    admin = _client(personas["system_admin"])
    user_create(actor=None, username="norole-here", password=None, display_name="待分配", unit=tree.township)
    html = admin.get(reverse("people") + "?status=norole").content.decode()
    assert "待分配" in html and "孙庄村 · 村报账员" not in html
    html = admin.get(reverse("people")).content.decode()
    assert "孙庄村 · 村报账员" in html and other_township.clerk.username not in html
    roles = admin.get(reverse("roles")).content.decode()
    assert "尚无角色（1 人）" in roles and "待分配" in roles
    assert "村报账员（2）" in roles  # 孙庄村 and 编席杨村
    # A person of another township is not found at all.
    assert admin.get(reverse("person", args=[other_township.clerk.pk])).status_code == 404


def test_disable_and_reset_from_the_person_page(tree, personas, client):
    admin = _client(personas["system_admin"])
    clerk = personas["village_clerk"]
    assert admin.post(reverse("person_disable", args=[clerk.pk])).status_code == 302
    clerk.refresh_from_db()
    assert not clerk.is_active
    from tests.conftest import PASSWORD

    assert not client.login(username="clerk", password=PASSWORD)
    admin.post(reverse("person_enable", args=[clerk.pk]))
    answer = admin.post(reverse("person_reset", args=[clerk.pk]))
    password = _otp(answer.content.decode())
    assert client.login(username="clerk", password=password)


def test_one_time_password_holder_must_change_it_first(tree, personas):
    clerk = personas["village_clerk"]
    password = password_reset(actor=personas["system_admin"], user=clerk)
    client = Client()
    assert client.login(username="clerk", password=password)
    for url in (
        "/",
        reverse("progress"),
        reverse("entry_new"),
        reverse("village", args=[tree.sunzhuang.code]),
    ):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"] == reverse("password_change"), url
    api = client.get("/api/v1/units")
    assert api.status_code == 403 and "一次性密码" in api.json()["detail"]
    page = client.get(reverse("password_change")).content.decode()
    assert "一次性密码" in page and "至少 8 位" in page
    same = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": password, "new_password2": password},
    )
    assert "不能与原密码" in same.content.decode()
    mismatch = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "Brand-new-2020", "new_password2": "Brand-new-2021"},
    )
    assert "两次输入的新密码不一样" in mismatch.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "Brand-new-2020", "new_password2": "Brand-new-2020"},
    )
    assert done.status_code == 302
    assert client.get(reverse("progress")).status_code == 200  # still signed in, now free


def test_home_sends_each_admin_to_their_page(tree, personas):
    assert _client(personas["system_admin"]).get("/")["Location"] == reverse("people")
    security = user_create(actor=None, username="anquan", password=None)
    grant_create(actor=None, user=security, role=Role.SECURITY_ADMIN, unit=tree.township)
    assert _client(security).get("/")["Location"] == reverse("people")
    assert _client(security).get(reverse("roles")).status_code == 200
    assert _client(security).get(reverse("person_new")).status_code == 403


def test_system_admin_reads_no_ledger(tree, personas, make_entry):
    admin = _client(personas["system_admin"])
    entry = make_entry(tree.sunzhuang, status="verified")
    for url in (
        reverse("progress"),
        reverse("village", args=[tree.sunzhuang.code]),
        reverse("ledger_export") + f"?village={tree.sunzhuang.code}",
        reverse("review"),
    ):
        assert admin.get(url).status_code == 403, url
    listed = admin.get("/api/v1/ledger").json()
    assert listed["count"] == 0 and admin.get(f"/api/v1/ledger/{entry.pk}").status_code == 404


@pytest.mark.django_db
def test_empty_database_says_what_to_run(client):
    assert not OrgUnit.objects.exists()
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200 and "qiangcun init --township" in html
    assert "看看怎样开始" in client.get(reverse("login")).content.decode()


def test_the_audit_log_names_whose_password_was_reset(tree, personas):
    password_reset(actor=personas["system_admin"], user=personas["village_clerk"])
    html = (
        _client(personas["auditor"])
        .get(reverse("audit_log") + "?action=user.password_reset")
        .content.decode()
    )
    assert "重置密码" in html and "用户 clerk" in html


def test_password_page_keeps_passwords_out_of_error_reports(tree, personas):
    client = _client(personas["village_clerk"])
    answer = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "Brand-new-2020", "new_password2": "Brand-new-2020"},
    )
    assert set(answer.wsgi_request.sensitive_post_parameters) == {
        "old_password",
        "new_password1",
        "new_password2",
    }
    html = answer.content.decode()
    assert "原密码不正确" in html
    assert "一次性密码" not in html  # only a holder of one is told about it


def test_withdraw_buttons_only_where_the_withdrawal_would_go_through(tree, personas):
    html = _client(personas["system_admin"]).get(reverse("roles")).content.decode()
    for grant in RoleGrant.objects.select_related("user"):
        button = f'action="{reverse("grant_withdraw", args=[grant.pk])}"'
        shown = button in html
        expected = grant.role not in ("system_admin", "security_admin", "auditor")
        assert shown == expected, (grant.user.username, grant.role)


def test_roles_page_asks_the_database_a_fixed_number_of_times(tree, personas, django_assert_max_num_queries):
    admin = _client(personas["system_admin"])
    admin.get(reverse("roles"))  # sessions and caches warm
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert admin.get(reverse("roles")).status_code == 200
    for n in range(30):
        person = user_create(actor=None, username=f"more-{n}", password=None)
        grant_create(actor=None, user=person, role=Role.VILLAGE_CLERK, unit=tree.liudao)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "村报账员（32）" in admin.get(reverse("roles")).content.decode()
