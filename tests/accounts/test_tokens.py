"""API tokens: shown once, stored only as a hash, refused when revoked, unknown or of an inactive user."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from qiangcun.accounts.models import ApiToken
from qiangcun.accounts.services import TOKEN_PREFIX, token_authenticate, token_create
from qiangcun.core.audit import ChangeRecord

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def clerk(personas):
    return personas["village_clerk"]


def _all_stored_text() -> str:
    """Every value of every token row and of every change record, as one string."""
    rows = list(ApiToken.objects.values()) + list(ChangeRecord.objects.values())
    return repr(rows)


def test_token_create_returns_the_token_and_stores_only_its_hash(clerk, personas):
    token, raw = token_create(actor=personas["system_admin"], user=clerk, name="对账脚本")
    assert raw.startswith(TOKEN_PREFIX)
    assert len(raw) >= 40
    row = ApiToken.objects.get(pk=token.pk)
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert row.prefix == raw[:10]
    assert row.name == "对账脚本"
    assert row.user_id == clerk.pk
    assert row.revoked_at is None and row.last_used_at is None
    assert raw not in _all_stored_text()
    (rec,) = ChangeRecord.objects.filter(action="apitoken.create")
    assert rec.actor_id == personas["system_admin"].pk
    assert rec.after == {"user": clerk.username, "prefix": raw[:10]}


def test_tokens_differ(clerk):
    raws = {token_create(actor=None, user=clerk)[1] for _ in range(5)}
    assert len(raws) == 5


def test_token_authenticate(clerk, personas):
    _token, raw = token_create(actor=None, user=clerk)
    _other, other_raw = token_create(actor=None, user=personas["station_head"])
    assert token_authenticate(raw) == clerk
    assert token_authenticate(other_raw) == personas["station_head"]
    assert ApiToken.objects.get(user=clerk).last_used_at is not None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # one character off
        lambda raw: raw + "x",
        lambda raw: raw[len(TOKEN_PREFIX) :],  # without the prefix
        lambda raw: raw.upper(),
        lambda raw: "",
        lambda raw: TOKEN_PREFIX,
        lambda raw: hashlib.sha256(raw.encode()).hexdigest(),  # the stored hash is not a token
    ],
)
def test_unknown_tokens_are_refused(clerk, mangle):
    _token, raw = token_create(actor=None, user=clerk)
    assert token_authenticate(mangle(raw)) is None
    assert ApiToken.objects.get(user=clerk).last_used_at is None


def test_revoked_tokens_are_refused(clerk):
    token, raw = token_create(actor=None, user=clerk)
    _keep, keep_raw = token_create(actor=None, user=clerk)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert token_authenticate(raw) is None
    assert token_authenticate(keep_raw) == clerk


def test_inactive_users_tokens_are_refused(clerk):
    _token, raw = token_create(actor=None, user=clerk)
    clerk.is_active = False
    clerk.save()
    assert token_authenticate(raw) is None
    clerk.is_active = True
    clerk.save()
    assert token_authenticate(raw) == clerk


def test_createtoken_command_prints_the_token_once(clerk):
    out, err = StringIO(), StringIO()
    call_command("createtoken", clerk.username, "--name", "导出", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith(TOKEN_PREFIX) and "\n" not in raw
    assert token_authenticate(raw) == clerk
    token = ApiToken.objects.get(user=clerk)
    assert token.name == "导出"
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in err.getvalue()
    assert "只显示这一次" in err.getvalue()


def test_createtoken_command_refuses_unknown_and_inactive_users(clerk):
    with pytest.raises(CommandError):
        call_command("createtoken", "no-such-user", stdout=StringIO(), stderr=StringIO())
    clerk.is_active = False
    clerk.save()
    with pytest.raises(CommandError):
        call_command("createtoken", clerk.username, stdout=StringIO(), stderr=StringIO())
    assert ApiToken.objects.count() == 0
