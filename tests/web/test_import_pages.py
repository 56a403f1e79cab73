"""The import pages: check (a dry run that writes nothing), confirm, error list and report, templates."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from qiangcun.core.excel import REPORT_HEADER
from qiangcun.ledger.models import Entry, Status


def _xlsx(rows) -> SimpleUploadedFile:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("台账.xlsx", buffer.getvalue())


GOOD = [
    ["相衙镇村级集体经济增收工作台账"],
    ["单位：元"],
    ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"],
    ["孙庄", "2020年3月5日", "12,000.00", "经营收入", "现代农业", "中药材销售"],
    ["刘道村", "2020-03-06", "壹万伍仟元", "承包费", "流转", "土地流转承包费"],
    ["合计", None, 27000],
]


@pytest.fixture
def settings_home(settings, tmp_path):
    settings.HOME = tmp_path
    return tmp_path


def _check(client, rows, **extra):
    response = client.post("/import/ledger/", {"year": "2020", "file": _xlsx(rows), **extra})
    assert response.status_code == 302
    job_url = response["Location"]
    assert re.match(r"^/import/jobs/[0-9a-f-]{36}/$", job_url)
    return job_url, client.get(job_url).content.decode()


def test_check_writes_nothing_then_confirm_imports(client, tree, personas, settings_home):
    client.force_login(personas["township_admin"])
    job_url, page = _check(client, GOOD)
    assert "将导入 2 条（待审核），合计 2.70万元" in page
    assert "孙庄村" in page and "12,000.00" in page and "15,000.00" in page
    assert Entry.objects.count() == 0
    assert list((settings_home / "uploads").glob("*.xlsx"))
    response = client.post(job_url + "confirm/", follow=True)
    assert "已导入 2 条（待审核），合计 2.70万元" in response.content.decode()
    assert Entry.objects.filter(status=Status.SUBMITTED).count() == 2
    assert not list((settings_home / "uploads").glob("*.xlsx")), "the temporary upload is deleted"
    # the same check cannot import twice
    response = client.post(job_url + "confirm/", follow=True)
    assert "已经确认过或已过期" in response.content.decode()
    assert Entry.objects.count() == 2
    # someone else cannot see or confirm the job
    client.force_login(personas["leader"])
    assert client.get(job_url).status_code == 404


def test_errors_are_listed_by_row_with_a_report(client, tree, personas, settings_home):
    rows = [*GOOD[:4], ["王家村", "2020-13-40", "约五千", "经营收入", "炒股", "x"]]
    client.force_login(personas["township_admin"])
    job_url, page = _check(client, rows)
    assert "发现 4 处错误，一条都没有导入" in page
    assert "第 5 行" in page and "王家村" in page and "约五千" in page and "炒股" in page
    assert Entry.objects.count() == 0
    report = client.get(job_url + "report.xlsx")
    assert report.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    assert ws.cell(row=3, column=7).value == REPORT_HEADER
    assert "金额" in ws.cell(row=5, column=7).value
    # another user cannot fetch this report
    client.force_login(personas["leader"])
    assert client.get(job_url + "report.xlsx").status_code == 404


def test_hostile_file_is_refused_on_the_page(client, tree, personas, settings_home):
    client.force_login(personas["village_clerk"])
    bogus = SimpleUploadedFile("台账.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    response = client.post("/import/ledger/", {"year": "2020", "file": bogus}, follow=True)
    assert "旧版 .xls" in response.content.decode()
    assert not list((settings_home / "uploads").glob("*.xlsx"))


def test_templates_have_instructions_and_are_importable(client, tree, personas, settings_home):
    client.force_login(personas["township_admin"])
    for kind, header in (("ledger", "金额（元）"), ("units", "村名"), ("targets", "目标（元）")):
        response = client.get(f"/import/template/{kind}.xlsx")
        assert response.status_code == 200
        wb = load_workbook(io.BytesIO(response.content))
        assert wb.sheetnames[0] == "填表说明"
        assert header in [c.value for c in wb.worksheets[1][3]]
    # the ledger template, filled in, imports
    wb = load_workbook(io.BytesIO(client.get("/import/template/ledger.xlsx").content))
    wb.worksheets[1].append(["孙庄村", "2020-03-05", 100, "经营收入", "现代农业", "模板测试", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    upload = SimpleUploadedFile("模板.xlsx", buffer.getvalue())
    page = client.post("/import/ledger/", {"year": "2020", "file": upload}, follow=True).content.decode()
    assert "将导入 1 条" in page


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens its database connection
def test_large_files_run_in_the_background_worker_with_progress(
    client, tree, personas, settings_home, settings, django_capture_on_commit_callbacks
):
    """Over the size threshold the check is queued for the worker; the page shows a progress bar
    (and polls), and the worker (`qiangcun db_worker`) finishes the job."""
    from django.core.management import call_command

    from qiangcun.imports.models import ImportJob

    settings.IMPORT_BACKGROUND_BYTES = 0
    client.force_login(personas["township_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        job_url, page = _check(client, GOOD)
    assert "正在检查" in page and 'hx-trigger="every 1s"' in page and 'role="progressbar"' in page
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.QUEUED
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.result["ok"] is True, job.result
    assert "将导入 2 条" in client.get(job_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url + "confirm/")
    assert Entry.objects.count() == 0  # queued, not yet run
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert Entry.objects.count() == 2
    assert "已导入 2 条" in client.get(job_url).content.decode()
    assert "import/jobs" in client.get("/import/").content.decode()  # listed: leave and come back


def test_a_job_whose_worker_died_is_marked_failed(client, tree, personas, settings_home):
    import datetime

    from django.utils import timezone

    from qiangcun.imports.models import ImportJob

    admin = personas["township_admin"]
    job = ImportJob.objects.create(
        user=admin, kind="ledger", file_name="x.xlsx", state=ImportJob.State.RUNNING
    )
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(admin)
    page = client.get(f"/import/jobs/{job.pk}/").content.decode()
    assert "处理中断" in page and "every 1s" not in page
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
