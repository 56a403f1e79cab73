"""导入 pages: upload a workbook, see what would be imported (a check that writes nothing), then
confirm. Large files are checked and imported by the background worker; the page shows a progress
bar and can be left and come back to (the import page lists the user's recent jobs)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.params import text_param, year_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.imports import services as import_jobs
from qiangcun.imports.jobs import expire_if_stale
from qiangcun.imports.lookups import target_years
from qiangcun.imports.models import ImportJob
from qiangcun.imports.services import KINDS, allowed_kinds
from qiangcun.imports.templates_xlsx import TEMPLATES, template_workbook
from qiangcun.reports.http import xlsx_response


@require()
def import_home(request: AuthedRequest) -> HttpResponse:
    kinds = allowed_kinds(request.user)
    if not kinds:
        raise PermissionDenied("您没有导入数据的权限")
    jobs = list(ImportJob.objects.filter(user_id=request.user.pk or 0)[:10])
    for job in jobs:
        expire_if_stale(job)  # a job left running by a server that died says so
    return render(
        request, "imports/import_home.html", {"kinds": [(k, KINDS[k]) for k in kinds], "jobs": jobs}
    )


@require()
def import_template(request: AuthedRequest, kind: str) -> HttpResponse:
    if kind not in TEMPLATES:
        raise Http404
    if kind not in allowed_kinds(request.user):
        raise PermissionDenied("您没有导入这类数据的权限")
    return xlsx_response(template_workbook(kind), f"{KINDS[kind]}导入模板.xlsx")


@require()
@require_http_methods(["GET", "POST"])
def import_kind(request: AuthedRequest, kind: str) -> HttpResponse:
    user = request.user
    if kind not in KINDS:
        raise Http404
    if kind not in allowed_kinds(user):
        raise PermissionDenied("您没有导入这类数据的权限")
    if request.method == "POST":
        try:
            year = year_param(request.POST.get("year"))
            options = {
                "year": "" if year is None else str(year),
                "township": text_param(request.POST.get("township"), field="township", label="镇代码"),
                "verified": request.POST.get("verified") == "1" and user.can(Action.IMPORT),
            }
            if kind == "people":  # printed on the password sheet, which the worker may write
                options["login_url"] = request.build_absolute_uri(reverse("login"))
            job = import_jobs.job_create(
                user=user, kind=kind, upload=request.FILES.get("file"), options=options
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("import_kind", kind=kind)
        import_jobs.job_start(job)
        return redirect("import_job", pk=job.pk)
    context = {
        "kind": kind,
        "label": KINDS[kind],
        "years": import_jobs.plan_years(user) if kind == "plans" else import_jobs.ledger_years(user),
        "target_years": target_years(user) if kind == "targets" else [],
        "this_year": today().year,
        "townships": import_jobs.townships(user),
    }
    return render(request, "imports/import_kind.html", context)


def _own_job(request: AuthedRequest, pk: str) -> ImportJob:
    return get_object_or_404(ImportJob, pk=pk, user_id=request.user.pk)


@require()
def import_job(request: AuthedRequest, pk: str) -> HttpResponse:
    job = _own_job(request, pk)
    expire_if_stale(job)
    context = {
        "job": job,
        "label": KINDS.get(job.kind, job.kind),
        "result": job.result,
        "passwords_ready": job.kind == "people" and import_jobs.passwords_path(job).exists(),
    }
    if getattr(request, "htmx", False):
        return render(request, "imports/partials/import_job_body.html", context)
    return render(request, "imports/import_job.html", context)


@require()
@require_POST
def import_job_confirm(request: AuthedRequest, pk: str) -> HttpResponse:
    job = _own_job(request, pk)
    try:
        import_jobs.job_confirm(job, request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("import_job", pk=job.pk)


@require()
def import_job_report(request: AuthedRequest, pk: str) -> FileResponse:
    job = _own_job(request, pk)
    path = import_jobs.report_path(job)
    if not path.exists():
        raise Http404("错误报告已过期，请重新上传检查")
    stem = job.file_name.rsplit(".", 1)[0]
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}-错误报告.xlsx")


PASSWORDS_GONE = (
    "这份一次性密码表已经下载过了：它只能下载一次，下载后即从服务器上删除（未下载的一天后也会删除）。"
    "有人没拿到密码的，请到“账号”页面打开此人，点“重置密码”，发给他一个新的一次性密码。"
)


@require()
def import_job_passwords(request: AuthedRequest, pk: str) -> HttpResponse:
    """The one-time passwords of a people import, as a sheet to print: to the job's own user, once."""
    job = _own_job(request, pk)
    if not request.user.can(Action.MANAGE_USERS):
        raise PermissionDenied("您已不再管理账号，不能下载一次性密码表")
    body = import_jobs.passwords_take(job)
    if body is None:
        raise Http404(PASSWORDS_GONE)
    stem = job.file_name.rsplit(".", 1)[0]
    response = xlsx_response(body, f"{stem}-一次性密码.xlsx")
    response["Cache-Control"] = "no-store"
    return response
