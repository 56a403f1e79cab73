"""One rectification item from a visit to 销号 in a real browser, on a phone, across three people: the
instructor records the visit and hands the item over, the village clerk submits a photo, the instructor
sends it back once with a reason, the clerk submits again, the district secretary closes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from qiangcun.supervision.models import Rectification

from .test_loop import SHOTS, sign_in, sign_out
from .test_phone import wait_until

pytestmark = pytest.mark.browser


def _png(width: int = 40, height: int = 30) -> bytes:
    """A real (grey) PNG, so that the page's <img> shows it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x90" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_an_item_from_inspection_to_closure(live_server, personas, tree, page: Page, tmp_path: Path) -> None:
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    SHOTS.mkdir(exist_ok=True)
    photo = tmp_path / "公开栏.png"
    photo.write_bytes(_png())

    # 1. The instructor of 孙庄村 records the visit and hands one finding to the clerk.
    sign_in(page, base, "instructor")
    page.click("header nav >> text=督查")
    page.click("text=记录督查")
    page.select_option("select[name=village]", tree.sunzhuang.code)
    page.click("text=下一步")
    page.fill("input[name=visited_on]", "2020-12-10")
    page.fill("input[name=met]", "村书记、报账员")
    page.fill("input[name=score]", "85")
    page.fill("textarea[name=f1-text]", "村务公开栏三季度账目未公开")
    page.select_option("select[name=f1-owner]", label="clerk")
    page.fill("input[name=f1-evidence]", "公开栏照片")
    page.set_input_files("input[name=photos]", str(photo))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "inspection-form-390.png"), full_page=True)
    page.click("text=保存督查记录")
    expect(page.locator(".messages")).to_contain_text("发现问题 1 个，交办整改 1 项")
    page.click("text=整改：村务公开栏三季度账目未公开")
    expect(page.locator(".st")).to_have_text("待整改")
    item = Rectification.objects.get()
    assert item.owner.username == "clerk"
    sign_out(page)

    # 2. The clerk, on a phone, tries to submit without evidence (refused), then with a photo.
    sign_in(page, base, "clerk")
    page.goto(f"{base}/rectifications/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "rectifications-clerk-390.png"), full_page=True)
    page.click("text=村务公开栏三季度账目未公开")
    page.click("text=提交销号")
    expect(page.locator(".messages")).to_contain_text("销号需提供：公开栏照片")
    page.fill("textarea[name=account]", "已于12月11日公开三季度账目")
    page.set_input_files("input[name=evidence]", str(photo))
    page.click("button:has-text('提交销号')")
    expect(page.locator(".messages")).to_contain_text("已提交销号（佐证材料 1 个）")
    expect(page.locator(".st")).to_have_text("待销号")
    sign_out(page)

    # 3. The instructor sends it back once, with the reason.
    sign_in(page, base, "instructor")
    page.goto(f"{base}/rectifications/{item.pk}/")
    page.fill("input[name=reason]", "照片看不清账目，请补拍近景")
    page.click("text=退回重改")
    expect(page.locator(".messages")).to_contain_text("已退回重改")
    sign_out(page)

    # 4. The clerk reads the reason and submits again.
    sign_in(page, base, "clerk")
    page.goto(f"{base}/rectifications/{item.pk}/")
    expect(page.locator(".history")).to_contain_text("照片看不清账目，请补拍近景")
    page.set_input_files("input[name=evidence]", str(photo))
    page.click("button:has-text('提交销号')")
    expect(page.locator(".st")).to_have_text("待销号")
    sign_out(page)

    # 5. The district secretary closes it; the history shows every step.
    sign_in(page, base, "district")
    page.goto(f"{base}/inspections/?month=2020-12")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "inspections-month-390.png"), full_page=True)
    page.goto(f"{base}/rectifications/{item.pk}/")
    page.fill("#close input[name=note]", "现场核实，已公开")
    page.click("#close button:has-text('销号')")
    expect(page.locator(".messages")).to_contain_text("已销号")
    expect(page.locator(".st")).to_have_text("已销号")
    expect(page.locator(".history li")).to_have_count(5)  # 交办, 提交, 退回, 提交, 销号
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "rectification-closed-390.png"), full_page=True)
    item.refresh_from_db()
    assert item.status == "closed" and item.closed_by.username == "district"
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/inspections/{item.finding.inspection_id}/")
    expect(page.locator(".findings")).to_contain_text("已销号")
    assert wait_until(
        page, "(() => { const i = document.querySelector('.photos img'); return !!(i && i.complete); })()"
    )
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") == 40  # served, in scope
    page.screenshot(path=str(SHOTS / "inspection-visit-1440.png"), full_page=True)
