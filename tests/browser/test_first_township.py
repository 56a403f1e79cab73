"""A township from nothing to a live progress table, through `qiangcun init` and the pages alone.

From an empty database: `init` makes 柳河镇, its admin and its system admin. In the browser, the admin
changes the one-time password and imports the township's own three workbooks (org structure, 2020
targets in 万元 — which opens the year with the default settings — and the ledger, 待审核); the system
admin makes the station head's account and grants the role; the station head changes the password and
verifies the station's rows. The progress table then shows, for every village, the income that counts,
computed from the workbook's rows, and the township total.

The walk is timed and its steps are counted (pages, clicks, typed fields, files chosen); both are
written to ``test-results/first-township.json``, from which the README states a person's time."""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from qiangcun.ledger.models import Entry, Status
from qiangcun.orgs.models import OrgUnit
from qiangcun.targets.models import Campaign
from tests.browser import township_books as books
from tests.browser.test_phone import no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("test-results")


class Walk:
    """The page, with every step a person takes counted."""

    def __init__(self, page: Page, base: str, files: Path) -> None:
        self.page, self.base, self.files = page, base, files
        self.counts = {"pages": 0, "clicks": 0, "fields": 0, "selects": 0, "files": 0}

    def goto(self, path: str) -> None:
        self.counts["pages"] += 1
        self.page.goto(self.base + path)

    def click(self, selector: str) -> None:
        self.counts["clicks"] += 1
        self.page.click(selector)

    def fill(self, selector: str, value: str) -> None:
        self.counts["fields"] += 1
        self.page.fill(selector, value)

    def select(self, selector: str, value: str) -> None:
        self.counts["selects"] += 1
        self.page.select_option(selector, value)

    def upload(self, name: str, body: bytes) -> None:
        self.counts["files"] += 1
        path = self.files / name
        path.write_bytes(body)
        self.page.set_input_files("input[type=file]", str(path))

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/login/")
        self.fill("input[name=username]", username)
        self.fill("input[name=password]", password)
        self.click("button[type=submit]")

    def first_password(self, one_time: str, new: str) -> None:
        expect(self.page).to_have_url(f"{self.base}/password/")
        self.fill("input[name=old_password]", one_time)
        self.fill("input[name=new_password1]", new)
        self.fill("input[name=new_password2]", new)
        self.click("button:has-text('保存新密码')")
        expect(self.page.locator(".messages")).to_contain_text("密码已修改")

    def sign_out(self) -> None:
        self.click("header .who button")
        expect(self.page.locator("input[name=username]")).to_be_visible()

    def import_book(self, kind: str, label: str, name: str, body: bytes, year: str | None = None) -> str:
        """Upload on 导入 › ``label``, check, confirm; the summary the page gives after the import."""
        self.click("nav >> text=导入")
        self.counts["clicks"] += 1
        self.page.locator("section.fig", has_text=f"导入{label}").locator("text=上传并检查").click()
        self.upload(name, body)
        if year is not None:
            self.select("select[name=year]", year)
        self.click("button:has-text('检查（试导入）')")
        expect(self.page.locator("main")).to_contain_text("检查结果（尚未写入）")
        self.click("button:has-text('确认导入')")
        done = self.page.locator("main .messages")
        expect(done).to_contain_text("已")
        return done.inner_text()


def _init() -> dict[str, str]:
    out = io.StringIO()
    call_command(
        "init", "--township", books.TOWNSHIP, "--code", books.CODE, "--admin", "dangjianban",
        "--sysadmin", "xitong", "--county", "宁津县", "--county-code", "371422", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return dict(line.split(" ") for line in out.getvalue().splitlines())


def test_a_township_from_nothing_to_a_live_progress_table(live_server, page: Page, tmp_path: Path) -> None:
    assert not OrgUnit.objects.exists() and not Entry.objects.exists()
    started = time.monotonic()
    passwords = _init()
    walk = Walk(page, live_server.url, tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})

    # 1. The township admin: own password, then the three workbooks.
    walk.sign_in("dangjianban", passwords["dangjianban"])
    walk.first_password(passwords["dangjianban"], "Liuhe-dangjian-2020")
    units = walk.import_book("units", "组织结构", "柳河镇网格划分.xlsx", books.units_book())
    assert "网格站 2 个" in units and "管区 4 个" in units and "行政村 10 个" in units
    targets = walk.import_book(
        "targets", "年度目标", "2020年目标任务分解表.xlsx", books.targets_book(), year="2020"
    )
    assert "10 个村" in targets
    campaign = Campaign.objects.get(township__code=books.CODE, year=2020)
    assert (campaign.baseline, campaign.top_tier) == (Decimal("30000.00"), Decimal("100000.00"))
    ledger = walk.import_book("ledger", "台账", "柳河镇收入台账2020.xlsx", books.ledger_book(), year="2020")
    assert "已导入 10 条（待审核）" in ledger
    walk.sign_out()

    # 2. The system admin: own password, the station head's account and role.
    walk.sign_in("xitong", passwords["xitong"])
    walk.first_password(passwords["xitong"], "Liuhe-xitong-2020")
    expect(page).to_have_url(f"{live_server.url}/people/")
    walk.click("text=新建账号")
    walk.fill("input[name=display_name]", "李站长")
    walk.fill("input[name=phone]", "13800005678")
    walk.fill("input[name=username]", "lizhanzhang")
    station = OrgUnit.objects.get(name="第一网格站")
    walk.select("select[name=unit]", station.code)
    walk.click("button:has-text('建立账号')")
    station_password = page.locator(".otp-password").inner_text()
    walk.click("text=下一步：授予角色")
    expect(page.locator("select[name=role]")).to_have_value("station_head")  # offered for a 网格站
    walk.click("button:has-text('授予')")
    expect(page.locator(".messages")).to_contain_text("已授予李站长：第一网格站网格站长")
    walk.sign_out()

    # 3. The station head: own password, then verifies the station's rows.
    walk.sign_in("lizhanzhang", station_password)
    walk.first_password(station_password, "Hetao-shenhe-2020")
    walk.click("nav >> text=审核")
    mine = [r for r in books.LEDGER if books.station_of(r.village) == "第一网格站"]
    expect(page.locator("tr.review-row")).to_have_count(len(mine))
    walk.click("text=全选")
    walk.click("button:has-text('审核通过所选')")
    expect(page.locator("main")).to_contain_text("没有待审核的台账")
    elapsed = time.monotonic() - started

    # 4. The progress table is live: every village's counted income comes from the verified rows.
    walk.click("nav >> text=进度表")
    page.wait_for_selector("table.progress")
    total = Decimal("0.00")
    for _station, _district, village, _target in books.VILLAGES:
        income = books.counted(village, station="第一网格站")
        total += income
        row = page.locator("table.progress tbody tr", has_text=village)
        expect(row).to_contain_text(f"{income:,.2f}")
        expect(row).to_contain_text(f"{books.target(village):,.2f}")
    # By hand: 柳河村 28,000 + 12,650.50 (its 50,000 grant does not count), 东王庄村 6,000, 前李村 8,800,
    # 后李村 3,200, 大周村 20,000; the second station's rows still wait for their station head.
    assert total == Decimal("78650.50")
    expect(page.locator("main")).to_contain_text(f"{total / 10000:.2f}")
    assert Entry.objects.filter(status=Status.VERIFIED).count() == len(mine)
    assert Entry.objects.filter(status=Status.SUBMITTED).count() == len(books.LEDGER) - len(mine)
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "first-township-progress.png"), full_page=True)
    (SHOTS / "first-township.json").write_text(
        json.dumps(
            {
                "machine_seconds": round(elapsed, 1),
                **walk.counts,
                "person_minutes": round(estimate_minutes(walk.counts), 1),
            },
            indent=1,
        )
    )


def estimate_minutes(counts: dict[str, Any]) -> float:
    """A person's time for the walk's steps: 5 s a page, 3 s a click, 15 s a typed field, 5 s a choice,
    30 s to find and choose a file — reading every check page included in the clicks' pauses."""
    seconds = (
        5 * counts["pages"]
        + 3 * counts["clicks"]
        + 15 * counts["fields"]
        + 5 * counts["selects"]
        + 30 * counts["files"]
    )
    return seconds / 60
