"""合同 on a phone (390 px): a village clerk records a contract with a preview of its instalments, records
a payment, and the township admin reads the overview. Nothing scrolls sideways on any of these pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from qiangcun.contracts.models import Contract, Payment
from tests.browser.test_phone import PHONE, no_sideways_scroll, shoot

from .test_loop import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_contract_and_payment_on_a_phone(live_server, tree, personas, page: Page, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TODAY = __import__("datetime").date(2020, 4, 17)
    base = live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "clerk")
    page.goto(f"{base}/contracts/new/")
    page.fill("input[name=code]", "SZ-2020-001")
    page.fill("input[name=title]", "村东机动地流转（宁津县丰泽农业开发有限公司）")
    page.select_option("select[name=land_class]", "arable")
    page.fill("input[name=area_mu]", "125.5")
    page.select_option("select[name=party_kind]", "company")
    page.fill("input[name=party_name]", "宁津县丰泽农业开发有限公司")
    page.fill("input[name=start]", "2020-03-01")
    page.fill("input[name=end]", "2030-02-28")
    page.fill("input[name=price]", "850")
    page.fill("input[name=escalation_percent]", "5")
    page.fill("input[name=escalation_every]", "3")
    page.click("button:has-text('预览应收')")
    expect(page.locator("caption")).to_contain_text("共 10 期")
    no_sideways_scroll(page)
    shoot(page, "contract_preview")
    page.click("button:has-text('保存合同')")
    expect(page.locator(".messages")).to_contain_text("生成应收 10 期")
    no_sideways_scroll(page)
    page.fill("input[name=date]", "2020-03-20")
    page.fill("input[name=amount]", "106675.00")
    page.click("button:has-text('登记收款并生成台账')")
    expect(page.locator(".messages")).to_contain_text("已登记收款 106,675.00 元")
    no_sideways_scroll(page)
    shoot(page, "contract")
    assert Payment.objects.get().entry.amount == Contract.objects.get().receivables.get(seq=1).amount
    sign_out(page)

    sign_in(page, base, "admin")
    page.goto(f"{base}/contracts/?unit={tree.township.code}")
    expect(page.locator("h1")).to_contain_text("合同与应收")
    no_sideways_scroll(page)
    shoot(page, "contracts")
