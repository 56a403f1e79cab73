"""Scope on pages and the API: another village's rows are invisible (404) and untouched; a unit outside the
caller's scope is refused (403); lists hold only the caller's rows. Verified rows are frozen on every
path, and a return needs a reason."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from qiangcun.ledger.models import Entry, Status
from qiangcun.ledger.services import entry_return

from .conftest import api_entry, entry_form, entry_state


def _login(client, user):
    client.force_login(user)
    return client


# --- pages ----------------------------------------------------------------------------------------------


def test_village_page_of_another_village_is_404(client, personas, tree, make_entry):
    make_entry(tree.bianxiyang, status="verified")
    _login(client, personas["village_clerk"])
    assert client.get(reverse("village", args=[tree.bianxiyang.code]) + "?year=2020").status_code == 404
    own = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020")
    assert own.status_code == 200
    assert "孙庄村" in own.content.decode()
    # A station head sees the station's villages, not the other station's.
    _login(client, personas["station_head"])
    assert client.get(reverse("village", args=[tree.bianxiyang.code])).status_code == 404
    assert client.get(reverse("village", args=[tree.yanglaotou.code])).status_code == 200


def test_village_page_lists_only_that_village(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, amount="1111.11", status="verified")
    make_entry(tree.liudao, amount="2222.22", status="verified")
    _login(client, personas["station_head"])
    body = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020").content.decode()
    assert "1,111.11" in body
    assert "2,222.22" not in body


@pytest.mark.parametrize("status", ["draft", "returned"])
def test_page_writes_to_another_villages_entry_are_404_and_change_nothing(
    client, personas, tree, make_entry, status
):
    entry = make_entry(tree.bianxiyang, status="draft" if status == "draft" else "submitted")
    if status == "returned":
        entry = entry_return(actor=personas["township_admin"], entries=[entry], reason="缺少收入凭证")[0]
    before = entry_state(entry.pk)
    _login(client, personas["village_clerk"])
    assert client.get(reverse("entry_edit", args=[entry.pk])).status_code == 404
    form = entry_form(tree.bianxiyang, amount="99999.99")
    assert client.post(reverse("entry_edit", args=[entry.pk]), form).status_code == 404
    assert client.post(reverse("entry_edit", args=[entry.pk]), {**form, "submit": "1"}).status_code == 404
    assert client.post(reverse("entry_submit", args=[entry.pk])).status_code == 404
    assert client.post(reverse("entry_delete", args=[entry.pk])).status_code == 404
    assert entry_state(entry.pk) == before


def test_page_new_entry_for_another_village_is_404(client, personas, tree):
    _login(client, personas["village_clerk"])
    assert client.get(reverse("entry_new") + f"?village={tree.bianxiyang.code}").status_code == 404
    response = client.post(reverse("entry_new"), entry_form(tree.bianxiyang))
    assert response.status_code == 404
    assert not Entry.objects.filter(village=tree.bianxiyang).exists()


def test_page_reverse_outside_scope_is_404(client, personas, tree, make_entry):
    entry = make_entry(tree.bianxiyang, status="verified")
    before = entry_state(entry.pk)
    for persona in ("village_clerk", "station_head", "district_secretary"):
        _login(client, personas[persona])
        response = client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "录错了"})
        assert response.status_code == 404, persona
    assert entry_state(entry.pk) == before


def test_evidence_of_another_village_is_404(client, personas, tree, make_evidence):
    evidence = make_evidence(tree.bianxiyang)
    _login(client, personas["village_clerk"])
    assert client.get(reverse("evidence_file", args=[evidence.pk])).status_code == 404
    _login(client, personas["other_clerk"])
    response = client.get(reverse("evidence_file", args=[evidence.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test receipt"


def test_review_queue_holds_only_the_reviewers_villages(client, personas, tree, make_entry):
    mine = make_entry(tree.liudao, amount="3333.33", status="submitted")
    other = make_entry(tree.bianxiyang, amount="4444.44", status="submitted")
    _login(client, personas["station_head"])
    body = client.get(reverse("review")).content.decode()
    assert "3,333.33" in body and "刘道村" in body
    assert "4,444.44" not in body and "编席杨村" not in body
    # Posting an id from outside the scope (alone or with one inside) verifies nothing.
    before = entry_state(mine.pk), entry_state(other.pk)
    for ids in ([other.pk], [mine.pk, other.pk]):
        response = client.post(reverse("review"), {"action": "verify", "ids": ids}, follow=True)
        assert "不在您的审核范围内" in response.content.decode()
    assert (entry_state(mine.pk), entry_state(other.pk)) == before


def test_progress_page_outside_the_township_is_403(client, personas, tree, other_township):
    """The 擂台 is public within the township only: not the county above it, not another township."""
    _login(client, personas["village_clerk"])
    for unit in (tree.county, other_township.township, other_township.village):
        assert client.get(reverse("progress") + f"?year=2020&unit={unit.code}").status_code == 403
    body = client.get(reverse("progress") + "?year=2020").content.decode()
    assert "孙庄村" in body and "刘道村" in body and "编席杨村" in body and "杜集村" not in body


# --- API ------------------------------------------------------------------------------------------------


def test_api_get_entry_of_another_village_is_404(client, personas, tree, make_entry):
    entry = make_entry(tree.bianxiyang, status="verified")
    _login(client, personas["village_clerk"])
    response = client.get(f"/api/v1/ledger/{entry.pk}")
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.json()["detail"]
    # The same answer as for an id that does not exist: nothing is revealed.
    assert client.get("/api/v1/ledger/999999").json() == response.json()


@pytest.mark.parametrize(
    ("persona", "village", "action", "status", "body"),
    [
        ("village_clerk", "bianxiyang", "submit", "draft", {}),
        ("village_clerk", "liudao", "submit", "draft", {}),
        ("village_clerk", "bianxiyang", "reverse", "verified", {"reason": "录错了"}),
        ("station_head", "bianxiyang", "verify", "submitted", {}),
        ("station_head", "bianxiyang", "return", "submitted", {"reason": "缺少收入凭证"}),
        ("station_head", "bianxiyang", "reverse", "verified", {"reason": "录错了"}),
        ("district_secretary", "yanglaotou", "verify", "submitted", {}),
        ("district_secretary", "yanglaotou", "return", "submitted", {"reason": "缺少收入凭证"}),
    ],
)
def test_api_writes_outside_scope_are_404_and_change_nothing(
    client, personas, tree, make_entry, persona, village, action, status, body
):
    entry = make_entry(getattr(tree, village), status=status)
    before = entry_state(entry.pk)
    _login(client, personas[persona])
    response = client.post(f"/api/v1/ledger/{entry.pk}/{action}", body, content_type="application/json")
    assert response.status_code == 404, response.content
    assert entry_state(entry.pk) == before


def test_api_progress_unit_outside_the_township_is_403(client, personas, tree, other_township):
    cases = [
        ("village_clerk", tree.county),
        ("village_clerk", other_township.township),
        ("station_head", other_township.village),
        ("district_secretary", tree.county),
        ("township_admin", other_township.township),
    ]
    for persona, unit in cases:
        _login(client, personas[persona])
        response = client.get(f"/api/v1/progress?year=2020&unit={unit.code}")
        assert response.status_code == 403, (persona, unit.name)
        assert "管辖范围" in response.json()["detail"]


def test_api_progress_unknown_unit_is_404(client, personas):
    _login(client, personas["township_admin"])
    assert client.get("/api/v1/progress?year=2020&unit=000000000000").status_code == 404


def test_api_create_in_another_village_is_403(client, personas, tree):
    _login(client, personas["village_clerk"])
    response = client.post("/api/v1/ledger", api_entry(tree.bianxiyang), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Entry.objects.filter(village=tree.bianxiyang).exists()
    # A reviewer may verify but not enter.
    _login(client, personas["station_head"])
    response = client.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json")
    assert response.status_code == 403
    assert not Entry.objects.filter(village=tree.sunzhuang).exists()


def test_api_ledger_list_is_filtered_to_scope(client, personas, tree, make_entry):
    for village in tree.villages:
        make_entry(village, status="verified")
        make_entry(village, status="draft")
    expected = {
        "village_clerk": {tree.sunzhuang.code},
        "other_clerk": {tree.bianxiyang.code},
        "district_secretary": {tree.sunzhuang.code, tree.liudao.code},
        "station_head": {tree.sunzhuang.code, tree.liudao.code, tree.yanglaotou.code},
        "leader": {v.code for v in tree.villages},
        "system_admin": set(),
        "auditor": set(),
        "no_role": set(),
    }
    for persona, codes in expected.items():
        _login(client, personas[persona])
        data = client.get("/api/v1/ledger").json()
        assert {item["village"] for item in data["items"]} == codes, persona
        assert data["count"] == 2 * len(codes), persona
        # Asking for another village by code does not widen the scope.
        data = client.get(f"/api/v1/ledger?village={tree.bianxiyang.code}").json()
        assert data["count"] == (2 if tree.bianxiyang.code in codes else 0), persona


def test_api_units_are_filtered_to_scope(client, personas, tree):
    expected = {
        "village_clerk": ["孙庄村"],
        "district_secretary": ["第一管区", "孙庄村", "刘道村"],
        "station_head": ["一号网格站", "第一管区", "孙庄村", "刘道村", "第二管区", "杨老头村"],
        "system_admin": [],
        "auditor": [],
        "no_role": [],
    }
    for persona, names in expected.items():
        _login(client, personas[persona])
        response = client.get("/api/v1/units")
        assert response.status_code == 200
        assert sorted(u["name"] for u in response.json()) == sorted(names), persona
    _login(client, personas["leader"])
    units = client.get("/api/v1/units").json()
    assert len(units) == 1 + 2 + 3 + 4  # township, stations, districts, villages
    assert "宁津县" not in {u["name"] for u in units}  # the county is above the grant
    township = next(u for u in units if u["name"] == "相衙镇")
    assert township == {
        "code": tree.township.code,
        "name": "相衙镇",
        "level": "township",
        "parent": tree.county.code,
    }


# --- verified rows are frozen ---------------------------------------------------------------------------


def test_verified_row_cannot_be_changed_through_pages(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="5000.00", status="verified")
    before = entry_state(entry.pk)
    _login(client, personas["village_clerk"])
    form = entry_form(tree.sunzhuang, amount="1.00")
    for url, data in [
        (reverse("entry_edit", args=[entry.pk]), form),
        (reverse("entry_edit", args=[entry.pk]), {**form, "submit": "1"}),
        (reverse("entry_submit", args=[entry.pk]), {}),
        (reverse("entry_delete", args=[entry.pk]), {}),
    ]:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
        assert errors and all(re.search("[一-龥]", e) for e in errors), url  # a Chinese refusal is shown
        assert entry_state(entry.pk) == before, url
    # The edit form is not even offered.
    response = client.get(reverse("entry_edit", args=[entry.pk]))
    assert response.status_code == 302
    # A reviewer cannot re-verify or return it from the queue either.
    _login(client, personas["station_head"])
    for data in (
        {"action": "verify", "ids": [entry.pk]},
        {"action": "return", "ids": [entry.pk], "reason": "x"},
    ):
        client.post(reverse("review"), data)
        assert entry_state(entry.pk) == before


@pytest.mark.parametrize(
    ("persona", "action", "body"),
    [
        ("village_clerk", "submit", {}),
        ("station_head", "verify", {}),
        ("station_head", "return", {"reason": "金额与凭证不符"}),
        ("township_admin", "return", {"reason": "金额与凭证不符"}),
    ],
)
def test_verified_row_cannot_be_changed_through_api(
    client, personas, tree, make_entry, persona, action, body
):
    entry = make_entry(tree.sunzhuang, amount="5000.00", status="verified")
    before = entry_state(entry.pk)
    _login(client, personas[persona])
    response = client.post(f"/api/v1/ledger/{entry.pk}/{action}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "已审核" in response.json()["detail"]
    assert entry_state(entry.pk) == before


def test_a_reversal_cannot_be_reversed_and_an_entry_only_once(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="5000.00", status="verified")
    _login(client, personas["station_head"])
    first = client.post(
        f"/api/v1/ledger/{entry.pk}/reverse", {"reason": "录错了"}, content_type="application/json"
    )
    assert first.status_code == 201
    reversal = first.json()
    assert reversal["amount"] == "-5000.00" and reversal["status"] == Status.SUBMITTED
    again = client.post(
        f"/api/v1/ledger/{entry.pk}/reverse", {"reason": "录错了"}, content_type="application/json"
    )
    assert again.status_code == 400
    of_reversal = client.post(
        f"/api/v1/ledger/{reversal['id']}/reverse", {"reason": "录错了"}, content_type="application/json"
    )
    assert of_reversal.status_code == 400
    assert Entry.objects.filter(village=tree.sunzhuang).count() == 2


def test_submitted_row_cannot_be_edited_until_returned(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="5000.00", status="submitted")
    before = entry_state(entry.pk)
    _login(client, personas["village_clerk"])
    response = client.post(
        reverse("entry_edit", args=[entry.pk]), entry_form(tree.sunzhuang, amount="1.00"), follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["该记录待审核，不能修改"]
    assert entry_state(entry.pk) == before
    again = client.post(f"/api/v1/ledger/{entry.pk}/submit", {}, content_type="application/json")
    assert again.status_code == 400
    assert entry_state(entry.pk) == before
    # Returned, it can be resubmitted.
    entry_return(actor=personas["station_head"], entries=[entry], reason="缺少收入凭证")
    resubmitted = client.post(f"/api/v1/ledger/{entry.pk}/submit", {}, content_type="application/json")
    assert (resubmitted.status_code, resubmitted.json()["status"]) == (200, "submitted")


# --- a return needs a reason ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_page_return_without_reason_changes_nothing(client, personas, tree, make_entry, reason):
    entries = [make_entry(tree.sunzhuang, status="submitted"), make_entry(tree.liudao, status="submitted")]
    before = [entry_state(e.pk) for e in entries]
    _login(client, personas["station_head"])
    data = {"action": "return", "ids": [e.pk for e in entries]}
    if reason is not None:
        data["reason"] = reason
    response = client.post(reverse("review"), data, follow=True)
    assert "退回必须填写原因" in response.content.decode()
    assert [entry_state(e.pk) for e in entries] == before


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_api_return_without_reason_is_400(client, personas, tree, make_entry, body):
    entry = make_entry(tree.sunzhuang, status="submitted")
    before = entry_state(entry.pk)
    _login(client, personas["station_head"])
    response = client.post(f"/api/v1/ledger/{entry.pk}/return", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "退回必须填写原因", "field": "reason"}
    assert entry_state(entry.pk) == before


def test_api_return_with_reason_keeps_it(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status="submitted")
    _login(client, personas["station_head"])
    response = client.post(
        f"/api/v1/ledger/{entry.pk}/return", {"reason": " 缺少收入凭证 "}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "returned"
    entry.refresh_from_db()
    assert (entry.status, entry.return_reason) == (Status.RETURNED, "缺少收入凭证")
