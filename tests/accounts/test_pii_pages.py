"""Phone numbers are masked on every page but the system admin's people pages (who manages accounts)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import account_update, grant_create, user_create

PHONE = "13912345678"
MASKED = "139****5678"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _with_phone(personas, tree) -> User:
    clerk = personas["village_clerk"]
    account_update(
        actor=personas["system_admin"], user=clerk, display_name="孙会计", phone=PHONE, unit=tree.sunzhuang
    )
    return clerk


def test_the_system_admin_sees_the_whole_number_and_may_search_by_it(tree, personas):
    clerk = _with_phone(personas, tree)
    admin = _client(personas["system_admin"])
    assert PHONE in admin.get(reverse("people")).content.decode()
    assert PHONE in admin.get(reverse("person", args=[clerk.pk])).content.decode()
    assert "孙会计" in admin.get(reverse("people") + f"?q={PHONE[-4:]}").content.decode()


def test_the_security_admin_sees_it_masked_and_cannot_search_by_it(tree, personas):
    clerk = _with_phone(personas, tree)
    security = user_create(actor=None, username="anquan", password=None)
    grant_create(actor=None, user=security, role=Role.SECURITY_ADMIN, unit=tree.township)
    client = _client(security)
    people = client.get(reverse("people")).content.decode()
    person = client.get(reverse("person", args=[clerk.pk])).content.decode()
    for html in (people, person):
        assert PHONE not in html and MASKED in html
    assert "孙会计" not in client.get(reverse("people") + f"?q={PHONE[-4:]}").content.decode()


def test_the_change_log_shows_phone_changes_masked(tree, personas):
    _with_phone(personas, tree)
    html = _client(personas["auditor"]).get(reverse("audit_log")).content.decode()
    assert PHONE not in html
    assert MASKED in html
