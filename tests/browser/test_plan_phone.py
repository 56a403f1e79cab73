"""一村一策 on a phone, as a village clerk walks it: open the plan from "my work", write the list and the
paths, add a measure, link a ledger row to it and finish it; the township sees it in the table of plans.
Nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from qiangcun.plans.models import Measure, MeasureEntry, Plan
from tests.browser.test_phone import PHONE, no_sideways_scroll, shoot

from .test_loop import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_a_clerk_plans_on_a_phone(live_server, tree, personas, make_entry, page: Page) -> None:
    base = live_server.url
    row = make_entry(tree.sunzhuang, amount="12345.67", status="verified")
    page.set_viewport_size(PHONE)
    sign_in(page, base, "clerk")
    expect(page.locator("h1")).to_have_text("我的工作")
    page.goto(f"{base}/plans/{tree.sunzhuang.code}/2020/")
    expect(page.locator("main")).to_contain_text("还没有 2020 年的一村一策")
    page.click("text=编制一村一策")
    page.select_option("select[name=r_kind] >> nth=0", "land")
    page.fill("input[name=r_name] >> nth=0", "村东闲置机动地")
    page.fill("input[name=r_area] >> nth=0", "35.5")
    page.check("label:has-text('现代农业') input[type=checkbox]")
    page.fill("input[name$=_expected] >> nth=1", "90000")
    no_sideways_scroll(page)
    page.click("button:has-text('保存')")
    # 90,000 does not reach the target of 100,000: flagged on the plan.
    expect(page.locator(".messages")).to_contain_text("已保存孙庄村 2020 年一村一策")
    expect(page.locator("main")).to_contain_text("预计达不到目标")
    expect(page.locator("main")).to_contain_text("差 10,000.00 元")
    no_sideways_scroll(page)
    shoot(page, "plan")
    page.click("text=＋ 添加措施")
    page.fill("input[name=title]", "扩大中药材种植面积")
    page.select_option("select[name=owner]", label="clerk")
    page.fill("input[name=deadline]", "2020-06-30")
    page.fill("input[name=expected]", "90000")
    no_sideways_scroll(page)
    page.click("button:has-text('保存措施')")
    expect(page.locator("main")).to_contain_text("扩大中药材种植面积")
    page.click("text=扩大中药材种植面积")
    page.click("summary:has-text('关联本村')")
    page.check(f"input[name=entries][value='{row.pk}']")
    page.click("button:has-text('关联所选')")
    expect(page.locator(".messages")).to_contain_text("已关联 1 条台账")
    expect(page.locator(".strip")).to_contain_text("12,345.67 元")
    page.select_option("select[name=status]", "done")
    page.fill("input[name=on]", "2020-04-16")
    page.click("button:has-text('更新状态')")
    expect(page.locator(".strip")).to_contain_text("已完成")
    no_sideways_scroll(page)
    shoot(page, "measure")
    measure = Measure.objects.get()
    assert (measure.status, str(measure.done_on)) == ("done", "2020-04-16")
    assert MeasureEntry.objects.get().entry_id == row.pk
    assert Plan.objects.get().village_id == tree.sunzhuang.pk
