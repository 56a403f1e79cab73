"""Pages of contracts and receivables: the overview (a township's receivable against received, arrears by
age, expiring contracts, rents far below the median; a village's own contracts), a contract with its
instalments and payments, the forms that record a contract, a payment, a refund, an early end, and the
township's rules. Every page denies by default and shows only the reader's scope."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.assets.models import Asset, AssetStatus, LandClass
from qiangcun.contracts import selectors, services
from qiangcun.contracts.models import (
    Contract,
    Kind,
    Method,
    PartyKind,
    Payment,
    PriceMode,
    Schedule,
)
from qiangcun.contracts.schedule import instalments
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.files import sniff
from qiangcun.core.money import AmountError, parse_amount
from qiangcun.core.params import ParamError, date_param, text_param, year_param
from qiangcun.core.pii import mask_id_number, mask_phone
from qiangcun.core.scope import Action, allowed
from qiangcun.core.web import require
from qiangcun.core.workdays import calendar_known
from qiangcun.ledger.models import Category, DevelopmentPath, Status
from qiangcun.ledger.selectors import open_years
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import unit_for

#: Units whose contracts are too many for one page (a city, a province): read county by county.
ABOVE_COUNTY = (Level.CITY, Level.PROVINCE)


def _year_as_of(request: AuthedRequest) -> tuple[int, datetime.date]:
    now = today()
    year = year_param(request.GET.get("year")) or now.year
    as_of = date_param(request.GET.get("as_of"), field="as_of", label="截止日期")
    if as_of is None or as_of.year != year:
        as_of = (
            now
            if year == now.year
            else datetime.date(year, 12, 31)
            if year < now.year
            else datetime.date(year, 1, 1)
        )
    return year, as_of


@require(Action.VIEW)
@require_GET
def contracts_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unit = unit_for(user, text_param(request.GET.get("unit"), field="unit", label="单位代码") or None)
    if unit.level in ABOVE_COUNTY:
        raise ParamError(f"{unit.name}的合同太多，不在一页列出；请按县或镇查看", field="unit")
    year, as_of = _year_as_of(request)
    s = selectors.summary(user=user, unit=unit, year=year, as_of=as_of)
    # The list of every contract only for a village: a township's 300 would bury the summary.
    contracts = (
        list(selectors.visible_contracts(user, unit).select_related("village").order_by("code"))
        if unit.level == Level.VILLAGE
        else []
    )
    overdue_ids = {a.contract.pk for a in s.arrears}
    return render(
        request,
        "contracts/contracts.html",
        {
            "s": s,
            "unit": unit,
            "contracts": contracts,
            "overdue_ids": overdue_ids,
            "arrears": s.arrears[:50],
            "may_add": bool(_villages_for(user, Action.ASSETS, unit)),
            "may_settings": unit.level == Level.TOWNSHIP and allowed(user, Action.MANAGE_TARGETS, unit.path),
            "calendar_known": calendar_known(as_of.year),
            "q": f"?unit={unit.code}&year={year}&as_of={as_of.isoformat()}",
        },
    )


def _villages_for(user: Any, action: str, unit: OrgUnit | None = None) -> list[OrgUnit]:
    qs = selectors.scoped_villages(user, action)
    if unit is not None:
        qs = qs.filter(path__startswith=unit.path)
    return list(qs.order_by("path"))


def _contract(request: AuthedRequest, pk: int) -> Contract:
    return selectors.contract_for(request.user, pk)


def _contract_response(request: AuthedRequest, contract: Contract, *, reveal: bool = False) -> HttpResponse:
    user = request.user
    as_of = date_param(request.GET.get("as_of"), field="as_of", label="截止日期") or today()
    pos = selectors.position(contract, as_of)
    may_manage = allowed(user, Action.ASSETS, contract.village.path)
    reversed_ids = set(
        Payment.objects.filter(contract=contract, entry__reversal__isnull=False)
        .exclude(entry__reversal__status=Status.RETURNED)
        .values_list("pk", flat=True)
    )
    # The instalments due by the day and the next one are shown; the rest fold away (a ten-year lease put
    # the payment form 2,000 px down a phone screen).
    upcoming = [ln for ln in pos.lines if ln.receivable.due_date > as_of and ln.outstanding > 0]
    later = upcoming[1:]
    return render(
        request,
        "contracts/contract.html",
        {
            "c": contract,
            "pos": pos,
            "lines_now": [ln for ln in pos.lines if all(ln is not x for x in later)],
            "lines_later": later,
            "later_total": sum((ln.outstanding for ln in later), Decimal("0.00")),
            "as_of": as_of,
            "reversed_ids": reversed_ids,
            "may_enter": allowed(user, Action.ENTER, contract.village.path),
            "may_manage": may_manage,
            # Masked on every page; in full only when someone who keeps the village's contracts asks (recorded).
            "party_id": contract.party_id_number if reveal else mask_id_number(contract.party_id_number),
            "party_phone": contract.party_phone if reveal else mask_phone(contract.party_phone),
            "revealed": reveal,
            "today": today(),
            "outstanding": sum((ln.outstanding for ln in pos.lines), Decimal("0.00")),
            "calendar_known": calendar_known(as_of.year),
        },
    )


@require(Action.VIEW)
@require_GET
def contract_page(request: AuthedRequest, pk: int) -> HttpResponse:
    return _contract_response(request, _contract(request, pk))


@require(Action.ASSETS)
@require_POST
def contract_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """The counterparty's ID number and phone in full, for one who keeps the village's contracts; the look
    is recorded in the change log (《个人信息保护法》: who saw whose number, when)."""
    contract = _contract(request, pk)
    if not allowed(request.user, Action.ASSETS, contract.village.path):
        raise PermissionDeniedError("您不能查看该合同承租方的完整证件号码")
    audit.event(
        actor=request.user,
        action="contracts.reveal_party",
        model="contracts.contract",
        object_pk=str(contract.pk),
        note=f"查看合同 {contract.code} 承租方的完整证件号码和电话",
    )
    return _contract_response(request, contract, reveal=True)


def _amount(raw: str, label: str, field: str) -> Decimal:
    try:
        return parse_amount(raw)
    except AmountError as exc:
        raise ServiceError(f"{label}：{exc}", field=field) from None


_PLAIN_DECIMAL = re.compile(r"-?\d{1,12}(?:\.\d{1,6})?")


def _optional_decimal(raw: str, label: str, field: str) -> Decimal | None:
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    # Plain digits with at most 12 before the point: "1e309" or 5,000 digits are not an area or a
    # percentage anyone means, and would overflow the column instead of earning a Chinese error.
    if not _PLAIN_DECIMAL.fullmatch(raw):
        raise ServiceError(f"{label}“{raw[:20]}”不是数字（如 12.5）", field=field)
    return Decimal(raw)


def _int(raw: str, label: str, field: str, default: int) -> int:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        raise ServiceError(f"{label}应为整数", field=field)
    return int(raw)


def _date(raw: str, label: str, field: str) -> datetime.date:
    value = date_param(raw, field=field, label=label)
    if value is None:
        raise ServiceError(f"请填写{label}", field=field)
    return value


def _input_from(post: Any) -> services.ContractInput:
    return services.ContractInput(
        code=post.get("code", ""),
        title=post.get("title", ""),
        kind=post.get("kind", ""),
        land_class=post.get("land_class", ""),
        area_mu=_optional_decimal(post.get("area_mu", ""), "面积（亩）", "area_mu"),
        party_kind=post.get("party_kind", ""),
        party_name=post.get("party_name", ""),
        party_id_number=post.get("party_id_number", ""),
        party_phone=post.get("party_phone", ""),
        start=_date(post.get("start", ""), "起始日期", "start"),
        end=_date(post.get("end", ""), "终止日期", "end"),
        price_mode=post.get("price_mode", ""),
        price=_amount(post.get("price", ""), "单价或总价", "price"),
        escalation_percent=_optional_decimal(
            post.get("escalation_percent", ""), "递增比例", "escalation_percent"
        )
        or Decimal("0"),
        escalation_every=_int(post.get("escalation_every", ""), "每几年递增一次", "escalation_every", 0),
        schedule=post.get("schedule", ""),
        due_days=_int(post.get("due_days", ""), "交款期限", "due_days", 30),
        deposit=_amount(post.get("deposit", "") or "0", "保证金", "deposit"),
        method=post.get("method", ""),
        signed_on=date_param(post.get("signed_on", ""), field="signed_on", label="签订日期"),
        note=post.get("note", ""),
    )


@require(Action.ASSETS)
@require_http_methods(["GET", "POST"])
def contract_new(request: AuthedRequest) -> HttpResponse:
    user = request.user
    villages = _villages_for(user, Action.ASSETS)
    if not villages:
        raise Http404("您没有可登记合同的村")
    error = field = ""
    preview: list[Any] = []
    values: dict[str, Any] = {
        "due_days": "30",
        "deposit": "0",
        "kind": "transfer",
        "party_kind": "person",
        "price_mode": "per_mu_year",
        "schedule": "annual",
        "method": "tender",
        "village": str(villages[0].pk) if len(villages) == 1 else "",
    }
    if request.method == "POST":
        values = request.POST.dict()
        try:
            village = next((v for v in villages if str(v.pk) == request.POST.get("village", "")), None)
            if village is None:
                raise ServiceError("请选择村", field="village")
            data = _input_from(request.POST)
            picked = [
                int(x) for x in request.POST.getlist("assets") if x.isascii() and x.isdigit() and len(x) <= 9
            ]
            data.assets = tuple(Asset.objects.filter(pk__in=picked, village=village))
            if len(data.assets) != len(set(picked)):
                raise ServiceError("所选资产有的不属于该村，请刷新后重选", field="assets")
            if request.POST.get("action") == "preview":
                data = services.clean(data)
                preview = instalments(services.terms_of(data))
            else:
                contract = services.contract_create(
                    actor=user, village=village, data=data, scan=request.FILES.get("scan")
                )
                messages.success(
                    request, f"已登记合同 {contract.code}，生成应收 {contract.receivables.count()} 期"
                )
                return redirect("contract", pk=contract.pk)
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
    # The register items of the village being let (one village: the clerk's; or the one chosen).
    chosen_village = next(
        (v for v in villages if str(v.pk) == str(values.get("village") or request.GET.get("village", ""))),
        None,
    )
    village_assets = (
        list(
            Asset.objects.filter(village=chosen_village)
            .exclude(status=AssetStatus.DISPOSED)
            .order_by("kind", "code")
        )
        if chosen_village is not None
        else []
    )
    return render(
        request,
        "contracts/contract_form.html",
        {
            "villages": villages,
            "v": values,
            "error": error,
            "field": field,
            "preview": preview,
            "preview_total": sum((i.amount for i in preview), Decimal("0.00")),
            "kinds": Kind.choices,
            "party_kinds": PartyKind.choices,
            "price_modes": PriceMode.choices,
            "schedules": Schedule.choices,
            "methods": Method.choices,
            "land_classes": LandClass.choices,
            "village_assets": village_assets,
            "chosen_assets": set(request.POST.getlist("assets")) if request.method == "POST" else set(),
        },
        status=400 if error else 200,
    )


@require(Action.ENTER)
@require_POST
def payment_new(request: AuthedRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    refund = request.POST.get("kind") == "refund"
    try:
        date = _date(request.POST.get("date", ""), "收款日期" if not refund else "退款日期", "date")
        amount = _amount(request.POST.get("amount", ""), "金额", "amount")
        note = request.POST.get("note", "")
        years = open_years(contract.village)  # a closed year's figures change only by an import
        if refund:
            services.refund_record(
                actor=request.user, contract=contract, date=date, amount=amount, note=note, years=years
            )
            messages.success(request, f"已登记退款 {amount:,.2f} 元，台账已生成一条负数记录，待审核")
        else:
            services.payment_record(
                actor=request.user, contract=contract, date=date, amount=amount, note=note, years=years
            )
            messages.success(request, f"已登记收款 {amount:,.2f} 元，台账已自动生成一条记录，待审核")
    except PermissionDeniedError:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("contract", pk=contract.pk)


def _payment(request: AuthedRequest, pk: int) -> Payment:
    payment = Payment.objects.select_related("contract__village", "entry").filter(pk=pk).first()
    if payment is None or not allowed(request.user, Action.VIEW, payment.contract.village.path):
        raise Http404("没有找到该收款")
    return payment


@require(Action.ENTER)
@require_POST
def payment_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    payment = _payment(request, pk)
    try:
        services.payment_cancel(actor=request.user, payment=payment)
        messages.success(request, "已撤回该笔收款及其台账记录")
    except PermissionDeniedError:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("contract", pk=payment.contract_id)


@require(None)
@require_POST
def payment_reverse(request: AuthedRequest, pk: int) -> HttpResponse:
    payment = _payment(request, pk)
    path = payment.contract.village.path
    if not (allowed(request.user, Action.ENTER, path) or allowed(request.user, Action.VERIFY, path)):
        raise PermissionDeniedError("您没有冲销该村合同收款的权限")
    try:
        services.payment_reverse(actor=request.user, payment=payment, reason=request.POST.get("reason", ""))
        messages.success(request, "已提交冲销，待另一人审核后从收入中扣除")
    except PermissionDeniedError:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("contract", pk=payment.contract_id)


@require(Action.ASSETS)
@require_POST
def contract_terminate(request: AuthedRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    try:
        on = _date(request.POST.get("on", ""), "解除日期", "on")
        services.contract_terminate(
            actor=request.user, contract=contract, on=on, reason=request.POST.get("reason", "")
        )
        messages.success(request, "合同已解除，解除日以后的应收已取消")
    except PermissionDeniedError:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("contract", pk=contract.pk)


@require(Action.VIEW)
@require_GET
def contract_scan(request: AuthedRequest, pk: int) -> FileResponse:
    contract = _contract(request, pk)
    if not contract.scan:
        raise Http404("该合同没有上传扫描件")
    handle = contract.scan.open("rb")
    content_type = sniff(handle.read(16)) or "application/octet-stream"
    handle.seek(0)
    suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(content_type, "")
    return FileResponse(
        handle, as_attachment=False, filename=f"合同{contract.code}{suffix}", content_type=content_type
    )


@require(Action.MANAGE_TARGETS)
@require_http_methods(["GET", "POST"])
def contract_settings(request: AuthedRequest) -> HttpResponse:
    user = request.user
    township = unit_for(
        user,
        text_param(request.GET.get("unit"), field="unit", label="单位代码") or None,
        Action.MANAGE_TARGETS,
    )
    if township.level != Level.TOWNSHIP:
        raise Http404("合同收入设置按镇设定")
    rules = selectors.settings_for(township)
    error = field = ""
    if request.method == "POST":
        try:
            category = Category.objects.filter(
                pk=_int(request.POST.get("category", ""), "收入类别", "category", 0)
            ).first()
            path = DevelopmentPath.objects.filter(
                pk=_int(request.POST.get("path", ""), "增收路子", "path", 0)
            ).first()
            if category is None or path is None:
                raise ServiceError("请选择收入类别和增收路子", field="category")
            ratio = _optional_decimal(
                request.POST.get("low_rent_ratio", ""), "租金偏低预警线", "low_rent_ratio"
            )
            services.settings_save(
                actor=user,
                township=township,
                spread_lump_sums=request.POST.get("spread_lump_sums") == "on",
                category=category,
                path=path,
                low_rent_ratio=ratio if ratio is not None else Decimal("0"),
            )
            messages.success(request, "合同收入设置已保存")
            return redirect(f"{request.path}?unit={township.code}")
        except ServiceError as exc:
            error, field = exc.message, exc.field or ""
    return render(
        request,
        "contracts/settings.html",
        {
            "township": township,
            "rules": rules,
            "categories": Category.objects.all(),
            "paths": DevelopmentPath.objects.all(),
            "error": error,
            "field": field,
        },
        status=400 if error else 200,
    )
