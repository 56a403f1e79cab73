"""The 督查 pages: record a visit, walk an item to 销号, scope on every page and file, the 整改台账 and
约谈 exports."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from qiangcun.supervision import services
from qiangcun.supervision.models import Inspection, Interview, Rectification
from qiangcun.supervision.services import FindingInput
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("fast_hashing")

D = datetime.date
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _inspect_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TODAY = D(2020, 5, 20)


def _at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(15)))


@pytest.fixture
def item(tree, personas):
    inspection = services.inspection_record(
        actor=personas["instructor"],
        village=tree.sunzhuang,
        visited_on=D(2020, 4, 20),
        met="村书记",
        findings=[
            FindingInput(text="公开栏未更新", owner=personas["village_clerk"], required_evidence="公开栏照片")
        ],
        photos=[SimpleUploadedFile("现场.png", PNG)],
        at=_at(D(2020, 4, 20)),
    )
    return Rectification.objects.get(finding__inspection=inspection)


@pytest.fixture
def far_item(tree, personas):
    inspection = services.inspection_record(
        actor=personas["township_admin"],
        village=tree.bianxiyang,
        visited_on=D(2020, 4, 21),
        met="书记",
        findings=[
            FindingInput(text="编席杨村合同未归档", owner=personas["other_clerk"], deadline=D(2020, 5, 2))
        ],
        at=_at(D(2020, 4, 21)),
    )
    return Rectification.objects.get(finding__inspection=inspection)


def test_an_inspector_records_a_visit_and_opens_items_from_the_form(client, tree, personas):
    login(client, personas["instructor"])
    choose = client.get("/inspections/new/").content.decode()
    assert "孙庄村" in choose and "编席杨村" not in choose  # only the villages under their 督查
    form = client.get(f"/inspections/new/?village={tree.sunzhuang.code}").content.decode()
    assert "clerk" in form and "secretary" in form  # the village's people are the owners offered
    response = client.post(
        f"/inspections/new/?village={tree.sunzhuang.code}",
        {
            "village": tree.sunzhuang.code,
            "visited_on": "2020-05-11",
            "met": "村书记、报账员",
            "score": "88",
            "f1-text": "台账凭证不全",
            "f1-owner": str(personas["village_clerk"].pk),
            "f1-evidence": "补齐的凭证",
            "f2-text": "公开栏未更新",
            "f2-owner": "",
            "photos": [SimpleUploadedFile("a.png", PNG)],
        },
        follow=True,
    )
    inspection = Inspection.objects.get()
    assert response.redirect_chain[-1][0] == f"/inspections/{inspection.pk}/"
    body = response.content.decode()
    assert "发现问题 2 个，交办整改 1 项" in body and "88 分" in body
    item = Rectification.objects.get()
    assert item.deadline == D(2020, 5, 25) and item.required_evidence == "补齐的凭证"
    assert "交办整改" in body  # the second finding can still be handed over
    month = client.get("/inspections/?month=2020-05").content.decode()
    assert "已督查" in month and "问题 2 个，整改 0/1 已销号" in month
    assert "指导员 instructor、包区书记 district、站长 station" in month  # who inspects 孙庄村


def test_a_bad_form_says_why_and_saves_nothing(client, tree, personas):
    login(client, personas["instructor"])
    response = client.post(
        "/inspections/new/",
        {"village": tree.sunzhuang.code, "visited_on": "2020-05-11", "met": "书记", "score": "120"},
    )
    assert response.status_code == 200 and "评分应为 0 至 100 的整数" in response.content.decode()
    response = client.post(
        "/inspections/new/",
        {"village": tree.sunzhuang.code, "visited_on": "2020-05-11", "met": "书记", "f1-owner": "99999"},
    )
    assert "没有填写内容，却选了责任人" in response.content.decode()
    assert not Inspection.objects.exists()


def test_the_item_page_offers_each_user_only_their_actions(client, tree, personas, item):
    url = f"/rectifications/{item.pk}/"
    login(client, personas["village_clerk"])
    page = client.get(url).content.decode()
    assert "提交销号" in page and "销号需提供：公开栏照片" in page and "退回重改</button>" not in page
    # Refused without the evidence, with the reason; nothing changes.
    refused = client.post(f"{url}submit/", {"account": ""}, follow=True).content.decode()
    assert "销号需提供：公开栏照片" in refused and Rectification.objects.get(pk=item.pk).status == "open"
    photo = SimpleUploadedFile("公开栏.png", PNG)
    done = client.post(
        f"{url}submit/", {"account": "已更新", "evidence": [photo]}, follow=True
    ).content.decode()
    assert "已提交销号（佐证材料 1 个）" in done
    login(client, personas["instructor"])
    page = client.get(url).content.decode()
    assert "核实销号" in page and "公开栏.png" in page
    client.post(f"{url}reopen/", {"reason": "照片不清楚"})
    assert Rectification.objects.get(pk=item.pk).status == "rectifying"
    login(client, personas["village_clerk"])
    assert "照片不清楚" in client.get(url).content.decode()
    client.post(f"{url}submit/", {"account": "重新拍了"})
    login(client, personas["district_secretary"])
    client.post(f"{url}close/", {"note": "核实无误"})
    item.refresh_from_db()
    assert item.status == "closed" and item.closed_by == personas["district_secretary"]
    page = client.get(url).content.decode()
    for word in ("交办", "提交销号", "退回重改", "销号", "照片不清楚", "核实无误"):
        assert word in page
    assert 'action="/rectifications/' not in page  # closed: no forms left
    again = client.post(f"{url}edit/", {"deadline": "2020-06-30"}, follow=True).content.decode()
    assert "已销号，不能再修改" in again
    assert Rectification.objects.get(pk=item.pk).deadline == item.deadline


@pytest.mark.parametrize("who", ["other_clerk"])
def test_a_clerk_of_another_village_sees_nothing_of_ours(client, tree, personas, item, who):
    login(client, personas[who])
    inspection = item.finding.inspection
    evidence_item = item
    services.rectification_submit(
        actor=personas["village_clerk"], item=evidence_item, files=[SimpleUploadedFile("e.png", PNG)]
    )
    assert client.get(f"/rectifications/{item.pk}/").status_code == 404
    assert client.get(f"/inspections/{inspection.pk}/").status_code == 404
    assert client.get(f"/inspections/photos/{inspection.photos.get().pk}/").status_code == 404
    assert client.get(f"/rectifications/evidence/{item.evidence.get().pk}/").status_code == 404
    assert client.post(f"/rectifications/{item.pk}/submit/", {"account": "x"}).status_code == 404
    assert "公开栏未更新" not in client.get("/rectifications/").content.decode()
    assert "孙庄村" not in client.get("/inspections/?month=2020-04").content.decode()


def test_lists_follow_scope(client, tree, personas, item, far_item):
    def listed(who):
        login(client, personas[who])
        return client.get("/rectifications/").content.decode()

    assert "公开栏未更新" in listed("village_clerk") and "编席杨村合同未归档" not in listed("village_clerk")
    assert "公开栏未更新" in listed("station_head") and "编席杨村合同未归档" not in listed("station_head")
    assert "公开栏未更新" not in listed("other_clerk") and "编席杨村合同未归档" in listed("other_clerk")
    both = listed("township_admin")
    assert "公开栏未更新" in both and "编席杨村合同未归档" in both
    # 20 May: the 2 May deadline (inside the May Day holiday) is met on 6 May; 7 May … 20 May, 9 May (调休)
    # included → 11 working days; the default deadline of the 20 April visit is 6 May too.
    assert both.count("逾期 11 个工作日") == 2 and both.count("顺延至 5月6日") == 1


def test_the_lists_run_a_fixed_number_of_queries(client, tree, personas, item, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, personas["township_admin"])
    pages = ["/rectifications/", "/inspections/?month=2020-04", "/rectifications/export.xlsx"]
    counts = []
    for url in pages:
        with CaptureQueriesContext(connection) as one:
            assert client.get(url).status_code == 200
        counts.append(len(one.captured_queries))
    for n in range(6):
        services.inspection_record(
            actor=personas["township_admin"],
            village=[tree.sunzhuang, tree.liudao, tree.bianxiyang][n % 3],
            visited_on=D(2020, 4, 22),
            met="书记",
            findings=[FindingInput(text=f"问题{n}", owner=personas["village_clerk"])]
            if n % 3 == 0
            else [FindingInput(text=f"问题{n}", owner=personas["other_clerk"])]
            if n % 3 == 2
            else [f"问题{n}"],
        )
    for url, count in zip(pages, counts, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)


def test_the_exports_are_scoped(client, tree, personas, item, far_item):
    from openpyxl import load_workbook

    services.interview_record(
        actor=personas["district_secretary"],
        village=tree.sunzhuang,
        held_on=D(2020, 5, 6),
        interviewee="张三",
        post="村党支部书记",
        reason="红色预警",
        agreed="两周内拿出措施",
    )
    login(client, personas["village_clerk"])
    ws = load_workbook(io.BytesIO(client.get("/rectifications/export.xlsx").content)).active
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True)]
    assert [r[4] for r in rows] == ["公开栏未更新"] and rows[0][9] == 11
    assert client.get("/interviews/export.xlsx").status_code == 403  # interviews stay with inspectors
    login(client, personas["township_admin"])
    ws = load_workbook(io.BytesIO(client.get("/rectifications/export.xlsx").content)).active
    assert len([r for r in ws.iter_rows(min_row=4, values_only=True)]) == 2
    ws = load_workbook(io.BytesIO(client.get("/interviews/export.xlsx").content)).active
    assert [r[2] for r in ws.iter_rows(min_row=4, values_only=True)] == ["张三"]


def test_interview_pages(client, tree, personas):
    login(client, personas["district_secretary"])
    response = client.post(
        "/interviews/new/",
        {
            "village": tree.sunzhuang.code,
            "held_on": "2020-05-06",
            "interviewee": "张三",
            "post": "村党支部书记",
            "reason": "连续红色预警",
            "agreed": "两周内拿出增收措施",
        },
        follow=True,
    )
    interview = Interview.objects.get()
    assert response.redirect_chain[-1][0] == f"/interviews/{interview.pk}/"
    assert "请于 2020-05-19 前跟进" in response.content.decode()
    client.post(f"/interviews/{interview.pk}/follow-up/", {"note": "措施已上报"})
    assert Interview.objects.get().follow_up_note == "措施已上报"
    assert "已跟进" in client.get("/interviews/").content.decode()
    login(client, personas["other_clerk"])
    assert client.get(f"/interviews/{interview.pk}/").status_code == 403
    login(client, personas["village_secretary"])
    assert client.get("/interviews/").status_code == 403


def test_the_bulletin_page_shows_its_annex(client, tree, personas, item):
    from qiangcun.supervision.weeks import parse_week

    bulletin, _ = services.bulletin_issue(
        actor=personas["township_admin"], township=tree.township, week=parse_week("2020-W20")
    )
    login(client, personas["leader"])
    page = client.get(f"/bulletins/{bulletin.pk}/").content.decode()
    # Week 20 ends on Sunday 17 May; the 6 May deadline: 7, 8, 9 (调休), 11 … 15 May → 8 working days.
    assert "附件：逾期事项" in page and "逾期未销号的整改事项（1 项）" in page
    assert "公开栏未更新" in page and '<small class="muted">逾期（工作日）</small> 8' in page
