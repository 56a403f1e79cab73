"""The job worker issues scheduled bulletins: one task that issues what is due and enqueues itself for
the next scheduled moment (at most an hour ahead, so a changed schedule is picked up). No cron."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task, task_backends

from qiangcun.core import audit
from qiangcun.supervision.services import bulletins_issue_due, next_moment

TICK = datetime.timedelta(hours=1)


@task()
def issue_due_bulletins() -> int:
    try:
        with audit.origin(channel=audit.Channel.JOB), audit.job_failures("定时发布通报"):
            return len(bulletins_issue_due())
    finally:  # whatever happened, the schedule goes on
        ensure_tick()


def ensure_tick() -> bool:
    """While any township has a schedule, make sure one scheduling task waits in the worker's queue
    (the database backend only: the immediate backend runs nothing later). Returns whether one was
    enqueued."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task_backends[issue_due_bulletins.backend], DatabaseBackend):
        return False
    if DBTaskResult.objects.filter(task_path=issue_due_bulletins.module_path, status="READY").exists():
        return False
    now = timezone.now()
    moment = next_moment(now)
    if moment is None:
        return False
    issue_due_bulletins.using(run_after=min(moment, now + TICK)).enqueue()
    return True
