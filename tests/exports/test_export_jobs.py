"""The ledger's export: streamed from the database to the file whatever its size, to the fen, within the
user's scope; above QIANGCUN_EXPORT_JOB_ROWS rows a background job with a progress bar, whose file only
its requester may download (the scope checked again), recorded in the change log, failures too."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from qiangcun.core.audit import ChangeRecord
from qiangcun.exports import services, tasks
from qiangcun.exports.models import ExportJob
from qiangcun.ledger.models import Entry
from qiangcun.reports import xlsx

pytestmark = pytest.mark.usefixtures("fast_hashing")

DATE = datetime.date(2020, 3, 1)


def insert_rows(village, n: int, *, actor, reviewer, category, path, start: int = 1) -> int:
    """``n`` verified rows in ``village`` with one prepared INSERT (as an import writes them); amounts
    ``start`` … fen, one more each row, some summaries shaped like formulas. Their sum in fen."""
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    columns = (
        "village_id, date, amount, category_id, path_id, summary, counterparty, status, entered_by_id, "
        "created_at, updated_at, submitted_at, reviewed_by_id, reviewed_at, return_reason, version"
    )
    sql = f"INSERT INTO ledger_entry ({columns}) VALUES ({', '.join(['%s'] * 16)})"
    rows = [
        (
            village.pk,
            ops.adapt_datefield_value(DATE + datetime.timedelta(days=i % 200)),
            start + i,
            category.pk,
            path.pk,
            f"=SUM(A{i})" if i % 97 == 0 else f"第{i}笔收入",
            "某公司",
            "verified",
            actor.pk,
            stamp,
            stamp,
            stamp,
            reviewer.pk,
            stamp,
            "",
            1,
        )
        for i in range(n)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return sum(r[2] for r in rows)


@pytest.fixture
def many(tree, personas, category, path, settings, tmp_path):
    """2,500 rows in 孙庄村, 400 in 刘道村 (both in station 1), 300 in 编席杨村 (station 2)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk, admin = personas["village_clerk"], personas["township_admin"]
    common = {"actor": clerk, "reviewer": admin, "category": category, "path": path}
    return {
        "sunzhuang": insert_rows(tree.sunzhuang, 2500, **common),
        "liudao": insert_rows(tree.liudao, 400, start=10_000_01, **common),
        "bianxiyang": insert_rows(tree.bianxiyang, 300, start=99_000_00, **common),
    }


def _body(content: bytes) -> list[tuple]:
    ws = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    return rows


def _fen(rows) -> int:
    return sum(int(Decimal(str(r[2])) * 100) for r in rows)


def test_many_rows_stream_to_the_fen_within_scope_in_a_few_queries(client, tree, personas, many, settings):
    settings.EXPORT_JOB_ROWS = 100_000
    client.force_login(personas["station_head"])  # station 1: 孙庄村 and 刘道村, not 编席杨村
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/ledger/export.xlsx?year=2020")
    assert response.status_code == 200
    rows = _body(response.content)
    assert len(rows) == 2900
    assert {r[0] for r in rows} == {"孙庄村", "刘道村"}
    assert _fen(rows) == many["sunzhuang"] + many["liudao"]
    assert rows[0][7] == "已审核" and rows[0][8] == "clerk" and rows[0][9] == "admin"
    assert any(r[5] == "=SUM(A97)" for r in rows)
    assert len(queries) < 25, [q["sql"][:80] for q in queries]  # no query a row: joined, chunked
    record = ChangeRecord.objects.filter(action="ledger.export").get()
    assert record.actor == personas["station_head"] and "2900 行" in record.note
    client.force_login(personas["auditor"])  # the auditor reads it in words
    log = client.get("/audit/?action=ledger.export").content.decode()
    assert "导出台账" in log and "2900 行" in log


def _job_for(client, user, query: str = "?year=2020") -> ExportJob:
    client.force_login(user)
    response = client.get("/ledger/export.xlsx" + query)
    assert response.status_code == 302, response.content[:300]
    assert re.match(r"^/exports/[0-9a-f-]{36}/$", response["Location"])
    return ExportJob.objects.get(pk=response["Location"].split("/")[2])


def test_a_large_export_is_a_job_with_progress_that_only_its_requester_downloads(
    client, tree, personas, many, settings, monkeypatch
):
    settings.EXPORT_JOB_ROWS = 1000
    clerk = personas["village_clerk"]  # 孙庄村
    job = _job_for(client, clerk)  # every village the clerk may see: 孙庄村 only
    assert job.state == ExportJob.State.QUEUED and job.rows_total == 2500
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert 'role="progressbar"' in page and 'hx-trigger="every 1s"' in page and "约 2500 行" in page
    record = ChangeRecord.objects.filter(action="ledger.export").get()
    assert record.actor == clerk and record.object_pk == str(job.pk)

    # progress as the worker writes: the page polled mid-way says how far it is
    monkeypatch.setattr(xlsx, "PROGRESS_EVERY", 1000)
    seen: list[str] = []
    write = services.ledger_export_write

    def watched(export, target, *, progress):
        def report(n):
            progress(n)
            seen.append(client.get(f"/exports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode())

        return write(export, target, progress=report)

    monkeypatch.setattr(services, "ledger_export_write", watched)
    tasks.run_export_job.call(str(job.pk))
    assert any("已写 1000 / 约 2500 行（40%）" in s for s in seen), seen[:1]
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.rows_done == 2500

    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "every 1s" not in page and f"/exports/{job.pk}/file.xlsx" in page
    response = client.get(f"/exports/{job.pk}/file.xlsx")
    assert response.status_code == 200
    rows = _body(b"".join(response.streaming_content))
    assert len(rows) == 2500 and {r[0] for r in rows} == {"孙庄村"}  # out-of-scope rows never in it
    assert _fen(rows) == many["sunzhuang"]

    for other in ("other_clerk", "station_head", "township_admin"):  # not the requester: 404
        client.force_login(personas[other])
        assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 404, other
        assert client.get(f"/exports/{job.pk}/").status_code == 404, other


def test_the_scope_is_checked_again_at_download(client, tree, personas, many, settings):
    """A job for a unit the requester may no longer see (here: never could) gives nothing."""
    clerk = personas["village_clerk"]
    job = ExportJob.objects.create(
        user=clerk, kind="ledger", file_name="编席杨村台账.xlsx", options={"unit": tree.bianxiyang.code}
    )
    services.job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and "不在您的管辖范围" in job.error
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.DONE)
    services.file_path(job).write_bytes(b"PK")
    client.force_login(clerk)
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 404


def test_a_failed_job_says_so_and_is_recorded(client, tree, personas, many, settings, monkeypatch):
    settings.EXPORT_JOB_ROWS = 1000
    job = _job_for(client, personas["station_head"])

    def broken(export, target, *, progress):
        with open(target, "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(services, "ledger_export_write", broken)
    tasks.run_export_job.call(str(job.pk))
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and "OSError" in job.error
    assert not list(services.exports_folder().iterdir())  # no half-written file left
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "文件没有生成" in page and "every 1s" not in page
    failure = ChangeRecord.objects.filter(ok=False).get()
    assert failure.actor == personas["station_head"] and str(job.pk) in failure.note
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 404


def test_a_job_whose_worker_died_is_failed_when_its_page_is_read(client, tree, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin = personas["township_admin"]
    job = ExportJob.objects.create(
        user=admin, kind="ledger", file_name="x.xlsx", state=ExportJob.State.RUNNING
    )
    ExportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(admin)
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "导出中断" in page and "every 1s" not in page


def test_small_exports_need_no_job(client, tree, personas, many, settings):
    settings.EXPORT_JOB_ROWS = 2500
    client.force_login(personas["village_clerk"])
    response = client.get(f"/ledger/export.xlsx?village={tree.sunzhuang.code}&year=2020")
    assert response.status_code == 200 and not ExportJob.objects.exists()
    assert Entry.objects.filter(village=tree.sunzhuang).count() == len(_body(response.content))


def test_serve_fails_the_exports_a_killed_server_left_running(tree, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin = personas["township_admin"]
    stale = ExportJob.objects.create(
        user=admin, kind="ledger", file_name="x.xlsx", state=ExportJob.State.RUNNING
    )
    ExportJob.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    live = ExportJob.objects.create(
        user=admin, kind="ledger", file_name="y.xlsx", state=ExportJob.State.RUNNING
    )
    half = services.file_path(stale).with_name(f"{stale.pk}.xlsx.part")
    half.write_bytes(b"PK")
    assert services.expire_orphans() == 1
    assert ExportJob.objects.get(pk=stale.pk).error == services.INTERRUPTED and not half.exists()
    assert ExportJob.objects.get(pk=live.pk).state == ExportJob.State.RUNNING  # still reporting: left alone


def test_asking_again_while_it_is_written_leads_to_the_same_job(client, tree, personas, many, settings):
    """Leave the page and come back by the same button; repeated clicks queue no second export."""
    settings.EXPORT_JOB_ROWS = 1000
    head = personas["station_head"]
    job = _job_for(client, head)
    assert _job_for(client, head) == job
    assert "再点一次同一个“导出 Excel”就回到这里" in client.get(f"/exports/{job.pk}/").content.decode()
    assert _job_for(client, head, "?year=2020&status=verified") != job  # another export, another job
    assert _job_for(client, personas["township_admin"]) != job  # another person's, theirs
    tasks.run_export_job.call(str(job.pk))
    assert _job_for(client, head) != job  # once written, asking again writes a fresh one
    assert ChangeRecord.objects.filter(action="ledger.export").count() == 4


def test_a_file_outlives_no_narrowing_of_its_requesters_scope(client, tree, personas, many, settings):
    """The station head's whole-scope export (孙庄村 and 刘道村) is not theirs to download once they hold
    孙庄村 only, although an export with no unit filter asks nothing else of the scope."""
    from qiangcun.accounts.models import RoleGrant

    settings.EXPORT_JOB_ROWS = 1000
    head = personas["station_head"]
    job = _job_for(client, head)
    tasks.run_export_job.call(str(job.pk))
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.scope == [tree.station1.path]
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 200
    RoleGrant.objects.filter(user=head).update(unit=tree.sunzhuang)
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 404
    RoleGrant.objects.filter(user=head).update(unit=tree.township)  # wider: still covered
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 200
