"""Writes to contracts: record a contract (its receivables made from its terms), record a payment or a
refund (posting its one ledger row), cancel or reverse a payment, end a contract early, set the township's
rules. Each checks the actor's scope and records the change in the same transaction."""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from qiangcun.accounts.models import User
from qiangcun.assets import services as assets
from qiangcun.assets.models import Asset, AssetStatus, LandClass
from qiangcun.contracts import schedule
from qiangcun.contracts.models import (
    Contract,
    ContractSettings,
    ContractStatus,
    Kind,
    Method,
    PartyKind,
    Payment,
    PriceMode,
    Receivable,
    Schedule,
)
from qiangcun.contracts.selectors import chunks, counting_payments, settings_for, township_of
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.files import sniff
from qiangcun.core.money import FEN, MAX_YUAN
from qiangcun.core.pii import id_number_problem
from qiangcun.core.scope import Action, allowed
from qiangcun.core.text import text_problem
from qiangcun.ledger import services as ledger
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, Source, Status
from qiangcun.ledger.spread import SPREAD_ABOVE_MONTHS, add_shares, covered_months, split_by_year
from qiangcun.orgs.models import Level, OrgUnit

_FIELDS = [
    "village",
    "code",
    "title",
    "kind",
    "land_class",
    "area_mu",
    "party_kind",
    "party_name",
    "party_id_number",
    "party_phone",
    "start",
    "end",
    "price_mode",
    "price",
    "escalation_percent",
    "escalation_every",
    "schedule",
    "due_days",
    "deposit",
    "method",
    "signed_on",
    "status",
    "terminated_on",
    "termination_reason",
    "note",
]

#: 统一社会信用代码 (GB 32100-2015): 18 characters of digits and capitals without I, O, Z, S, V.
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass
class ContractInput:
    """What a person (or an imported row) says of a contract."""

    code: str
    title: str
    kind: str
    party_kind: str
    party_name: str
    start: datetime.date
    end: datetime.date
    price_mode: str
    price: Decimal
    schedule: str
    method: str
    area_mu: Decimal | None = None
    land_class: str = ""
    party_id_number: str = ""
    party_phone: str = ""
    escalation_percent: Decimal = Decimal("0")
    escalation_every: int = 0
    due_days: int = 30
    deposit: Decimal = Decimal("0.00")
    signed_on: datetime.date | None = None
    note: str = ""
    #: Register items of the village the contract lets (their status becomes 出租 / 发包 / 入股).
    assets: tuple[Asset, ...] = ()


def _require(actor: User, action: str, village: OrgUnit, message: str) -> None:
    if not allowed(actor, action, village.path):
        raise PermissionDeniedError(message)


def _money(value: Any, label: str, field: str, *, positive: bool = True) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ServiceError(f"{label}必须是数字", field=field)
    if value != value.quantize(FEN):
        raise ServiceError(f"{label}最多两位小数（精确到分）", field=field)
    if (value <= 0) if positive else (value < 0):
        raise ServiceError(f"{label}必须大于 0" if positive else f"{label}不能为负数", field=field)
    if value > MAX_YUAN:
        raise ServiceError(f"{label}超出范围（不超过 10 亿元）", field=field)
    return value


def _field_label(name: str) -> str:
    try:
        return str(getattr(Contract._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def _refuse_control(text: str, label: str, field: str) -> None:
    """A control character (NUL …) or a lone surrogate is refused naming the field (PostgreSQL would refuse a
    NUL with a 500)."""
    problem = text_problem(text)
    if problem is not None:
        raise ServiceError(f"{label}：{problem}", field=field)


def clean(data: ContractInput) -> ContractInput:
    """The input checked field by field, each refusal naming its field in Chinese; text trimmed."""
    for f in fields(data):
        value = getattr(data, f.name)
        if isinstance(value, str):
            _refuse_control(value, _field_label(f.name), f.name)
            setattr(data, f.name, value.strip())
    if not data.code:
        raise ServiceError("请填写合同编号", field="code")
    if len(data.code) > 40:
        raise ServiceError("合同编号不能超过 40 字", field="code")
    if not data.title:
        raise ServiceError("请填写合同名称", field="title")
    if len(data.title) > 100:
        raise ServiceError("合同名称不能超过 100 字", field="title")
    choices = (
        ("kind", Kind, "合同类型"),
        ("party_kind", PartyKind, "承租方类型"),
        ("price_mode", PriceMode, "计价方式"),
        ("schedule", Schedule, "付款方式"),
        ("method", Method, "发包方式"),
    )
    for name, enum, label in choices:
        if getattr(data, name) not in enum.values:
            shown = "、".join(str(x) for x in enum.labels)
            raise ServiceError(f"{label}只能是：{shown}", field=name)
    if not data.party_name:
        raise ServiceError("请填写承租方（个人姓名或单位名称）", field="party_name")
    if len(data.party_name) > 100:
        raise ServiceError("承租方不能超过 100 字", field="party_name")
    if data.party_id_number:
        data.party_id_number = data.party_id_number.upper()
        if data.party_kind == PartyKind.PERSON:
            problem = id_number_problem(data.party_id_number)
            if problem:
                raise ServiceError(f"承租方身份证号有误：{problem}", field="party_id_number")
        elif not _USCC.match(data.party_id_number):
            raise ServiceError("单位的证件号码应为 18 位统一社会信用代码", field="party_id_number")
    if len(data.party_phone) > 20:
        raise ServiceError("联系电话不能超过 20 位", field="party_phone")
    if not isinstance(data.start, datetime.date) or not isinstance(data.end, datetime.date):
        raise ServiceError("请填写合同起止日期", field="start")
    if data.end < data.start:
        raise ServiceError("终止日期早于起始日期", field="end")
    if data.start.year < 1980:
        raise ServiceError("起始日期有误", field="start")
    if schedule.add_months(data.start, 12 * schedule.MAX_YEARS) <= data.end:
        raise ServiceError(f"合同期限不能超过 {schedule.MAX_YEARS} 年", field="end")
    if data.land_class:
        labels = {str(label): key for key, label in LandClass.choices}
        data.land_class = labels.get(data.land_class, data.land_class)
        if data.land_class not in LandClass.values:
            shown = "、".join(str(x) for x in LandClass.labels)
            raise ServiceError(f"地类只能是：{shown}", field="land_class")
    if data.area_mu is not None:
        if not isinstance(data.area_mu, Decimal) or not data.area_mu.is_finite() or data.area_mu <= 0:
            raise ServiceError("面积（亩）必须大于 0", field="area_mu")
        if data.area_mu > Decimal("9999999") or data.area_mu != data.area_mu.quantize(Decimal("0.01")):
            raise ServiceError("面积（亩）最多两位小数，且不超过 9999999 亩", field="area_mu")
    if data.price_mode == PriceMode.PER_MU_YEAR and data.area_mu is None:
        raise ServiceError("按亩计价的合同必须填写面积（亩）", field="area_mu")
    data.price = _money(data.price, "单价或总价", "price")
    data.deposit = _money(data.deposit, "保证金", "deposit", positive=False)
    if data.price_mode == PriceMode.LUMP_SUM and data.schedule != Schedule.UPFRONT:
        raise ServiceError("全期一次总价的合同，付款方式只能是“全期一次付清”", field="schedule")
    if not isinstance(data.escalation_percent, Decimal) or not (0 <= data.escalation_percent <= 100):
        raise ServiceError("递增比例应在 0 到 100 之间", field="escalation_percent")
    if data.escalation_percent != data.escalation_percent.quantize(Decimal("0.01")):
        raise ServiceError("递增比例最多两位小数", field="escalation_percent")
    if data.escalation_percent and not data.escalation_every:
        raise ServiceError("填写了递增比例，请同时填写每几年递增一次", field="escalation_every")
    if not (0 <= data.escalation_every <= schedule.MAX_YEARS):
        raise ServiceError("每几年递增一次应在 0 到 30 之间", field="escalation_every")
    if not (0 <= data.due_days <= 366):
        raise ServiceError("交款期限应在 0 到 366 日之间", field="due_days")
    if data.signed_on is not None and data.signed_on > today():
        raise ServiceError("签订日期晚于今天", field="signed_on")
    if len(data.note) > 200:
        raise ServiceError("备注不能超过 200 字", field="note")
    return data


#: What a let register item is while its contract runs.
LET_STATUS: dict[str, str] = {
    Kind.LEASE.value: AssetStatus.LEASED.value,
    Kind.TRANSFER.value: AssetStatus.LEASED.value,
    Kind.CONTRACTING.value: AssetStatus.CONTRACTED.value,
    Kind.SHARE.value: AssetStatus.INVESTED.value,
}


def _assets_to_let(
    village: OrgUnit, chosen: tuple[Asset, ...], start: datetime.date, end: datetime.date
) -> list[Asset]:
    """The register items a new contract lets: the village's own, not disposed of, not let for any part of
    the new term (a contract that has run out, or ends before the new one starts, is no obstacle)."""
    if not chosen:
        return []
    found = list(Asset.objects.filter(pk__in=[a.pk for a in chosen]).select_related("village"))
    for asset in found:
        if asset.village_id != village.pk:
            raise ServiceError(f"资产 {asset.code} 不属于{village.name}", field="assets")
        if asset.status == AssetStatus.DISPOSED:
            raise ServiceError(f"资产 {asset.code}（{asset.name}）已处置，不能再出租或发包", field="assets")
        busy = (
            asset.contracts.filter(status=ContractStatus.ACTIVE, start__lte=end, end__gte=start)
            .order_by("start")
            .first()
        )
        if busy is not None:
            raise ServiceError(
                f"资产 {asset.code}（{asset.name}）已在合同 {busy.code} 中（{busy.start:%Y-%m-%d} 至 "
                f"{busy.end:%Y-%m-%d}），与新合同期限重叠；请先解除该合同或调整期限",
                field="assets",
            )
    return found


#: What a contract's scan may be, recognised by its first bytes.
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic")


def _check_scan(scan: UploadedFile) -> None:
    if scan.size and scan.size > settings.EVIDENCE_MAX_BYTES:
        raise ServiceError(
            f"合同扫描件不能超过 {settings.EVIDENCE_MAX_BYTES // 1024 // 1024} MB", field="scan"
        )
    scan.seek(0)
    head = scan.read(16)
    scan.seek(0)
    if sniff(head) not in SCAN_TYPES:
        raise ServiceError("合同扫描件只能是 PDF 或照片（JPEG、PNG、WebP、HEIC）", field="scan")


def terms_of(data: ContractInput | Contract) -> schedule.Terms:
    return schedule.Terms(
        start=data.start,
        end=data.end,
        price_mode=data.price_mode,
        price=data.price,
        area_mu=data.area_mu,
        schedule=data.schedule,
        escalation_percent=data.escalation_percent,
        escalation_every=data.escalation_every,
        due_days=data.due_days,
    )


def _snap(contract: Contract) -> dict[str, Any]:
    return audit.snapshot(contract, _FIELDS)


@transaction.atomic
def contract_create(
    *, actor: User, village: OrgUnit, data: ContractInput, scan: UploadedFile | None = None
) -> Contract:
    """Record a contract of a village and make its receivables from its terms."""
    if village.level != Level.VILLAGE:
        raise ServiceError("合同只能记在行政村名下", field="village")
    _require(actor, Action.ASSETS, village, "您没有登记该村合同的权限")
    data = clean(data)
    if Contract.objects.filter(village=village, code=data.code).exists():
        raise ServiceError(f"{village.name}已有编号为 {data.code} 的合同", field="code")
    plan = schedule.instalments(terms_of(data))
    if not plan:
        raise ServiceError("按该合同的条款算不出应收款，请核对单价、面积和期限", field="price")
    let = _assets_to_let(village, data.assets, data.start, data.end)
    contract = Contract(
        village=village,
        entered_by=actor,
        **{f.name: getattr(data, f.name) for f in fields(data) if f.name != "assets"},
    )
    if scan is not None:
        _check_scan(scan)
        contract.scan = scan
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        raise ServiceError(f"{village.name}已有编号为 {data.code} 的合同", field="code") from exc
    Receivable.objects.bulk_create(
        Receivable(
            contract=contract,
            seq=i.seq,
            period_start=i.period_start,
            period_end=i.period_end,
            due_date=i.due_date,
            amount=i.amount,
        )
        for i in plan
    )
    if let:
        contract.assets.set(let)
        status = LET_STATUS[data.kind]
        for asset in let:
            if asset.status != status:
                assets.asset_set_status(
                    actor=actor, asset=asset, status=status, note=f"合同 {contract.code}：{data.party_name}"
                )
    audit.record(
        actor=actor,
        action="contracts.create",
        obj=contract,
        after=_snap(contract),
        unit_path=village.path,
        note=f"应收 {len(plan)} 期，共 {sum(i.amount for i in plan):,.2f} 元",
    )
    return contract


def _lock(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().select_related("village").get(pk=contract.pk)


def _posting(contract: Contract) -> tuple[ContractSettings, Category, DevelopmentPath]:
    township = township_of(contract.village)
    if township is None:
        raise ServiceError("该村不在任何镇之下，无法确定收款记账规则")
    rules = settings_for(township)
    return rules, rules.category, rules.path


def _shares(
    rules: ContractSettings, date: datetime.date, pieces: list[tuple[Receivable, Decimal]], rest: Decimal
) -> dict[int, Decimal] | None:
    """Year → share of a payment: an instalment for more than a year is spread over its years when the
    township says so; the rest (and everything, when it does not) counts on the payment's date."""
    if not rules.spread_lump_sums:
        return None
    parts: list[dict[int, Decimal]] = [{date.year: rest}] if rest else []
    for receivable, part in pieces:
        if covered_months(receivable.period_start, receivable.period_end) > SPREAD_ABOVE_MONTHS:
            parts.append(split_by_year(part, receivable.period_start, receivable.period_end))
        else:
            parts.append({date.year: part})
    shares = add_shares(parts)
    return shares if any(y > date.year for y in shares) else None


def _post(
    *,
    actor: User,
    contract: Contract,
    date: datetime.date,
    amount: Decimal,
    note: str,
    refund: bool,
    years: Collection[int] | None,
) -> Payment:
    rules, category, path = _posting(contract)
    earlier = [p.amount for p in counting_payments().filter(contract=contract).order_by("recorded_at", "id")]
    receivables = list(contract.receivables.filter(cancelled=False))
    pieces, rest = chunks(receivables, earlier, amount)
    what = "退还" if refund else "收取"
    summary = f"{contract.title}：{what}{contract.get_kind_display()}款（合同 {contract.code}）"
    if note:
        summary += f"，{note}"
    entry = ledger.entry_create(
        actor=actor,
        village=contract.village,
        date=date,
        amount=amount,
        category=category,
        path=path,
        summary=summary[:200],
        counterparty=contract.party_name,
        submit=True,
        source=Source.CONTRACT,
        shares=_shares(rules, date, pieces, rest),
        years=years,
    )
    payment = Payment.objects.create(
        contract=contract, date=date, amount=amount, entry=entry, note=note, recorded_by=actor
    )
    audit.record(
        actor=actor,
        action="contracts.refund" if refund else "contracts.payment",
        obj=payment,
        after={
            "contract": contract.code,
            "date": date.isoformat(),
            "amount": f"{amount:.2f}",
            "entry": entry.pk,
        },
        unit_path=contract.village.path,
        note=note,
    )
    return payment


def _clean_payment(
    date: Any, amount: Any, note: str, contract: Contract
) -> tuple[datetime.date, Decimal, str]:
    if not isinstance(date, datetime.date):
        raise ServiceError("请填写收款日期", field="date")
    if date > today():
        raise ServiceError(f"收款日期 {date:%Y-%m-%d} 晚于今天", field="date")
    if date < contract.start - datetime.timedelta(days=366):
        raise ServiceError("收款日期早于合同起始日期一年以上，请核对", field="date")
    amount = _money(amount, "金额", "amount")
    _refuse_control(note or "", "说明", "note")
    note = (note or "").strip()
    if len(note) > 100:
        raise ServiceError("说明不能超过 100 字", field="note")
    return date, amount, note


@transaction.atomic
def payment_record(
    *,
    actor: User,
    contract: Contract,
    date: datetime.date,
    amount: Decimal,
    note: str = "",
    years: Collection[int] | None = None,
) -> Payment:
    """Record money received on a contract: it pays the instalments first due, any excess is paid in
    advance; one ledger row is posted (submitted for verification) for the whole amount — spread over
    its years when it pays for more than a year and the township spreads lump sums. ``years``: the years
    open for entry in the village (``ledger.selectors.open_years``), as for a typed row."""
    contract = _lock(contract)
    _require(actor, Action.ENTER, contract.village, "您没有登记该村合同收款的权限")
    date, amount, note = _clean_payment(date, amount, note, contract)
    if contract.status == ContractStatus.TERMINATED and date > (contract.terminated_on or date):
        raise ServiceError("合同已解除，解除日之后不能再登记收款；多收的款项请登记退款", field="date")
    return _post(
        actor=actor, contract=contract, date=date, amount=amount, note=note, refund=False, years=years
    )


@transaction.atomic
def refund_record(
    *,
    actor: User,
    contract: Contract,
    date: datetime.date,
    amount: Decimal,
    note: str,
    years: Collection[int] | None = None,
) -> Payment:
    """Pay money back (an overpayment, a deposit of rent on an ended contract): a negative ledger row; it
    takes back what was paid in advance first, then the instalments paid last."""
    contract = _lock(contract)
    _require(actor, Action.ENTER, contract.village, "您没有登记该村合同退款的权限")
    date, amount, note = _clean_payment(date, amount, note, contract)
    if not note:
        raise ServiceError("退款必须写明原因", field="note")
    received = sum((p.amount for p in counting_payments().filter(contract=contract)), Decimal("0.00"))
    if amount > received:
        raise ServiceError(f"退款 {amount:.2f} 元超过该合同已收的 {received:.2f} 元", field="amount")
    return _post(
        actor=actor, contract=contract, date=date, amount=-amount, note=note, refund=True, years=years
    )


def _payment_locked(payment: Payment) -> Payment:
    return Payment.objects.select_for_update().select_related("contract__village", "entry").get(pk=payment.pk)


@transaction.atomic
def payment_cancel(*, actor: User, payment: Payment) -> None:
    """Take back a payment recorded by mistake, with its ledger row — while that row is a draft or was
    returned by the reviewer. A verified one is reversed instead (:func:`payment_reverse`)."""
    payment = _payment_locked(payment)
    contract = payment.contract
    _require(actor, Action.ENTER, contract.village, "您没有撤回该村合同收款的权限")
    entry = payment.entry
    before = {"contract": contract.code, "date": payment.date.isoformat(), "amount": f"{payment.amount:.2f}"}
    payment.delete()
    ledger.entry_withdraw_posted(actor=actor, entry=entry, source=Source.CONTRACT)
    audit.record(
        actor=actor,
        action="contracts.payment_cancel",
        obj=contract,
        before=before,
        unit_path=contract.village.path,
    )


@transaction.atomic
def payment_reverse(*, actor: User, payment: Payment, reason: str) -> Entry:
    """Reverse a verified payment: its ledger row is reversed (a reversing row for someone else to verify,
    with the opposite yearly shares), and the payment no longer counts as received."""
    payment = _payment_locked(payment)
    if payment.entry.status != Status.VERIFIED:
        raise ServiceError("只有台账已审核的收款需要冲销；未审核的请待退回后撤回", code="state")
    reversal = ledger.entry_reverse(actor=actor, entry=payment.entry, reason=reason)
    audit.record(
        actor=actor,
        action="contracts.payment_reverse",
        obj=payment,
        after={"reversal": reversal.pk},
        unit_path=payment.contract.village.path,
        note=reason,
    )
    return reversal


@transaction.atomic
def contract_terminate(*, actor: User, contract: Contract, on: datetime.date, reason: str) -> Contract:
    """End a contract early (解除): instalments for periods starting after ``on`` are no longer owed."""
    contract = _lock(contract)
    _require(actor, Action.ASSETS, contract.village, "您没有解除该村合同的权限")
    _refuse_control(reason or "", "解除原因", "reason")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写解除原因", field="reason")
    if len(reason) > 200:
        raise ServiceError("解除原因不能超过 200 字", field="reason")
    if contract.status == ContractStatus.TERMINATED:
        raise ServiceError("该合同已经解除", code="state")
    if not isinstance(on, datetime.date) or not (contract.start <= on <= contract.end):
        raise ServiceError("解除日期应在合同期限之内", field="on")
    before = _snap(contract)
    contract.status = ContractStatus.TERMINATED
    contract.terminated_on = on
    contract.termination_reason = reason
    contract.version += 1
    contract.save()
    cancelled = contract.receivables.filter(period_start__gt=on).update(cancelled=True)
    # Back to 闲置 — unless another contract lets the item after this one (a renewal signed in advance).
    let_on = Contract.assets.through.objects.filter(
        contract__status=ContractStatus.ACTIVE, contract__end__gt=on
    ).exclude(contract=contract)
    for asset in contract.assets.exclude(status__in=[AssetStatus.IDLE, AssetStatus.DISPOSED]).exclude(
        pk__in=let_on.values("asset_id")
    ):
        assets.asset_set_status(
            actor=actor, asset=asset, status=AssetStatus.IDLE, note=f"合同 {contract.code} 解除"
        )
    audit.record(
        actor=actor,
        action="contracts.terminate",
        obj=contract,
        before=before,
        after=_snap(contract),
        unit_path=contract.village.path,
        note=f"{reason}；取消以后的应收 {cancelled} 期",
    )
    return contract


@transaction.atomic
def settings_save(
    *,
    actor: User,
    township: OrgUnit,
    spread_lump_sums: bool,
    category: Category,
    path: DevelopmentPath,
    low_rent_ratio: Decimal,
) -> ContractSettings:
    """Set the township's rules for contract income (the township admin: targets are theirs)."""
    if township.level != Level.TOWNSHIP:
        raise ServiceError("合同收入设置按镇设定", field="township")
    _require(actor, Action.MANAGE_TARGETS, township, "只有镇党建办可以修改合同收入设置")
    if not (Decimal("0") < low_rent_ratio < Decimal("1")):
        raise ServiceError(
            "租金偏低预警线应在 0 到 1 之间（例如 0.60 表示低于中位数的六成）", field="low_rent_ratio"
        )
    rules = ContractSettings.objects.select_for_update().get(pk=settings_for(township, create=True).pk)
    before = audit.snapshot(rules, ["spread_lump_sums", "category", "path", "low_rent_ratio"])
    rules.spread_lump_sums = spread_lump_sums
    rules.category = category
    rules.path = path
    rules.low_rent_ratio = low_rent_ratio
    rules.save()
    audit.record(
        actor=actor,
        action="contracts.settings",
        obj=rules,
        before=before,
        after=audit.snapshot(rules, ["spread_lump_sums", "category", "path", "low_rent_ratio"]),
        unit_path=township.path,
    )
    return rules
