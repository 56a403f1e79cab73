"""Failure records under attack and on a bad line (from the review of 70ab6b8): a retry answered with the
first try's row is no failure; the sender's path never reaches the record; a loop of bad posts does not
grow the log without bound."""

from __future__ import annotations

import pytest

from qiangcun.core import audit
from qiangcun.core.audit import ChangeRecord

from .conftest import api_entry


def _failures():
    return list(ChangeRecord.objects.filter(ok=False).order_by("id"))


def test_an_idempotent_api_retry_that_succeeds_leaves_no_failure(client, personas, tree):
    # a clerk's phone loses the answer and sends the same request again: the API answers 201 both times
    client.force_login(personas["village_clerk"])
    body = api_entry(tree.sunzhuang)
    for _ in range(2):
        r = client.post("/api/v1/ledger", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert r.status_code == 201
    assert _failures() == []  # the retry is answered with the first try's row: nothing failed


def test_a_signed_in_user_cannot_forge_a_service_refusal_through_the_path(client, personas):
    client.force_login(personas["village_clerk"])
    fake = "/x；原密码不正确（accounts.services.password_change）/"
    client.post(fake)
    assert _failures() == []  # no page there: nothing was or could be written, and the text is the sender's
    # on a real page the record names the route, not the path as sent
    client.post("/review/?x=；原密码不正确（accounts.services.password_change）")
    [rec] = _failures()
    assert rec.action == audit.DENIED and rec.note == "POST review（403）"


@pytest.mark.parametrize("n", [50])
def test_posts_to_missing_pages_do_not_grow_the_log_without_bound(client, personas, n):
    client.force_login(personas["village_clerk"])
    for i in range(n):
        client.post(f"/{'a' * 1900}{i}/")
    assert _failures() == []  # no page there: nothing recorded


def test_a_loop_of_refused_posts_is_recorded_at_most_twenty_a_minute(client, personas):
    from django.core.cache import cache

    from qiangcun.core.middleware import FAILURES_PER_MINUTE

    cache.clear()
    clerk = personas["village_clerk"]
    client.force_login(clerk)
    for _ in range(FAILURES_PER_MINUTE + 15):
        assert client.post("/review/", {"action": "verify"}).status_code == 403
    assert len(_failures()) == FAILURES_PER_MINUTE
    cache.delete(f"qiangcun:failures:{clerk.pk}")  # a minute later
    client.post("/review/", {"action": "verify"})
    last = _failures()[-1]
    assert last.note == "POST review（403）；此前一分钟内另有 15 次失败未逐条记录"
