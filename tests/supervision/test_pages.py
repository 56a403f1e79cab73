import datetime

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.supervision.models import Bulletin
from qiangcun.supervision.services import bulletin_issue
from qiangcun.supervision.weeks import parse_week
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def issued(tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 3, 10), status="verified")
    bulletin, _ = bulletin_issue(
        actor=personas["township_admin"], township=tree.township, week=parse_week("2020-W11")
    )
    return bulletin


def test_the_admin_previews_then_issues(client, tree, personas, make_entry):
    make_entry(tree.liudao, "3456.78", datetime.date(2020, 3, 11), status="verified")
    login(client, personas["township_admin"])
    page = client.get(f"/bulletins/?unit={tree.township.code}").content.decode()
    assert "发布本周通报" in page and "还没有发布过通报" in page
    preview = client.get(f"/bulletins/preview/?unit={tree.township.code}&week=2020-W11").content.decode()
    assert "预览：相衙镇通报 2020年第1期" in preview and "3,456.78" in preview and "发布第1期" in preview
    assert not Bulletin.objects.exists()  # a preview issues nothing
    pdf = client.get(f"/bulletins/preview.pdf?unit={tree.township.code}&week=2020-W11")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    response = client.post("/bulletins/issue/", {"unit": tree.township.code, "week": "2020-W11"}, follow=True)
    bulletin = Bulletin.objects.get()
    listing = client.get(f"/bulletins/?unit={tree.township.code}").content.decode()
    assert "2020年第11周（3月9日至3月15日） · 已发布第1期" in listing
    assert "2020年第12周（3月16日至3月22日）</option>" in listing
    assert response.redirect_chain[-1][0] == f"/bulletins/{bulletin.pk}/"
    body = response.content.decode()
    assert "已发布2020年第1期通报（3月9日至3月15日），全镇累计 0.35万元" in body
    again = client.post("/bulletins/issue/", {"unit": tree.township.code, "week": "2020-W11"}, follow=True)
    assert "未重复发布" in again.content.decode() and Bulletin.objects.count() == 1


def test_an_unended_week_is_refused_with_the_reason(client, tree, personas, settings):
    settings.TODAY = datetime.date(2020, 3, 12)
    login(client, personas["township_admin"])
    response = client.post("/bulletins/issue/", {"unit": tree.township.code, "week": "2020-W11"}, follow=True)
    assert "2020年第11周（3月9日至3月15日）还没有结束" in response.content.decode()
    assert not Bulletin.objects.exists()
    bad = client.get(f"/bulletins/preview/?unit={tree.township.code}&week=W11")
    assert bad.status_code == 400 and "格式不对" in bad.content.decode()


@pytest.mark.parametrize("who", ["leader", "station_head", "village_clerk", "other_clerk"])
def test_everyone_in_the_township_reads_and_downloads_byte_for_byte(client, issued, personas, who):
    login(client, personas[who])
    listing = client.get("/bulletins/").content.decode()
    assert "2020年第1期" in listing and "发布本周通报" not in listing
    page = client.get(f"/bulletins/{issued.pk}/").content.decode()
    assert issued.summary in page
    docx = client.get(f"/bulletins/{issued.pk}.docx")
    pdf = client.get(f"/bulletins/{issued.pk}.pdf")
    assert docx.content == bytes(issued.docx) and pdf.content == bytes(issued.pdf)
    assert (
        "attachment" in docx["Content-Disposition"] and "%E7%AC%AC1%E6%9C%9F" in docx["Content-Disposition"]
    )


def test_another_township_sees_none_of_it(client, issued, tree, other_township):
    login(client, other_township.clerk)
    assert client.get(f"/bulletins/{issued.pk}/").status_code == 404
    assert client.get(f"/bulletins/{issued.pk}.pdf").status_code == 404
    assert client.get(f"/bulletins/?unit={tree.township.code}").status_code == 403
    assert "还没有发布过通报" in client.get("/bulletins/").content.decode()  # its own, empty archive


def test_settings_page_saves_and_refuses_half_a_schedule(client, tree, personas):
    login(client, personas["township_admin"])
    url = f"/bulletins/settings/?unit={tree.township.code}"
    bad = client.post(
        url, {"cutoff_weekday": "4", "issuer": "", "schedule_weekday": "4", "schedule_time": ""}
    )
    assert "自动发布需要同时选择星期和时间" in bad.content.decode()
    assert not ChangeRecord.objects.filter(action="bulletin.settings").exists()
    ok = client.post(
        url,
        {"cutoff_weekday": "4", "issuer": "相衙镇党建办", "schedule_weekday": "4", "schedule_time": "17:00"},
    )
    assert ok.status_code == 302
    listing = client.get(f"/bulletins/?unit={tree.township.code}").content.decode()
    assert "每周截止日：周五" in listing and "每周五 17:00 自动发布" in listing


def test_the_poster_is_a_pdf_of_the_board_for_everyone_in_the_township(client, tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 3, 10), status="verified")
    login(client, personas["village_clerk"])
    for size in ("A1", "A0", "A3"):
        response = client.get(f"/progress/poster.pdf?year=2020&as_of=2020-04-17&size={size}")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert size in response["Content-Disposition"]
    assert client.get("/progress/poster.pdf?year=2020&size=B5").status_code == 400


def test_a_unit_that_is_not_a_township_is_a_clear_400(client, tree, personas):
    login(client, personas["township_admin"])
    for url in ("/bulletins/", "/meeting/", "/meetings/"):
        response = client.get(f"{url}?unit={tree.sunzhuang.code}")
        assert response.status_code == 400 and "选择一个镇" in response.content.decode()


def test_a_poster_date_outside_its_year_is_a_clear_400(client, tree, personas):
    login(client, personas["village_clerk"])
    response = client.get("/progress/poster.pdf?year=2020&as_of=2021-05-01")
    assert response.status_code == 400 and "不在 2020 年内" in response.content.decode()
