"""Import jobs: what the import pages do, runnable in the request or in the background worker.

A job is checked first (a dry run that writes nothing) and imported only once its user confirms.
The uploaded file lives in ``$QIANGCUN_HOME/uploads/<job id>.xlsx`` (``.docx`` for a Word file, which
only 一村一策 takes) until the import is done or refused; files older than a day are swept away."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from qiangcun.accounts.importing import parse_people_file
from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import PeopleImportError, PeopleOutcome, people_import
from qiangcun.core import audit
from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import RowError, Table, WorkbookRefused, error_report, inspect_xlsx, read_xlsx
from qiangcun.core.money import fmt_wan
from qiangcun.core.scope import Action
from qiangcun.core.serving import process_label
from qiangcun.core.word import inspect_docx, is_word_file
from qiangcun.imports.jobs import (
    passwords_path,
    report_path,
    upload_path,
)
from qiangcun.imports.lookups import (
    campaign_years,
    import_townships,
    import_villages,
    import_year,
    township_for,
)
from qiangcun.imports.models import ImportJob
from qiangcun.ledger.importing.ledger import parse_ledger_file
from qiangcun.ledger.services import entries_import
from qiangcun.orgs.importing import UnitsImportError, parse_units_file, units_import
from qiangcun.orgs.models import OrgUnit
from qiangcun.plans.importing import parse_plans_file, plan_villages, plans_import
from qiangcun.reports.xlsx import Column, write_table
from qiangcun.targets import defaults as target_defaults
from qiangcun.targets.importing import parse_targets_file
from qiangcun.targets.models import Campaign
from qiangcun.targets.services import TargetsImported, targets_import

KINDS = {
    "ledger": "台账",
    "units": "组织结构",
    "targets": "年度目标",
    "people": "人员账号",
    "plans": "一村一策",
}
#: The kinds that also read a Word (.docx) file; every other kind takes .xlsx only.
WORD_KINDS = {"plans"}
MAX_LISTED_ERRORS = 200


def allowed_kinds(user: User) -> list[str]:
    kinds = []
    if user.can(Action.ENTER) or user.can(Action.IMPORT):
        kinds.append("ledger")
    if user.can(Action.IMPORT):
        kinds += ["units", "targets"]
    if user.can(Action.MANAGE_USERS):
        kinds.append("people")
    if user.can(Action.PLAN):
        kinds.append("plans")
    return kinds


def townships(user: User) -> list[OrgUnit]:
    return import_townships(user)


def ledger_years(user: User) -> list[int]:
    return campaign_years(import_villages(user))


def job_create(*, user: User, kind: str, upload: UploadedFile | None, options: dict[str, Any]) -> ImportJob:
    """Keep the upload and make a job to check it. Refuses files over the size limit at once."""
    if kind not in allowed_kinds(user):
        raise ServiceError("您没有导入这类数据的权限", code="forbidden")
    if upload is None:
        raise ServiceError(
            "请选择要导入的 .xlsx 或 .docx 文件" if kind in WORD_KINDS else "请选择要导入的 .xlsx 文件",
            field="file",
        )
    if is_word_file(upload.name or "") and kind not in WORD_KINDS:
        raise ServiceError(
            f"{KINDS[kind]}只能从 Excel 表（.xlsx）导入，Word 文件不行；请把表格复制到 Excel 中另存为 .xlsx",
            field="file",
        )
    if upload.size and upload.size > settings.IMPORT_MAX_BYTES:
        raise ServiceError(
            f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB；请拆分后分批导入",
            field="file",
        )
    job = ImportJob(
        id=uuid.uuid4(),
        user=user,
        kind=kind,
        file_name=Path(upload.name or "upload.xlsx").name[:255],
        options=options,
    )
    with upload_path(job).open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    job.save()
    return job


#: A people import making more accounts than this runs in the worker: each one-time password takes
#: 0.4–0.6 s to hash, and a request must answer well within gunicorn's 30 s. (The check hashes none.)
PEOPLE_INLINE_ACCOUNTS = 12
#: A people workbook larger than this is checked in the worker too (the check makes every account in a
#: transaction it rolls back: ~12 ms a person), and one import makes at most MAX_PEOPLE accounts, so that
#: neither stage holds the database's write lock for long.
PEOPLE_BACKGROUND_BYTES = 16 * 1024
MAX_PEOPLE = 2000


def job_start(job: ImportJob) -> None:
    """Run small files now; hand large ones (and people imports of many accounts) to the background worker."""
    path = upload_path(job)
    many_people = job.kind == "people" and (
        (job.stage == ImportJob.Stage.IMPORT and int(job.result.get("accounts", 0)) > PEOPLE_INLINE_ACCOUNTS)
        or (path.exists() and path.stat().st_size > PEOPLE_BACKGROUND_BYTES)
    )
    if many_people or (path.exists() and path.stat().st_size > settings.IMPORT_BACKGROUND_BYTES):
        from qiangcun.imports.tasks import run_import_job

        transaction.on_commit(lambda: run_import_job.enqueue(str(job.pk)))
        return
    job_run(str(job.pk))


#: What the page says of a job the database went away under (restarted mid-way).
DATABASE_LOST = "处理中断（数据库连接断了，例如数据库重启），什么都没有写入。请重新上传文件。"


def job_fail_when_back(job_id: str, *, patience: float = 600.0) -> bool:
    """A job the database went away under, before it could even be marked failed: mark it failed as soon
    as the database answers again (the worker waits here; it could do nothing else meanwhile). Nothing was
    written: an import's rows and its "done" commit together. After ``patience`` seconds it gives up and
    leaves the job to ``expire_if_stale``. Whether it marked it."""
    wait, deadline = 1.0, time.monotonic() + patience
    while True:
        try:
            failed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.RUNNING).update(
                state=ImportJob.State.FAILED,
                result={"ok": False, "refused": DATABASE_LOST},
                updated_at=timezone.now(),
            )
            if failed:
                upload_path(ImportJob.objects.get(pk=job_id)).unlink(missing_ok=True)
            return bool(failed)
        except (OperationalError, InterfaceError):
            if time.monotonic() + wait > deadline:
                return False
            connection.close()
            time.sleep(wait)
            wait = min(wait * 2, 30.0)


def job_confirm(job: ImportJob, user: User) -> None:
    """The user saw the check and wants the import: run the same file for real."""
    claimed = ImportJob.objects.filter(
        pk=job.pk, user=user, stage=ImportJob.Stage.CHECK, state=ImportJob.State.DONE, result__ok=True
    ).update(
        stage=ImportJob.Stage.IMPORT, state=ImportJob.State.QUEUED, rows_read=0, updated_at=timezone.now()
    )
    if not claimed or not upload_path(job).exists():
        raise ServiceError("这次检查已经确认过或已过期，请重新上传文件")
    job.refresh_from_db()
    job_start(job)


def job_run(job_id: str) -> None:
    """Do the job's current stage. Claims it first, so a job runs once even with several workers."""
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, runner=process_label(), updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    path = upload_path(job)

    def progress(row: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_read=row, rows_total=total, updated_at=timezone.now())

    try:
        result = run_import(job, path, dry_run=job.stage == ImportJob.Stage.CHECK, progress=progress)
    except Exception as exc:  # the page must say what happened; the log keeps the traceback
        import logging

        logging.getLogger(__name__).exception("import job %s failed", job.pk)
        path.unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.FAILED,
            result={
                "ok": False,
                "refused": f"导入中途出错，什么都没有写入（{type(exc).__name__}）。请重试或联系管理员。",
            },
        )
        if job.stage == ImportJob.Stage.IMPORT:
            audit.failure(
                actor=job.user,
                action=audit.FAILED,
                what=f"{KINDS.get(job.kind, job.kind)}导入（任务 {job.pk}，文件“{job.file_name}”）",
                detail=type(exc).__name__,
            )
        return
    if job.stage == ImportJob.Stage.IMPORT and not result.get("ok"):
        reason = result.get("refused") or f"{result.get('error_count', 0)} 处错误"
        audit.failure(
            actor=job.user,
            action=audit.REFUSED,
            what=f"{KINDS.get(job.kind, job.kind)}导入（任务 {job.pk}，文件“{job.file_name}”）",
            detail=str(reason),
        )
    if not result.get("ok") or job.stage == ImportJob.Stage.IMPORT:
        path.unlink(missing_ok=True)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE, result=result, updated_at=timezone.now()
    )


def _errors(
    job: ImportJob, path: Path, table: Table | list[Table] | None, errors: list[RowError]
) -> dict[str, Any]:
    report = bool(table) and not is_word_file(job.file_name)  # the red-marked report is a workbook
    if report and table:
        report_path(job).write_bytes(error_report(path, table, errors))
    return {
        "ok": False,
        "errors": [
            {
                "row": e.row,
                "column": e.column,
                "header": e.header,
                "reason": e.reason,
                "sheet": e.sheet,
                "place": e.place,
            }
            for e in errors[:MAX_LISTED_ERRORS]
        ],
        "error_count": len(errors),
        "report": report,
    }


def _write(job: ImportJob, write: Callable[[], dict[str, Any]], *, dry_run: bool) -> dict[str, Any]:
    """Run an import's write (the domain's service and the summary for the page) and, when it succeeded,
    mark the job done in the same transaction: if the process dies at any moment, either the rows and
    "done" are both there or neither is, and a job left "running" wrote nothing. A check writes nothing."""
    if dry_run:
        return write()
    # Read to the end: the page says "writing" (and a job whose process dies from here wrote nothing either).
    ImportJob.objects.filter(pk=job.pk).update(rows_read=F("rows_total"), updated_at=timezone.now())
    with transaction.atomic():
        result = write()
        if result.get("ok"):
            ImportJob.objects.filter(pk=job.pk).update(
                state=ImportJob.State.DONE, result=result, updated_at=timezone.now()
            )
    return result


def run_import(job: ImportJob, path: Path, *, dry_run: bool, progress: Any = None) -> dict[str, Any]:
    """Parse and import (or dry-run) the job's file; returns what the page shows, as JSON."""
    user: User = job.user
    options, kind, name = job.options, job.kind, job.file_name
    try:
        if is_word_file(name) and kind not in WORD_KINDS:
            return {"ok": False, "refused": f"{KINDS.get(kind, kind)}只能从 Excel 表（.xlsx）导入"}
        if kind == "ledger":
            # Checked and read at once, in the probe's child process: the reader parses these values
            # and never opens the file itself.
            book = read_xlsx(path, name=name)
            ImportJob.objects.filter(pk=job.pk).update(rows_total=book.max_row)
            villages = import_villages(user)
            year = import_year(
                villages, int(options["year"]) if str(options.get("year", "")).isdigit() else None
            )
            verified = bool(options.get("verified")) and user.can(Action.IMPORT)
            parsed = parse_ledger_file(
                path,
                name=name,
                year=year,
                villages=villages,
                progress=progress,
                allow_negative=verified,
                book=book,
            )
            if parsed.errors:
                return _errors(job, path, parsed.table, parsed.errors)

            def write_ledger() -> dict[str, Any]:
                outcome = entries_import(
                    actor=user,
                    rows=parsed.rows,
                    file_name=name,
                    sha256=parsed.sha256,
                    skipped=parsed.skipped,
                    verified=verified,
                    dry_run=dry_run,
                )
                verb = "将导入" if dry_run else "已导入"
                state = "已审核" if verified else "待审核"
                return {
                    "ok": True,
                    "summary": f"{verb} {outcome.imported} 条（{state}），合计 {fmt_wan(outcome.total)}元；"
                    f"已在台账中跳过 {outcome.duplicates} 条；空行、小计、合计、签名行跳过 {outcome.skipped} 行",
                    "preview": [[n, c, f"{s:.2f}"] for n, (c, s) in sorted(outcome.per_village.items())],
                    "total": f"{outcome.total:.2f}",
                }

            return _write(job, write_ledger, dry_run=dry_run)
        inspect = inspect_docx if is_word_file(name) else inspect_xlsx
        ImportJob.objects.filter(pk=job.pk).update(rows_total=inspect(path, name=name))
        if kind == "people":
            return _run_people(job, path, dry_run=dry_run, progress=progress)
        if kind == "plans":
            return _run_plans(job, path, dry_run=dry_run, progress=progress)
        township = township_for(user, str(options.get("township", "")) or None)
        if kind == "units":
            units = parse_units_file(path, name=name)
            if units.errors:
                return _errors(job, path, units.table, units.errors)

            def write_units() -> dict[str, Any]:
                try:
                    made = units_import(actor=user, township=township, parsed=units, dry_run=dry_run)
                except UnitsImportError as exc:
                    return _errors(job, path, units.table, exc.errors)
                verb = "将新建" if dry_run else "已新建"
                counts = "，".join(f"{label} {n} 个" for label, n in made.created.items())
                return {
                    "ok": True,
                    "summary": f"{township.name}：{verb} {counts}；已有的村 {made.unchanged} 个不变；补充标签 {made.tagged} 个村",
                }

            return _write(job, write_units, dry_run=dry_run)
        year = int(options.get("year") or 0)
        if not year:
            return {"ok": False, "refused": "请选择要导入目标的年度"}
        campaign = Campaign.objects.filter(township=township, year=year).first()
        baseline = campaign.baseline if campaign is not None else target_defaults.BASELINE
        targets = parse_targets_file(path, name=name, township=township, baseline=baseline)
        if targets.errors:
            return _errors(job, path, targets.table, targets.errors)

        def write_targets() -> dict[str, Any]:
            done = targets_import(
                actor=user, township=township, year=year, amounts=targets.amounts, dry_run=dry_run
            )
            notice, summary = targets_summary(township, done, targets.amounts, dry_run=dry_run)
            return {"ok": True, "notice": notice, "summary": summary}

        return _write(job, write_targets, dry_run=dry_run)
    except WorkbookRefused as exc:
        return {"ok": False, "refused": str(exc)}
    except ServiceError as exc:
        return {"ok": False, "refused": exc.message}


# ---------------------------------------------------------------------------------------------- plans


def plan_years(user: User) -> list[int]:
    villages, plannable = plan_villages(user)
    return campaign_years([v for v in villages if v.pk in plannable])


def _run_plans(job: ImportJob, path: Path, *, dry_run: bool, progress: Any) -> dict[str, Any]:
    """Check or import 一村一策 (see ``plans.importing`` for the layouts): every village's plan and
    measures, or nothing."""
    user: User = job.user
    villages, plannable = plan_villages(user)
    raw_year = str(job.options.get("year", ""))
    year = import_year(
        [v for v in villages if v.pk in plannable], int(raw_year) if raw_year.isdigit() else None
    )
    parsed = parse_plans_file(
        path, name=job.file_name, year=year, villages=villages, plannable=plannable, progress=progress
    )
    if parsed.errors:
        return _errors(job, path, parsed.tables, parsed.errors)

    def write_plans() -> dict[str, Any]:
        done = plans_import(actor=user, parsed=parsed, dry_run=dry_run)
        if done.errors:
            return _errors(job, path, parsed.tables, done.errors)
        verb = "将导入" if dry_run else "已导入"
        return {
            "ok": True,
            "summary": f"{verb} {len(done.villages)} 个村 {year} 年的一村一策：增收路子 {done.paths} 条，"
            f"预计收入合计 {fmt_wan(done.expected)}元，资源清单 {done.resources} 条；"
            f"措施新增 {done.added} 项、更新 {done.updated} 项、不变 {done.unchanged} 项",
            "plans": [
                [v.name, v.paths, f"{v.expected:.2f}", v.resources, v.added, v.updated, v.unchanged]
                for v in done.villages
            ],
            "year": year,
        }

    return _write(job, write_plans, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------- people

#: How many people the check lists on its page (the summary counts them all).
MAX_LISTED_PEOPLE = 500


def _run_people(job: ImportJob, path: Path, *, dry_run: bool, progress: Any) -> dict[str, Any]:
    """Check or import a township's people. On import the one-time passwords go into a sheet under the
    uploads folder (mode 0600), written inside the accounts' transaction: if the sheet cannot be
    written nothing is imported. The job's result holds no password."""
    user: User = job.user
    units = list(OrgUnit.objects.restrict(user, Action.MANAGE_USERS).order_by("path"))
    parsed = parse_people_file(path, name=job.file_name, units=units)
    if parsed.errors:
        return _errors(job, path, parsed.table, parsed.errors)
    if not parsed.rows:
        return {"ok": False, "refused": "表中没有人员（表头下面都是空行、合计行或签名行）"}
    if len(parsed.rows) > MAX_PEOPLE:
        return {
            "ok": False,
            "refused": f"表中有 {len(parsed.rows):,} 人，一次最多导入 {MAX_PEOPLE:,} 人：请按镇或网格站拆成几个文件分批导入",
        }
    columns = parsed.table.columns if parsed.table is not None else {}
    sheet = passwords_path(job)

    def before_commit(made: PeopleOutcome) -> None:
        """Inside the accounts' transaction (the passwords are hashed before it, not in ``_write``'s: a
        long hash must not hold the write lock): the password sheet, and the job done with the accounts."""
        _write_passwords(sheet, made, str(job.options.get("login_url") or "/login/"))
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.DONE, result=_people_result(made, dry_run=False), updated_at=timezone.now()
        )

    try:
        outcome = people_import(
            actor=user,
            rows=parsed.rows,
            columns=columns,
            dry_run=dry_run,
            progress=progress,
            before_commit=before_commit,
        )
    except PeopleImportError as exc:
        return _errors(job, path, parsed.table, exc.errors)
    except BaseException:
        sheet.unlink(missing_ok=True)  # the accounts were not made: their passwords are no one's
        raise
    return _people_result(outcome, dry_run=dry_run)


def _people_result(outcome: PeopleOutcome, *, dry_run: bool) -> dict[str, Any]:
    by_level = outcome.by_level()
    made = sum(1 for p in outcome.people if p.username_made)
    verb = "将建立" if dry_run else "已建立"
    grant_verb = "授予" if dry_run else "授予了"
    no_role = len(outcome.people) - outcome.grants
    summary = (
        f"{verb} {len(outcome.people)} 个账号，{grant_verb} {outcome.grants} 项角色"
        + (f"（{no_role} 人暂无角色，以后在其账号页面授予）" if no_role else "")
        + "："
        + "，".join(f"{label} {n} 人" for label, n, _ in by_level)
        + (f"；其中 {made} 个账号按姓名拼音生成" if made else "")
    )
    if dry_run:
        summary += "。确认导入后可下载一次性密码表（只能下载一次）"
    return {
        "ok": True,
        "summary": summary,
        "accounts": len(outcome.people),
        "grants": outcome.grants,
        "by_level": [list(row) for row in by_level],
        "people": [
            [
                p.row,
                p.user.display_name,
                p.user.username,
                p.username_made,
                str(Role(p.role).label) if p.role else "",
                p.unit.name,
            ]
            for p in outcome.people[:MAX_LISTED_PEOPLE]
        ],
        "passwords": not dry_run,
    }


PASSWORD_COLUMNS = [
    Column("姓名", width=12),
    Column("账号", width=18),
    Column("一次性密码", width=18),
    Column("角色", width=12),
    Column("单位", width=16),
]


def _write_passwords(sheet: Path, outcome: PeopleOutcome, login_url: str) -> None:
    body = write_table(
        title="账号与一次性密码（请分发到本人，妥善保管）",
        columns=PASSWORD_COLUMNS,
        rows=[
            [
                p.user.display_name,
                p.user.username,
                p.password,
                str(Role(p.role).label) if p.role else "（尚未授予）",
                p.unit.name,
            ]
            for p in outcome.people
        ],
        subtitle=f"登录地址：{login_url}",
        unit_line="首次登录须修改密码",
        sheet_name="一次性密码",
    )
    sheet.unlink(missing_ok=True)
    fd = os.open(sheet, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)


def passwords_take(job: ImportJob) -> bytes | None:
    """The job's password sheet, removed from the server as it is read: ``None`` once taken (or swept
    away after a day). Two requests at once cannot both get it: the file is moved aside first."""
    sheet = passwords_path(job)
    taken = sheet.with_name(f"{job.pk}.passwords.{uuid.uuid4().hex}.taken.xlsx")
    try:
        os.replace(sheet, taken)
    except FileNotFoundError:
        return None
    try:
        body = taken.read_bytes()
        with transaction.atomic():
            user: User = job.user
            audit.record(
                actor=user,
                action="import.passwords_taken",
                obj=job,
                after={"file_name": job.file_name, "accounts": int(job.result.get("accounts", 0))},
                unit_path=user.unit.path if user.unit_id and user.unit is not None else "",
            )
        return body
    finally:
        taken.unlink(missing_ok=True)


def targets_summary(
    township: OrgUnit, done: TargetsImported, amounts: dict[int, Decimal], *, dry_run: bool
) -> tuple[str, str]:
    """What a targets import did, or would do: the year it opens with which settings ("" when the year
    was open already), and the villages' figures."""
    total = sum(amounts.values(), Decimal("0.00"))
    settings_text = target_defaults.describe(done.baseline, done.top_tier, done.counted_categories)
    notice = ""
    if done.opened and dry_run:
        notice = (
            f"{township.name}还没有 {done.year} 年度任务，确认导入时将按默认设置建立：{settings_text}。"
            "表中没有的村目标为基础线；这些设置建立后可在“目标”页面修改，直到该年第一笔台账审核通过。"
        )
    elif done.opened:
        notice = f"已按默认设置建立 {township.name}{done.year} 年度任务：{settings_text}。"
    verb = "将改动" if dry_run else "已改动"
    summary = (
        f"{township.name}{done.year}年：{len(amounts)} 个村，目标合计 {fmt_wan(total)}元；"
        f"{verb} {done.changed} 个村的目标"
    )
    return notice, summary
