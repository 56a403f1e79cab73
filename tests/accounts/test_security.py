"""等保 sign-in rules, walked through the pages as people meet them: the password policy, lockout after
wrong passwords (per account and per address, API tokens too), session limits, the second factor, and
re-authentication before sensitive actions."""

from __future__ import annotations

import datetime
import itertools
from binascii import unhexlify

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from qiangcun.accounts.models import PasswordHistory, User
from qiangcun.accounts.services import account_create, password_change, token_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import ServiceError
from qiangcun.ledger.models import Entry
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _code(key_hex: str, offset: int = 0) -> str:
    totp = TOTP(unhexlify(key_hex.encode()), step=30, t0=0, digits=6)
    totp.time = timezone.now().timestamp() + offset
    return f"{totp.token():06d}"


# --- the password policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("Ab1-xyz", "太短：至少 8 位（现在 7 位）"),
        ("abcdefgh12", "至少 3 类（现在只有小写字母、数字）"),
        ("ABCDEFGH", "至少 3 类（现在只有大写字母）"),
        ("Admin@123", "常见密码"),
        ("P@ssw0rd", "常见密码"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_they_break(personas, new, reason):
    clerk = personas["village_clerk"]
    with pytest.raises(ServiceError, match=reason):
        password_change(user=clerk, old=PASSWORD, new=new)
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)


def test_chinese_characters_count_as_symbols(personas):
    clerk = personas["village_clerk"]
    password_change(user=clerk, old=PASSWORD, new="孙庄村good2020")
    clerk.refresh_from_db()
    assert clerk.check_password("孙庄村good2020")


def test_the_last_three_passwords_are_not_used_again(personas):
    clerk = personas["village_clerk"]
    chain = [PASSWORD, "First-pass-1", "Second-pass-2", "Third-pass-3"]
    for old, new in itertools.pairwise(chain):
        password_change(user=clerk, old=old, new=new)
        clerk.refresh_from_db()
    # Now the current one and the two before it are refused; the oldest is allowed again.
    for reused in chain[1:3]:
        with pytest.raises(ServiceError, match="最近 3 次"):
            password_change(user=clerk, old="Third-pass-3", new=reused)
    with pytest.raises(ServiceError, match="不能与原密码"):
        password_change(user=clerk, old="Third-pass-3", new="Third-pass-3")
    assert PasswordHistory.objects.filter(user=clerk).count() == 2
    password_change(user=clerk, old="Third-pass-3", new=PASSWORD)


def test_an_admin_password_older_than_90_days_must_be_changed_first(personas):
    admin = personas["township_admin"]
    User.objects.filter(pk=admin.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=91))
    client = Client()
    client.force_login(admin)
    assert client.get("/progress/")["Location"] == reverse("password_change")
    page = client.get(reverse("password_change")).content.decode()
    assert "每 90 天须更换一次" in page
    api = client.get("/api/v1/units")
    assert api.status_code == 403 and "更换期限" in api.json()["detail"]
    new = "Renewed-pass-91"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert client.get("/progress/").status_code == 200


def test_a_clerk_password_does_not_expire(personas):
    clerk = personas["village_clerk"]
    User.objects.filter(pk=clerk.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=400))
    client = Client()
    client.force_login(clerk)
    assert client.get("/").status_code == 200


# --- lockout ---------------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(personas):
    clerk = personas["village_clerk"]
    client = Client()
    spellings = [
        clerk.username,
        clerk.username.upper(),
        clerk.username,
        clerk.username.title(),
        clerk.username,
    ]
    left = []
    for spelling in spellings[:4]:
        answer = _login(client, spelling, "wrong-password")
        assert answer.status_code == 200
        left.append("再输错" in answer.content.decode() and answer.content.decode().split("再输错 ")[1][0])
    assert left == [False, "3", "2", "1"]
    fifth = _login(client, spellings[4], "wrong-password")
    assert fifth.status_code == 429  # the fifth wrong password locks the account
    answer = _login(client, clerk.username, PASSWORD)
    assert answer.status_code == 429
    assert "已被锁定 10 分钟" in answer.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address the account is still locked: the lock is on the account.
    assert _login(Client(), clerk.username, PASSWORD, address="10.9.9.9").status_code == 429
    failures = ChangeRecord.objects.filter(action="signin.failed", actor=clerk)
    assert failures.count() == 7  # five wrong, then two refused while locked
    assert ChangeRecord.objects.filter(action="signin.locked", actor=clerk).exists()
    assert {r.address for r in failures} == {"10.0.0.1", "10.9.9.9"}
    assert not any(r.ok for r in failures) and all(r.channel == "web" for r in failures)


def test_the_lock_ends_after_ten_minutes(personas):
    clerk = personas["village_clerk"]
    client = Client()
    for _ in range(5):
        _login(client, clerk.username, "wrong-password")
    assert _login(client, clerk.username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=11))
    assert _login(client, clerk.username, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_one_address_guessing_many_accounts_is_locked_out(personas):
    client = Client()
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _login(client, name, "guess", address="10.6.6.6")
    clerk = personas["village_clerk"]
    assert _login(Client(), clerk.username, PASSWORD, address="10.6.6.6").status_code == 429
    assert _login(Client(), clerk.username, PASSWORD, address="10.7.7.7").status_code == 302


def test_four_failures_then_the_right_password_signs_in_and_clears_the_count(personas):
    clerk = personas["village_clerk"]
    client = Client()
    for _ in range(4):
        _login(client, clerk.username, "wrong-password")
    assert _login(client, clerk.username, PASSWORD).status_code == 302
    assert ChangeRecord.objects.filter(action="signin.ok", actor=clerk).count() == 1


def test_bad_api_tokens_lock_the_address_out(personas):
    _token, raw = token_create(actor=personas["township_admin"], user=personas["township_admin"], name="t")
    client = Client()
    answers = [
        client.get("/api/v1/units", HTTP_AUTHORIZATION="Bearer qc_notatoken", REMOTE_ADDR="10.5.5.5")
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    locked = client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="10.5.5.5")
    assert locked.status_code == 429 and "锁定" in locked.json()["detail"]
    elsewhere = client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="10.4.4.4")
    assert elsewhere.status_code == 200


# --- sessions ---------------------------------------------------------------------------------------------------


def _signed_in(user: User) -> Client:
    client = Client()
    assert _login(client, user.username, PASSWORD).status_code == 302
    return client


def _age(client: Client, **seconds_ago: float) -> None:
    session = client.session
    now = timezone.now().timestamp()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_thirty_idle_minutes_end_the_session_on_the_server(personas):
    client = _signed_in(personas["village_clerk"])
    key = client.session.session_key
    _age(client, seen_at=29 * 60)
    assert client.get("/").status_code == 200
    _age(client, seen_at=31 * 60)
    answer = client.get("/progress/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/?expired=idle")
    assert not Session.objects.filter(session_key=key).exists()
    assert "超过 30 分钟没有操作" in client.get(answer["Location"]).content.decode()


def test_twelve_hours_end_the_session_however_busy(personas):
    client = _signed_in(personas["village_clerk"])
    _age(client, auth_at=12 * 3600 + 5, seen_at=5)
    answer = client.get("/")
    assert answer["Location"].startswith("/login/?expired=absolute")
    api = _signed_in(personas["village_clerk"])
    _age(api, auth_at=13 * 3600)
    assert api.get("/api/v1/units").status_code == 401


def test_reading_pages_does_not_write_the_session_on_every_request(personas):
    """A page view writes nothing (on SQLite a write takes the database's one write lock): the session is
    saved at sign-in, and after that only when its "last seen" time is a minute old."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _signed_in(personas["village_clerk"])
    client.get("/")  # the first page after sign-in notes that this sign-in has no step left
    for url in ("/", "/progress/", "/api/v1/progress"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if "django_session" in q["sql"] and "SELECT" not in q["sql"]
        ]
        assert writes == [], url
    _age(client, seen_at=61)
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert any(
        q["sql"].startswith("UPDATE") and "django_session" in q["sql"] for q in queries.captured_queries
    )


def test_signing_out_deletes_the_session_so_its_cookie_is_worthless(personas):
    client = _signed_in(personas["village_clerk"])
    cookie = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=cookie).exists()
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/")["Location"].startswith("/login/")
    assert ChangeRecord.objects.filter(action="signin.out").count() == 1


# --- the second factor --------------------------------------------------------------------------------------------


def _unthrottle() -> None:
    """django-otp makes each wrong code wait longer before the next try (1 s, 2 s, 4 s…); a test that has
    just typed a wrong code plays the wait as over."""
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)


def _bind(client: Client) -> str:
    page = client.get(reverse("otp_setup"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    key = client.session["otp_pending_key"]
    answer = client.post(reverse("otp_setup"), {"otp_token": _code(key)})
    assert answer.status_code == 302
    return key


@pytest.mark.otp_required
def test_an_admin_must_bind_an_authenticator_then_sign_in_with_it(personas):
    admin = personas["township_admin"]
    client = _signed_in(admin)
    assert client.get("/progress/")["Location"] == reverse("otp_setup")
    assert client.get("/api/v1/units").status_code == 403
    assert client.post(reverse("otp_setup"), {"otp_token": "000000"}).status_code == 200
    assert not TOTPDevice.objects.filter(user=admin, confirmed=True).exists()
    _unthrottle()
    key = _bind(client)
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).count() == 1
    assert client.get("/progress/").status_code == 200
    assert ChangeRecord.objects.filter(action="otp.enrol", actor=admin).count() == 1

    # The next sign-in asks for the code before anything opens.
    again = _signed_in(admin)
    assert again.get("/progress/")["Location"] == reverse("otp_verify")
    assert again.get("/api/v1/units").status_code == 403
    wrong = again.post(reverse("otp_verify"), {"otp_token": "123456"})
    assert wrong.status_code == 200 and "动态口令不正确" in wrong.content.decode()
    assert ChangeRecord.objects.filter(action="signin.otp_failed", actor=admin).count() == 1
    _unthrottle()
    right = again.post(reverse("otp_verify"), {"otp_token": _code(key, 30), "next": "/progress/"})
    assert right["Location"] == "/progress/"
    assert again.get("/progress/").status_code == 200


@pytest.mark.otp_required
def test_an_admin_cannot_unbind_the_required_factor(personas):
    admin = personas["township_admin"]
    client = _signed_in(admin)
    _bind(client)
    client.post(reverse("otp_remove"))
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).count() == 1


def test_anyone_may_bind_one_and_removing_it_asks_for_password_and_code(personas):
    clerk = personas["village_clerk"]
    client = _signed_in(clerk)
    assert client.get("/").status_code == 200  # not required for a clerk
    key = _bind(client)
    _age(client, reauth_at=3600)
    asked = client.post(reverse("otp_remove"))
    assert asked.status_code == 200 and "确认是您本人" in asked.content.decode()
    assert TOTPDevice.objects.filter(user=clerk).count() == 1
    refused = client.post(reverse("otp_remove"), {"_reauth_password": PASSWORD, "_reauth_otp": "000000"})
    assert refused.status_code == 403 and TOTPDevice.objects.filter(user=clerk).count() == 1
    _unthrottle()
    done = client.post(reverse("otp_remove"), {"_reauth_password": PASSWORD, "_reauth_otp": _code(key, 30)})
    assert done.status_code == 302 and not TOTPDevice.objects.filter(user=clerk).exists()
    assert ChangeRecord.objects.filter(action="otp.remove", actor=clerk).count() == 1


# --- re-authentication ----------------------------------------------------------------------------------------------


def test_verifying_in_bulk_asks_for_the_password_and_keeps_the_selection(personas, tree, make_entry):
    head = personas["station_head"]
    rows = [make_entry(tree.sunzhuang, status="submitted") for _ in range(2)]
    client = _signed_in(head)
    _age(client, reauth_at=600)
    ids = [str(e.pk) for e in rows]
    asked = client.post(reverse("review"), {"action": "verify", "ids": ids})
    html = asked.content.decode()
    assert asked.status_code == 200 and "确认是您本人" in html
    assert all(f'name="ids" value="{pk}"' in html for pk in ids)
    assert Entry.objects.filter(pk__in=ids, status="submitted").count() == 2
    wrong = client.post(reverse("review"), {"action": "verify", "ids": ids, "_reauth_password": "nope"})
    assert wrong.status_code == 403 and Entry.objects.filter(pk__in=ids, status="submitted").count() == 2
    assert ChangeRecord.objects.filter(action="reauth.failed", actor=head).count() == 1
    done = client.post(reverse("review"), {"action": "verify", "ids": ids, "_reauth_password": PASSWORD})
    assert done.status_code == 302
    assert Entry.objects.filter(pk__in=ids, status="verified").count() == 2
    # Within five minutes of that check, the next bulk verification goes straight through.
    more = [make_entry(tree.sunzhuang, status="submitted") for _ in range(2)]
    client.post(reverse("review"), {"action": "verify", "ids": [str(e.pk) for e in more]})
    assert Entry.objects.filter(pk__in=[e.pk for e in more], status="verified").count() == 2


def test_verifying_one_row_needs_no_second_check(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status="submitted")
    client = _signed_in(personas["station_head"])
    _age(client, reauth_at=3600)
    client.post(reverse("review"), {"action": "verify", "ids": [str(entry.pk)]})
    entry.refresh_from_db()
    assert entry.status == "verified"


def test_granting_a_role_asks_for_the_password_again(personas, tree):
    sysadmin = personas["system_admin"]
    person, _ = account_create(actor=sysadmin, username="newbie", display_name="新人", unit=tree.sunzhuang)
    User.objects.filter(pk=person.pk).update(must_change_password=False)
    client = _signed_in(sysadmin)
    _age(client, reauth_at=600)
    data = {"role": "village_secretary", "unit": tree.sunzhuang.code}
    asked = client.post(reverse("person_grant", args=[person.pk]), data)
    assert asked.status_code == 200 and "确认是您本人" in asked.content.decode()
    assert not person.grants.exists()
    client.post(reverse("person_grant", args=[person.pk]), {**data, "_reauth_password": PASSWORD})
    assert person.grants.filter(role="village_secretary").count() == 1


def test_the_auditor_reads_every_failed_sign_in_and_the_sysadmin_none(personas):
    clerk = personas["village_clerk"]
    _login(Client(), clerk.username, "wrong-password", address="10.3.3.3")
    _login(Client(), "no-such-name", "guess", address="10.3.3.4")
    auditor = Client()
    auditor.force_login(personas["auditor"])
    page = auditor.get("/audit/?action=signin.failed").content.decode()
    assert "10.3.3.3" in page and "10.3.3.4" in page and "no-such-name" in page
    sysadmin = Client()
    sysadmin.force_login(personas["system_admin"])
    assert sysadmin.get("/audit/").status_code == 403


def test_the_system_admin_resets_a_lost_authenticator(personas, tree):
    sysadmin = personas["system_admin"]
    person, _ = account_create(
        actor=sysadmin, username="lostphone", display_name="丢手机", unit=tree.sunzhuang
    )
    TOTPDevice.objects.create(user=person, name="手机验证器", confirmed=True)
    client = _signed_in(sysadmin)
    page = client.get(reverse("person", args=[person.pk])).content.decode()
    assert "重置双因素认证" in page
    client.post(reverse("person_otp_reset", args=[person.pk]))
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert (
        ChangeRecord.objects.filter(action="otp.reset", actor=sysadmin, object_pk=str(person.pk)).count() == 1
    )


def test_there_is_no_superuser_to_create():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="不设超级用户"):
        call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@example.org")
    assert not User.objects.filter(is_superuser=True).exists()


def test_behind_the_proxy_a_forged_forwarded_address_does_not_dodge_the_lock(personas, settings):
    settings.QIANGCUN_TRUSTED_PROXY = True
    client = Client()
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": f"guess{n}", "password": "x"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"10.1.1.{n}, 203.0.113.7",  # the first part is the client's own claim
        )
    clerk = personas["village_clerk"]
    locked = Client().post(
        reverse("login"),
        {"username": clerk.username, "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7",
    )
    assert locked.status_code == 429
    other = Client().post(
        reverse("login"),
        {"username": clerk.username, "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302
    assert ChangeRecord.objects.filter(action="signin.failed", address="203.0.113.7").count() == 6
