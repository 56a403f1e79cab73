"""Accounts made, changed and ended by the admins: one-time passwords, roles and who may grant them."""

from __future__ import annotations

import pytest

from qiangcun.accounts import selectors
from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.accounts.services import (
    account_create,
    account_disable,
    account_enable,
    account_update,
    grant_create,
    grant_withdraw,
    one_time_password,
    password_change,
    password_reset,
    token_authenticate,
    token_create,
    user_create,
)
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.scope import Action
from qiangcun.orgs.models import Level
from qiangcun.orgs.services import unit_create

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.mark.django_db  # the rules in force are read from the security policy
def test_one_time_passwords_are_readable_random_and_pass_the_rules():
    from django.contrib.auth import password_validation

    seen = {one_time_password() for _ in range(200)}
    assert len(seen) == 200
    for password in list(seen)[:20]:
        assert len(password) == 14 and password.count("-") == 2
        assert not set(password) & set("0O1lI")
        password_validation.validate_password(password)


def test_account_create_gives_a_one_time_password_that_must_be_changed(tree, personas):
    sysadmin = personas["system_admin"]
    user, password = account_create(
        actor=sysadmin, username="zhangsan", display_name="张三", phone="138 0000 1234", unit=tree.sunzhuang
    )
    user.refresh_from_db()
    assert user.check_password(password)
    assert user.must_change_password and user.phone == "13800001234" and user.unit == tree.sunzhuang
    assert user.scope_paths(Action.VIEW) == ()  # nothing before the password is changed
    rec = ChangeRecord.objects.get(action="user.create", object_pk=str(user.pk))
    assert rec.actor == sysadmin and rec.unit_path == tree.sunzhuang.path
    assert password not in str(rec.after)  # the password is never logged


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"username": ""}, "username", "账号不能为空"),
        ({"username": "has space"}, "username", "不能有空格"),
        (
            {"username": "ADMIN"},
            "username",
            "已被使用",
        ),  # the township admin is "admin": case does not matter
        ({"username": "x" * 33}, "username", "最长 32"),
        ({"display_name": "  "}, "display_name", "姓名不能为空"),
        ({"display_name": "张\x00三"}, "display_name", "控制字符"),
        ({"phone": "12345"}, "phone", "11 位"),
        ({"phone": "23800001234"}, "phone", "以 1 开头"),
    ],
)
def test_account_create_refuses_bad_input_by_field(tree, personas, kwargs, field, words):
    data = {"username": "lisi", "display_name": "李四", "phone": "", "unit": tree.sunzhuang} | kwargs
    before = User.objects.count()
    with pytest.raises(ServiceError) as exc:
        account_create(actor=personas["system_admin"], **data)
    assert exc.value.field == field and words in exc.value.message
    assert User.objects.count() == before


def test_only_the_system_admin_makes_accounts_and_only_under_their_units(tree, personas, other_township):
    for persona in ("township_admin", "auditor", "station_head", "village_clerk"):
        with pytest.raises(PermissionDeniedError):
            account_create(
                actor=personas[persona], username=f"x-{persona}", display_name="某人", unit=tree.sunzhuang
            )
    with pytest.raises(PermissionDeniedError):
        account_create(
            actor=personas["system_admin"], username="far", display_name="外镇人", unit=other_township.village
        )


def test_manage_only_people_of_ones_own_units(tree, personas, other_township):
    sysadmin = personas["system_admin"]
    managed = set(selectors.manageable_users(sysadmin).values_list("username", flat=True))
    assert {"clerk", "station", "admin", "auditor"} <= managed
    assert other_township.clerk.username not in managed
    for act in (account_disable, password_reset):
        with pytest.raises(PermissionDeniedError):
            act(actor=sysadmin, user=other_township.clerk)
        with pytest.raises(PermissionDeniedError, match="自己"):
            act(actor=sysadmin, user=sysadmin)
    other_township.clerk.refresh_from_db()
    assert other_township.clerk.is_active


def test_disable_ends_sign_in_and_tokens_and_enable_restores(tree, personas):
    sysadmin, clerk = personas["system_admin"], personas["village_clerk"]
    _, raw = token_create(actor=None, user=clerk)
    assert token_authenticate(raw) == clerk
    account_disable(actor=sysadmin, user=clerk)
    clerk.refresh_from_db()
    assert not clerk.is_active and clerk.scope_paths(Action.VIEW) == ()
    assert token_authenticate(raw) is None
    account_enable(actor=sysadmin, user=clerk)
    clerk.refresh_from_db()
    assert clerk.is_active and clerk.can(Action.ENTER, tree.sunzhuang)
    assert token_authenticate(raw) is None  # a revoked token stays revoked
    actions = list(
        ChangeRecord.objects.filter(object_pk=str(clerk.pk), model="accounts.user").values_list(
            "action", flat=True
        )
    )
    assert "user.disable" in actions and "user.enable" in actions


def test_reset_then_change_password(tree, personas):
    sysadmin, clerk = personas["system_admin"], personas["village_clerk"]
    otp = password_reset(actor=sysadmin, user=clerk)
    clerk.refresh_from_db()
    assert clerk.must_change_password and clerk.check_password(otp)
    assert clerk.scope_paths(Action.ENTER) == ()
    with pytest.raises(ServiceError, match="原密码不正确"):
        password_change(user=clerk, old="wrong", new="Quite-new-2020")
    with pytest.raises(ServiceError, match="不能与原密码"):
        password_change(user=clerk, old=otp, new=otp)
    with pytest.raises(ServiceError, match="太短：至少 8 位"):
        password_change(user=clerk, old=otp, new="short1")
    with pytest.raises(ServiceError, match="只包含数字"):
        password_change(user=clerk, old=otp, new="73925816402")
    clerk.refresh_from_db()
    assert clerk.must_change_password and clerk.check_password(otp)
    password_change(user=clerk, old=otp, new="Quite-new-2020")
    clerk.refresh_from_db()
    assert not clerk.must_change_password and clerk.check_password("Quite-new-2020")
    assert clerk.can(Action.ENTER, tree.sunzhuang)
    rec = ChangeRecord.objects.get(action="user.password_change", object_pk=str(clerk.pk))
    assert rec.actor == clerk and rec.before == {"must_change_password": True}


def test_grants_follow_the_rules(tree, personas):
    sysadmin = personas["system_admin"]
    person, _ = account_create(actor=sysadmin, username="wangwu", display_name="王五", unit=tree.sunzhuang)
    grant = grant_create(actor=sysadmin, user=person, role=Role.VILLAGE_CLERK, unit=tree.sunzhuang)
    rec = ChangeRecord.objects.get(action="rolegrant.create", object_pk=str(grant.pk))
    assert rec.actor == sysadmin and rec.unit_path == tree.sunzhuang.path
    # The role must fit the unit's level.
    with pytest.raises(ServiceError, match="网格站长只能授予在网格站上"):
        grant_create(actor=sysadmin, user=person, role=Role.STATION_HEAD, unit=tree.sunzhuang)
    # Nobody grants themselves a role.
    with pytest.raises(PermissionDeniedError, match="自己"):
        grant_create(actor=sysadmin, user=sysadmin, role=Role.LEADER, unit=tree.township)
    # 三员: a system role is held alone.
    with pytest.raises(ServiceError, match="三员分立"):
        grant_create(actor=sysadmin, user=person, role=Role.AUDITOR, unit=tree.township)
    with pytest.raises(ServiceError, match="三员分立"):
        grant_create(actor=sysadmin, user=personas["auditor"], role=Role.LEADER, unit=tree.township)
    # Only those who grant roles grant them.
    with pytest.raises(PermissionDeniedError):
        grant_create(
            actor=personas["township_admin"], user=person, role=Role.VILLAGE_SECRETARY, unit=tree.sunzhuang
        )
    assert list(RoleGrant.objects.filter(user=person).values_list("role", flat=True)) == [Role.VILLAGE_CLERK]


def test_grant_outside_scope_is_refused(tree, personas, other_township):
    with pytest.raises(PermissionDeniedError):
        grant_create(
            actor=personas["system_admin"],
            user=personas["no_role"],
            role=Role.VILLAGE_CLERK,
            unit=other_township.village,
        )


def test_withdraw(tree, personas):
    sysadmin, clerk = personas["system_admin"], personas["village_clerk"]
    grant = RoleGrant.objects.get(user=clerk)
    with pytest.raises(PermissionDeniedError, match="自己"):
        grant_withdraw(actor=sysadmin, grant=RoleGrant.objects.get(user=sysadmin))
    grant_withdraw(actor=sysadmin, grant=grant)
    clerk.refresh_from_db()
    assert not clerk.can(Action.ENTER, tree.sunzhuang)
    rec = ChangeRecord.objects.get(action="rolegrant.delete")
    assert rec.before == {"user": "clerk", "role": "village_clerk", "unit": tree.sunzhuang.code}


def test_a_security_admin_takes_role_granting_from_the_system_admin(tree, personas):
    sysadmin = personas["system_admin"]
    security = user_create(actor=None, username="anquan", password=None, display_name="安全员")
    grant_create(actor=None, user=security, role=Role.SECURITY_ADMIN, unit=tree.township)
    person, _ = account_create(actor=sysadmin, username="zhaoliu", display_name="赵六", unit=tree.liudao)
    with pytest.raises(PermissionDeniedError, match="安全管理员"):
        grant_create(actor=sysadmin, user=person, role=Role.VILLAGE_CLERK, unit=tree.liudao)
    with pytest.raises(PermissionDeniedError, match="安全管理员"):
        grant_withdraw(actor=sysadmin, grant=RoleGrant.objects.get(user=personas["village_clerk"]))
    assert not selectors.grant_units(sysadmin).exists()
    assert set(selectors.grant_units(security)) == set(tree.township.__class__.objects.under(tree.township))
    grant_create(actor=security, user=person, role=Role.VILLAGE_CLERK, unit=tree.liudao)
    # The security admin manages no accounts (the system admin does).
    with pytest.raises(PermissionDeniedError):
        account_create(actor=security, username="x1", display_name="某人", unit=tree.liudao)
    # The system admin cannot take the job back: the security admin's account is not theirs to disable,
    # reset or edit (三员); a county system admin, above them, may.
    for act in (account_disable, password_reset):
        with pytest.raises(PermissionDeniedError, match="三员的账号只能由上级"):
            act(actor=sysadmin, user=security)
    with pytest.raises(PermissionDeniedError, match="三员"):
        account_update(actor=sysadmin, user=security, display_name="改名", phone="", unit=tree.township)
    security.refresh_from_db()
    assert security.is_active and not security.must_change_password
    county = user_create(actor=None, username="county-sys", password=None)
    grant_create(actor=None, user=county, role=Role.SYSTEM_ADMIN, unit=tree.county)
    account_disable(actor=county, user=security)
    grant_create(actor=sysadmin, user=person, role=Role.VILLAGE_SECRETARY, unit=tree.liudao)


def test_no_system_admin_takes_over_the_auditor_or_a_peer(tree, personas):
    sysadmin = personas["system_admin"]
    peer = user_create(actor=None, username="sys2", password=None)
    grant_create(actor=None, user=peer, role=Role.SYSTEM_ADMIN, unit=tree.township)
    for target in (personas["auditor"], peer):
        for act in (account_disable, password_reset):
            with pytest.raises(PermissionDeniedError, match="三员"):
                act(actor=sysadmin, user=target)
        with pytest.raises(PermissionDeniedError, match="三员之一"):
            grant_withdraw(actor=sysadmin, grant=RoleGrant.objects.get(user=target))
    # An ordinary account stays theirs.
    assert password_reset(actor=sysadmin, user=personas["leader"])


def test_usernames_are_stored_as_the_login_form_reads_them(tree, personas, client):
    user, password = account_create(
        actor=personas["system_admin"], username="ｚｈａｎｇｗｅｉ", display_name="张伟", unit=tree.sunzhuang
    )
    assert user.username == "zhangwei"
    with pytest.raises(ServiceError, match="已被使用"):
        account_create(
            actor=personas["system_admin"], username="ZhangWei", display_name="张伟", unit=tree.sunzhuang
        )
    # Sign-in ignores case and width, as uniqueness does.
    for typed in ("zhangwei", "ZHANGWEI", "ｚｈａｎｇｗｅｉ"):
        assert client.login(username=typed, password=password), typed
        client.logout()
    assert not client.login(username="zhangwei", password="wrong-password-1")


def test_update_keeps_username_and_records(tree, personas):
    sysadmin, clerk = personas["system_admin"], personas["village_clerk"]
    account_update(
        actor=sysadmin, user=clerk, display_name="孙会计", phone="13912345678", unit=tree.sunzhuang
    )
    clerk.refresh_from_db()
    assert (clerk.username, clerk.display_name, clerk.phone) == ("clerk", "孙会计", "13912345678")
    rec = ChangeRecord.objects.get(action="user.update")
    assert rec.before["display_name"] == "clerk" and rec.after["display_name"] == "孙会计"


def test_first_grant_gives_an_account_its_unit(tree):
    user = user_create(actor=None, username="later", password=None)
    assert user.unit is None
    grant_create(actor=None, user=user, role=Role.STATION_HEAD, unit=tree.station2)
    user.refresh_from_db()
    assert user.unit == tree.station2
    grant_create(actor=None, user=user, role=Role.STATION_HEAD, unit=tree.station1)
    user.refresh_from_db()
    assert user.unit == tree.station2


def test_county_may_hold_township_roles(tree, personas):
    county_admin = user_create(actor=None, username="county-sys", password=None)
    grant_create(actor=None, user=county_admin, role=Role.SYSTEM_ADMIN, unit=tree.county)
    township2 = unit_create(actor=None, level=Level.TOWNSHIP, name="第二镇", code="T2", parent=tree.county)
    person, _ = account_create(
        actor=county_admin, username="t2-admin", display_name="二镇党建办", unit=township2
    )
    grant_create(actor=county_admin, user=person, role=Role.TOWNSHIP_ADMIN, unit=township2)
    assert person.can(Action.MANAGE_TARGETS, township2) is False  # must change the one-time password first
    User.objects.filter(pk=person.pk).update(must_change_password=False)
    person.refresh_from_db()
    assert person.can(Action.MANAGE_TARGETS, township2) and not person.can(Action.VIEW, tree.township)
