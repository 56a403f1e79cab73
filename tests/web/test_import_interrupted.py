"""An import whose process died mid-way (the server killed or restarted): the job is failed at once — when
``qiangcun serve`` starts, or when its page or the import page is read — with the reason, instead of
showing "running" for 15 minutes; it wrote nothing, because an import's rows and its job's "done" commit
together. (tests/faults/test_kill_import.py kills real servers; these are the rules, fast.)"""

from __future__ import annotations

import datetime
import subprocess
import sys
import uuid

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from qiangcun.core.serving import process_gone, process_label
from qiangcun.imports import jobs
from qiangcun.imports import services as import_jobs
from qiangcun.imports.models import ImportJob
from qiangcun.ledger.models import Entry, ImportBatch
from tests.web.test_import_pages import _xlsx

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are read from /proc")


def _dead_label() -> str:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        label = process_label(child.pid)
        assert not process_gone(label)  # alive
    finally:
        child.kill()
        child.wait()
    return label


def test_a_process_is_gone_only_when_that_can_be_told():
    mine = process_label()
    assert not process_gone(mine)
    assert process_gone(_dead_label())
    host, boot, namespace, pid, start = mine.split(" ")
    assert process_gone(f"{host} {boot} {namespace} {pid} {int(start) + 1}")  # the pid, reused since
    assert not process_gone(f"another-host {boot} {namespace} 1 {start}")  # another machine: cannot tell
    assert not process_gone(f"{host} {uuid.uuid4()} {namespace} 999999 1")  # before a reboot: cannot tell
    assert not process_gone(f"{host} {boot} pid:[1] 999999 1")  # another container: cannot tell
    for garbage in ("", "x", f"{host} {boot}  {pid} {start}", f"{host} {boot} {namespace} abc {start}"):
        assert not process_gone(garbage)


def _job(user, *, runner: str, state=ImportJob.State.RUNNING, minutes_ago: float = 0) -> ImportJob:
    job = ImportJob.objects.create(
        user=user,
        kind="ledger",
        file_name="台账.xlsx",
        stage=ImportJob.Stage.IMPORT,
        state=state,
        runner=runner,
    )
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )
    job.refresh_from_db()
    return job


@pytest.fixture
def settings_home(settings, tmp_path):
    settings.HOME = tmp_path
    return tmp_path


def test_a_job_whose_process_died_is_failed_with_the_reason(client, tree, personas, settings_home):
    admin = personas["township_admin"]
    dead = _job(admin, runner=_dead_label())
    import_jobs.upload_path(dead).write_bytes(b"x")
    alive = _job(admin, runner=process_label())
    elsewhere = _job(admin, runner=f"another-host {uuid.uuid4()} pid:[1] 42 1", minutes_ago=5)
    long_silent = _job(admin, runner=f"another-host {uuid.uuid4()} pid:[1] 42 1", minutes_ago=16)
    finished = _job(admin, runner=_dead_label(), state=ImportJob.State.DONE)

    assert jobs.expire_orphans() == 2
    states = {j.pk: j.state for j in ImportJob.objects.all()}
    assert states[dead.pk] == states[long_silent.pk] == ImportJob.State.FAILED
    assert states[alive.pk] == states[elsewhere.pk] == ImportJob.State.RUNNING
    assert states[finished.pk] == ImportJob.State.DONE
    assert not import_jobs.upload_path(dead).exists()  # the upload goes with the job
    dead.refresh_from_db()
    assert dead.result == {"ok": False, "refused": jobs.INTERRUPTED}

    client.force_login(admin)
    page = client.get(f"/import/jobs/{dead.pk}/").content.decode()
    assert jobs.INTERRUPTED in page and "重新选择文件" in page


def test_the_pages_fail_such_a_job_when_they_are_read(client, tree, personas, settings_home):
    admin = personas["township_admin"]
    client.force_login(admin)
    listed, opened = _job(admin, runner=_dead_label()), _job(admin, runner=_dead_label())
    assert "进行中" not in client.get("/import/").content.decode()
    listed.refresh_from_db()
    assert listed.state == ImportJob.State.FAILED
    assert jobs.INTERRUPTED in client.get(f"/import/jobs/{opened.pk}/").content.decode()
    opened.refresh_from_db()
    assert opened.state == ImportJob.State.FAILED


ROWS = [
    ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"],
    ["孙庄", "2020-03-05", "12,000.00", "经营收入", "现代农业", "中药材销售"],
    ["刘道村", "2020-03-06", "15,000.00", "发包及上交收入", "土地流转", "土地流转承包费"],
]


def _confirmed_job(personas) -> ImportJob:
    admin = personas["township_admin"]
    job = import_jobs.job_create(user=admin, kind="ledger", upload=_xlsx(ROWS), options={"year": "2020"})
    import_jobs.job_run(str(job.pk))
    job.refresh_from_db()
    assert job.result["ok"], job.result
    ImportJob.objects.filter(pk=job.pk).update(stage=ImportJob.Stage.IMPORT, state=ImportJob.State.QUEUED)
    return job


def test_an_imports_rows_and_its_done_commit_together(tree, personas, settings_home, monkeypatch):
    """Whatever moment the process dies at, a job still "running" wrote nothing: here it dies (an
    exception that nothing catches) as the job is marked done, after the rows were inserted — the rows
    go with it."""
    job = _confirmed_job(personas)
    real_update = QuerySet.update

    def update(self, **fields):
        if self.model is ImportJob and fields.get("state") == ImportJob.State.DONE:
            raise KeyboardInterrupt("the process dies here")
        return real_update(self, **fields)

    monkeypatch.setattr(QuerySet, "update", update)
    with pytest.raises(KeyboardInterrupt):
        import_jobs.job_run(str(job.pk))
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.state == ImportJob.State.RUNNING
    assert Entry.objects.count() == 0 and ImportBatch.objects.count() == 0
    # Run to the end, the same job imports its rows and is done.
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    import_jobs.job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and "已导入 2 条" in job.result["summary"]
    assert Entry.objects.count() == 2 and ImportBatch.objects.count() == 1


def test_a_job_read_to_the_end_says_it_is_writing(client, tree, personas, settings_home):
    admin = personas["township_admin"]
    job = _job(admin, runner=process_label())
    ImportJob.objects.filter(pk=job.pk).update(rows_total=8001, rows_read=8001)
    client.force_login(admin)
    page = client.get(f"/import/jobs/{job.pk}/").content.decode()
    assert "已读完 8001 行，正在写入" in page
    ImportJob.objects.filter(pk=job.pk).update(rows_read=6000)
    assert "已读 6000 / 约 8001 行" in client.get(f"/import/jobs/{job.pk}/").content.decode()
