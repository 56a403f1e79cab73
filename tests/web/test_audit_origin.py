"""From where and through what (等保 2.0): every change record carries the client's address and the channel
— 网页, 接口, 命令行, 后台任务 — and ``audit.event`` records what changed no row, in or out of a transaction."""

from __future__ import annotations

import contextvars

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from qiangcun import __main__ as entry_point
from qiangcun.core import audit
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.middleware import AuditOriginMiddleware, client_address
from qiangcun.imports import tasks as import_tasks
from qiangcun.supervision import tasks as supervision_tasks

from .conftest import api_entry, entry_form


def test_a_page_write_carries_the_client_address_and_web(client, personas, tree):
    client.force_login(personas["village_clerk"])
    client.post(reverse("entry_new"), entry_form(tree.sunzhuang), REMOTE_ADDR="10.20.30.40")
    rec = ChangeRecord.objects.get(action="ledger.create")
    assert (rec.address, rec.channel, rec.ok) == ("10.20.30.40", "web", True)
    assert rec.actor == personas["village_clerk"] and rec.username == "clerk"


def test_an_api_write_carries_api(client, personas, tree):
    client.force_login(personas["village_clerk"])
    response = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json", REMOTE_ADDR="::1"
    )
    assert response.status_code == 201
    rec = ChangeRecord.objects.get(action="ledger.create")
    assert (rec.address, rec.channel) == ("::1", "api")


def _request(**meta: str):
    return RequestFactory().get("/progress/", **meta)


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(settings):
    # The client sent "6.6.6.6" itself; nginx appended the address it saw (1.2.3.4) and connects from 127.0.0.1.
    request = _request(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    settings.QIANGCUN_TRUSTED_PROXY = False
    assert client_address(request) == "127.0.0.1"
    settings.QIANGCUN_TRUSTED_PROXY = True
    assert client_address(request) == "1.2.3.4"  # never the client's own claim
    # a forwarded value that is no address falls back to the peer; the peer's own junk gives ""
    assert client_address(_request(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="unknown")) == "10.0.0.1"
    settings.QIANGCUN_TRUSTED_PROXY = False
    assert client_address(_request(REMOTE_ADDR="not-an-ip")) == ""


def test_the_middleware_sets_the_origin_only_while_the_request_runs():
    seen = []

    def view(request):
        seen.append(audit.current_origin())
        return HttpResponse()

    middleware = AuditOriginMiddleware(view)
    middleware(RequestFactory().get("/api/v1/progress", REMOTE_ADDR="10.0.0.7"))
    middleware(RequestFactory().get("/villages/x/", REMOTE_ADDR="10.0.0.8"))
    assert seen == [audit.Origin("10.0.0.7", "api"), audit.Origin("10.0.0.8", "web")]
    assert audit.current_origin() == audit.Origin()


def test_the_command_line_entry_point_marks_commands_cli(monkeypatch):
    seen = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line",
        lambda argv: seen.append(audit.current_origin().channel),
    )
    contextvars.copy_context().run(entry_point.main)
    assert seen == ["cli"]


def test_background_jobs_are_marked_job(monkeypatch):
    seen = []
    monkeypatch.setattr(import_tasks, "job_run", lambda job_id: seen.append(audit.current_origin().channel))
    monkeypatch.setattr(
        supervision_tasks, "bulletins_issue_due", lambda: seen.append(audit.current_origin().channel) or []
    )
    monkeypatch.setattr(supervision_tasks, "ensure_tick", lambda: False)
    with audit.origin(address="10.0.0.9", channel="web"):  # the immediate backend runs inside a request
        import_tasks.run_import_job.call("x")
        supervision_tasks.issue_due_bulletins.call()
        assert audit.current_origin().channel == "web"
    assert seen == ["job", "job"]


@pytest.mark.django_db
def test_an_event_commits_on_its_own_outside_a_transaction(personas):
    with audit.origin(address="10.1.1.1", channel="web"):
        rec = audit.event(
            actor=None, action="login.failed", model="accounts.user", ok=False, username="nobody-x"
        )
    stored = ChangeRecord.objects.get(pk=rec.pk)
    assert (stored.ok, stored.username, stored.address, stored.channel) == (
        False,
        "nobody-x",
        "10.1.1.1",
        "web",
    )
    assert stored.object_pk == "" and stored.before is None and stored.after is None


@pytest.mark.django_db
def test_an_event_inside_a_transaction_goes_with_it(personas):
    auditor = personas["auditor"]
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.event(actor=auditor, action="login", model="accounts.user", object_pk=str(auditor.pk))
        raise RuntimeError("rolled back")
    assert not ChangeRecord.objects.filter(action="login").exists()
    with transaction.atomic():
        audit.event(actor=auditor, action="login", model="accounts.user", object_pk=str(auditor.pk))
    rec = ChangeRecord.objects.get(action="login")
    assert rec.username == "auditor" and rec.ok


def test_a_channel_outside_the_list_is_refused():
    with pytest.raises(ValueError), audit.origin(channel="email"):
        pass


# --- the auditor reads, filters and exports them --------------------------------------------------------


def test_the_log_shows_and_filters_address_channel_and_result(client, personas, tree):
    clerk = personas["village_clerk"]
    with audit.origin(address="10.1.2.3", channel="web"):
        audit.event(actor=clerk, action="ledger.create", model="ledger.entry", object_pk="1", note="网页")
    with audit.origin(address="10.1.9.9", channel="api"):
        audit.event(
            actor=clerk, action="ledger.create", model="ledger.entry", object_pk="2", note="接口", ok=False
        )
    client.force_login(personas["auditor"])

    def notes(query: str) -> set[str]:
        response = client.get("/audit/" + query)
        assert response.status_code == 200
        text = response.content.decode()
        return {n for n in ("网页", "接口") if f'<td class="note">{n}</td>' in text}

    page = client.get("/audit/?action=ledger.create").content.decode()
    assert "10.1.2.3" in page and "✕ 失败" in page and '<span class="channel">接口</span>' in page
    assert notes("?action=ledger.create&address=10.1.2.3") == {"网页"}
    assert notes("?action=ledger.create&address=10.1.") == {"网页", "接口"}
    assert notes("?action=ledger.create&address=10.1.2.") == {"网页"}
    assert notes("?action=ledger.create&channel=api") == {"接口"}
    assert notes("?action=ledger.create&ok=0") == {"接口"}
    assert notes("?action=ledger.create&ok=1") == {"网页"}
    for bad in ("?address=10.1.2.3;drop", "?ok=2", "?channel=email", "?address=" + "1" * 46):
        assert client.get("/audit/" + bad).status_code == 400


def test_the_export_carries_the_new_columns_and_is_itself_recorded(client, personas, tree):
    from io import BytesIO

    from openpyxl import load_workbook

    clerk = personas["village_clerk"]
    with audit.origin(address="10.1.2.3", channel="web"):
        audit.event(actor=clerk, action="ledger.create", model="ledger.entry", object_pk="1", ok=False)
    auditor = personas["auditor"]
    client.force_login(auditor)
    response = client.get("/audit/export.xlsx?ok=0", REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[2][-3:] == ("来源地址", "渠道", "结果")
    assert [r[-3:] for r in rows[3:]] == [("10.1.2.3", "网页", "失败")]
    rec = ChangeRecord.objects.get(action="audit.export")
    assert (rec.actor, rec.address, rec.channel, rec.ok) == (auditor, "10.9.9.9", "web", True)
    assert rec.note == "导出审计日志：结果：失败"
    page = client.get("/audit/?action=audit.export").content.decode()
    assert "导出审计日志" in page and "auditor" in page
    assert audit.verify().ok


def test_only_the_auditor_exports(client, personas):
    for name, user in personas.items():
        if user is None or name == "auditor":
            continue
        client.force_login(user)
        assert client.get("/audit/export.xlsx").status_code in (403, 404)
    assert not ChangeRecord.objects.filter(action="audit.export").exists()
