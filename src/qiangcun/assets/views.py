"""Pages of the asset register (资产台账) and 清产核资: the register of the reader's scope with filters and
totals, an asset with its files and history, the entry form, the rounds and a round's count sheet."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.assets import selectors, services
from qiangcun.assets.exporting import register_workbook, round_workbook
from qiangcun.assets.models import (
    Asset,
    AssetFile,
    AssetKind,
    AssetStatus,
    FileKind,
    ItemType,
    LandClass,
    RoundLine,
    RoundStatus,
)
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.money import AmountError, parse_amount
from qiangcun.core.params import choice_param, date_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import unit_for
from qiangcun.reports.http import xlsx_response

#: An area typed in a form: plain ASCII digits, thousands commas, at most two decimals.
AREA = re.compile(r"\d{1,3}(,\d{3})*(\.\d{1,2})?|\d+(\.\d{1,2})?", re.ASCII)


#: What each kind of change to an asset is called in its history.
ACTION_LABELS = {
    "asset.create": "登记",
    "asset.update": "修改",
    "asset.status": "改状态",
    "asset.verify": "清产核资调整",
}


def _pk(raw: object) -> int | None:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9:
        return int(raw)
    return None


def _area(raw: str, label: str, field: str) -> Decimal | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not AREA.fullmatch(raw):
        raise ServiceError(f"{label}“{raw[:20]}”不是数字（如 35.5）", field=field)
    return Decimal(raw.replace(",", ""))


def _money(raw: str, label: str, field: str) -> Decimal | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return parse_amount(raw)
    except AmountError as exc:
        raise ServiceError(f"{label}：{exc}", field=field) from None


def _villages(user: Any, action: str) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(user, action).filter(level=Level.VILLAGE).order_by("path"))


def _asset(request: AuthedRequest, pk: int) -> Any:
    asset = selectors.asset_get(request.user, pk)
    if asset is None:
        raise Http404("该资产不存在或不在您的管辖范围内")
    return asset


def _round(request: AuthedRequest, pk: int) -> Any:
    r = selectors.round_get(request.user, pk)
    if r is None:
        raise Http404("该次清产核资不存在或不在您的管辖范围内")
    return r


def _filters(request: AuthedRequest) -> tuple[OrgUnit, str, str]:
    get = request.GET
    code = text_param(get.get("village") or get.get("unit"), field="village", label="村代码") or None
    unit = unit_for(request.user, code)
    kind = choice_param(get.get("kind"), AssetKind.values, field="kind", label="类别")
    status = choice_param(get.get("status"), AssetStatus.values, field="status", label="状态")
    return unit, kind, status


# ------------------------------------------------------------------------------------------- register

#: Register items listed a page.
ASSETS_PAGE = 50


@require(Action.VIEW)
@require_GET
def assets_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unit, kind, status = _filters(request)
    assets = selectors.assets_visible(user, unit, kind=kind, status=status)
    figures = selectors.totals(assets)
    # 50 a page: a station's 184 items were one 37,000-px page on a phone.
    page = Paginator(assets, ASSETS_PAGE).get_page(request.GET.get("page"))
    query = QueryDict(mutable=True)
    for key, value in (("village", unit.code), ("kind", kind), ("status", status)):
        if value:
            query[key] = value
    return render(
        request,
        "assets/assets.html",
        {
            "unit": unit,
            "kind": kind,
            "status": status,
            "rows": list(page.object_list),
            "page": page,
            "t": figures,
            "villages": _villages(user, Action.VIEW),
            "kinds": AssetKind.choices,
            "statuses": AssetStatus.choices,
            "query": query.urlencode(),
            "may_enter": user.can(Action.ASSETS),
            "idle": selectors.idle_by_village(user, unit) if unit.level != Level.VILLAGE else [],
        },
    )


@require(Action.VIEW)
@require_GET
def assets_export(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unit, kind, status = _filters(request)
    assets = list(selectors.assets_visible(user, unit, kind=kind, status=status))
    what = "、".join(
        x
        for x in (
            str(AssetKind(kind).label) if kind else "",
            str(AssetStatus(status).label) if status else "",
        )
        if x
    )
    subtitle = f"截至 {today():%Y年%m月%d日}" + (f"；仅{what}" if what else "")
    body = register_workbook(assets, f"{unit.name}集体资产台账", subtitle)
    audit.event(
        actor=request.user,
        action="asset.export",
        model="orgs.orgunit",
        object_pk=str(unit.pk),
        note=f"导出《{unit.name}集体资产台账.xlsx》{subtitle}，{len(assets)} 项",
    )
    return xlsx_response(body, f"{unit.name}集体资产台账.xlsx")


@require(Action.VIEW)
@require_GET
def asset_page(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    asset = _asset(request, pk)
    return render(
        request,
        "assets/asset.html",
        {
            "a": asset,
            "files": list(asset.files.select_related("uploaded_by").order_by("uploaded_at", "pk")),
            "history": [_labelled(h) for h in selectors.asset_history(asset)[:50]],
            "may_edit": user.can(Action.ASSETS, asset.village),
            "statuses": AssetStatus.choices,
            "file_kinds": FileKind.choices,
            "rounds": list(
                RoundLine.objects.filter(asset=asset).select_related("round").order_by("-round__base_date")
            ),
        },
    )


def _shown(name: str, value: Any) -> str:
    """A value of the change log as people read it: choices by their Chinese label, empty as —."""
    if value in (None, ""):
        return "—"
    field: Any = Asset._meta.get_field(name)
    choices = dict(field.choices or [])
    return str(choices.get(value, value))


def _verbose(name: str) -> str:
    field: Any = Asset._meta.get_field(name)
    return str(field.verbose_name)


def _labelled(record: Any) -> Any:
    """The record with ``label``: what was done and, for a change, each field's before → after."""
    record.label = ACTION_LABELS.get(record.action, record.action)
    before, after = record.before or {}, record.after or {}
    changed = [k for k in after if k != "version" and before and before.get(k) != after.get(k)]
    if changed:
        parts = [f"{_verbose(k)} {_shown(k, before.get(k))} → {_shown(k, after.get(k))}" for k in changed]
        record.label += "：" + "；".join(parts)
    return record


def _form_data(post: QueryDict) -> services.AssetData:
    acquired = date_param(post.get("acquired_on"), field="acquired_on", label="取得日期")
    return services.AssetData(
        code=post.get("code", ""),
        name=post.get("name", ""),
        kind=post.get("kind", ""),
        land_class=post.get("land_class", "") if post.get("kind") == AssetKind.RESOURCE else "",
        item_type=post.get("item_type", "") if post.get("kind") != AssetKind.RESOURCE else "",
        area_mu=_area(post.get("area_mu", ""), "面积（亩）", "area_mu"),
        floor_area_m2=_area(post.get("floor_area_m2", ""), "建筑面积", "floor_area_m2"),
        value=_money(post.get("value", ""), "账面价值", "value"),
        location=post.get("location", ""),
        boundaries=post.get("boundaries", ""),
        status=post.get("status", AssetStatus.IN_USE),
        acquired_on=acquired,
        note=post.get("note", ""),
    )


def _form_context(**extra: Any) -> dict[str, Any]:
    return {
        "kinds": AssetKind.choices,
        "land_classes": LandClass.choices,
        "item_types": ItemType.choices,
        "statuses": AssetStatus.choices,
        **extra,
    }


@require(Action.ASSETS)
@require_http_methods(["GET", "POST"])
def asset_new(request: AuthedRequest) -> HttpResponse:
    user = request.user
    villages = _villages(user, Action.ASSETS)
    asked = request.POST.get("village") or request.GET.get("village")
    code = text_param(asked, field="village", label="村代码") or (villages[0].code if villages else "")
    village = next((v for v in villages if v.code == code), None)
    if village is None:
        raise Http404("该村不在您的资产管理范围内")
    error = field = ""
    values: dict[str, Any] = {"kind": AssetKind.RESOURCE, "status": AssetStatus.IN_USE}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            asset = services.asset_create(actor=user, village=village, data=_form_data(request.POST))
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(request, f"已登记资产：{asset.code} {asset.name}")
            return redirect("asset", pk=asset.pk)
    return render(
        request,
        "assets/asset_form.html",
        _form_context(village=village, villages=villages, v=values, error=error, field=field, asset=None),
        status=400 if error else 200,
    )


@require(Action.ASSETS)
@require_http_methods(["GET", "POST"])
def asset_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    asset = _asset(request, pk)
    if not user.can(Action.ASSETS, asset.village):
        raise Http404("您不能修改该村的资产")
    error = field = ""
    values: dict[str, Any] = {
        "code": asset.code,
        "name": asset.name,
        "kind": asset.kind,
        "land_class": asset.land_class,
        "item_type": asset.item_type,
        "area_mu": "" if asset.area_mu is None else f"{asset.area_mu}",
        "floor_area_m2": "" if asset.floor_area_m2 is None else f"{asset.floor_area_m2}",
        "value": "" if asset.value is None else f"{asset.value}",
        "location": asset.location,
        "boundaries": asset.boundaries,
        "status": asset.status,
        "acquired_on": asset.acquired_on.isoformat() if asset.acquired_on else "",
        "note": asset.note,
        "version": asset.version,
    }
    if request.method == "POST":
        values = request.POST.dict()
        version = _pk(request.POST.get("version"))
        try:
            if version is None:
                raise ServiceError("页面已过期，您的修改没有保存。请刷新后重新填写")
            asset = services.asset_update(
                actor=user, asset=asset, data=_form_data(request.POST), expected_version=version
            )
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
        else:
            messages.success(request, f"已保存资产：{asset.code} {asset.name}")
            return redirect("asset", pk=asset.pk)
    return render(
        request,
        "assets/asset_form.html",
        _form_context(village=asset.village, villages=[], v=values, error=error, field=field, asset=asset),
        status=400 if error else 200,
    )


@require(Action.ASSETS)
@require_POST
def asset_status(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    asset = _asset(request, pk)
    if not user.can(Action.ASSETS, asset.village):
        raise Http404("您不能修改该村的资产")
    try:
        asset = services.asset_set_status(
            actor=user,
            asset=asset,
            status=request.POST.get("status", ""),
            note=request.POST.get("note", ""),
            expected_version=_pk(request.POST.get("version")),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将“{asset.name}”的状态改为{asset.get_status_display()}")
    return redirect("asset", pk=asset.pk)


@require(Action.ASSETS)
@require_POST
def asset_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    asset = _asset(request, pk)
    if not user.can(Action.ASSETS, asset.village):
        raise Http404("您不能为该村资产上传附件")
    try:
        added = services.asset_file_add(
            actor=user,
            asset=asset,
            files=request.FILES.getlist("files"),
            kind=request.POST.get("kind", FileKind.PHOTO),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已上传 {len(added)} 个附件")
    return redirect("asset", pk=asset.pk)


@require(Action.VIEW)
@require_GET
def asset_file(request: AuthedRequest, pk: int) -> FileResponse:
    found = AssetFile.objects.restrict(request.user, Action.VIEW).filter(pk=pk).first()
    if found is None:
        raise Http404("附件不存在或不在您的管辖范围内")
    handle = found.file.open("rb")
    content_type = services.file_type(handle.read(16))
    handle.seek(0)
    response = FileResponse(
        handle,
        as_attachment=content_type is None,
        filename=found.original_name,
        content_type=content_type or "application/octet-stream",
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response


# ------------------------------------------------------------------------------------------ 清产核资


@require(Action.VIEW)
@require_http_methods(["GET", "POST"])
def rounds_page(request: AuthedRequest) -> HttpResponse:
    """The rounds of the reader's scope; a village's clerk starts one here (POST)."""
    user = request.user
    error = ""
    may_start = _villages(user, Action.ASSETS)
    if request.method == "POST":
        if not may_start:
            raise PermissionDenied("您没有开展清产核资的权限")
        code = text_param(request.POST.get("village"), field="village", label="村代码")
        village = next((v for v in may_start if v.code == code), None)
        if village is None:
            raise Http404("该村不在您的资产管理范围内")
        try:
            base = date_param(request.POST.get("base_date"), field="base_date", label="清查基准日")
            if base is None:
                raise ServiceError("请填写清查基准日", field="base_date")
            r = services.round_start(
                actor=user, village=village, base_date=base, note=request.POST.get("note", "")
            )
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, f"已发起{village.name}清产核资，共 {r.lines.count()} 项资产待清查")
            return redirect("round", pk=r.pk)
    unit = unit_for(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    return render(
        request,
        "assets/rounds.html",
        {
            "unit": unit,
            "rounds": list(selectors.rounds_visible(user, unit)),
            "may_start": may_start,
            "error": error,
            "today": today(),
        },
        status=400 if error else 200,
    )


@require(Action.VIEW)
@require_GET
def round_page(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    r = _round(request, pk)
    lines = list(selectors.round_lines(r))
    is_open = r.status == RoundStatus.OPEN
    return render(
        request,
        "assets/round.html",
        {
            "r": r,
            "lines": lines,
            "s": selectors.round_summary(lines),
            "may_count": is_open and user.can(Action.ASSETS, r.village),
            "may_sign": is_open and user.can(Action.VERIFY, r.village) and r.started_by_id != user.pk,
            "kinds": AssetKind.choices,
            "land_classes": LandClass.choices,
            "item_types": ItemType.choices,
            "statuses": [c for c in AssetStatus.choices if c[0] != AssetStatus.DISPOSED],
        },
    )


def _round_url(r: Any, anchor: str = "") -> str:
    return reverse("round", args=[r.pk]) + (f"#{anchor}" if anchor else "")


@require(Action.ASSETS)
@require_POST
def round_count(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    line = (
        RoundLine.objects.restrict(user, Action.VIEW).select_related("round__village").filter(pk=pk).first()
    )
    if line is None or not user.can(Action.ASSETS, line.round.village):
        raise Http404("该清查项不存在或不在您的管辖范围内")
    post = request.POST
    try:
        data = services.CountData(
            found=post.get("found", "1") != "0",
            area_mu=_area(post.get("area_mu", ""), "清查面积（亩）", "area_mu"),
            value=_money(post.get("value", ""), "清查价值", "value"),
            status=post.get("status", ""),
            note=post.get("note", ""),
        )
        line = services.round_line_count(actor=user, line=line, data=data)
    except ServiceError as exc:
        messages.error(request, f"第 {line.position} 项（{line.name}）：{exc.message}")
    else:
        messages.success(request, f"第 {line.position} 项（{line.name}）已清查：{line.get_result_display()}")
    return redirect(_round_url(line.round, f"l{line.pk}"))


@require(Action.ASSETS)
@require_POST
def round_add(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    r = _round(request, pk)
    if not user.can(Action.ASSETS, r.village):
        raise Http404("您不能在该村清查资产")
    post = request.POST
    kind = post.get("kind", "")
    try:
        line = services.round_add_found(
            actor=user,
            round=r,
            name=post.get("name", ""),
            kind=kind,
            land_class=post.get("land_class", "") if kind == AssetKind.RESOURCE else "",
            item_type=post.get("item_type", "") if kind != AssetKind.RESOURCE else "",
            location=post.get("location", ""),
            area_mu=_area(post.get("area_mu", ""), "面积（亩）", "area_mu"),
            value=_money(post.get("value", ""), "价值", "value"),
            status=post.get("status", AssetStatus.IN_USE),
            note=post.get("note", ""),
        )
    except ServiceError as exc:
        messages.error(request, f"盘盈资产没有添加：{exc.message}")
        return redirect(_round_url(r, "add"))
    messages.success(request, f"已添加盘盈资产：{line.name}（签字确认后登记入账）")
    return redirect(_round_url(r, f"l{line.pk}"))


@require(Action.VERIFY)
@require_POST
def round_sign(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    r = _round(request, pk)
    if not user.can(Action.VERIFY, r.village):
        raise Http404("您不能审核确认该村的清产核资")
    try:
        r = services.round_sign(actor=user, round=r, note=request.POST.get("note", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        s = selectors.round_summary(list(r.lines.all()))
        messages.success(
            request,
            f"已签字确认{r.village.name}清产核资：盘盈 {s.surplus} 项 {s.surplus_value:,.2f} 元，"
            f"盘亏 {s.loss} 项 {s.loss_value:,.2f} 元，已记入资产台账",
        )
    return redirect(_round_url(r))


@require(Action.VIEW)
@require_GET
def round_export(request: AuthedRequest, pk: int) -> HttpResponse:
    r = _round(request, pk)
    body = round_workbook(r, list(selectors.round_lines(r)))
    name = f"{r.village.name}农村集体资产清查表{r.base_date:%Y%m%d}.xlsx"
    audit.event(
        actor=request.user,
        action="round.export",
        model="assets.verificationround",
        object_pk=str(r.pk),
        note=f"导出《{name}》",
    )
    return xlsx_response(body, name)
