"""The second factor on a phone, as a township admin meets it: the first sign-in asks to bind an
authenticator (QR code and key), the next asks for its code. Nothing scrolls sideways; the QR code fits."""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.browser.test_phone import PHONE, no_sideways_scroll, on_screen, shoot

from .test_loop import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.otp_required, pytest.mark.usefixtures("fast_hashing")]


def _code(key_b32: str, offset: int = 0) -> str:
    key = base64.b32decode(key_b32.replace(" ", "") + "=" * (-len(key_b32.replace(" ", "")) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = timezone.now().timestamp() + offset
    return f"{totp.token():06d}"


def test_an_admin_binds_an_authenticator_on_a_phone(live_server, tree, personas, page: Page) -> None:
    base = live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "admin")
    expect(page).to_have_url(f"{base}/account/security/")
    expect(page.locator("main")).to_contain_text("必须使用双因素认证")
    qr = page.locator(".qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    no_sideways_scroll(page)
    shoot(page, "otp-setup")
    key = page.locator(".otp-key").inner_text()
    page.goto(f"{base}/progress/")  # every page leads back to binding first
    expect(page).to_have_url(f"{base}/account/security/")
    page.fill("input[name=otp_token]", _code(key))
    on_screen(page.locator("button:has-text('绑定')"), "绑定")
    page.click("button:has-text('绑定')")
    expect(page.locator(".messages")).to_contain_text("已绑定手机验证器")
    sign_out(page)
    sign_in(page, base, "admin")
    expect(page).to_have_url(f"{base}/login/verify/")
    no_sideways_scroll(page)
    shoot(page, "otp-verify")
    page.fill("input[name=otp_token]", _code(key, 30))
    page.click("button:has-text('确定')")
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/progress/")
    expect(page).to_have_url(f"{base}/progress/")
