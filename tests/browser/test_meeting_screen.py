"""The meeting screen in Chromium (issue 8): a full-screen 1920×1080 page whose chart is drawn from the
page itself — not one request leaves the app — and whose panels advance by themselves; the bulletin
pages at 390 px do not scroll sideways."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page

from qiangcun.supervision.services import bulletin_issue
from qiangcun.supervision.weeks import parse_week
from tests.browser.test_loop import sign_in
from tests.browser.test_phone import PHONE, no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("test-results")
SCREEN = {"width": 1920, "height": 1080}


@pytest.fixture
def april(live_server, tree, personas, make_entry):
    make_entry(tree.liudao, "30000.00", datetime.date(2020, 4, 14), "verified")
    make_entry(tree.bianxiyang, "7500.00", datetime.date(2020, 2, 1), "verified")
    return live_server.url


def test_the_meeting_screen_draws_from_the_page_alone_and_advances(page: Page, april):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size(SCREEN)
    sign_in(page, april, "clerk")
    page.goto(april + "/meeting/?as_of=2020-04-17")
    page.wait_for_selector("#screen-chart svg text")
    outside = [u for u in requests if not u.startswith(april + "/") and not u.startswith("data:")]
    assert outside == [], outside
    assert any("/meeting/" in u for u in requests)
    assert "时序进度 29.5%" in page.locator("#screen-chart").inner_text()
    box = page.locator("#screen-chart").bounding_box()
    assert box is not None and box["width"] > 1500 and box["height"] > 700  # it fills the screen
    bars = page.evaluate(
        "() => Array.from(document.querySelectorAll('#screen-chart svg path'))"
        ".map(p => getComputedStyle(p).fill).filter(f => f === 'rgb(46, 125, 50)').length"
    )
    assert bars >= 1  # 刘道村's green bar is drawn
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "meeting-1920.png"))
    # The arrow keys move between the panels (the timer does the same every 20 s).
    assert page.locator(".panel[data-index='1']").is_hidden()
    page.keyboard.press("ArrowRight")
    assert page.locator(".panel[data-index='1']").is_visible()
    assert "红色预警" in page.locator(".panel[data-index='1'] h2").inner_text()
    page.keyboard.press("ArrowRight")
    assert "刘道村" in page.locator(".panel[data-index='2']").inner_text()  # this week's mover
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREEN["width"]


def test_bulletin_pages_fit_a_phone(page: Page, april, tree, personas):
    bulletin, _ = bulletin_issue(
        actor=personas["township_admin"], township=tree.township, week=parse_week("2020-W16")
    )
    page.set_viewport_size(PHONE)
    sign_in(page, april, "clerk")
    for url in ("/bulletins/", f"/bulletins/{bulletin.pk}/", "/meetings/"):
        page.goto(april + url)
        no_sideways_scroll(page)
    page.goto(april + f"/bulletins/{bulletin.pk}/")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "bulletin-390.png"), full_page=True)
    assert "2020年第1期" in page.locator("h1").inner_text()
