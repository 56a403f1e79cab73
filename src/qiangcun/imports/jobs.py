"""Import jobs' files (``$QIANGCUN_HOME/uploads``) and the expiry of jobs whose process died — without the
workbook readers, so that ``qiangcun serve`` can fail the jobs a killed server left running at every start
without loading them (``imports.services`` takes 0.6 s to import)."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from qiangcun.core.serving import process_gone
from qiangcun.core.word import is_word_file
from qiangcun.imports.models import ImportJob

STALE_SECONDS = 24 * 3600


def uploads() -> Path:
    folder = Path(settings.HOME) / "uploads"
    folder.mkdir(exist_ok=True)
    now = time.time()
    for old in [*folder.glob("*.xlsx"), *folder.glob("*.docx")]:
        if now - old.stat().st_mtime > STALE_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def upload_path(job: ImportJob) -> Path:
    return uploads() / f"{job.pk}.{'docx' if is_word_file(job.file_name) else 'xlsx'}"


def report_path(job: ImportJob) -> Path:
    return uploads() / f"{job.pk}.report.xlsx"


def passwords_path(job: ImportJob) -> Path:
    """The one-time password sheet of a people import: written once, handed out once, then deleted."""
    return uploads() / f"{job.pk}.passwords.xlsx"


#: A job still "running" this long after its last progress report died with its worker (when the process
#: that ran it cannot be checked: another machine, or not Linux).
STALE_JOB_SECONDS = 15 * 60
#: What the page says of a job whose process died mid-way. True whatever moment it died at: an import's
#: writes and its job's "done" commit together (``services._write``), so a job still "running" wrote nothing.
INTERRUPTED = "处理中断（服务或后台任务停止了，例如服务器重启），什么都没有写入。请重新上传文件。"


def _orphaned(job: ImportJob) -> bool:
    cutoff = timezone.now() - datetime.timedelta(seconds=STALE_JOB_SECONDS)
    return process_gone(job.runner) or job.updated_at < cutoff


def expire_if_stale(job: ImportJob) -> None:
    """Mark a running job whose process died (the server was killed or restarted mid-way) as failed, so
    that its page stops waiting and says so. Not re-run: what killed the process may be the file itself,
    and the user confirmed a check of the ledger as it was then."""
    if job.state != ImportJob.State.RUNNING or not _orphaned(job):
        return
    if ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.RUNNING, runner=job.runner).update(
        state=ImportJob.State.FAILED, result={"ok": False, "refused": INTERRUPTED}, updated_at=timezone.now()
    ):
        upload_path(job).unlink(missing_ok=True)
    job.refresh_from_db()


def expire_orphans() -> int:
    """``expire_if_stale`` for every running job (``qiangcun serve`` calls it before it starts the server
    and the worker: jobs left running by a server that was killed are failed at once). How many."""
    expired = 0
    for job in ImportJob.objects.filter(state=ImportJob.State.RUNNING):
        expire_if_stale(job)
        expired += job.state == ImportJob.State.FAILED
    return expired
