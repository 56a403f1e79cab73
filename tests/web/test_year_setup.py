"""Setting up a year on the pages: the targets page confirms the defaults of a new year, shows the locked
settings read-only with the reason, and the import opens a year with the defaults — the walk from a
fresh township through the org units import to the targets import needs no other step."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from qiangcun.accounts.models import Role
from qiangcun.core.audit import ChangeRecord
from qiangcun.ledger.models import Category
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import Campaign, VillageTarget

from ..conftest import _user
from .conftest import targets_grid
from .test_audit import _log

DEFAULTS = "基础线 30,000.00 元、强村线 100,000.00 元、计入目标的类别：经营收入、发包及上交收入、投资收益"
DEFAULT_NAMES = ["经营收入", "发包及上交收入", "投资收益"]
LOCKED = "2020 年已有审核通过的台账，基础线、强村线和计入目标的类别已锁定"


@pytest.fixture
def settings_home(settings, tmp_path):
    settings.HOME = tmp_path
    return tmp_path


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("： ", "：")


def _pks(*names: str) -> list[str]:
    return [str(pk) for pk in Category.objects.filter(name__in=names).values_list("pk", flat=True)]


def _names(campaign: Campaign) -> list[str]:
    return list(campaign.counted_categories.order_by("order").values_list("name", flat=True))


def _form_values(html: str, form_start: str) -> dict[str, list[str]]:
    """What a browser would post from the form that contains ``form_start``: text inputs with their
    values, ticked checkboxes, hidden inputs."""
    form = html[html.rindex("<form", 0, html.index(form_start)) :]
    form = form[: form.index("</form>")]
    values: dict[str, list[str]] = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', tag) or [None, "text"])[1]
        if kind == "checkbox" and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values.setdefault(name[1], []).append(value[1] if value else "")
    return values


# --- the targets page: a new year --------------------------------------------------------------------------


def test_a_year_without_a_campaign_shows_the_defaults_for_confirmation(client, personas, tree):
    client.force_login(personas["township_admin"])
    response = client.get(reverse("targets", args=[2021]))
    assert response.status_code == 200 and response.context["campaign"] is None
    html, text = response.content.decode(), _text(response)
    assert "尚未建立 2021 年度任务" in text
    assert f"确认后将建立 相衙镇 2021 年度任务 ，按下面的设置（默认为{DEFAULTS}）" in text
    assert "辖区内每个村的目标先定为基础线" in text
    posted = _form_values(html, 'name="action" value="create"')
    assert posted["baseline"] == ["30000.00"] and posted["top_tier"] == ["100000.00"]
    assert posted["goal"] == ["0"] and posted["band_margin"] == ["10.00"]
    assert sorted(posted["categories"]) == sorted(_pks(*DEFAULT_NAMES))  # the default ones ticked
    for name in ("补助收入", "其他收入"):  # offered, not ticked
        assert re.search(
            rf'<input type="checkbox" name="categories" value="{_pks(name)[0]}"(?![^>]*checked)', html
        )
    assert html[html.index("<main") :].count('type="submit"') == 1  # one button confirms
    assert "确认，建立 相衙镇 2021 年度任务" in text


def test_confirming_as_shown_opens_the_year_with_the_defaults(client, personas, tree):
    admin = personas["township_admin"]
    client.force_login(admin)
    html = client.get(reverse("targets", args=[2021])).content.decode()
    posted = _form_values(html, 'name="action" value="create"')
    response = client.post(reverse("targets", args=[2021]), posted, follow=True)
    assert _messages(response) == [f"已建立 相衙镇2021 年度任务（{DEFAULTS}），各村目标默认为基础线"]
    campaign = Campaign.objects.get(township=tree.township, year=2021)
    assert (campaign.baseline, campaign.top_tier, campaign.goal_top_tier_villages, campaign.band_margin) == (
        Decimal("30000.00"),
        Decimal("100000.00"),
        0,
        Decimal("10.00"),
    )
    assert _names(campaign) == DEFAULT_NAMES
    assert set(VillageTarget.objects.filter(campaign=campaign).values_list("amount", flat=True)) == {
        Decimal("30000.00")
    }
    (rec,) = ChangeRecord.objects.filter(action="campaign.create", object_pk=str(campaign.pk))
    assert rec.actor_id == admin.pk and rec.after["counted_categories"] == DEFAULT_NAMES
    # The page now shows the year's settings to edit.
    page = client.get(reverse("targets", args=[2021]))
    assert page.context["campaign"] == campaign and page.context["lock"] is None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("baseline", "abc", "基础线"),
        ("baseline", "1e309", "基础线"),
        ("baseline", "\x00", "基础线"),
        ("top_tier", "20000", "强村线不能低于基础线"),
        ("goal", "-1", "强村目标个数"),
        ("band_margin", "NaN", "黄牌容差"),
        ("categories", [], "至少选择一个计入目标的收入类别"),
        ("categories", ["9" * 20], "计入目标的类别"),
        ("categories", ["99999"], "计入目标的类别"),
        ("categories", ["abc"], "计入目标的类别"),
        ("categories", ["\x00"], "计入目标的类别"),
    ],
)
def test_hostile_values_open_nothing(client, personas, tree, field, value, words):
    client.force_login(personas["township_admin"])
    data = {
        "action": "create",
        "township": tree.township.code,
        "baseline": "30000.00",
        "top_tier": "100000.00",
        "goal": "0",
        "band_margin": "10",
        "categories": _pks(*DEFAULT_NAMES),
        field: value,
    }
    records = ChangeRecord.objects.filter(ok=True).count()
    response = client.post(reverse("targets", args=[2021]), data)
    assert response.status_code == 200
    assert any(words in m for m in _messages(response)), _messages(response)
    assert not Campaign.objects.filter(year=2021).exists()
    assert ChangeRecord.objects.filter(ok=True).count() == records
    # What was typed stays in the form to be corrected; the other township forms keep the defaults.
    assert "确认，建立 相衙镇 2021 年度任务" in _text(response)


def test_a_township_not_in_scope_cannot_be_opened(client, personas, tree, other_township):
    client.force_login(personas["township_admin"])
    response = client.post(
        reverse("targets", args=[2021]),
        {"action": "create", "township": other_township.township.code, "baseline": "30000.00"},
    )
    assert response.status_code == 404
    assert not Campaign.objects.filter(year=2021).exists()


# --- the targets page: settings and their lock ----------------------------------------------------------


def test_settings_change_on_the_page_until_the_lock(client, personas, tree):
    client.force_login(personas["township_admin"])
    page = client.get(reverse("targets", args=[2020]))
    html = page.content.decode()
    assert page.context["lock"] is None
    assert 'name="baseline"' in html and 'name="categories"' in html
    assert 'href="/targets/2021/"' in html  # next year can be opened from here
    response = client.post(
        reverse("targets", args=[2020]),
        targets_grid(tree.campaign, top_tier="90000", categories=_pks("经营收入", "投资收益")),
        follow=True,
    )
    assert _messages(response) == ["已修改年度设置：强村线、计入目标的类别", "已保存：0 个村的目标有改动"]
    tree.campaign.refresh_from_db()
    assert tree.campaign.top_tier == Decimal("90000.00")
    assert _names(tree.campaign) == ["经营收入", "投资收益"]
    (rec,) = ChangeRecord.objects.filter(action="campaign.update")
    assert rec.before["counted_categories"] == DEFAULT_NAMES
    assert rec.after["counted_categories"] == ["经营收入", "投资收益"]
    # … and the auditor reads it in Chinese, categories by name.
    log = _log(client, personas["auditor"], "?action=campaign.update")
    assert "修改年度任务" in log
    assert "强村线（元）：100,000.00 → 90,000.00" in log
    assert "计入目标的类别：经营收入、发包及上交收入、投资收益 → 经营收入、投资收益" in log


def test_after_the_first_verified_row_the_page_shows_them_read_only(client, personas, tree, make_entry):
    make_entry(tree.liudao, date=datetime.date(2020, 1, 5), status="verified")
    client.force_login(personas["township_admin"])
    page = client.get(reverse("targets", args=[2020]))
    html, text = page.content.decode(), _text(page)
    assert page.context["lock"] == LOCKED
    assert f"已锁定：{LOCKED}" in text
    assert "基础线 30,000.00 元" in text and "强村线 100,000.00 元" in text
    assert "计入目标的类别 经营收入、发包及上交收入、投资收益" in text
    assert 'name="baseline"' not in html and 'name="top_tier"' not in html and 'name="categories"' not in html
    assert 'name="goal"' in html and 'name="band_margin"' in html  # still editable
    # A hostile post of the locked settings changes none of them; the goal and margin do change.
    records = ChangeRecord.objects.filter(action="campaign.update").count()
    response = client.post(
        reverse("targets", args=[2020]),
        targets_grid(
            tree.campaign, baseline="1", top_tier="2", categories=_pks("补助收入"), goal="4", band_margin="5"
        ),
        follow=True,
    )
    assert _messages(response) == ["已修改年度设置：强村目标个数、黄牌容差", "已保存：0 个村的目标有改动"]
    tree.campaign.refresh_from_db()
    assert (tree.campaign.baseline, tree.campaign.top_tier) == (Decimal("30000.00"), Decimal("100000.00"))
    assert (tree.campaign.goal_top_tier_villages, tree.campaign.band_margin) == (4, Decimal("5.00"))
    assert _names(tree.campaign) == DEFAULT_NAMES
    assert ChangeRecord.objects.filter(action="campaign.update").count() == records + 1
    # The village targets stay editable.
    response = client.post(
        reverse("targets", args=[2020]),
        targets_grid(tree.campaign, {tree.liudao.pk: "45000"}, goal="4", band_margin="5"),
        follow=True,
    )
    assert _messages(response) == ["已保存：1 个村的目标有改动"]


def test_a_create_post_for_an_open_year_changes_nothing(client, personas, tree):
    client.force_login(personas["township_admin"])
    response = client.post(
        reverse("targets", args=[2020]),
        {"action": "create", "township": tree.township.code, "baseline": "1", "top_tier": "2", "goal": "0"},
        follow=True,
    )
    assert _messages(response) == ["相衙镇2020 年度任务已存在"]
    tree.campaign.refresh_from_db()
    assert tree.campaign.baseline == Decimal("30000.00")


def test_the_village_page_marks_rows_the_year_does_not_count(client, personas, tree, make_entry, subsidy):
    make_entry(tree.sunzhuang, "500.00", status="verified", cat=subsidy)
    make_entry(tree.sunzhuang, "700.00", status="verified")
    client.force_login(personas["township_admin"])
    url = reverse("village", args=[tree.sunzhuang.code]) + "?year=2020"
    assert _text(client.get(url)).count("不计入") == 1
    tree.campaign.counted_categories.add(subsidy)  # (as the year's set would say before its lock)
    assert "不计入" not in _text(client.get(url))


# --- the import opens a year ----------------------------------------------------------------------------


def _xlsx(rows, name="目标.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def _upload(client, kind: str, rows, **fields) -> tuple[str, str]:
    response = client.post(f"/import/{kind}/", {"file": _xlsx(rows), **fields})
    assert response.status_code == 302, response.content.decode()[:2000]
    job_url = response["Location"]
    return job_url, _text(client.get(job_url))


def test_the_import_page_offers_this_year_even_without_a_campaign(client, personas, tree):
    client.force_login(personas["township_admin"])
    html = client.get("/import/targets/").content.decode()  # today is 2020-12-31 in the web tests
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', html)
    assert [(y, bool(s), label) for y, s, label in options] == [
        ("2021", False, "2021（尚未建立，导入时按默认设置建立）"),
        ("2020", True, "2020"),
        ("2019", False, "2019（尚未建立，导入时按默认设置建立）"),
    ]


def test_importing_targets_for_a_year_without_a_campaign(client, personas, tree, settings_home):
    client.force_login(personas["township_admin"])
    rows = [["相衙镇2021年各村目标"], ["村名", "年度目标"], ["刘道村", 100000], ["编席杨村", "4.5万"]]
    job_url, page = _upload(client, "targets", rows, year="2021")
    assert "检查结果（尚未写入）" in page
    assert f"相衙镇还没有 2021 年度任务，确认导入时将按默认设置建立：{DEFAULTS}" in page
    assert "2 个村，目标合计 14.50万元；将改动 2 个村的目标" in page
    assert not Campaign.objects.filter(year=2021).exists()
    page = _text(client.post(job_url + "confirm/", follow=True))
    assert f"已按默认设置建立 相衙镇2021 年度任务：{DEFAULTS}" in page
    assert "已改动 2 个村的目标" in page and "看 2021 年度目标" in page
    campaign = Campaign.objects.get(township=tree.township, year=2021)
    assert _names(campaign) == DEFAULT_NAMES and campaign.baseline == Decimal("30000.00")
    assert dict(VillageTarget.objects.filter(campaign=campaign).values_list("village__name", "amount")) == {
        "孙庄村": Decimal("30000.00"),
        "刘道村": Decimal("100000.00"),
        "杨老头村": Decimal("30000.00"),
        "编席杨村": Decimal("45000.00"),
    }
    actions = ChangeRecord.objects.filter(
        unit_path__startswith=tree.township.path, at__gte=campaign_time(campaign)
    )
    assert sorted(actions.values_list("action", flat=True)) == [
        "campaign.create",
        "target.update",
        "target.update",
    ]


def campaign_time(campaign: Campaign):
    return ChangeRecord.objects.get(action="campaign.create", object_pk=str(campaign.pk)).at


@pytest.mark.parametrize(
    "bad_row",
    [["杨老头村", 29999.99], ["王家村", 50000], ["刘道村", "很多"]],
    ids=["below the baseline", "no such village", "no amount"],
)
def test_a_failing_row_leaves_no_campaign_behind(client, personas, tree, settings_home, bad_row):
    client.force_login(personas["township_admin"])
    records = ChangeRecord.objects.filter(ok=True).count()
    rows = [["村名", "年度目标"], ["刘道村", 100000], bad_row]
    _, page = _upload(client, "targets", rows, year="2021")
    assert "发现 1 处错误，一条都没有导入" in page and "第 3 行" in page
    assert not Campaign.objects.filter(year=2021).exists()
    assert ChangeRecord.objects.filter(ok=True).count() == records


def test_a_targets_import_without_a_year_is_refused(client, personas, tree, settings_home):
    client.force_login(personas["township_admin"])
    _, page = _upload(client, "targets", [["村名", "年度目标"], ["刘道村", 100000]], year="")
    assert "文件未导入：请选择要导入目标的年度" in page
    assert Campaign.objects.count() == 1


def test_fresh_township_units_then_targets_through_the_pages(client, tree, settings_home):
    """A township that has nothing yet: its admin imports the org units, then the targets of this year —
    no visit to the targets page in between."""
    fresh = unit_create(
        actor=None, level=Level.TOWNSHIP, name="杜集镇", code="371422106000", parent=tree.county
    )
    admin = _user("fresh-admin", Role.TOWNSHIP_ADMIN, fresh)
    client.force_login(admin)

    units = [
        ["杜集镇组织结构"],
        ["网格站", "管区", "村名"],
        ["杜集一站", "杜集一区", "王庄村"],
        ["杜集一站", "杜集二区", "李庄村"],
    ]
    job_url, page = _upload(client, "units", units)
    assert "将新建 网格站 1 个，管区 2 个，行政村 2 个" in page
    assert "已新建" in _text(client.post(job_url + "confirm/", follow=True))
    assert OrgUnit.objects.filter(level=Level.VILLAGE, path__startswith=fresh.path).count() == 2

    form = client.get("/import/targets/").content.decode()
    assert re.search(r'<option value="2020" selected>2020（尚未建立，导入时按默认设置建立）</option>', form)
    year = re.search(r'<option value="(\d+)" selected>', form)[1]  # as the page offers it
    job_url, page = _upload(client, "targets", [["村名", "年度目标"], ["王庄村", "10万"]], year=year)
    assert f"杜集镇还没有 2020 年度任务，确认导入时将按默认设置建立：{DEFAULTS}" in page
    assert "已改动 1 个村的目标" in _text(client.post(job_url + "confirm/", follow=True))

    campaign = Campaign.objects.get(township=fresh, year=2020)
    assert dict(VillageTarget.objects.filter(campaign=campaign).values_list("village__name", "amount")) == {
        "王庄村": Decimal("100000.00"),
        "李庄村": Decimal("30000.00"),
    }
    assert Campaign.objects.get(township=tree.township, year=2020) == tree.campaign  # ours untouched
    # The year is open: the targets page shows it, and the progress table ranks the two villages.
    assert client.get(reverse("targets", args=[2020])).context["campaign"] == campaign
    progress = _text(client.get("/progress/?year=2020"))
    assert "王庄村" in progress and "李庄村" in progress


def test_the_command_line_opens_a_year_too(tree, personas, tmp_path, settings):
    from django.core.management import call_command

    settings.HOME = tmp_path
    wb = Workbook()
    wb.active.append(["村名", "年度目标"])
    wb.active.append(["刘道村", 60000])
    wb.save(tmp_path / "t.xlsx")
    out = io.StringIO()
    call_command("import-targets", str(tmp_path / "t.xlsx"), "--year", "2021", "--dry-run", stdout=out)
    assert f"确认导入时将按默认设置建立：{DEFAULTS}" in out.getvalue()
    assert not Campaign.objects.filter(year=2021).exists()
    out = io.StringIO()
    call_command("import-targets", str(tmp_path / "t.xlsx"), "--year", "2021", stdout=out)
    assert f"已按默认设置建立 相衙镇2021 年度任务：{DEFAULTS}" in out.getvalue()
    campaign = Campaign.objects.get(year=2021)
    assert VillageTarget.objects.get(campaign=campaign, village=tree.liudao).amount == Decimal("60000.00")
