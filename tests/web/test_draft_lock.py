"""Two people on one row (等保: concurrent edits): the second save of a draft loaded before the first
save is refused with who and when, nothing of it is saved; a review, submit or API call on a row
changed since it was shown is refused the same way."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from qiangcun.core.audit import ChangeRecord
from qiangcun.ledger.models import Entry, Status
from qiangcun.ledger.services import StaleEntryError, entry_return, entry_submit, entry_update

from .conftest import clerk_of, edit_form

VERSION = re.compile(r'name="version" value="(\d+)"')


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _shown_version(client: Client, entry: Entry) -> int:
    page = client.get(reverse("entry_edit", args=[entry.pk])).content.decode()
    found = VERSION.search(page)
    assert found, "the edit form carries the version it was loaded from"
    return int(found.group(1))


def _form(entry: Entry, version: int, **extra):
    data = edit_form(entry, **extra)
    data["version"] = version
    return data


def test_the_second_of_two_saves_of_one_draft_is_refused_and_the_first_stays(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00")
    first, second = _client(personas["village_clerk"]), _client(personas["village_secretary"])
    seen_first, seen_second = _shown_version(first, entry), _shown_version(second, entry)
    assert seen_first == seen_second == 1

    saved = first.post(reverse("entry_edit", args=[entry.pk]), _form(entry, seen_first, amount="1100.00"))
    assert saved.status_code == 302
    refused = second.post(
        reverse("entry_edit", args=[entry.pk]),
        _form(entry, seen_second, amount="9999.00", summary="乙的摘要"),
    )
    assert refused.status_code == 200
    error = refused.context["form"].non_field_errors()[0]
    assert error.startswith("这条记录（孙庄村 2020-03-05 1,100.00 元）已被 clerk 在 ")
    assert error.endswith("修改过，您的修改没有保存。请刷新后重新填写。")
    assert re.search(r"在 (\d{4}-\d{2}-\d{2} )?\d{2}:\d{2} 修改过", error)
    assert error in refused.content.decode()  # on the page, with the second person's values still typed
    assert 'value="9999.00"' in refused.content.decode()

    entry.refresh_from_db()
    assert (entry.amount, entry.summary, entry.version) == (Decimal("1100.00"), "三月土地流转承包费", 2)
    updates = ChangeRecord.objects.filter(action="ledger.update", object_pk=str(entry.pk))
    assert [r.actor for r in updates] == [personas["village_clerk"]]

    # Reloaded, the second person's form carries the new version and saves.
    again = _shown_version(second, entry)
    assert again == 2
    assert (
        second.post(reverse("entry_edit", args=[entry.pk]), _form(entry, again, amount="9999.00")).status_code
        == 302
    )
    entry.refresh_from_db()
    assert (entry.amount, entry.version) == (Decimal("9999.00"), 3)


def test_a_save_submitted_by_someone_else_meanwhile_is_refused_naming_the_state(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00")
    editor = _client(personas["village_clerk"])
    seen = _shown_version(editor, entry)
    entry_submit(actor=personas["village_secretary"], entry=entry)
    refused = editor.post(reverse("entry_edit", args=[entry.pk]), _form(entry, seen, amount="1.00"))
    assert refused.status_code == 200
    assert "已被 secretary 在" in refused.context["form"].non_field_errors()[0]
    assert "现为“待审核”" in refused.context["form"].non_field_errors()[0]
    entry.refresh_from_db()
    assert (entry.status, entry.amount) == (Status.SUBMITTED, Decimal("1000.00"))


def test_an_edit_form_without_its_version_saves_nothing(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00")
    data = edit_form(entry, amount="1.00")
    del data["version"]
    response = _client(personas["village_clerk"]).post(reverse("entry_edit", args=[entry.pk]), data)
    assert response.status_code == 200
    assert "页面已过期" in response.context["form"].non_field_errors()[0]
    entry.refresh_from_db()
    assert (entry.amount, entry.version) == (Decimal("1000.00"), 1)


def test_every_service_write_bumps_the_version(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00")
    assert entry.version == 1
    clerk = clerk_of(tree.sunzhuang)
    entry = entry_update(
        actor=clerk,
        entry=entry,
        date=entry.date,
        amount=Decimal("2.00"),
        category=entry.category,
        path=entry.path,
        summary="改",
        expected_version=1,
    )
    assert entry.version == 2
    entry = entry_submit(actor=clerk, entry=entry, expected_version=2)
    assert entry.version == 3
    (entry,) = entry_return(actor=personas["station_head"], entries=[entry], reason="缺少收入凭证")
    assert entry.version == 4
    entry.refresh_from_db()
    assert entry.version == 4
    with pytest.raises(StaleEntryError) as refused:
        entry_submit(actor=clerk, entry=entry, expected_version=3)
    assert refused.value.message.endswith("没有提交。请刷新后核对再提交。")
    entry.refresh_from_db()
    assert (entry.status, entry.version) == (Status.RETURNED, 4)


def _review_version(client: Client, entry: Entry) -> str:
    page = client.get(reverse("review")).content.decode()
    found = re.search(rf'name="v{entry.pk}" value="(\d+)"', page)
    assert found, "the review page carries each row's version"
    return found.group(1)


def test_verifying_a_row_changed_since_the_review_page_was_loaded_is_refused(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00", status="submitted")
    reviewer = _client(personas["station_head"])
    shown = _review_version(reviewer, entry)
    # Meanwhile another reviewer returns it, the village raises the amount and submits it again.
    (entry,) = entry_return(actor=personas["township_admin"], entries=[entry], reason="金额与凭证不符")
    clerk = clerk_of(tree.sunzhuang)
    entry = entry_update(
        actor=clerk,
        entry=entry,
        date=entry.date,
        amount=Decimal("50000.00"),
        category=entry.category,
        path=entry.path,
        summary=entry.summary,
    )
    entry_submit(actor=clerk, entry=entry)
    response = reviewer.post(
        reverse("review"), {"ids": [entry.pk], f"v{entry.pk}": shown, "action": "verify"}, follow=True
    )
    text = [str(m) for m in response.context["messages"]]
    assert any("50,000.00 元）已被" in m and "所选记录都没有审核。请刷新后核对再审核。" in m for m in text), (
        text
    )
    entry.refresh_from_db()
    assert entry.status == Status.SUBMITTED and entry.reviewed_by != personas["station_head"]

    # Shown again (the page now carries the new version), it is verified.
    fresh = _review_version(reviewer, entry)
    reviewer.post(reverse("review"), {"ids": [entry.pk], f"v{entry.pk}": fresh, "action": "verify"})
    entry.refresh_from_db()
    assert entry.status == Status.VERIFIED


def test_the_api_gives_the_version_and_answers_409_to_a_stale_one(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00", status="submitted")
    client.force_login(personas["station_head"])
    seen = client.get(f"/api/v1/ledger/{entry.pk}").json()["version"]
    entry_return(actor=personas["township_admin"], entries=[entry], reason="缺少收入凭证")
    entry_submit(actor=clerk_of(tree.sunzhuang), entry=entry)

    stale = client.post(f"/api/v1/ledger/{entry.pk}/verify?version={seen}")
    assert stale.status_code == 409
    assert stale.json()["field"] == "version" and "已被" in stale.json()["detail"]
    entry.refresh_from_db()
    assert entry.status == Status.SUBMITTED

    now = client.get(f"/api/v1/ledger/{entry.pk}").json()["version"]
    assert now == seen + 2
    done = client.post(f"/api/v1/ledger/{entry.pk}/verify?version={now}")
    assert (done.status_code, done.json()["status"], done.json()["version"]) == (200, "verified", now + 1)
