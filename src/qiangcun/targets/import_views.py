"""导入 pages: upload a workbook, see what would be imported (a dry run), then confirm.

The uploaded file is kept under ``$QIANGCUN_HOME/uploads`` only between the preview and the
confirmation (bound to the user's session) and deleted afterwards; files left behind are removed
after a day."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import RowError, Table, WorkbookRefused, error_report
from qiangcun.core.money import fmt_wan
from qiangcun.core.web import require
from qiangcun.ledger.importing.ledger import parse_ledger_file
from qiangcun.ledger.services import entries_import
from qiangcun.orgs.importing import UnitsImportError, parse_units_file, units_import
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.reports.http import xlsx_response
from qiangcun.reports.templates_xlsx import TEMPLATES, template_workbook
from qiangcun.targets.importing import import_villages, parse_targets_file
from qiangcun.targets.models import Campaign
from qiangcun.targets.services import targets_set

KINDS = {"ledger": "台账", "units": "组织结构", "targets": "年度目标"}
SESSION_KEY = "qiangcun_imports"
STALE_SECONDS = 24 * 3600


def _uploads() -> Path:
    folder = Path(settings.HOME) / "uploads"
    folder.mkdir(exist_ok=True)
    now = time.time()
    for old in folder.glob("*.xlsx"):
        if now - old.stat().st_mtime > STALE_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def _allowed_kinds(user: Any) -> list[str]:
    kinds = []
    if user.can("enter") or user.can("import"):
        kinds.append("ledger")
    if user.can("import"):
        kinds += ["units", "targets"]
    return kinds


def _townships(user: Any) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(user, "import").filter(level=Level.TOWNSHIP))


def _years(user: Any) -> list[int]:
    villages = import_villages(user)
    codes = {code for v in villages for code in v.ancestor_codes()}
    return sorted(
        set(Campaign.objects.filter(township__code__in=codes).values_list("year", flat=True)), reverse=True
    )


@require()
def import_home(request: HttpRequest) -> HttpResponse:
    kinds = _allowed_kinds(request.user)
    if not kinds:
        raise PermissionDenied("您没有导入数据的权限")
    return render(
        request,
        "targets/import_home.html",
        {
            "kinds": [(k, KINDS[k]) for k in kinds],
            "years": _years(request.user),
            "can_verify": request.user.can("import"),  # type: ignore[union-attr]
        },
    )


@require()
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in TEMPLATES:
        raise Http404
    if kind not in _allowed_kinds(request.user):
        raise PermissionDenied("您没有导入这类数据的权限")
    return xlsx_response(template_workbook(kind), f"{KINDS[kind]}导入模板.xlsx")


def _save_upload(request: HttpRequest) -> tuple[str, Path, str]:
    upload = request.FILES.get("file")
    if upload is None:
        raise ServiceError("请选择要导入的 .xlsx 文件", field="file")
    name = Path(upload.name or "upload.xlsx").name
    if upload.size and upload.size > settings.IMPORT_MAX_BYTES:
        raise ServiceError(
            f"文件过大（{upload.size / 1024 / 1024:.0f} MB），上限 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB"
        )
    token = secrets.token_urlsafe(16)
    path = _uploads() / f"{token}.xlsx"
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return token, path, name


def _remember(request: HttpRequest, token: str, data: dict[str, Any]) -> None:
    store = request.session.get(SESSION_KEY, {})
    store[token] = data
    request.session[SESSION_KEY] = store


def _forget(request: HttpRequest, token: str) -> dict[str, Any] | None:
    store = request.session.get(SESSION_KEY, {})
    data = store.pop(token, None)
    request.session[SESSION_KEY] = store
    return data


def _report(
    request: HttpRequest, path: Path, name: str, table: Table | None, errors: list[RowError]
) -> str | None:
    if table is None:
        return None
    token = secrets.token_urlsafe(16)
    (_uploads() / f"{token}.report.xlsx").write_bytes(error_report(path, table, errors))
    _remember(request, token, {"report": True, "name": name})
    return token


@require()
@require_http_methods(["GET", "POST"])
def import_kind(request: HttpRequest, kind: str) -> HttpResponse:
    """Upload → check (dry run) → confirm. Nothing is written before the confirmation."""
    user = request.user
    if kind not in KINDS:
        raise Http404
    if kind not in _allowed_kinds(user):
        raise PermissionDenied("您没有导入这类数据的权限")
    context: dict[str, Any] = {
        "kind": kind,
        "label": KINDS[kind],
        "years": _years(user),
        "townships": _townships(user),
    }
    if request.method == "GET":
        return render(request, "targets/import_kind.html", context)
    action = request.POST.get("action", "check")
    if action == "check":
        try:
            token, path, name = _save_upload(request)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("import_kind", kind=kind)
        options = {
            "kind": kind,
            "name": name,
            "year": request.POST.get("year", ""),
            "township": request.POST.get("township", ""),
            "verified": request.POST.get("verified") == "1" and user.can("import"),  # type: ignore[union-attr]
        }
        outcome = _run(request, path, options, dry_run=True)
        if outcome.get("errors") is not None or outcome.get("refused"):
            path.unlink(missing_ok=True)
        else:
            _remember(request, token, options)
            outcome["token"] = token
        return render(request, "targets/import_kind.html", {**context, **outcome, "options": options})
    token = request.POST.get("token", "")
    remembered = _forget(request, token)
    path = _uploads() / f"{token}.xlsx"
    if not remembered or remembered.get("kind") != kind or not path.exists():
        messages.error(request, "试导入已过期或已经确认过，请重新上传文件")
        return redirect("import_kind", kind=kind)
    try:
        outcome = _run(request, path, remembered, dry_run=False)
    finally:
        path.unlink(missing_ok=True)
    if outcome.get("errors") is not None or outcome.get("refused"):
        return render(request, "targets/import_kind.html", {**context, **outcome, "options": remembered})
    messages.success(request, outcome["summary"])
    return redirect("import_kind", kind=kind)


def _run(request: HttpRequest, path: Path, options: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """Parse and import (or dry-run) one file; returns what the page shows."""
    user = request.user
    name, kind = options["name"], options["kind"]
    try:
        if kind == "ledger":
            villages = import_villages(user)
            years = _years(user)
            year = int(options["year"]) if str(options["year"]).isdigit() else (years[0] if years else 0)
            if year not in years:
                return {"refused": f"{year or '该'}年还没有年度任务，请先在“目标”页面建立"}
            parsed = parse_ledger_file(
                path, name=name, year=year, villages=villages, allow_negative=options["verified"]
            )
            if parsed.errors:
                return {
                    "errors": parsed.errors[:200],
                    "error_count": len(parsed.errors),
                    "report": _report(request, path, name, parsed.table, parsed.errors),
                }
            result = entries_import(
                actor=user,
                rows=parsed.rows,
                file_name=name,
                sha256=parsed.sha256,
                skipped=parsed.skipped,
                verified=options["verified"],
                dry_run=dry_run,
            )
            rows = [(n, c, s) for n, (c, s) in sorted(result.per_village.items())]
            verb = "将导入" if dry_run else "已导入"
            state = "已审核" if options["verified"] else "待审核"
            summary = (
                f"{verb} {result.imported} 条（{state}），合计 {fmt_wan(result.total)}元；"
                f"已在台账中跳过 {result.duplicates} 条；空行、小计、合计、签名行跳过 {result.skipped} 行"
            )
            return {"summary": summary, "preview": rows, "total": result.total, "year": year}
        township = _township(user, options["township"])
        if kind == "units":
            units = parse_units_file(path, name=name)
            if units.errors:
                return {
                    "errors": units.errors[:200],
                    "error_count": len(units.errors),
                    "report": _report(request, path, name, units.table, units.errors),
                }
            try:
                made = units_import(actor=user, township=township, parsed=units, dry_run=dry_run)
            except UnitsImportError as exc:
                return {"errors": exc.errors[:200], "error_count": len(exc.errors), "report": None}
            verb = "将新建" if dry_run else "已新建"
            counts = "，".join(f"{label} {n} 个" for label, n in made.created.items())
            return {
                "summary": f"{township.name}：{verb} {counts}；已有的村 {made.unchanged} 个不变；补充标签 {made.tagged} 个村"
            }
        year = int(options["year"]) if str(options["year"]).isdigit() else 0
        campaign = Campaign.objects.filter(township=township, year=year).first()
        if campaign is None:
            return {"refused": f"{township.name}还没有 {year} 年度任务，请先在“目标”页面建立"}
        targets = parse_targets_file(path, name=name, campaign=campaign)
        if targets.errors:
            return {
                "errors": targets.errors[:200],
                "error_count": len(targets.errors),
                "report": _report(request, path, name, targets.table, targets.errors),
            }
        with transaction.atomic():
            changed = targets_set(actor=user, campaign=campaign, amounts=targets.amounts)
            if dry_run:
                transaction.set_rollback(True)
        verb = "将改动" if dry_run else "已改动"
        total = sum(targets.amounts.values(), Decimal("0.00"))
        return {
            "summary": f"{township.name}{year}年：{len(targets.amounts)} 个村，目标合计 {fmt_wan(total)}元；{verb} {changed} 个村的目标"
        }
    except WorkbookRefused as exc:
        return {"refused": str(exc)}
    except ServiceError as exc:
        return {"refused": exc.message}


def _township(user: Any, code: str) -> OrgUnit:
    townships = _townships(user)
    found = [t for t in townships if t.code == code] or (townships if len(townships) == 1 else [])
    if not found:
        raise ServiceError("请选择要导入到哪个镇")
    return found[0]


@require()
def import_report(request: HttpRequest, token: str) -> FileResponse:
    data = request.session.get(SESSION_KEY, {}).get(token)
    path = _uploads() / f"{token}.report.xlsx"
    if not data or not data.get("report") or not path.exists():
        raise Http404("错误报告已过期，请重新上传检查")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"{Path(data['name']).stem}-错误报告.xlsx"
    )


__all__ = ["import_home", "import_kind", "import_report", "import_template"]
