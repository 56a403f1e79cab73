import datetime

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.supervision.models import Meeting
from qiangcun.supervision.services import meeting_record, screen_snapshot
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_the_screen_shows_the_week_so_far(client, tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 4, 14), status="verified")  # this week
    make_entry(tree.liudao, "800.00", datetime.date(2020, 4, 2), status="verified")  # before
    make_entry(tree.bianxiyang, "500.00", datetime.date(2020, 4, 18), status="verified")  # after the day
    s = screen_snapshot(township=tree.township, as_of=datetime.date(2020, 4, 15))
    assert (s["start"], s["end"]) == ("2020-04-13", "2020-04-15")
    assert s["totals"]["income"] == "12800.00" and s["totals"]["new"] == "12000.00"
    login(client, personas["village_clerk"])
    page = client.get("/meeting/?as_of=2020-04-15").content.decode()
    assert "screen-chart-data" in page and "孙庄村" in page and "+1.20万元" in page
    assert "记录本次会议" not in page  # a clerk watches, the township admin records


def test_a_meeting_record_freezes_what_was_shown(client, tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 4, 14), status="verified")
    login(client, personas["township_admin"])
    response = client.post(
        f"/meetings/new/?unit={tree.township.code}",
        {
            "held_on": "2020-04-17",
            "title": "党政联席会",
            "attendees": "镇党委书记\r\n镇长",
            "decisions": "一、对红色预警村约谈；\r\n二、下周复查。",
        },
        follow=True,
    )
    meeting = Meeting.objects.get()
    assert response.redirect_chain[-1][0] == f"/meetings/{meeting.pk}/"
    assert "会上数据（全镇累计 1.20万元）已一并保存" in response.content.decode()
    assert meeting.attendees == "镇党委书记\n镇长"
    assert meeting.snapshot["totals"]["income"] == "12000.00"
    make_entry(tree.liudao, "800.00", datetime.date(2020, 4, 16), status="verified")  # verified afterwards
    meeting.refresh_from_db()
    assert meeting.snapshot["totals"]["income"] == "12000.00"
    assert ChangeRecord.objects.filter(action="meeting.record", object_pk=str(meeting.pk)).count() == 1
    login(client, personas["station_head"])
    assert "1.20万元" in client.get(f"/meetings/{meeting.pk}/").content.decode()


def test_bad_records_are_refused_and_nothing_saved(tree, personas):
    admin = personas["township_admin"]
    ok = {
        "held_on": datetime.date(2020, 4, 17),
        "title": "党政联席会",
        "attendees": "书记",
        "decisions": "议定",
    }
    for change, message in (
        ({"decisions": "  "}, "请填写议定事项"),
        ({"attendees": "书\x07记"}, "参会人员第 2 个字是不可见的控制字符"),
        ({"title": "会" * 61}, "会议名称最多 60 个字"),
        ({"held_on": datetime.date(2019, 4, 17)}, "尚未设置 2019 年度任务"),
    ):
        with pytest.raises(ServiceError, match=message):
            meeting_record(actor=admin, township=tree.township, **{**ok, **change})
    with pytest.raises(PermissionDeniedError):
        meeting_record(actor=personas["leader"], township=tree.township, **ok)
    assert not Meeting.objects.exists()


def test_another_township_cannot_read_our_meetings(client, tree, personas, other_township):
    meeting = meeting_record(
        actor=personas["township_admin"],
        township=tree.township,
        held_on=datetime.date(2020, 4, 17),
        title="党政联席会",
        attendees="书记",
        decisions="议定",
    )
    login(client, other_township.clerk)
    assert client.get(f"/meetings/{meeting.pk}/").status_code == 404
    assert client.get(f"/meeting/?unit={tree.township.code}").status_code == 403


def test_the_screen_refuses_a_future_day_or_a_year_without_a_campaign(client, tree, personas, settings):
    settings.TODAY = datetime.date(2020, 4, 17)
    login(client, personas["village_clerk"])
    future = client.get("/meeting/?as_of=2020-04-18")
    assert future.status_code == 400 and "还没有到" in future.content.decode()
    none = client.get("/meeting/?as_of=2019-06-01")
    assert none.status_code == 400 and "尚未设置 2019 年度任务" in none.content.decode()
