"""A summary longer than its limit is counted on screen, not cut by the browser, and refused by the server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from qiangcun.ledger.models import Entry
from tests.browser.test_loop import sign_in

pytestmark = pytest.mark.browser


def test_a_long_summary_is_counted_and_refused_not_cut(live_server, personas, tree, page: Page) -> None:
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, base, "clerk")
    page.goto(f"{base}/ledger/new/")
    counter = page.locator('[data-count-for="id_summary"]')
    expect(counter).to_have_text("最多 200 字")
    text = "集体土地流转承包费" * 23  # 207 characters
    page.fill("input[name=summary]", text)
    expect(page.locator("input[name=summary]")).to_have_value(text)
    expect(counter).to_have_text("已写 207 字，最多 200 字，请删减 7 字")
    page.fill("input[name=amount]", "1000")
    page.fill("input[name=date]", "2020-04-01")
    page.get_by_label("经营收入").check()
    page.get_by_label("现代农业").check()
    page.click("button[name=draft]")
    expect(page.locator(".error", has_text="摘要最多 200 字")).to_be_visible()
    expect(page.locator("input[name=summary]")).to_have_value(text)
    assert not Entry.objects.exists()
