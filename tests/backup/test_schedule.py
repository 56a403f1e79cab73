"""The scheduled backup in the worker: a backup a day at BACKUP_HOUR, the newest BACKUP_KEEP kept, one task
waiting in the queue — never two."""

from __future__ import annotations

import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from qiangcun.core import backup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_hashing")]


@pytest.fixture
def home(settings, tmp_path: Path) -> Path:
    settings.HOME = tmp_path
    return tmp_path


def test_scheduled_backup_keeps_exactly_n(home, tree, settings) -> None:
    from django_tasks_db.models import DBTaskResult

    from qiangcun.core.tasks import scheduled_backup

    settings.BACKUP_KEEP = 3
    made = [scheduled_backup.call() for _ in range(5)]
    kept = backup.backups_in(home / "backups")
    assert [str(p) for p in kept] == made[-3:]
    for old in made[:2]:
        assert not Path(old).exists() and not backup.manifest_path(Path(old)).exists()
    assert all(backup.manifest_path(p).exists() for p in kept)
    waiting = DBTaskResult.objects.filter(task_path=scheduled_backup.module_path, status="READY")
    assert waiting.count() == 1  # re-enqueued once, never duplicated


def test_the_backup_is_enqueued_once_for_the_next_day(home, settings) -> None:
    from django_tasks_db.models import DBTaskResult

    from qiangcun.core.tasks import ensure_backup_scheduled, scheduled_backup

    settings.BACKUP_HOUR = 3
    assert ensure_backup_scheduled() is True
    assert ensure_backup_scheduled() is False
    waiting = DBTaskResult.objects.get(task_path=scheduled_backup.module_path, status="READY")
    at = waiting.run_after.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (at.hour, at.minute, at.second) == (3, 0, 0)
    assert (
        datetime.timedelta(0)
        < waiting.run_after - datetime.datetime.now(datetime.UTC)
        <= datetime.timedelta(days=1)
    )


def test_next_run() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    before = datetime.datetime(2026, 3, 1, 1, 59, tzinfo=tz)
    assert backup.next_run(before, 2) == datetime.datetime(2026, 3, 1, 2, 0, tzinfo=tz)
    at = datetime.datetime(2026, 3, 1, 2, 0, tzinfo=tz)
    assert backup.next_run(at, 2) == datetime.datetime(2026, 3, 2, 2, 0, tzinfo=tz)
    assert backup.next_run(datetime.datetime(2026, 2, 28, 23, 0, tzinfo=tz), 2) == datetime.datetime(
        2026, 3, 1, 2, 0, tzinfo=tz
    )


def test_serve_enqueues_the_backup_once_however_often_it_starts(home, monkeypatch) -> None:
    import io

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from qiangcun.core.tasks import scheduled_backup
    from qiangcun.web.management.commands import serve

    monkeypatch.setattr(serve, "serve", lambda **kwargs: None)  # no gunicorn, no worker
    for _ in range(2):
        call_command("serve", "--port", "8999", stdout=io.StringIO())
    assert DBTaskResult.objects.filter(task_path=scheduled_backup.module_path, status="READY").count() == 1


def test_the_nightly_job_leaves_the_planner_statistics(home, tree, settings) -> None:
    """On SQLite, which keeps no statistics by itself, the nightly job analyzes the tables: the monthly
    roll-up is then read village by village, not whole."""
    from django.db import connection

    from qiangcun.core.tasks import scheduled_backup

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its statistics")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
        scheduled_backup.call()
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl IN ('ledger_entry', 'orgs_orgunit')")
        assert cursor.fetchone()[0] > 0
