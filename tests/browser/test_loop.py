"""The core loop in a real browser: a village clerk enters a row, the station head verifies it,
the progress table shows the new income, rank and band."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from qiangcun.ledger.models import Entry, Status
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_be_visible()


def sign_out(page: Page) -> None:
    page.click("header .who button")
    expect(page.locator("input[name=username]")).to_be_visible()


def test_clerk_enters_station_verifies_table_ranks(live_server, personas, tree, page: Page) -> None:
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})

    # 1. The clerk of 孙庄村, on a phone, enters 40,000.00 and sees it echoed in words and in 万元.
    sign_in(page, base, "clerk")
    page.goto(f"{base}/ledger/new/")
    page.fill("input[name=amount]", "40000")
    expect(page.locator("output.echo")).to_contain_text("肆万元整")
    expect(page.locator("output.echo")).to_contain_text("4.00万元")
    page.fill("input[name=date]", "2020-04-01")
    page.get_by_label("经营收入").check()
    page.get_by_label("现代农业").check()
    page.fill("input[name=summary]", "卓冉合作社中药材销售收入")
    page.fill("input[name=counterparty]", "宁津县卓冉种植专业合作社")
    page.click("button[name=submit]")
    expect(page.locator(".messages")).to_contain_text("已提交审核")
    expect(page.locator(".messages")).to_contain_text("40,000.00 元")
    entry = Entry.objects.get(village=tree.sunzhuang, summary="卓冉合作社中药材销售收入")
    assert entry.status == Status.SUBMITTED
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "loop-1-clerk-village.png"))
    sign_out(page)

    # 2. The head of the station verifies it from the queue.
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, base, "station")
    page.goto(f"{base}/review/")
    row = page.locator("tr.review-row", has_text="卓冉合作社中药材销售收入")
    row.locator("input[name=ids]").check()
    page.click("button[value=verify]")
    expect(page.locator(".messages")).to_contain_text("已审核 1 条，合计 4.00万元")
    entry.refresh_from_db()
    assert entry.status == Status.VERIFIED

    # 3. The progress table as of 2020-04-17: 40% against time progress 29.5% → first, green.
    page.goto(f"{base}/progress/?year=2020&as_of=2020-04-17")
    village_row = page.locator(f"tr[data-code='{tree.sunzhuang.code}']")
    expect(village_row).to_contain_text("40,000.00")
    expect(village_row).to_contain_text("40.0%")
    expect(village_row.locator("td.rank")).to_have_text(re.compile(r"^1\b"))
    expect(village_row).to_contain_text("领先")
    expect(page.locator(".strip")).to_contain_text("4.00万元")
    # The chart is drawn from the vendored ECharts (no network): an SVG appears.
    expect(page.locator("#progress-chart svg")).to_be_visible()
    page.screenshot(path=str(SHOTS / "loop-3-progress.png"), full_page=True)


def test_filters_swap_the_table_stay_in_the_url_and_export_as_shown(
    live_server, personas, tree, page: Page, tmp_path
) -> None:
    from openpyxl import load_workbook

    base = live_server.url
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, base, "admin")
    page.goto(f"{base}/progress/?year=2020&as_of=2020-04-17")
    expect(page.locator("tr[data-code]")).to_have_count(4)
    page.select_option("select[name=station]", tree.station2.code)
    expect(page.locator("tr[data-code]")).to_have_count(1)  # swapped by htmx, no reload
    expect(page.locator(f"tr[data-code='{tree.bianxiyang.code}']")).to_be_visible()
    assert f"station={tree.station2.code}" in page.url
    with page.expect_download() as download:
        page.click("a[data-export]")
    saved = tmp_path / "export.xlsx"
    download.value.save_as(saved)
    ws = load_workbook(saved).active
    villages = [row[2] for row in ws.iter_rows(min_row=4, values_only=True) if row[2] != "合计"]
    assert villages == ["编席杨村"]
