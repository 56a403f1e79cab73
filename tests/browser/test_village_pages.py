"""A village with 450 ledger rows on a 390-pixel phone: three pages of 200, the page links on one line
inside the screen, nothing scrolling sideways, and the links lead to the next rows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from tests.browser.test_loop import sign_in
from tests.browser.test_phone import PHONE, no_sideways_scroll, on_screen, shoot
from tests.exports.test_export_jobs import insert_rows

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_a_long_village_ledger_pages_on_a_phone(live_server, tree, personas, page: Page) -> None:
    category = Category.objects.get(name="经营收入")
    path = DevelopmentPath.objects.get(name="现代农业")
    insert_rows(
        tree.sunzhuang,
        450,
        actor=personas["village_clerk"],
        reviewer=personas["township_admin"],
        category=category,
        path=path,
    )
    newest_first = list(
        Entry.objects.filter(village=tree.sunzhuang).order_by("-date", "-id").values_list("id", flat=True)
    )
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "clerk")
    page.goto(f"{live_server.url}/villages/{tree.sunzhuang.code}/?year=2020&as_of=2020-12-31")
    no_sideways_scroll(page)
    assert page.locator("tr[id^=e]").count() == 200
    on_screen(page.locator("#ledger-totals"), "共 450 条，合计")
    links = page.locator("nav.pager a, nav.pager span")
    for i in range(links.count()):
        on_screen(links.nth(i), "分页")
    page.get_by_role("link", name="下一页").click()
    page.wait_for_url("**page=2**")
    no_sideways_scroll(page)
    assert page.locator("tr[id^=e]").first.get_attribute("id") == f"e{newest_first[200]}"
    items = page.locator("nav.pager a, nav.pager span")  # all five: 首页 上一页 第 2 / 3 页 下一页 末页
    assert items.count() == 5
    boxes = [items.nth(i).bounding_box() for i in range(5)]
    middles = {round(b["y"] + b["height"] / 2) for b in boxes if b}
    assert max(middles) - min(middles) <= 2, f"the page links wrap: {middles}"
    page.get_by_role("link", name="末页").click()
    page.wait_for_url("**page=3**")
    on_screen(page.get_by_role("link", name="上一页"), "上一页")
    assert page.locator("tr[id^=e]").count() == 50
    shoot(page, "village-pages")
