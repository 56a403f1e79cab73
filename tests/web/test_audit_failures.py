"""Success or failure (等保 2.0, issue 10 "Audit"): a write that did not happen leaves one record with
``ok`` false — who, when, from where, what was asked and why it was refused — in its own transaction,
after the refused one rolled back. Anonymous requests leave none (an outsider cannot fill the log)."""

from __future__ import annotations

import contextvars

import pytest
from django.urls import reverse

from qiangcun.core import audit
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.middleware import AuditOriginMiddleware
from qiangcun.ledger.models import Entry, Status

from .conftest import api_entry


def _failures():
    return list(ChangeRecord.objects.filter(ok=False).order_by("id"))


def test_a_refusal_by_a_service_is_recorded_with_its_reason(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status=Status.SUBMITTED)
    head = personas["station_head"]
    client.force_login(head)
    # the page's own checks pass, the service refuses: the row changed since the page was loaded
    response = client.post(
        reverse("review"),
        {"ids": [entry.pk], "action": "return", "reason": "金额有误", f"v{entry.pk}": entry.version + 1},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    assert Entry.objects.get(pk=entry.pk).status == Status.SUBMITTED  # nothing changed
    [rec] = _failures()
    assert (rec.action, rec.ok, rec.actor, rec.username) == (audit.REFUSED, False, head, head.username)
    assert (rec.address, rec.channel, rec.model) == ("10.1.2.3", "web", "ledger")
    assert rec.note.startswith("POST review（302）")
    assert "（ledger.services.entry_return）" in rec.note
    assert "修改" in rec.note
    assert not ChangeRecord.objects.filter(action="ledger.return").exists()
    assert audit.verify().ok  # in the chain like any other record


def test_an_api_refusal_is_recorded_once_with_the_api_channel(client, personas, tree):
    clerk = personas["village_clerk"]
    client.force_login(clerk)
    response = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang, category="没有的类别"), content_type="application/json"
    )
    assert response.status_code == 400
    [rec] = _failures()
    assert (rec.action, rec.channel, rec.actor) == (audit.REFUSED, "api", clerk)
    assert "没有名为“没有的类别”的收入类别" in rec.note
    assert not Entry.objects.exists()


def test_a_write_the_page_denies_is_recorded(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status=Status.SUBMITTED)
    clerk = personas["village_clerk"]
    client.force_login(clerk)  # a clerk may not verify
    response = client.post(reverse("review"), {"ids": [entry.pk], "action": "verify"})
    assert response.status_code == 403
    [rec] = _failures()
    assert (rec.action, rec.actor, rec.model) == (audit.DENIED, clerk, "write")
    assert rec.note == "POST review（403）"
    assert Entry.objects.get(pk=entry.pk).status == Status.SUBMITTED


def test_reads_successes_and_strangers_leave_no_failure(client, personas, tree):
    client.post(reverse("review"), {"ids": ["1"], "action": "verify"})  # anonymous: sent to sign in
    client.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json")
    client.force_login(personas["village_clerk"])
    client.get("/ledger/no-such-page/")  # a read that fails is no write
    ok = client.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json")
    assert ok.status_code == 201
    assert _failures() == []
    assert ChangeRecord.objects.filter(action="ledger.create", ok=True).count() == 1


def test_a_failed_sign_in_is_recorded_once_by_the_sign_in_itself(client, personas):
    client.post(reverse("login"), {"username": "clerk", "password": "wrong-password-1"})
    assert [r.action for r in _failures()] == ["signin.failed"]


def test_a_server_error_in_a_write_is_recorded_and_still_raised(rf, personas):
    def broken(request):
        Entry.objects.none()
        raise ZeroDivisionError

    from django.urls import resolve

    request = rf.post("/ledger/new/", REMOTE_ADDR="10.9.9.9")
    request.user = personas["village_clerk"]
    request.resolver_match = resolve("/ledger/new/")
    with pytest.raises(ZeroDivisionError):
        AuditOriginMiddleware(broken)(request)
    [rec] = _failures()
    assert (rec.action, rec.address, rec.channel) == (audit.FAILED, "10.9.9.9", "web")
    assert rec.note == "POST entry_new（500）；ZeroDivisionError"


def test_the_auditor_finds_failures_by_result(client, personas, tree):
    client.force_login(personas["village_clerk"])
    client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang, path="没有的路子"), content_type="application/json"
    )
    client.force_login(personas["auditor"])
    page = client.get(reverse("audit_log"), {"ok": "0"}).content.decode()
    assert "没有名为“没有的路子”的增收路子" in page
    assert "操作被拒绝" in page


@pytest.mark.django_db(transaction=True)  # a command closes its connections when it ends
def test_a_command_whose_write_a_service_refuses_is_recorded(monkeypatch, tree, personas):
    from qiangcun import __main__ as entry_point

    # the week has not ended on the day the tests stand on: supervision.services refuses to issue it
    monkeypatch.setattr(
        "sys.argv",
        ["qiangcun", "bulletin", "--township", tree.township.code, "--week", "2030-W10", "--issue"],
    )
    with pytest.raises(SystemExit) as exited:
        contextvars.copy_context().run(entry_point.main)
    assert exited.value.code == 1
    [rec] = _failures()
    assert (rec.action, rec.channel, rec.actor, rec.model) == (audit.REFUSED, "cli", None, "supervision")
    assert rec.note.startswith("qiangcun bulletin；")
    assert "（supervision.services.bulletin_issue）" in rec.note


@pytest.mark.django_db(transaction=True)  # a command closes its connections when it ends
def test_a_command_that_only_reads_leaves_no_failure(monkeypatch, tree):
    from qiangcun import __main__ as entry_point

    monkeypatch.setattr("sys.argv", ["qiangcun", "bulletin", "--township", tree.township.code, "--week", "x"])
    with pytest.raises(SystemExit):
        contextvars.copy_context().run(entry_point.main)
    assert _failures() == []  # a bad argument is no refused write


def test_an_import_that_breaks_in_the_worker_is_recorded(monkeypatch, personas, settings, tmp_path):
    settings.HOME = tmp_path
    from qiangcun.imports import services as imports
    from qiangcun.imports.models import ImportJob

    admin = personas["township_admin"]
    job = ImportJob.objects.create(
        user=admin,
        kind="ledger",
        file_name="台账.xlsx",
        stage=ImportJob.Stage.IMPORT,
        state=ImportJob.State.QUEUED,
    )

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(imports, "run_import", broken)
    with audit.origin(channel="job"):
        imports.job_run(str(job.pk))
    [rec] = _failures()
    assert (rec.action, rec.actor, rec.channel) == (audit.FAILED, admin, "job")
    assert rec.note == f"台账导入（任务 {job.pk}，文件“台账.xlsx”）；OSError"


def test_the_log_keeps_no_whole_phone_number(client, personas, tree):
    from qiangcun.accounts.services import account_update

    admin = personas["system_admin"]
    clerk = personas["village_clerk"]
    account_update(
        actor=admin, user=clerk, display_name=clerk.display_name, phone="13812345678", unit=clerk.unit
    )
    rec = ChangeRecord.objects.filter(action="user.update").latest("id")
    assert rec.after["phone"] == "138****5678"
    assert "13812345678" not in str(rec.before) + str(rec.after)
    assert audit.verify().ok


@pytest.mark.django_db
def test_a_scheduled_job_that_breaks_is_recorded_as_a_job(monkeypatch, settings, tmp_path):
    from qiangcun.core import backup, tasks

    settings.HOME = tmp_path

    def broken(**kwargs):
        raise backup.BackupError("磁盘已满")

    monkeypatch.setattr(backup, "backup_make", broken)
    monkeypatch.setattr(tasks, "ensure_backup_scheduled", lambda: False)
    with pytest.raises(backup.BackupError):
        tasks.scheduled_backup.call()
    [rec] = _failures()
    assert (rec.action, rec.channel, rec.note) == (audit.FAILED, "job", "定时备份；BackupError")
