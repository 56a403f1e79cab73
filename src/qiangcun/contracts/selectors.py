"""Reads of contracts: what each has received against what it is owed, overdue on the working calendar,
arrears by age, warnings and the township's summary. Every read is within the reader's scope.

What a payment pays is worked out first in, first out: payments in the order they were recorded fill the
instalments in the order they fall due; what is left after the last instalment due is paid in advance
(预收). A payment counts as received while its ledger row stands — submitted or verified, not returned,
and not reversed (a reversal not sent back counts at once: the village has said the money is not there).

Overdue: an instalment not fully paid the working day after its due date (a due date on a rest day is met
on the next working day, ``core.workdays``); its age is the calendar days since that day, in the bands
≤ 30, 31–90, 91–180 and > 180 days."""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from qiangcun.assets.models import AssetStatus
from qiangcun.assets.selectors import assets_visible, idle_area_mu, idle_assets
from qiangcun.contracts.models import (
    Contract,
    ContractSettings,
    ContractStatus,
    Payment,
    PriceMode,
    Receivable,
)
from qiangcun.core.errors import PermissionDeniedError
from qiangcun.core.money import pct1
from qiangcun.core.scope import Action, allowed, path_q, scope_paths
from qiangcun.core.workdays import effective_deadline, overdue_workdays
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, Status
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import ancestors

ZERO = Decimal("0.00")
EXPIRING_DAYS = 90
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("≤30天", 0, 30),
    ("31–90天", 31, 90),
    ("91–180天", 91, 180),
    (">180天", 181, None),
)


def settings_for(township: OrgUnit, *, create: bool = False) -> ContractSettings:
    """The township's contract settings, or the defaults (发包及上交收入, 土地流转, spread on) when it has
    none: unsaved for a read, saved when a write asks (``create``, inside its transaction) — a page view
    writes nothing."""
    found = ContractSettings.objects.filter(township=township).select_related("category", "path").first()
    if found is not None:
        return found
    defaults = {
        "category": Category.objects.get(line="contracting"),
        "path": DevelopmentPath.objects.get(name="土地流转"),
    }
    if not create:
        return ContractSettings(township=township, **defaults)
    made, _ = ContractSettings.objects.get_or_create(township=township, defaults=defaults)
    return made


def township_of(unit: OrgUnit) -> OrgUnit | None:
    """The township a unit lies in (itself for a township); None above a township."""
    if unit.level == Level.TOWNSHIP:
        return unit
    return next((u for u in ancestors(unit) if u.level == Level.TOWNSHIP), None)


def visible_contracts(user: Any, unit: OrgUnit | None = None) -> QuerySet[Contract]:
    qs = Contract.objects.restrict(user, Action.VIEW)
    if unit is not None:
        qs = qs.filter(village__path__startswith=unit.path)
    return qs


def counting_payments() -> QuerySet[Payment]:
    """Payments that count as received (see the module's docstring)."""
    reversed_ = Entry.objects.filter(reverses=OuterRef("entry")).exclude(status=Status.RETURNED)
    return Payment.objects.filter(entry__status__in=[Status.SUBMITTED, Status.VERIFIED]).exclude(
        Exists(reversed_)
    )


@dataclass
class Line:
    """One instalment and what has been paid on it."""

    receivable: Receivable
    paid: Decimal = ZERO
    paid_by: Decimal = ZERO  # paid by payments dated on or before the as-of day
    overdue_workdays: int = 0
    age_days: int = 0

    @property
    def outstanding(self) -> Decimal:
        return self.receivable.amount - self.paid_by

    @property
    def is_overdue(self) -> bool:
        return self.overdue_workdays > 0 and self.outstanding > 0

    @property
    def band(self) -> str:
        for label, low, high in AGE_BANDS:
            if self.age_days >= low and (high is None or self.age_days <= high):
                return label
        return AGE_BANDS[-1][0]


@dataclass
class Position:
    """A contract's receivables and payments as of a day."""

    contract: Contract
    as_of: datetime.date
    lines: list[Line]
    payments: list[Payment]
    counting: set[int]
    advance: Decimal = ZERO  # paid beyond every instalment (预收), by payments up to the day

    @property
    def due(self) -> Decimal:
        return sum((ln.receivable.amount for ln in self.lines if ln.receivable.due_date <= self.as_of), ZERO)

    @property
    def received(self) -> Decimal:
        return sum((p.amount for p in self.payments if p.pk in self.counting and p.date <= self.as_of), ZERO)

    @property
    def overdue(self) -> list[Line]:
        return [ln for ln in self.lines if ln.is_overdue]

    @property
    def overdue_amount(self) -> Decimal:
        return sum((ln.outstanding for ln in self.overdue), ZERO)


def allocate(
    receivables: Sequence[Receivable], payments: Iterable[tuple[datetime.date, Decimal]], as_of: datetime.date
) -> tuple[list[Line], Decimal, Decimal]:
    """Fill the instalments (in due order) with the payments (in recorded order), first in first out; a
    refund (negative) takes back from the last filled first, after any advance. Returns the lines, the
    advance paid up to ``as_of`` and the advance overall."""
    lines = [Line(r) for r in sorted(receivables, key=lambda r: (r.due_date, r.seq))]
    advance = ZERO
    advance_by = ZERO
    for date, amount in payments:
        counts = date <= as_of
        if amount > 0:
            left = amount
            for ln in lines:
                room = ln.receivable.amount - ln.paid
                if room <= 0 or left <= 0:
                    continue
                take = min(room, left)
                ln.paid += take
                if counts:
                    ln.paid_by += take
                left -= take
            advance += left
            if counts:
                advance_by += left
        else:
            back = -amount
            take = min(advance, back)
            advance -= take
            if counts:
                advance_by -= min(advance_by, take)
            back -= take
            for ln in reversed(lines):
                if back <= 0:
                    break
                take = min(ln.paid, back)
                ln.paid -= take
                if counts:
                    ln.paid_by -= min(ln.paid_by, take)
                back -= take
    for ln in lines:
        if ln.outstanding > 0:
            ln.overdue_workdays = overdue_workdays(ln.receivable.due_date, as_of)
            if ln.overdue_workdays:
                ln.age_days = (as_of - effective_deadline(ln.receivable.due_date)).days
    return lines, advance_by, advance


def chunks(
    receivables: Sequence[Receivable], earlier: Iterable[Decimal], amount: Decimal
) -> tuple[list[tuple[Receivable, Decimal]], Decimal]:
    """What a new payment of ``amount`` pays, after the ``earlier`` counting payments: (instalment, part)
    pieces (negative for a refund) and the part paid in (or taken from) advance."""
    lines, _, advance = allocate(receivables, [(datetime.date.min, a) for a in earlier], datetime.date.min)
    pieces: list[tuple[Receivable, Decimal]] = []
    if amount > 0:
        left = amount
        for ln in lines:
            room = ln.receivable.amount - ln.paid
            if room > 0 and left > 0:
                take = min(room, left)
                pieces.append((ln.receivable, take))
                left -= take
        return pieces, left
    back = -amount
    from_advance = min(advance, back)
    back -= from_advance
    for ln in reversed(lines):
        if back <= 0:
            break
        take = min(ln.paid, back)
        if take:
            pieces.append((ln.receivable, -take))
        back -= take
    return pieces, -from_advance - back


def position(contract: Contract, as_of: datetime.date) -> Position:
    receivables = list(contract.receivables.filter(cancelled=False))
    payments = list(
        contract.payments.select_related("entry")
        .prefetch_related("entry__recognitions")
        .order_by("recorded_at", "id")
    )
    counting = set(counting_payments().filter(contract=contract).values_list("pk", flat=True))
    lines, advance, _ = allocate(
        receivables, [(p.date, p.amount) for p in payments if p.pk in counting], as_of
    )
    return Position(contract, as_of, lines, payments, counting, advance)


def contract_for(user: Any, pk: int) -> Contract:
    from qiangcun.core.errors import NotFoundError

    contract = Contract.objects.select_related("village").filter(pk=pk).first()
    if contract is None or not allowed(user, Action.VIEW, contract.village.path):
        raise NotFoundError("没有找到该合同")
    return contract


# ----------------------------------------------------------------------------------- the summary


@dataclass
class VillageLine:
    village: OrgUnit
    contracts: int = 0
    receivable: Decimal = ZERO
    received: Decimal = ZERO
    #: Of ``receivable``, what has been paid (by payments of any date up to the as-of day): the rate's
    #: numerator. ``received`` also holds rent paid ahead for instalments not yet due, which would put a
    #: village that pays early above 100 %.
    collected: Decimal = ZERO
    overdue: Decimal = ZERO
    overdue_contracts: int = 0

    @property
    def rate(self) -> Decimal | None:
        """收缴率: the share of the instalments due so far that is paid, in %, one decimal."""
        return collection_rate(self.collected, self.receivable)


def collection_rate(collected: Decimal, receivable: Decimal) -> Decimal | None:
    return pct1(collected / receivable) if receivable else None


@dataclass
class Arrear:
    contract: Contract
    line: Line


@dataclass
class LowRent:
    contract: Contract
    per_mu: Decimal
    median: Decimal


@dataclass
class Summary:
    unit: OrgUnit
    year: int
    as_of: datetime.date
    contracts: int = 0
    villages: int = 0
    receivable: Decimal = ZERO
    received: Decimal = ZERO
    collected: Decimal = ZERO  # of ``receivable``, what is paid (``VillageLine.collected``)
    overdue_amount: Decimal = ZERO
    overdue_contracts: int = 0
    ageing: dict[str, Decimal] = field(default_factory=dict)
    idle_area_mu: Decimal = Decimal("0.00")
    expiring: list[Contract] = field(default_factory=list)
    by_village: list[VillageLine] = field(default_factory=list)
    arrears: list[Arrear] = field(default_factory=list)
    low_rents: list[LowRent] = field(default_factory=list)
    idle_assets: list[Any] = field(default_factory=list)
    #: Register items still entered as let (出租 / 发包 / 入股) whose every contract has ended.
    lapsed_assets: list[Any] = field(default_factory=list)

    @property
    def lapsed_area_mu(self) -> Decimal:
        return sum((a.area_mu or Decimal("0.00") for a in self.lapsed_assets), Decimal("0.00"))

    @property
    def expiring_90d(self) -> int:
        return len(self.expiring)

    @property
    def rate(self) -> Decimal | None:
        return collection_rate(self.collected, self.receivable)


def annual_per_mu(contract: Contract) -> Decimal | None:
    """The first year's rent per 亩 (for comparing rents of the same land class), or None without an area."""
    if not contract.area_mu or contract.area_mu <= 0:
        return None
    if contract.price_mode == PriceMode.PER_MU_YEAR:
        return contract.price
    if contract.price_mode == PriceMode.PER_YEAR:
        return (contract.price / contract.area_mu).quantize(Decimal("0.01"))
    years = max(1, round(((contract.end - contract.start).days + 1) / 365.25))
    return (contract.price / years / contract.area_mu).quantize(Decimal("0.01"))


def summary(*, user: Any, unit: OrgUnit, year: int, as_of: datetime.date) -> Summary:
    """The township's view of its contracts for ``year`` as of ``as_of``: receivable (instalments due in the
    year up to the day) against received (payments dated in the year up to the day), overdue and its age,
    expiring contracts, rents far below the median for the land class, idle assets."""
    if not allowed(user, Action.VIEW, unit.path):
        raise PermissionDeniedError("您无权查看该单位的合同")
    jan1 = datetime.date(year, 1, 1)
    out = Summary(unit=unit, year=year, as_of=as_of, ageing={label: ZERO for label, _, _ in AGE_BANDS})
    contracts = list(
        visible_contracts(user, unit)
        .filter(start__lte=datetime.date(year, 12, 31))
        # Running in the year, due or paid in it — or ended before it with instalments due then: those
        # are kept below only while something is still owed (old arrears do not vanish on 1 January).
        .filter(
            Q(end__gte=jan1)
            | Q(receivables__due_date__year=year)
            | Q(payments__date__year=year)
            | Q(receivables__cancelled=False, receivables__due_date__lt=jan1)
        )
        .select_related("village")
        .distinct()
        .order_by("village__path", "code")
    )
    ids = [c.pk for c in contracts]
    receivables: dict[int, list[Receivable]] = defaultdict(list)
    for r in Receivable.objects.filter(contract_id__in=ids, cancelled=False):
        receivables[r.contract_id].append(r)
    counting = set(counting_payments().filter(contract_id__in=ids).values_list("pk", flat=True))
    payments: dict[int, list[Payment]] = defaultdict(list)
    for p in Payment.objects.filter(contract_id__in=ids).order_by("recorded_at", "id"):
        payments[p.contract_id].append(p)
    villages: dict[int, VillageLine] = {}
    for c in contracts:
        mine = receivables[c.pk]
        lines, _, _ = allocate(mine, [(p.date, p.amount) for p in payments[c.pk] if p.pk in counting], as_of)
        of_year = (
            c.end >= jan1
            or any(r.due_date.year == year for r in mine)
            or any(jan1 <= p.date <= as_of for p in payments[c.pk] if p.pk in counting)
        )
        if not of_year and not any(ln.is_overdue for ln in lines):
            continue  # ended in an earlier year and paid up
        line = villages.setdefault(c.village_id, VillageLine(c.village))
        line.contracts += 1
        line.receivable += sum((r.amount for r in mine if jan1 <= r.due_date <= as_of), ZERO)
        line.received += sum(
            (p.amount for p in payments[c.pk] if p.pk in counting and jan1 <= p.date <= as_of), ZERO
        )
        line.collected += sum(
            (
                min(max(ln.paid_by, ZERO), ln.receivable.amount)
                for ln in lines
                if jan1 <= ln.receivable.due_date <= as_of
            ),
            ZERO,
        )
        late = [ln for ln in lines if ln.is_overdue]
        if late:
            line.overdue_contracts += 1
            for ln in late:
                line.overdue += ln.outstanding
                out.ageing[ln.band] += ln.outstanding
                out.arrears.append(Arrear(c, ln))
        if c.status == ContractStatus.ACTIVE and as_of <= c.end <= as_of + datetime.timedelta(
            days=EXPIRING_DAYS
        ):
            out.expiring.append(c)
    out.by_village = list(villages.values())
    out.contracts = sum(v.contracts for v in out.by_village)
    out.villages = len(villages)
    out.receivable = sum((v.receivable for v in out.by_village), ZERO)
    out.received = sum((v.received for v in out.by_village), ZERO)
    out.collected = sum((v.collected for v in out.by_village), ZERO)
    out.overdue_amount = sum((v.overdue for v in out.by_village), ZERO)
    out.overdue_contracts = sum(v.overdue_contracts for v in out.by_village)
    out.arrears.sort(key=lambda a: (-a.line.age_days, a.contract.village.path, a.contract.code))
    out.expiring.sort(key=lambda c: (c.end, c.village.path))
    out.idle_area_mu = idle_area_mu(user, unit)
    out.lapsed_assets = list(lapsed_assets(user, unit, as_of))
    out.idle_assets = list(
        idle_assets(user, unit)
        .exclude(pk__in=_let_through(as_of))
        .select_related("village")
        .order_by("village__path", "code")
    )
    out.low_rents = low_rents(
        [c for c in contracts if c.status == ContractStatus.ACTIVE and c.start <= as_of <= c.end], unit
    )
    return out


#: The statuses a contract gives the register items it lets.
LET_STATUSES = (AssetStatus.LEASED, AssetStatus.CONTRACTED, AssetStatus.INVESTED)


def _let_through(as_of: datetime.date) -> QuerySet[Any]:
    """The ids of register items a contract lets on ``as_of`` or later (running, or signed to start)."""
    return Contract.assets.through.objects.filter(
        contract__status=ContractStatus.ACTIVE, contract__end__gte=as_of
    ).values("asset_id")


def lapsed_assets(user: Any, unit: OrgUnit, as_of: datetime.date) -> QuerySet[Any]:
    """Register items entered as let (出租 / 发包 / 入股) under contracts that have all ended by ``as_of`` (none
    running or about to start): idle in fact, or let on without a contract — the village should renew, let
    it again or mark it 闲置. Items let with no contract on record at all are not listed."""
    return (
        assets_visible(user, unit)
        .filter(status__in=LET_STATUSES, contracts__isnull=False)
        .exclude(pk__in=_let_through(as_of))
        .distinct()
        .select_related("village")
        .order_by("village__path", "code")
    )


def low_rents(contracts: list[Contract], unit: OrgUnit) -> list[LowRent]:
    """Contracts whose rent per 亩 is below the township's threshold share of the median for the same land
    class (among the contracts given; a class needs three to have a median worth the name)."""
    township = township_of(unit)
    ratio = settings_for(township).low_rent_ratio if township is not None else Decimal("0.60")
    by_class: dict[str, list[tuple[Contract, Decimal]]] = defaultdict(list)
    for c in contracts:
        per_mu = annual_per_mu(c)
        if per_mu is not None and c.land_class:
            by_class[c.land_class].append((c, per_mu))
    out = []
    for items in by_class.values():
        if len(items) < 3:
            continue
        median = Decimal(statistics.median(p for _, p in items)).quantize(Decimal("0.01"))
        out += [LowRent(c, p, median) for c, p in items if p < median * ratio]
    return sorted(out, key=lambda x: (x.per_mu / x.median, x.contract.village.path))


def summary_document(s: Summary) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/contracts/summary``: money as strings with two decimals."""
    return {
        "year": s.year,
        "as_of": s.as_of.isoformat(),
        "unit": {"code": s.unit.code, "name": s.unit.name},
        "contracts": s.contracts,
        "villages": s.villages,
        "receivable": f"{s.receivable:.2f}",
        "received": f"{s.received:.2f}",
        "collected": f"{s.collected:.2f}",
        "overdue": {"amount": f"{s.overdue_amount:.2f}", "contracts": s.overdue_contracts},
        "ageing": {label: f"{amount:.2f}" for label, amount in s.ageing.items()},
        "idle_area_mu": f"{s.idle_area_mu:.2f}",
        "expiring_90d": s.expiring_90d,
        "lapsed_assets": len(s.lapsed_assets),
        "by_village": [
            {
                "code": v.village.code,
                "name": v.village.name,
                "contracts": v.contracts,
                "receivable": f"{v.receivable:.2f}",
                "received": f"{v.received:.2f}",
                "collected": f"{v.collected:.2f}",
                "overdue": f"{v.overdue:.2f}",
            }
            for v in s.by_village
        ],
    }


def scoped_villages(user: Any, action: str) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(path_q("path", scope_paths(user, action)), level=Level.VILLAGE)
