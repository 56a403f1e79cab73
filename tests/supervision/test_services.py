import datetime
import hashlib
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.supervision import services
from qiangcun.supervision.models import Bulletin, BulletinSettings
from qiangcun.supervision.weeks import parse_week

pytestmark = pytest.mark.usefixtures("fast_hashing")

W11 = parse_week("2020-W11")  # 9–15 March 2020 (Sunday cut-off)


def test_issue_freezes_numbers_and_files(tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 3, 10), status="verified")
    make_entry(tree.liudao, "800.00", datetime.date(2020, 3, 1), status="verified")
    admin = personas["township_admin"]
    bulletin, created = services.bulletin_issue(actor=admin, township=tree.township, week=W11)
    assert created and bulletin.number == 1 and bulletin.week == 11
    s = bulletin.snapshot
    assert s["totals"]["income"] == "12800.00" and s["totals"]["new"] == "12000.00"
    by_name = {v["name"]: v for v in s["villages"]}
    assert by_name["孙庄村"]["new"] == "12000.00" and by_name["刘道村"]["new"] == "0.00"
    assert bulletin.docx_sha256 == hashlib.sha256(bytes(bulletin.docx)).hexdigest()
    assert bulletin.pdf_sha256 == hashlib.sha256(bytes(bulletin.pdf)).hexdigest()
    assert bytes(bulletin.pdf).startswith(b"%PDF") and bytes(bulletin.docx).startswith(b"PK")
    record = ChangeRecord.objects.get(action="bulletin.issue", object_pk=str(bulletin.pk))
    assert record.actor_id == admin.pk and record.after["income"] == "12800.00"

    # A row verified later, dated inside the week, does not change the issued bulletin...
    make_entry(tree.bianxiyang, "5000.00", datetime.date(2020, 3, 12), status="verified")
    again, created = services.bulletin_issue(actor=admin, township=tree.township, week=W11)
    assert not created and again.pk == bulletin.pk
    again.refresh_from_db()
    assert again.snapshot == s and bytes(again.pdf) == bytes(bulletin.pdf)
    assert ChangeRecord.objects.filter(action="bulletin.issue").count() == 1
    # ...but the next week's bulletin counts it, numbered next: dated in week 11 but verified after that
    # bulletin, it is new since it — this 累计 minus the last one's is this 新增, and the text says so.
    nxt, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W12"))
    assert nxt.number == 2 and nxt.snapshot["totals"]["income"] == "17800.00"
    assert (
        nxt.snapshot["totals"]["new"] == "5000.00" and nxt.snapshot["totals"]["income_before"] == "12800.00"
    )
    assert nxt.snapshot["since"] == "previous_bulletin"
    assert "全镇新增村集体经营性收入0.50万元，累计1.78万元" in nxt.summary
    by_name = {v["name"]: v for v in nxt.snapshot["villages"]}
    assert by_name["编席杨村"]["new"] == "5000.00" and by_name["孙庄村"]["new"] == "0.00"


def test_numbers_follow_the_order_of_issue_within_a_year(tree, personas):
    admin = personas["township_admin"]
    late, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W20"))
    early, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W03"))
    assert (late.number, early.number) == (1, 2)


@pytest.mark.parametrize(
    "who", ["leader", "station_head", "village_clerk", "system_admin", "auditor", "no_role"]
)
def test_only_the_township_admin_issues(tree, personas, who):
    with pytest.raises(PermissionDeniedError):
        services.bulletin_issue(actor=personas[who], township=tree.township, week=W11)
    assert not Bulletin.objects.exists()


def test_another_townships_admin_cannot_issue_ours(tree, other_township):
    from qiangcun.accounts.models import User

    with pytest.raises(PermissionDeniedError):
        services.bulletin_issue(
            actor=User.objects.get(username="other-admin"), township=tree.township, week=W11
        )


def test_a_township_without_villages_has_nothing_to_issue(tree):
    from decimal import Decimal

    from qiangcun.accounts.models import Role
    from qiangcun.orgs.models import Level
    from qiangcun.orgs.services import unit_create
    from qiangcun.targets.services import campaign_create
    from tests.conftest import _user

    empty = unit_create(
        actor=None, level=Level.TOWNSHIP, name="空镇", code="371422199000", parent=tree.county
    )
    admin = _user("empty-admin", Role.TOWNSHIP_ADMIN, empty)
    campaign_create(
        actor=admin, township=empty, year=2020, baseline=Decimal("30000.00"), top_tier=Decimal("100000.00")
    )
    with pytest.raises(ServiceError, match="空镇 2020 年还没有村的目标"):
        services.bulletin_issue(actor=admin, township=empty, week=W11)
    assert not Bulletin.objects.exists()


def test_weeks_not_ended_or_without_a_campaign_are_refused(tree, personas, settings):
    admin = personas["township_admin"]
    settings.TODAY = datetime.date(2020, 3, 14)
    with pytest.raises(ServiceError, match="还没有结束"):
        services.bulletin_issue(actor=admin, township=tree.township, week=W11)
    settings.TODAY = None
    with pytest.raises(ServiceError, match="尚未设置 2019 年度任务"):
        services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2019-W11"))
    with pytest.raises(ServiceError, match="按镇发布"):
        services.bulletin_issue(actor=admin, township=tree.station1, week=W11)
    assert not Bulletin.objects.exists()


def test_settings_validation_and_audit(tree, personas):
    admin = personas["township_admin"]
    with pytest.raises(ServiceError, match="同时选择星期和时间"):
        services.bulletin_settings_update(
            actor=admin,
            township=tree.township,
            cutoff_weekday=4,
            issuer="",
            schedule_weekday=0,
            schedule_time=None,
        )
    with pytest.raises(PermissionDeniedError):
        services.bulletin_settings_update(
            actor=personas["station_head"],
            township=tree.township,
            cutoff_weekday=4,
            issuer="",
            schedule_weekday=None,
            schedule_time=None,
        )
    conf = services.bulletin_settings_update(
        actor=admin,
        township=tree.township,
        cutoff_weekday=4,
        issuer="相衙镇党建办",
        schedule_weekday=4,
        schedule_time=datetime.time(17, 0),
    )
    assert ChangeRecord.objects.filter(action="bulletin.settings", object_pk=str(conf.pk)).count() == 1
    # The cut-off day may change later, but a week overlapping an issued one is refused.
    services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W11", 4))  # 7–13 March
    services.bulletin_settings_update(
        actor=admin,
        township=tree.township,
        cutoff_weekday=6,
        issuer="",
        schedule_weekday=None,
        schedule_time=None,
    )
    with pytest.raises(ServiceError, match="与已发布的第1期（3月7日至3月13日）时间重叠"):
        services.bulletin_issue(
            actor=admin, township=tree.township, week=parse_week("2020-W11")
        )  # 9–15 March
    later, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W12"))
    assert (later.number, later.week_start) == (2, datetime.date(2020, 3, 16))


def test_the_schedule_issues_the_last_ended_week_once(tree, personas, settings):
    admin = personas["township_admin"]
    services.bulletin_settings_update(
        actor=admin,
        township=tree.township,
        cutoff_weekday=4,
        issuer="",
        schedule_weekday=4,
        schedule_time=datetime.time(17, 0),
    )
    tz = timezone.get_current_timezone()
    friday_noon = datetime.datetime(2020, 4, 17, 12, 0, tzinfo=tz)
    friday_evening = datetime.datetime(2020, 4, 17, 17, 30, tzinfo=tz)
    settings.TODAY = datetime.date(2020, 4, 17)
    # Before 17:00 on Friday the due week is the one issued a week ago (week 15, ended 10 April).
    assert [w.number for w in services.due_weeks(tree.township, friday_noon)] == [15]
    assert [w.number for w in services.due_weeks(tree.township, friday_evening)] == [16]
    issued = services.bulletins_issue_due(friday_evening)
    assert [(b.week, b.scheduled, b.issued_by_id) for b in issued] == [(16, True, None)]
    assert services.bulletins_issue_due(friday_evening) == []  # issuing twice changes nothing
    assert services.next_moment(friday_evening) == datetime.datetime(2020, 4, 24, 17, 0, tzinfo=tz)
    record = ChangeRecord.objects.get(action="bulletin.issue")
    assert record.actor_id is None and record.note == "定时发布"


def test_without_a_schedule_nothing_is_due(tree):
    BulletinSettings.objects.create(township=tree.township, cutoff_weekday=6)
    assert services.due_weeks(tree.township, timezone.now()) == []
    assert services.next_moment(timezone.now()) is None


def test_the_command_prints_the_paths_it_wrote(tree, tmp_path, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 3, 10), status="verified")
    out = io.StringIO()
    call_command(
        "bulletin", township=tree.township.code, week="2020-W11", issue=True, out=str(tmp_path), stdout=out
    )
    paths = out.getvalue().splitlines()
    assert [p.rsplit(".", 1)[1] for p in paths] == ["docx", "pdf"]
    bulletin = Bulletin.objects.get()
    with open(paths[0], "rb") as fh:
        assert fh.read() == bytes(bulletin.docx)
    with open(paths[1], "rb") as fh:
        assert fh.read() == bytes(bulletin.pdf)
    assert ChangeRecord.objects.get(action="bulletin.issue").note == "命令行"
    # A draft (no --issue) is written too, and issues nothing.
    out = io.StringIO()
    call_command("bulletin", township=tree.township.code, week="2020-W12", out=str(tmp_path), stdout=out)
    assert len(out.getvalue().splitlines()) == 2 and Bulletin.objects.count() == 1


def test_the_command_refuses_in_chinese(tree):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="格式不对"):
        call_command("bulletin", township=tree.township.code, week="16")
    with pytest.raises(CommandError, match="没有代码为 nowhere 的镇"):
        call_command("bulletin", township="nowhere", week="2020-W16")
    assert not Bulletin.objects.exists()


def test_files_left_for_later_are_written_once_on_first_download(tree, personas, make_entry):
    make_entry(tree.sunzhuang, "12000.00", datetime.date(2020, 3, 10), status="verified")
    bulletin, _ = services.bulletin_issue(
        actor=personas["township_admin"], township=tree.township, week=W11, render=False
    )
    assert bulletin.docx_sha256 == "" and bytes(bulletin.pdf) == b""
    docx, pdf = services.bulletin_files(bulletin=bulletin)
    assert docx.startswith(b"PK") and pdf.startswith(b"%PDF")
    stored = Bulletin.objects.get(pk=bulletin.pk)
    assert stored.pdf_sha256 == hashlib.sha256(pdf).hexdigest() and bytes(stored.docx) == docx
    # Later rows change nothing: the files come from the frozen snapshot, and are not written again.
    make_entry(tree.liudao, "999.00", datetime.date(2020, 3, 11), status="verified")
    assert services.bulletin_files(bulletin=stored) == (docx, pdf)
    assert ChangeRecord.objects.filter(action="bulletin.files").count() == 1


def test_the_issuer_is_short_and_clean(tree, personas):
    admin = personas["township_admin"]
    for issuer, message in (
        ("党" * 19, "发文单位最多 18 个字（现有 19 个）"),
        ("党建\x01办", "发文单位第 3 个字是不可见的控制字符"),
    ):
        with pytest.raises(ServiceError, match=message.replace("（", "\\（").replace("）", "\\）")):
            services.bulletin_settings_update(
                actor=admin,
                township=tree.township,
                cutoff_weekday=6,
                issuer=issuer,
                schedule_weekday=None,
                schedule_time=None,
            )
    assert not BulletinSettings.objects.exists()


def test_one_scheduling_task_waits_in_the_workers_queue(tree, personas, settings):
    from django_tasks_db.models import DBTaskResult

    from qiangcun.supervision.tasks import TICK, ensure_tick, issue_due_bulletins

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert ensure_tick() is False  # no schedule: nothing to wait for
    services.bulletin_settings_update(
        actor=personas["township_admin"],
        township=tree.township,
        cutoff_weekday=4,
        issuer="",
        schedule_weekday=4,
        schedule_time=datetime.time(17, 0),
    )
    before = timezone.now()
    assert ensure_tick() is True
    assert ensure_tick() is False  # never two
    waiting = DBTaskResult.objects.get(task_path=issue_due_bulletins.module_path, status="READY")
    moment = services.next_moment(before)
    assert moment is not None and waiting.run_after <= min(moment, before + TICK) + datetime.timedelta(
        seconds=5
    )
    assert waiting.run_after > before
