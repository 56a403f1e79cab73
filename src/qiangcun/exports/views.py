"""Export pages: the ledger's export (answered at once when small, else a job with a progress bar),
the job's page and its file."""

from __future__ import annotations

import io

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.errors import NotFoundError
from qiangcun.core.params import choice_param, date_param, text_param, year_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.exports import services
from qiangcun.exports.models import ExportJob
from qiangcun.ledger.exporting import LedgerFilter, ledger_export_plan, ledger_export_write
from qiangcun.ledger.models import Status
from qiangcun.reports.http import XLSX, xlsx_response


@require(Action.VIEW)
def ledger_export(request: AuthedRequest) -> HttpResponse:
    """The ledger as filtered (unit or village, year, status, as-of date), within the user's scope. Up to
    ``QIANGCUN_EXPORT_JOB_ROWS`` rows the workbook comes at once; more go to the background worker and
    the user is taken to the job's page (a progress bar, then the download)."""
    code = text_param(request.GET.get("village"), field="village", label="村代码") or text_param(
        request.GET.get("unit"), field="unit", label="单位代码"
    )
    filters = LedgerFilter(
        unit=code,
        year=year_param(request.GET.get("year")),
        as_of=date_param(request.GET.get("as_of")),
        status=choice_param(request.GET.get("status"), Status.values, field="status", label="状态"),
    )
    try:
        export = ledger_export_plan(user=request.user, filters=filters)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    rows = export.count()
    if rows > settings.EXPORT_JOB_ROWS:
        job = services.job_create(user=request.user, export=export, rows=rows)
        return redirect("export_job", pk=job.pk)
    services.export_recorded(user=request.user, export=export, rows=rows)
    buffer = io.BytesIO()
    ledger_export_write(export, buffer)
    return xlsx_response(buffer.getvalue(), export.file_name)


def _own_job(request: AuthedRequest, pk: str) -> ExportJob:
    return get_object_or_404(ExportJob, pk=pk, user_id=request.user.pk)


@require(Action.VIEW)
def export_job(request: AuthedRequest, pk: str) -> HttpResponse:
    job = _own_job(request, pk)
    services.expire_if_stale(job)
    context = {"job": job}
    if getattr(request, "htmx", False):
        return render(request, "exports/partials/export_job_body.html", context)
    return render(request, "exports/export_job.html", context)


@require(Action.VIEW)
def export_job_file(request: AuthedRequest, pk: str) -> FileResponse:
    job = _own_job(request, pk)
    try:
        path = services.job_file(job, request.user)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX)
    response["Cache-Control"] = "private, no-store"
    return response
