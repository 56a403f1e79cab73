"""Contracts in and out of Excel: the 合同台账 import (upload → check, a dry run that writes nothing → confirm),
its template, the arrears export and the contract list export. Kept apart from the contract pages so that
they can be wired on their own.

The checked file waits for the confirmation in ``$QIANGCUN_HOME/uploads/contracts-<token>.xlsx``; the
token is kept in the uploader's session, so only they can confirm it, once; files older than a day are
swept away. The confirmation reads the file again and imports it in one transaction (what changed in the
meantime — a contract code taken — is caught then, and nothing is written)."""

from __future__ import annotations

import datetime
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from qiangcun.accounts.http import AuthedRequest
from qiangcun.contracts.exporting import arrears_workbook, contracts_workbook
from qiangcun.contracts.importing import check_and_import, template_workbook, village_counts
from qiangcun.contracts.selectors import scoped_villages
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.excel import RowError, WorkbookRefused
from qiangcun.core.params import ParamError, date_param, text_param, year_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.selectors import unit_for
from qiangcun.reports.http import xlsx_response

SESSION_KEY = "contracts_import"
STALE_SECONDS = 24 * 3600
MAX_LISTED_ERRORS = 200


def _uploads() -> Path:
    folder = Path(settings.HOME) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.glob("contracts-*.xlsx"):
        if now - old.stat().st_mtime > STALE_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def _upload_path(token: str) -> Path:
    return _uploads() / f"contracts-{uuid.UUID(token)}.xlsx"


def _may_import(request: AuthedRequest) -> None:
    if not request.user.can(Action.ASSETS):
        raise PermissionDenied("您没有管理三资（资产、合同）的权限，不能导入合同")


def _errors(errors: list[RowError]) -> dict[str, Any]:
    return {"errors": errors[:MAX_LISTED_ERRORS], "error_count": len(errors)}


@require()
@require_http_methods(["GET", "POST"])
def contracts_import(request: AuthedRequest) -> HttpResponse:
    """GET: the upload form. POST ``action=check`` with a file: read it and run the import without keeping
    anything; the page lists every error, or what would be made with a button to confirm. POST
    ``action=confirm`` with the check's token: import that file for real."""
    _may_import(request)
    context: dict[str, Any] = {"max_mb": settings.IMPORT_MAX_BYTES // 1024 // 1024}
    if request.method == "POST":
        if request.POST.get("action") == "confirm":
            return _confirm(request)
        context.update(_check(request))
    return render(request, "contracts/import.html", context)


def _check(request: AuthedRequest) -> dict[str, Any]:
    upload = request.FILES.get("file")
    if upload is None:
        return {"refused": "请选择要导入的合同台账（.xlsx 文件）"}
    name = Path(upload.name or "合同台账.xlsx").name[:255]
    if upload.size and upload.size > settings.IMPORT_MAX_BYTES:
        return {
            "refused": f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB；请拆分后分批导入"
        }
    previous = request.session.pop(SESSION_KEY, None)
    if previous:
        _upload_path(previous["token"]).unlink(missing_ok=True)
    token = str(uuid.uuid4())
    path = _upload_path(token)
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    try:
        parsed, done = check_and_import(actor=request.user, path=path, name=name, dry_run=True)
    except WorkbookRefused as exc:
        path.unlink(missing_ok=True)
        return {"refused": str(exc), "file_name": name}
    if done is None:
        path.unlink(missing_ok=True)
        return {"file_name": name, **_errors(parsed.errors)}
    request.session[SESSION_KEY] = {"token": token, "name": name}
    return {
        "file_name": name,
        "token": token,
        "preview": village_counts(done),
        "done": done,
        "skipped": parsed.skipped,
    }


def _confirm(request: AuthedRequest) -> HttpResponse:
    waiting = request.session.get(SESSION_KEY)
    token = request.POST.get("token", "")
    if not waiting or waiting.get("token") != token:
        messages.error(request, "这次检查已经确认过或已过期，请重新上传文件")
        return redirect("contracts_import")
    request.session.pop(SESSION_KEY, None)
    path = _upload_path(token)
    if not path.exists():
        messages.error(request, "上传的文件已过期（保留一天），请重新上传")
        return redirect("contracts_import")
    name = waiting["name"]
    try:
        parsed, done = check_and_import(actor=request.user, path=path, name=name, dry_run=False)
    except WorkbookRefused as exc:
        return render(request, "contracts/import.html", {"refused": str(exc), "file_name": name})
    finally:
        path.unlink(missing_ok=True)
    if done is None:
        return render(request, "contracts/import.html", {"file_name": name, **_errors(parsed.errors)})
    messages.success(
        request,
        f"已导入 {done.contracts} 份合同（{len(done.by_village)} 个村），生成应收款 {done.receivables} 期，"
        f"合计 {done.amount:,.2f} 元",
    )
    return redirect("contracts_import")


@require()
def contracts_import_template(request: AuthedRequest) -> HttpResponse:
    _may_import(request)
    villages = scoped_villages(request.user, Action.ASSETS).order_by("path")
    return xlsx_response(template_workbook(villages), "合同台账导入模板.xlsx")


def _year_and_day(request: AuthedRequest) -> tuple[int, datetime.date]:
    year = year_param(request.GET.get("year"))
    as_of = date_param(request.GET.get("as_of"))
    if year is None:
        year = as_of.year if as_of is not None else today().year
    if as_of is not None and as_of.year != year:
        raise ParamError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    if as_of is None:
        as_of = today() if today().year == year else datetime.date(year, 12, 31)
    return year, as_of


def _unit(request: AuthedRequest) -> Any:
    code = text_param(request.GET.get("unit"), field="unit", label="单位代码") or None
    return unit_for(request.user, code, Action.VIEW)


@require(Action.VIEW)
def contracts_arrears_export(request: AuthedRequest) -> HttpResponse:
    """``contracts/arrears.xlsx?unit=<code>&year=<yyyy>&as_of=<yyyy-mm-dd>``, all optional: the reader's
    widest unit, this year (or the year of ``as_of``), today (or the year's end)."""
    unit = _unit(request)
    year, as_of = _year_and_day(request)
    body = arrears_workbook(request.user, unit, year, as_of)
    name = f"{unit.name}{year}年合同欠款（截至{as_of:%Y-%m-%d}）.xlsx"
    _recorded(request, "contracts.arrears_export", unit, name)
    return xlsx_response(body, name)


@require(Action.VIEW)
def contracts_export(request: AuthedRequest) -> HttpResponse:
    """``contracts/export.xlsx?unit=<code>&as_of=<yyyy-mm-dd>``: every contract in the reader's scope."""
    unit = _unit(request)
    as_of = date_param(request.GET.get("as_of")) or today()
    body = contracts_workbook(request.user, unit, as_of)
    name = f"{unit.name}合同台账（截至{as_of:%Y-%m-%d}）.xlsx"
    _recorded(request, "contracts.export", unit, name)
    return xlsx_response(body, name)


def _recorded(request: AuthedRequest, action: str, unit: Any, name: str) -> None:
    """An export of counterparties and what they owe is recorded, as the ledger's is: who took which file."""
    audit.event(
        actor=request.user,
        action=action,
        model="orgs.orgunit",
        object_pk=str(unit.pk),
        note=f"导出《{name}》",
    )
