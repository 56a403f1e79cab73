"""The audit log on a phone: one card per record, nothing scrolls sideways (issue 6 §6)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from qiangcun.ledger.importing.ledger import ParsedRow
from qiangcun.ledger.services import entries_import

from .test_loop import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_audit_log_fits_the_screen(
    live_server, personas, tree, make_entry, category, path, page: Page, width, height
):
    make_entry(tree.sunzhuang, "12345.60", status="verified")
    rows = [
        ParsedRow(
            2, tree.liudao, datetime.date(2020, 3, 1), Decimal("1234.56"), category, path, "甲", "某单位"
        ),
        ParsedRow(3, tree.yanglaotou, datetime.date(2020, 3, 2), Decimal("100.00"), category, path, "乙", ""),
    ]
    entries_import(actor=personas["township_admin"], rows=rows, file_name="台账.xlsx", sha256="ab" * 32)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/audit/")
    expect(page.locator("table.audit")).to_contain_text("审核通过")
    expect(page.locator("table.villages").first).to_contain_text("刘道村")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    boxes = page.evaluate(
        """[...document.querySelectorAll('main *')].filter(e => e.scrollWidth > e.clientWidth + 1
             && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => e.className)"""
    )
    assert boxes == [], f"boxes that scroll sideways at {width}px: {boxes}"
    page.select_option("select[name=action]", "ledger.import")
    page.click("form.audit-filters button[type=submit]")
    expect(page).to_have_url(
        f"{live_server.url}/audit/?actor=&unit=&action=ledger.import&from=&to=&address=&channel=&ok="
    )
    expect(page.locator("table.audit > tbody > tr")).to_have_count(1)
