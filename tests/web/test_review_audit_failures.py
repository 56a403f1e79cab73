"""Review (branch review): cases where the failure records of 70ab6b8 go wrong. Each test asserts the
behaviour we WANT, so it fails on main today."""

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
    assert _failures() == []  # FAILS: one write.refused "这次提交已经保存过，没有重复保存"


def test_a_signed_in_user_cannot_forge_a_service_refusal_through_the_path(client, personas):
    client.force_login(personas["village_clerk"])
    fake = "/x；原密码不正确（accounts.services.password_change）/"
    client.post(fake)
    [rec] = _failures()
    assert rec.action == audit.DENIED
    assert "（accounts.services.password_change）" not in rec.note  # FAILS: the path is copied verbatim


@pytest.mark.parametrize("n", [50])
def test_posts_to_missing_pages_do_not_grow_the_log_without_bound(client, personas, n):
    client.force_login(personas["village_clerk"])
    for i in range(n):
        client.post(f"/{'a' * 1900}{i}/")
    assert len(_failures()) < n  # FAILS: n records of ~1.9 KB each, no limit
