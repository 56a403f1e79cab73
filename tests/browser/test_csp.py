"""The Content-Security-Policy in Chromium: the main pages load, draw their charts and swap with htmx
without one refusal. Every console message is kept; a violation shows there as "Refused to …" and, through
the ``securitypolicyviolation`` listener added before any page script, as "CSP violation …"."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from qiangcun.demo.boundaries import boundaries_bytes
from qiangcun.orgs.services import geometry_import
from tests.browser.test_loop import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]

LISTEN = """document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});"""

AS_OF = "year=2020&as_of=2020-04-17"


def _violations(messages: list[str]) -> list[str]:
    return [
        m for m in messages if "Content Security Policy" in m or "Refused to" in m or "CSP violation" in m
    ]


@pytest.fixture
def township(live_server, tree, personas, make_entry):
    make_entry(tree.liudao, "30000.00", datetime.date(2020, 4, 1), "verified")
    make_entry(tree.bianxiyang, "7500.00", datetime.date(2020, 2, 1), "verified")
    data = boundaries_bytes([[v.name for v in tree.villages]])
    geometry_import(actor=personas["township_admin"], township=tree.township, data=data, illustrative=True)
    return tree


def test_the_main_pages_break_no_rule_of_the_policy(live_server, township, page: Page) -> None:
    base = live_server.url
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{page.url} {m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.add_init_script(LISTEN)
    page.set_viewport_size({"width": 1440, "height": 900})
    visited: list[str] = []

    def visit(path: str, ready: str) -> None:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in (response.header_value("content-security-policy") or ""), path
        page.wait_for_selector(ready)
        visited.append(path)

    sign_in(page, base, "admin")
    visit("/", "main")  # 我的工作
    visit(f"/progress/?{AS_OF}", "#progress-chart svg")
    # The chart is as tall as its villages (set by qiangcun.js, not by a style attribute): 4 × 22 < 240.
    assert page.locator("#progress-chart").bounding_box()["height"] == pytest.approx(240, abs=1)
    # The meters' widths come from classes: 刘道村 100 %, time progress 29.5 % → marker at 30 %.
    fill = page.locator(f"tr[data-code='{township.liudao.code}'] .meter .fill")
    meter = page.locator(f"tr[data-code='{township.liudao.code}'] .meter")
    assert fill.bounding_box()["width"] == pytest.approx(meter.bounding_box()["width"], abs=1)
    # ECharts' tooltip (HTML it writes itself) on the chart.
    box = page.locator("#progress-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 60)
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + 65)
    expect(page.locator("#progress-chart .tip-dot").first).to_be_visible()  # our tooltip, classes only
    # An htmx swap: the station filter replaces the table and redraws the chart.
    page.select_option("select[name=station]", township.station2.code)
    expect(page.locator("tr[data-code]")).to_have_count(1)
    page.wait_for_selector("#progress-chart svg")
    # The year select submits its form (an inline onchange before the policy).
    with page.expect_navigation():
        page.select_option(".asof select[name=year]", "2020")
    visit(f"/map/?{AS_OF}", "#village-map svg path")
    box = page.locator("#village-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    visit(f"/villages/{township.sunzhuang.code}/?{AS_OF}", "#village-chart svg")
    box = page.locator("#village-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#village-chart .tip-dot").first).to_be_visible()
    visit("/plans/", "main h1")
    visit("/bulletins/", "main h1")
    visit("/inspections/", "main h1")
    visit("/meeting/?as_of=2020-04-17", "svg")
    visit("/api/v1/docs", ".swagger-ui .opblock")  # the API's own docs, served from the app
    page.click(".opblock-summary >> nth=0")
    page.goto(base + "/")  # the meeting screen has no header to sign out from
    sign_out(page)
    sign_in(page, base, "clerk")
    visit("/ledger/new/", "form input[name=amount]")
    visit("/import/", "main h1")
    assert len(visited) == 11
    assert not _violations(messages), "\n".join(messages)


def test_the_check_sees_a_violation(live_server, page: Page) -> None:
    """The listener and the console catch what the policy refuses: a style attribute written from a script."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.add_init_script(LISTEN)
    page.goto(live_server.url + "/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">x</div>')")
    page.wait_for_timeout(200)
    assert _violations(messages), messages
