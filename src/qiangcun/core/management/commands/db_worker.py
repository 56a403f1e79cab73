"""``qiangcun db_worker``: django-tasks-db's worker, made to outlive a database that goes away.

Upstream, a database error other than "database is locked" ends the worker process — and ``qiangcun
serve`` then stops the web server too (when one of the two dies, the other is stopped), so a PostgreSQL
restart, a failover or a network blip would take the whole site down. This worker waits instead: it drops
its connections, sleeps (1 s, doubling up to 30 s) and goes on once the database answers. Everything else
— options, signals, how tasks are claimed and run — is django-tasks-db's (this app comes before it in
INSTALLED_APPS, so this command is the one ``db_worker`` runs)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker as upstream
from django_tasks_db.utils import is_locked_database_exception

logger = logging.getLogger("qiangcun.worker")

FIRST_WAIT = 1.0
LONGEST_WAIT = 30.0


class Worker(upstream.Worker):
    """Runs upstream's loop again after a database error, waiting longer each time it fails at once."""

    def run(self) -> None:
        wait = FIRST_WAIT
        while self.running:
            began = time.monotonic()
            try:
                super().run()
                return  # stopped, or --batch / --max-tasks done
            except (OperationalError, InterfaceError) as exc:
                if isinstance(exc, OperationalError) and is_locked_database_exception(exc):
                    raise  # upstream handles a locked database itself; anything else is not ours
                if time.monotonic() - began > LONGEST_WAIT:
                    wait = FIRST_WAIT  # it ran a while since the last error: a new outage
                logger.warning("数据库暂时连不上，后台任务 %.0f 秒后重试：%s", wait, exc)
                connections.close_all()
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)


class Command(upstream.Command):
    help = (
        "后台任务（导入、定时备份、定时通报）：数据库重启时等待它恢复，而不是退出。" + upstream.Command.help
    )

    def handle(self, **options: Any) -> None:  # type: ignore[override]
        self.configure_logging(options["verbosity"])
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(self.stderr))
        reload = options["reload"] and not options["batch"]
        queues = options["queue_name"].split(",")
        exclude = options["exclude_queues"]
        if exclude and "*" not in queues:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queues,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=exclude.split(",") if exclude else [],
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
