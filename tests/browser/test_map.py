"""The village map in Chromium (issue 8): ECharts draws the villages from the page itself — not one
request leaves the app — in the colours of their bands, and at 390 px nothing scrolls sideways."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from qiangcun.demo.boundaries import boundaries_bytes
from qiangcun.orgs.services import geometry_import
from qiangcun.targets.maps import BAND_COLORS
from qiangcun.targets.selectors import progress
from tests.browser.test_loop import sign_in
from tests.browser.test_phone import DESKTOP, PHONE, no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("test-results")
URL = "/map/?year=2020&as_of=2020-04-17"

#: The fill of every drawn region, as the browser computes it ("rgb(46, 125, 50)").
_FILLS = """() => Array.from(document.querySelectorAll('#village-map svg path'))
  .map(p => getComputedStyle(p).fill).filter(f => f && f !== 'none')"""


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture
def mapped(live_server, tree, personas, make_entry) -> dict[str, Any]:
    """The test township's four villages with generated (示意) boundaries, the demo's way, in three bands
    on 2020-04-17: 刘道村 green (100%), 编席杨村 yellow (25% against 29.5%), the other two red."""
    make_entry(tree.liudao, "30000.00", datetime.date(2020, 4, 1), "verified")
    make_entry(tree.bianxiyang, "7500.00", datetime.date(2020, 2, 1), "verified")
    april = tree
    data = boundaries_bytes([[v.name for v in april.villages]])
    geometry_import(actor=personas["township_admin"], township=april.township, data=data, illustrative=True)
    board = progress(
        user=personas["village_clerk"], unit=april.township, year=2020, as_of=datetime.date(2020, 4, 17)
    )
    bands = {r.band for r in board.villages}
    assert bands == {"green", "yellow", "red"}
    return {"base": live_server.url, "bands": bands}


def _open(page: Page, base: str) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, base, "clerk")
    page.goto(base + URL)
    page.wait_for_selector("#village-map svg path")
    return requests


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_map_draws_from_the_page_alone(page: Page, mapped, viewport):
    page.set_viewport_size(viewport)
    requests = _open(page, mapped["base"])
    outside = [u for u in requests if not u.startswith(mapped["base"] + "/") and not u.startswith("data:")]
    assert outside == [], outside
    assert any("/map/" in u for u in requests)  # the recorder saw the page itself
    fills = set(page.evaluate(_FILLS))
    assert {_rgb(BAND_COLORS[b]) for b in mapped["bands"]} <= fills
    assert page.locator("h1 .chip.sketch").inner_text() == "示意"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"map-{viewport['width']}.png"), full_page=True)
    if viewport == PHONE:
        no_sideways_scroll(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]


def test_colour_by_completion_draws_too(page: Page, mapped):
    requests = _open(page, mapped["base"])
    page.click("text=按完成率")
    page.wait_for_selector("#village-map svg path")
    assert "colour=completion" in page.url
    fills = set(page.evaluate(_FILLS))
    assert not {_rgb(c) for c in BAND_COLORS.values()} & fills  # no band colours: the blue scale
    assert all(u.startswith(mapped["base"] + "/") or u.startswith("data:") for u in requests)
