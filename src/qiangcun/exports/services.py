"""Export jobs: a large export written by the background worker into ``$QIANGCUN_HOME/media/private/
exports`` (never served as a static file), downloaded by its requester only, with the scope checked
again at download. Every export, at once or as a job, is recorded in the change log (``ledger.export``);
a job that fails is recorded as a failed write."""

from __future__ import annotations

import datetime
import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from qiangcun.core import audit
from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.scope import Action, scope_paths
from qiangcun.core.serving import process_gone, process_label
from qiangcun.exports.models import ExportJob
from qiangcun.ledger.exporting import LedgerExport, LedgerFilter, ledger_export_plan, ledger_export_write

#: A finished export's file is kept this long, then deleted.
KEEP_SECONDS = 24 * 3600
#: A job still "running" this long after its last progress report died with its worker.
STALE_JOB_SECONDS = 15 * 60
INTERRUPTED = "导出中断（服务或后台任务停止了，例如服务器重启）。请重新导出。"
EXPORT_ACTION = "ledger.export"


def exports_folder() -> Path:
    """``$QIANGCUN_HOME/media/private/exports``, without the files older than a day."""
    folder = Path(settings.MEDIA_ROOT) / "private" / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.glob("*.xlsx*"):
        try:
            if now - old.stat().st_mtime > KEEP_SECONDS:
                old.unlink(missing_ok=True)
        except OSError:
            continue
    return folder


def file_path(job: ExportJob) -> Path:
    return exports_folder() / f"{job.pk}.xlsx"


def _note(export: LedgerExport, rows: int, job: ExportJob | None) -> str:
    subtitle = f"，{export.subtitle}" if export.subtitle else ""
    how = f"，后台任务 {job.pk}" if job is not None else ""
    return f"导出台账：{export.title}{subtitle}（{rows} 行{how}）"


def export_recorded(*, user: Any, export: LedgerExport, rows: int) -> None:
    """Record an export answered at once."""
    audit.event(actor=user, action=EXPORT_ACTION, model="exports.exportjob", note=_note(export, rows, None))


def job_create(*, user: Any, export: LedgerExport, rows: int) -> ExportJob:
    """Queue a large export for the background worker and record it. The same export asked for again by
    the same user while it is still queued or being written is that job (its page), not a second one."""
    from qiangcun.exports.tasks import run_export_job

    with transaction.atomic():
        waiting = ExportJob.objects.filter(
            user=user,
            kind=ExportJob.Kind.LEDGER,
            options=export.filters.as_json(),
            state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
        ).first()
        if waiting is not None:
            expire_if_stale(waiting)
            if not waiting.finished:
                return waiting
        job = ExportJob.objects.create(
            user=user,
            kind=ExportJob.Kind.LEDGER,
            options=export.filters.as_json(),
            file_name=export.file_name[:255],
            rows_total=rows,
        )
        audit.event(
            actor=user,
            action=EXPORT_ACTION,
            model="exports.exportjob",
            object_pk=str(job.pk),
            note=_note(export, rows, job),
        )
        job_id = str(job.pk)
        transaction.on_commit(lambda: run_export_job.enqueue(job_id))
    return job


def job_run(job_id: str) -> None:
    """Write the job's file. Claims the job first, so it runs once even with several workers. The rows are
    those the requester may see now; the file is written beside its final name and renamed when whole."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED).update(
        state=ExportJob.State.RUNNING, runner=process_label(), updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    path = file_path(job)
    partial = path.with_name(f"{job.pk}.xlsx.part")

    def progress(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=rows, updated_at=timezone.now())

    try:
        export = ledger_export_plan(user=job.user, filters=LedgerFilter.from_json(job.options))
        scope = _covered(job.user, export)
        ExportJob.objects.filter(pk=job.pk).update(scope=scope)
        written = ledger_export_write(export, partial, progress=progress)
        partial.replace(path)
    except Exception as exc:  # the page must say what happened; the log keeps the traceback
        logging.getLogger(__name__).exception("export job %s failed", job.pk)
        partial.unlink(missing_ok=True)
        reason = (
            exc.message
            if isinstance(exc, ServiceError)
            else f"导出中途出错（{type(exc).__name__}），文件没有生成。请重试或联系管理员。"
        )
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED, error=reason, updated_at=timezone.now()
        )
        audit.failure(
            actor=job.user,
            action=audit.FAILED,
            what=f"台账导出（任务 {job.pk}，文件“{job.file_name}”）",
            detail=type(exc).__name__,
        )
        return
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.DONE, rows_done=written, rows_total=written, updated_at=timezone.now()
    )


def _covered(user: Any, export: LedgerExport) -> list[str]:
    """The unit paths the export's rows lie under: the filter's unit, or the user's whole scope."""
    if export.unit is not None:
        return [export.unit.path]
    return sorted(scope_paths(user, Action.VIEW))


def job_file(job: ExportJob, user: Any) -> Path:
    """The finished file of ``job`` for ``user``: only its requester, only while they may still see what
    it holds (the same scope check as when it was asked for), only while it is kept. Else
    :class:`NotFoundError`."""
    if job.user_id != getattr(user, "pk", None) or not user.can(Action.VIEW):
        raise NotFoundError("没有这个导出文件")
    ledger_export_plan(user=user, filters=LedgerFilter.from_json(job.options))  # raises when out of scope
    now = scope_paths(user, Action.VIEW)
    if not all(any(path.startswith(top) for top in now) for path in job.scope):
        raise NotFoundError("您的管辖范围已经变了，这份文件不能再下载；请重新导出")
    path = file_path(job)
    if job.state != ExportJob.State.DONE or not path.exists():
        raise NotFoundError("导出文件已过期（只保留一天），请重新导出")
    return path


def expire_if_stale(job: ExportJob) -> None:
    """Fail a running job whose process died (a server killed or restarted mid-way), so that its page stops
    waiting and says so."""
    if job.state != ExportJob.State.RUNNING:
        return
    cutoff = timezone.now() - datetime.timedelta(seconds=STALE_JOB_SECONDS)
    if not (process_gone(job.runner) or job.updated_at < cutoff):
        return
    ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.RUNNING, runner=job.runner).update(
        state=ExportJob.State.FAILED, error=INTERRUPTED, updated_at=timezone.now()
    )
    job.refresh_from_db()


def expire_orphans() -> int:
    """``expire_if_stale`` for every running export (``qiangcun serve`` and ``qiangcun demo`` call it before
    they start the server and the worker: exports left running by a server that was killed are failed at
    once, and their half-written files removed). How many."""
    expired = 0
    for job in ExportJob.objects.filter(state=ExportJob.State.RUNNING):
        expire_if_stale(job)
        if job.state == ExportJob.State.FAILED:
            expired += 1
            file_path(job).with_name(f"{job.pk}.xlsx.part").unlink(missing_ok=True)
    return expired
