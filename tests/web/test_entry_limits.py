"""Text limits on the entry form are stated next to the field and enforced with a Chinese error, never cut."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from qiangcun.ledger.models import Entry

from .conftest import api_entry, entry_form

LIMITS = [("summary", "摘要", 200), ("counterparty", "付款单位", 100)]


def _label(body: str, name: str) -> str:
    """The <label> that holds the input ``name``."""
    for label in re.findall(r"<label>(.*?)</label>", body, re.S):
        if f'name="{name}"' in label:
            return html.unescape(label)
    raise AssertionError(f"no label for {name}")


@pytest.mark.parametrize(("name", "field_label", "limit"), LIMITS)
def test_the_limit_is_stated_next_to_the_field_and_not_cut_by_the_browser(
    client, personas, tree, name, field_label, limit
):
    client.force_login(personas["village_clerk"])
    body = client.get(reverse("entry_new")).content.decode()
    label = _label(body, name)
    assert field_label in label
    assert f"最多 {limit} 字" in label
    assert "maxlength" not in label  # the browser would silently cut a pasted text
    assert f'data-limit="{limit}"' in label


@pytest.mark.parametrize(("name", "field_label", "limit"), LIMITS)
def test_a_too_long_text_is_refused_naming_the_field_and_the_limit(
    client, personas, tree, name, field_label, limit
):
    client.force_login(personas["village_clerk"])
    text = "土地流转承包费" * 40
    text = text[: limit + 7]
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, submit="1", **{name: text}))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [name]
    message = errors[name][0]
    assert field_label in message and f"最多 {limit} 字" in message and f"{limit + 7} 字" in message
    label = _label(response.content.decode(), name)
    assert message in label
    assert f'value="{text}"' in label  # kept whole for the clerk to shorten
    assert not Entry.objects.exists()


@pytest.mark.parametrize(("name", "field_label", "limit"), LIMITS)
def test_a_text_at_the_limit_is_saved_whole(client, personas, tree, name, field_label, limit):
    client.force_login(personas["village_clerk"])
    text = ("集体土地流转" * 40)[:limit]
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, **{name: text}))
    assert response.status_code == 302
    assert getattr(Entry.objects.get(), name) == text


@pytest.mark.parametrize(("name", "field_label", "limit"), LIMITS)
def test_the_api_refuses_a_too_long_text_naming_the_field(client, personas, tree, name, field_label, limit):
    client.force_login(personas["village_clerk"])
    response = client.post(
        "/api/v1/ledger",
        api_entry(tree.sunzhuang, **{name: "流" * (limit + 1)}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == name
    assert field_label in response.json()["detail"] and str(limit) in response.json()["detail"]
    assert not Entry.objects.exists()
