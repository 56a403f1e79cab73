"""资产台账 and 清产核资 on a phone (390 px): a village clerk registers land, opens the register, starts a round
and counts a line; the station head signs it off. Nothing scrolls sideways on any of these pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from qiangcun.assets import services
from qiangcun.assets.models import Asset, VerificationRound
from tests.browser.test_phone import PHONE, no_sideways_scroll, shoot

from .test_loop import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_register_and_round_on_a_phone(live_server, tree, personas, page: Page, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    services.asset_create(
        actor=personas["village_clerk"],
        village=tree.sunzhuang,
        data=services.AssetData(
            code="JY-001",
            name="村委会办公室及党群服务中心（两层砖混结构，含会议室和便民服务大厅）",
            kind="non_operating",
            item_type="building",
            floor_area_m2=Decimal("320.00"),
            value=Decimal("456789.00"),
            location="孙庄村村中十字路口向北一百米路东",
        ),
    )
    page.set_viewport_size(PHONE)
    sign_in(page, base, "clerk")
    page.goto(f"{base}/assets/")
    expect(page.locator("h1")).to_contain_text("集体资产台账")
    no_sideways_scroll(page)
    page.click("text=登记资产")
    page.fill("input[name=code]", "ZY-001")
    page.fill("input[name=name]", "村东闲置机动地")
    page.select_option("select[name=land_class]", "arable")
    page.fill("input[name=area_mu]", "35.5")
    page.select_option("select[name=status]", "idle")
    no_sideways_scroll(page)
    page.click("button:has-text('保存')")
    expect(page.locator(".messages")).to_contain_text("已登记资产：ZY-001 村东闲置机动地")
    no_sideways_scroll(page)
    shoot(page, "asset")
    page.goto(f"{base}/assets/")
    expect(page.locator(".strip")).to_contain_text("35.50")
    no_sideways_scroll(page)
    shoot(page, "assets")

    page.goto(f"{base}/assets/rounds/")
    page.fill("input[name=base_date]", "2020-01-31")
    no_sideways_scroll(page)
    page.click("button:has-text('发起并冻结账面数')")
    expect(page.locator(".messages")).to_contain_text("共 2 项资产待清查")
    no_sideways_scroll(page)
    land = Asset.objects.get(code="ZY-001")
    line = VerificationRound.objects.get().lines.get(asset=land)
    page.click(f"#l{line.pk} summary")
    page.fill(f"#l{line.pk} input[name=area_mu]", "38.2")
    page.fill(f"#l{line.pk} input[name=note]", "实测面积")
    no_sideways_scroll(page)
    page.click(f"#l{line.pk} button:has-text('保存清查结果')")
    expect(page.locator(".messages")).to_contain_text("已清查：盘盈")
    no_sideways_scroll(page)
    shoot(page, "round")
    sign_out(page)

    services.round_line_count(
        actor=personas["village_clerk"],
        line=VerificationRound.objects.get().lines.exclude(pk=line.pk).get(),
        data=services.CountData(found=True),
    )
    sign_in(page, base, "station")
    page.goto(f"{base}/assets/rounds/{VerificationRound.objects.get().pk}/")
    no_sideways_scroll(page)
    page.click("button:has-text('审核签字确认')")
    expect(page.locator(".messages")).to_contain_text("已签字确认孙庄村清产核资")
    no_sideways_scroll(page)
    land.refresh_from_db()
    assert land.area_mu == Decimal("38.20")
