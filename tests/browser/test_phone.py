"""Every page of the loop at 390×844, for each role that uses it: nothing scrolls sideways, the key figures
and every action button are inside the screen. The desktop (1440×900) keeps its full tables."""

from __future__ import annotations

import datetime
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Locator, Page, expect

from qiangcun.ledger import services as ledger_services
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from tests.browser.test_loop import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SHOTS = Path("test-results")
AS_OF = "year=2020&as_of=2020-04-17"

#: Every control a thumb could need, in the header and the page.
CONTROLS = (
    "header a, header button, main a, main button, main summary, main select, main textarea, "
    "main input:not([type=hidden])"
)

_SWEEP = """(selector) => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not rendered (closed <details>, display: none)
    if (r.left < 0 || r.right > w + 0.5) {
      out.push(el.outerHTML.slice(0, 90) + " at x " + Math.round(r.left) + "–" + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, outside: out};
}"""


def wait_until(page: Page, expression: str, seconds: float = 3.0) -> bool:
    """Poll ``expression`` until it is true (or ``seconds`` pass). Not ``page.wait_for_function``: its
    polling evaluates the expression as a string inside the page, which our Content-Security-Policy (no
    'unsafe-eval') refuses whenever the first try is false; ``page.evaluate`` goes through the browser's
    debugging protocol, which the page's policy does not govern."""
    deadline = time.monotonic() + seconds
    while True:
        if page.evaluate(expression):
            return True
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)


def no_sideways_scroll(page: Page) -> None:
    """The page is as wide as the screen and every rendered control sits inside it — once the layout has
    settled: a chart drawn for a wider window redraws itself on the resize event, a moment later."""
    wait_until(page, "document.documentElement.scrollWidth <= window.innerWidth")  # else the sweep says what
    found = page.evaluate(_SWEEP, CONTROLS)
    assert found["scrollWidth"] <= found["innerWidth"], found
    assert found["outside"] == [], found["outside"]


def on_screen(locator: Locator, what: str) -> dict[str, float]:
    """``locator`` (each match) is shown and lies inside the 390-pixel width."""
    assert locator.count() > 0, f"{what}: not on the page"
    box: dict[str, Any] | None = None
    for i in range(locator.count()):
        one = locator.nth(i)
        expect(one, f"{what} is hidden").to_be_visible()
        box = one.bounding_box()
        assert box is not None, what
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (
            f"{what} is off-screen: {box}"
        )
    assert box is not None
    return box


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)


@pytest.fixture
def loop(live_server, tree, personas, settings, tmp_path) -> dict[str, Any]:
    """孙庄村 with one row in each state (草稿, 待审核 with a receipt, 已审核, 已退回) and long texts."""
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk, admin = personas["village_clerk"], personas["township_admin"]
    category = Category.objects.get(name="经营收入")
    path = DevelopmentPath.objects.get(name="现代农业")

    def row(amount: str, day: int, summary: str) -> Entry:
        return ledger_services.entry_create(
            actor=clerk,
            village=tree.sunzhuang,
            date=datetime.date(2020, 4, day),
            amount=Decimal(amount),
            category=category,
            path=path,
            summary=summary,
            counterparty="宁津县卓冉中药材种植专业合作社",
        )

    draft = row("3600.00", 17, "4月合作社中药材种苗销售收入")
    submitted = row("3220.00", 11, "4月特色种植销售收入")
    receipt = SimpleUploadedFile("收据.pdf", b"%PDF-1.4 test receipt", content_type="application/pdf")
    ledger_services.evidence_add(actor=clerk, entry=submitted, files=[receipt])
    submitted = ledger_services.entry_submit(actor=clerk, entry=submitted)
    verified = ledger_services.entry_submit(
        actor=clerk, entry=row("112080.00", 2, "3月卓冉合作社中药材（丹参）销售收入（更正）")
    )
    (verified,) = ledger_services.entry_verify(actor=admin, entries=[verified])
    returned = ledger_services.entry_submit(actor=clerk, entry=row("800.00", 5, "土地流转承包费"))
    (returned,) = ledger_services.entry_return(
        actor=admin, entries=[returned], reason="缺少收入凭证，请补传收据"
    )
    return {
        "base": live_server.url,
        "draft": draft,
        "submitted": submitted,
        "verified": verified,
        "returned": returned,
    }


# ---------------------------------------------------------------- 进度表


@pytest.mark.parametrize(
    "username",
    ["admin", "leader", "station", "district", "instructor", "secretary", "clerk"],
)
def test_progress_table_on_a_phone(loop, tree, page: Page, username: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], username)
    page.goto(f"{loop['base']}/progress/?{AS_OF}")
    no_sideways_scroll(page)
    for control in ("form.asof select[name=year]", "form.asof input[name=as_of]", "a[data-export]"):
        on_screen(page.locator(control), control)
    for name in ("station", "district", "band", "tag"):
        on_screen(page.locator(f"form.filters select[name={name}]"), f"筛选 {name}")
    on_screen(page.locator("form.filters input[name=q]"), "村名搜索")
    # Every village shown carries its name on one line, its completion, its gap to time progress and its band.
    rows = page.locator("tr[data-code]")
    assert rows.count() >= 1
    for i in range(rows.count()):
        r = rows.nth(i)
        name = on_screen(r.locator("td.c-name a, td.c-name .vname").first, "村名")
        assert name["height"] < 30, f"the village name wraps: {name}"
        on_screen(r.locator(".bar-cell"), "完成率")
        on_screen(r.locator("td", has_text=re.compile(r"^\s*([+-]\d+\.\d|—)\s*$")), "与时序差")
        on_screen(r.locator(".chip"), "状态")
    sun = page.locator(f"tr[data-code='{tree.sunzhuang.code}']")
    expect(sun).to_contain_text("112,080.00")
    expect(sun).to_contain_text("112.1%")
    # A filter swapped in by htmx keeps the phone layout.
    page.select_option("form.filters select[name=band]", "green")
    expect(page).to_have_url(re.compile("band=green"))
    expect(page.locator("tr[data-code]", has_text="孙庄村")).to_have_count(1)
    no_sideways_scroll(page)
    on_screen(page.locator(f"tr[data-code='{tree.sunzhuang.code}'] .chip"), "状态")
    shoot(page, f"progress-{username}")


# ---------------------------------------------------------------- 村页面


def _ledger_row(page: Page, entry: Entry) -> Locator:
    return page.locator(f"tr#e{entry.pk}")


@pytest.mark.parametrize("username", ["clerk", "secretary"])
def test_village_page_on_a_phone_for_those_who_enter(loop, tree, page: Page, username: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], username)
    page.goto(f"{loop['base']}/villages/{tree.sunzhuang.code}/?{AS_OF}")
    no_sideways_scroll(page)
    on_screen(page.get_by_role("link", name="＋ 录入收入"), "录入收入")
    for state in ("draft", "submitted", "verified", "returned"):
        r = _ledger_row(page, loop[state])
        on_screen(r.locator("td.num"), f"{state} 金额")
        on_screen(r.locator(".st"), f"{state} 状态")
    draft, returned = _ledger_row(page, loop["draft"]), _ledger_row(page, loop["returned"])
    on_screen(draft.get_by_role("link", name="修改"), "草稿 修改")
    on_screen(draft.get_by_role("button", name="提交"), "草稿 提交")
    on_screen(draft.get_by_role("button", name="删除"), "草稿 删除")
    on_screen(returned.get_by_role("link", name="修改"), "退回 修改")
    on_screen(returned.get_by_role("button", name="提交"), "退回 提交")
    on_screen(returned.locator(".error"), "退回原因")
    _reverse_box_on_screen(page, loop["verified"])
    shoot(page, f"village-{username}")


@pytest.mark.parametrize("username", ["admin", "station", "district"])
def test_village_page_on_a_phone_for_those_who_verify(loop, tree, page: Page, username: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], username)
    page.goto(f"{loop['base']}/villages/{tree.sunzhuang.code}/?{AS_OF}")
    no_sideways_scroll(page)
    for state in ("draft", "submitted", "verified", "returned"):
        on_screen(_ledger_row(page, loop[state]).locator(".st"), f"{state} 状态")
    _reverse_box_on_screen(page, loop["verified"])
    shoot(page, f"village-{username}")


def test_village_page_on_a_phone_for_a_leader(loop, tree, page: Page) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], "leader")
    page.goto(f"{loop['base']}/villages/{tree.sunzhuang.code}/?{AS_OF}")
    no_sideways_scroll(page)
    on_screen(page.get_by_role("link", name="导出 Excel"), "导出")
    r = _ledger_row(page, loop["verified"])
    on_screen(r.locator("td.num"), "金额")
    on_screen(r.locator(".st"), "状态")
    expect(r.locator("summary")).to_have_count(0)  # a leader reads; no 冲销


def _reverse_box_on_screen(page: Page, verified: Entry) -> None:
    r = _ledger_row(page, verified)
    summary = r.locator("summary", has_text="冲销")
    on_screen(summary, "冲销")
    summary.click()
    on_screen(r.locator("input[name=reason]"), "冲销原因")
    on_screen(r.get_by_role("button", name="确认冲销"), "确认冲销")
    no_sideways_scroll(page)


# ---------------------------------------------------------------- 录入


@pytest.mark.parametrize("username", ["clerk", "secretary"])
def test_entry_page_on_a_phone(loop, page: Page, username: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], username)
    page.goto(f"{loop['base']}/ledger/new/")
    page.fill("input[name=amount]", "12000")
    expect(page.locator("output.echo")).to_contain_text("1.20万元")
    no_sideways_scroll(page)
    on_screen(page.locator("input[name=amount]"), "金额")
    on_screen(page.locator("output.echo"), "金额回显")
    on_screen(page.locator("label.choice"), "类别和路子")
    on_screen(page.locator("button[name=submit]"), "提交审核")
    on_screen(page.locator("button[name=draft]"), "存为草稿")
    shoot(page, f"entry-{username}")


# ---------------------------------------------------------------- 审核


@pytest.mark.parametrize("username", ["admin", "station", "district"])
def test_review_page_on_a_phone(loop, page: Page, username: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], username)
    page.goto(f"{loop['base']}/review/")
    no_sideways_scroll(page)
    on_screen(page.locator("button[value=verify]"), "审核通过所选")
    on_screen(page.locator("button[value=return]"), "退回所选")
    on_screen(page.locator("input[name=reason]"), "退回原因")
    on_screen(page.locator("button[data-reason]"), "常用退回原因")
    row = page.locator("tr.review-row", has_text="4月特色种植销售收入")
    on_screen(row.locator("input[name=ids]"), "勾选")
    on_screen(row.locator("td.num"), "金额")
    on_screen(row.locator("a[href*='/ledger/evidence/']"), "凭证")
    expect(row).to_contain_text(str(loop["submitted"].entered_by))
    # Selecting on the phone still works: the row is checked and the bar stays reachable.
    row.locator("input[name=ids]").check()
    on_screen(page.locator("button[value=verify]"), "审核通过所选")
    shoot(page, f"review-{username}")


# ---------------------------------------------------------------- 目标：建立年度、锁定的设置、导入


def test_targets_pages_on_a_phone(loop, page: Page) -> None:
    """A new year's defaults to confirm, a year whose settings are locked (the loop has a verified row in
    2020) and the targets import with its year choice: all within 390 pixels."""
    page.set_viewport_size(PHONE)
    sign_in(page, loop["base"], "admin")
    page.goto(f"{loop['base']}/targets/2021/")
    expect(page.locator("main")).to_contain_text("确认后将建立 相衙镇 2021 年度任务")
    no_sideways_scroll(page)
    on_screen(page.locator("form.create-year input[name=baseline]"), "基础线")
    on_screen(page.locator("form.create-year label.choice"), "计入目标的类别")
    on_screen(page.locator("form.create-year button[type=submit]"), "确认建立")
    shoot(page, "targets-new-year")
    page.goto(f"{loop['base']}/targets/2020/")
    expect(page.locator("p.locked")).to_contain_text("2020 年已有审核通过的台账")
    no_sideways_scroll(page)
    on_screen(page.locator("dl.locked-settings dd"), "锁定的设置")
    on_screen(page.locator("input[name=goal]"), "强村目标个数")
    shoot(page, "targets-locked")
    page.goto(f"{loop['base']}/import/targets/")
    no_sideways_scroll(page)
    on_screen(page.locator("select[name=year]"), "年度")
    shoot(page, "import-targets")


# ---------------------------------------------------------------- 电脑


def test_desktop_keeps_the_full_tables(loop, tree, page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    sign_in(page, loop["base"], "station")
    page.goto(f"{loop['base']}/progress/?{AS_OF}")
    expect(page.locator("table.progress thead th")).to_have_count(10)
    for th in page.locator("table.progress thead th").all():
        expect(th).to_be_visible()
    assert page.locator("table.progress tbody tr").first.evaluate("el => getComputedStyle(el).display") == (
        "table-row"
    )
    page.goto(f"{loop['base']}/villages/{tree.sunzhuang.code}/?{AS_OF}")
    expect(page.locator("table.ledger thead th").first).to_be_visible()
    assert _ledger_row(page, loop["verified"]).evaluate("el => getComputedStyle(el).display") == "table-row"
    page.goto(f"{loop['base']}/review/")
    header = page.locator("table.ledger thead").first
    expect(header).to_be_visible()
    expect(header).to_contain_text("凭证")


# ---------------------------------------------------------------- 导入人员账号 (系统管理员)


def _people_workbook(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    for row in [
        ["相衙镇人员账号"],
        ["姓名", "手机", "账号", "角色", "单位"],
        ["孙庄村报账员王小明", 13800000001, "", "村报账员", "孙庄村"],
        ["刘书记", "138 0000 0002", "liu.secretary.of.liudao", "村书记", "刘道"],
        ["一站长", "", "s1.head", "站长", "一号网格站"],
    ]:
        wb.active.append(row)
    wb.save(path)
    return path


def test_people_import_on_a_phone(live_server, tree, personas, page: Page, settings, tmp_path) -> None:
    settings.HOME = tmp_path
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "sysadmin")
    page.goto(f"{live_server.url}/import/")
    no_sideways_scroll(page)
    on_screen(page.get_by_role("link", name="上传并检查"), "上传并检查")
    page.goto(f"{live_server.url}/import/people/")
    no_sideways_scroll(page)
    on_screen(page.locator("input[type=file]"), "选择文件")
    on_screen(page.get_by_role("button", name="检查（试导入）"), "检查")
    page.set_input_files("input[type=file]", str(_people_workbook(tmp_path / "人员.xlsx")))
    page.get_by_role("button", name="检查（试导入）").click()
    expect(page.locator("main")).to_contain_text("将建立 3 个账号，授予 3 项角色")
    no_sideways_scroll(page)
    on_screen(page.locator("table.people-preview td.c-name"), "姓名")
    on_screen(page.locator("table.people-preview td", has_text="liu.secretary.of.liudao"), "账号")
    on_screen(page.get_by_role("button", name="确认导入"), "确认导入")
    shoot(page, "people-check")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("main")).to_contain_text("已建立 3 个账号")
    no_sideways_scroll(page)
    link = page.get_by_role("link", name="下载一次性密码表")
    on_screen(link, "下载一次性密码表")
    shoot(page, "people-done")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "passwords.xlsx"
    info.value.save_as(saved)
    from openpyxl import load_workbook

    from qiangcun.accounts.models import User

    rows = list(load_workbook(saved).active.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 3 and all(User.objects.get(username=r[1]).check_password(r[2]) for r in rows)
    page.reload()
    expect(page.locator("#passwords")).to_contain_text("已经下载过")
    no_sideways_scroll(page)
