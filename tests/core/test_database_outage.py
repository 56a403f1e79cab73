"""The database going away (a PostgreSQL restart, a failover, a lost connection): requests answer 503 with
what to do, the worker waits for it instead of ending, and an import it broke says so once it is back.
tests/faults/test_postgres_restart.py restarts a real PostgreSQL under load; these are the rules, fast."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.test import Client

from qiangcun.core.management.commands import db_worker
from qiangcun.core.web import DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE_API, RETRY_AFTER_SECONDS


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 refused')

    monkeypatch.setattr("qiangcun.core.middleware.client_address", refuse)


def test_a_page_that_meets_the_database_down_answers_503_with_what_to_do(db, database_down):
    answer = Client(raise_request_exception=False).get("/progress/")
    assert answer.status_code == 503 and answer["Retry-After"] == str(RETRY_AFTER_SECONDS)
    html = answer.content.decode()
    assert DATABASE_UNAVAILABLE in html and '<html lang="zh-CN">' in html


def test_the_api_answers_503_in_chinese_with_the_same_key_to_retry(db, database_down):
    answer = Client(raise_request_exception=False).post("/api/v1/ledger", {}, content_type="application/json")
    assert answer.status_code == 503 and answer["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert answer.json() == {"detail": DATABASE_UNAVAILABLE_API, "field": None}
    assert "Idempotency-Key" in DATABASE_UNAVAILABLE_API


def test_any_other_error_is_still_the_500_page(db, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("qiangcun.core.middleware.client_address", boom)
    answer = Client(raise_request_exception=False).get("/progress/")
    assert answer.status_code == 500 and "系统出错了" in answer.content.decode()


def _worker() -> db_worker.Worker:
    return db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )


def test_the_worker_waits_for_the_database_instead_of_ending(monkeypatch):
    runs, sleeps = [], []

    def upstream_run(self):
        runs.append(1)
        if len(runs) <= 3:
            raise (OperationalError if len(runs) % 2 else InterfaceError)("server closed the connection")

    monkeypatch.setattr(db_worker.upstream.Worker, "run", upstream_run)
    monkeypatch.setattr(db_worker.time, "sleep", sleeps.append)
    _worker().run()
    assert len(runs) == 4 and sleeps == [1.0, 2.0, 4.0]


def test_the_worker_leaves_a_locked_database_and_other_errors_to_upstream(monkeypatch):
    def locked(self):
        raise OperationalError("database is locked")

    monkeypatch.setattr(db_worker.upstream.Worker, "run", locked)
    with pytest.raises(OperationalError, match="locked"):
        _worker().run()

    def bug(self):
        raise ValueError("not a database error")

    monkeypatch.setattr(db_worker.upstream.Worker, "run", bug)
    with pytest.raises(ValueError):
        _worker().run()


def test_qiangcun_db_worker_is_ours():
    from django.core.management import get_commands

    assert get_commands()["db_worker"] == "qiangcun.core"


def test_an_import_the_database_went_away_under_is_failed_once_it_is_back(
    tree, personas, settings, tmp_path, monkeypatch
):
    from qiangcun.imports import services, tasks
    from qiangcun.imports.models import ImportJob

    settings.HOME = tmp_path
    job = ImportJob.objects.create(
        user=personas["township_admin"], kind="ledger", file_name="台账.xlsx", state=ImportJob.State.RUNNING
    )
    services.upload_path(job).write_bytes(b"x")

    def job_run(job_id):
        raise OperationalError("server closed the connection unexpectedly")

    real_update, refusals, sleeps = QuerySet.update, [], []

    def update(self, **fields):
        if self.model is ImportJob and len(refusals) < 2:
            refusals.append(1)
            raise OperationalError("connection refused")
        return real_update(self, **fields)

    monkeypatch.setattr(tasks, "job_run", job_run)
    monkeypatch.setattr(QuerySet, "update", update)
    monkeypatch.setattr(services.time, "sleep", sleeps.append)
    monkeypatch.setattr(services.connection, "close", lambda: None)  # the test's transaction stays
    with pytest.raises(OperationalError):
        tasks.run_import_job.call(str(job.pk))
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and job.result["refused"] == services.DATABASE_LOST
    assert sleeps == [1.0, 2.0] and not services.upload_path(job).exists()
