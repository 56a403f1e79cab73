"""The account pages on a phone, as the system admin walks them: list, new account and its one-time
password, the person's page with its role form, the roles at a glance; and the password page its holder
meets first. Nothing scrolls sideways; every button is on screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_phone import PHONE, no_sideways_scroll, on_screen, shoot

from .test_loop import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_system_admin_on_a_phone(live_server, tree, personas, page: Page) -> None:
    base = live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "sysadmin")
    expect(page).to_have_url(f"{base}/people/")
    expect(page.locator("table.people")).to_contain_text("孙庄村 · 村报账员")
    no_sideways_scroll(page)
    shoot(page, "people")
    page.click("text=新建账号")
    page.fill("input[name=display_name]", "孙小红")
    page.fill("input[name=phone]", "138 0000 1111")
    page.fill("input[name=username]", "sunxiaohong")
    page.select_option("select[name=unit]", tree.sunzhuang.code)
    no_sideways_scroll(page)
    page.click("button:has-text('建立账号')")
    password = page.locator(".otp-password").inner_text()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
    no_sideways_scroll(page)
    shoot(page, "one-time-password")
    page.click("text=下一步：授予角色")
    page.select_option("select[name=role]", "village_clerk")
    page.select_option("select[name=unit]", tree.sunzhuang.code)
    on_screen(page.locator("button:has-text('授予')"), "授予")
    page.click("button:has-text('授予')")
    expect(page.locator(".messages")).to_contain_text("已授予孙小红：孙庄村村报账员")
    for label in ("重置密码（生成一次性密码）", "停用账号", "保存资料", "撤销"):
        on_screen(page.locator(f"button:has-text('{label}')").first, label)
    no_sideways_scroll(page)
    shoot(page, "person")
    page.goto(f"{base}/roles/")
    expect(page.locator("main")).to_contain_text("村报账员（3）")
    no_sideways_scroll(page)
    shoot(page, "roles")
    # The new person signs in with the one-time password and meets the password page first.
    page.click("header .who button")
    page.fill("input[name=username]", "sunxiaohong")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/password/")
    expect(page.locator("main")).to_contain_text("至少 8 位")
    no_sideways_scroll(page)
    shoot(page, "password")
    page.fill("input[name=old_password]", password)
    page.fill("input[name=new_password1]", "Hongqi-cun-2020")
    page.fill("input[name=new_password2]", "Hongqi-cun-2020")
    page.click("button:has-text('保存新密码')")
    expect(page).to_have_url(f"{base}/")  # 我的工作
    expect(page.locator("h1")).to_have_text("我的工作")
