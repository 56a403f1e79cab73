"""Reads of 一村一策, restricted to the reader's scope: plans, ledger rows and people stay within scope
(only the 擂台 is public). Expected income comes from the plans, actual income from the verified
ledger rows that count toward the year's targets (``targets.selectors.counted``), overdue from the
working calendar (``core.workdays``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.scope import Action, allowed, path_q, scope_paths
from qiangcun.core.workdays import overdue_workdays
from qiangcun.ledger.models import DevelopmentPath, Entry, Recognition, Status
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import station_and_district
from qiangcun.plans.models import (
    OPEN_MEASURE_STATUSES,
    Measure,
    MeasureStatus,
    Plan,
    PlanPath,
)
from qiangcun.targets.models import VillageTarget
from qiangcun.targets.selectors import counted, counted_shares, default_as_of

ZERO = Decimal("0.00")

__all__ = [
    "PlanRow",
    "measure_actuals",
    "measure_get",
    "measures_due",
    "measures_overdue",
    "measures_visible",
    "plan_get",
    "plan_table",
    "plans_summary",
    "plans_visible",
]


def plans_visible(user: Any) -> QuerySet[Plan]:
    return Plan.objects.restrict(user, Action.VIEW)


def measures_visible(user: Any) -> QuerySet[Measure]:
    """Measures of villages in the user's scope (an owner always has the village in scope: owners hold a
    role on it or above it; one whose role was withdrawn no longer reads the measure)."""
    paths = scope_paths(user, Action.VIEW)
    if not paths:
        return Measure.objects.none()
    return Measure.objects.filter(path_q("plan__village__path", paths))


def plan_get(user: Any, village: OrgUnit, year: int) -> Plan | None:
    """The village's plan of ``year`` (``None`` when there is none yet); 404 outside scope."""
    if not allowed(user, Action.VIEW, village.path):
        raise NotFoundError()
    return (
        Plan.objects.filter(village=village, year=year)
        .select_related("village", "updated_by")
        .prefetch_related("resources", "paths__path")
        .first()
    )


def measure_get(user: Any, pk: int) -> Measure:
    measure = (
        measures_visible(user)
        .select_related("plan__village", "owner", "path", "created_by")
        .filter(pk=pk)
        .first()
    )
    if measure is None:
        raise NotFoundError()
    return measure


def measure_actuals(measures: Iterable[Measure], as_of: datetime.date | None = None) -> dict[int, Decimal]:
    """Actual income of each measure: its linked ledger rows dated up to ``as_of`` that are verified and
    count toward the plan year's targets, less any that were reversed (a verified reversal cancels its
    row)."""
    by_year: dict[int, list[int]] = defaultdict(list)
    for m in measures:
        by_year[m.plan.year].append(m.pk)
    out: dict[int, Decimal] = {}
    for year, ids in by_year.items():
        rows = (
            counted(
                Entry.objects.filter(
                    measure_link__measure_id__in=ids, **({"date__lte": as_of} if as_of else {})
                ),
                year,
            )
            .exclude(reversal__status=Status.VERIFIED)
            .values("measure_link__measure_id")
            .annotate(total=Sum("amount"))
        )
        for r in rows:
            out[r["measure_link__measure_id"]] = r["total"] or ZERO
        shares = (
            counted_shares(
                Recognition.objects.filter(
                    entry__measure_link__measure_id__in=ids, **({"date__lte": as_of} if as_of else {})
                ),
                year,
            )
            .exclude(entry__reversal__status=Status.VERIFIED)
            .values("entry__measure_link__measure_id")
            .annotate(total=Sum("amount"))
        )
        for r in shares:
            key = r["entry__measure_link__measure_id"]
            out[key] = out.get(key, ZERO) + (r["total"] or ZERO)
    return out


def is_overdue(measure: Measure, as_of: datetime.date) -> bool:
    return measure.status in OPEN_MEASURE_STATUSES and overdue_workdays(measure.deadline, as_of) > 0


def measures_overdue(
    user: Any, *, unit: OrgUnit | None = None, year: int | None = None, as_of: datetime.date
) -> list[tuple[Measure, int]]:
    """Measures past their deadline and not finished on ``as_of`` (working calendar) — open ones, and
    ones finished only after ``as_of`` (a bulletin of an earlier week) — with the working days overdue,
    most overdue first; ``user=None`` reads without scope (the bulletin, frozen by a service that
    checked its own permission)."""
    qs = Measure.objects.all() if user is None else measures_visible(user)
    qs = qs.filter(
        Q(status__in=OPEN_MEASURE_STATUSES) | Q(status=MeasureStatus.DONE, done_on__gt=as_of),
        deadline__lt=as_of,
    )
    if unit is not None:
        qs = qs.filter(plan__village__path__startswith=unit.path)
    if year is not None:
        qs = qs.filter(plan__year=year)
    out = []
    for m in qs.select_related("plan__village", "owner", "path"):
        days = overdue_workdays(m.deadline, as_of)
        if days > 0:
            out.append((m, days))
    out.sort(key=lambda pair: (-pair[1], pair[0].plan.village.path, pair[0].pk))
    return out


def measures_due(
    user: Any, *, as_of: datetime.date, within_days: int = 14, village_wide: bool = False
) -> list[tuple[Measure, int]]:
    """The user's own open measures (``village_wide``: every open measure in the user's scope, for a
    village's people) due within ``within_days`` calendar days or overdue, soonest first; the int is
    working days overdue (0 when not yet due)."""
    horizon = as_of + datetime.timedelta(days=within_days)
    qs = measures_visible(user) if village_wide else measures_visible(user).filter(owner_id=user.pk)
    qs = (
        qs.filter(status__in=OPEN_MEASURE_STATUSES, deadline__lte=horizon)
        .select_related("plan__village", "path")
        .order_by("deadline", "pk")
    )
    return [(m, overdue_workdays(m.deadline, as_of)) for m in qs]


@dataclass
class PlanRow:
    """One village's line in the township's table of plans."""

    village: OrgUnit
    station: str
    district: str
    plan: Plan | None
    target: Decimal | None
    paths: list[str] = field(default_factory=list)
    expected: Decimal = ZERO
    actual: Decimal = ZERO
    measures: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def short(self) -> bool:
        """The plan's expected income does not reach the village's target (flag it before the year runs)."""
        return self.plan is not None and self.target is not None and self.expected < self.target

    @property
    def shortfall(self) -> Decimal:
        if self.target is None:
            return ZERO
        return max(self.target - self.expected, ZERO)


@dataclass
class PlanTable:
    year: int
    as_of: datetime.date
    unit: OrgUnit
    rows: list[PlanRow]
    #: Development path names in their order (the table's columns of counts follow it).
    order: dict[str, int] = field(default_factory=dict)

    @property
    def paths(self) -> list[tuple[str, int]]:
        """How many of the rows chose each path, in the paths' order."""
        tally: dict[str, int] = defaultdict(int)
        for r in self.rows:
            for name in r.paths:
                tally[name] += 1
        return sorted(tally.items(), key=lambda kv: self.order.get(kv[0], len(self.order)))

    @property
    def year_text(self) -> str:
        return str(self.year)

    @property
    def as_of_text(self) -> str:
        return self.as_of.isoformat()

    def only(self, rows: list[PlanRow]) -> PlanTable:
        """The same table holding only ``rows`` (a filter): every figure then adds up exactly those."""
        return PlanTable(year=self.year, as_of=self.as_of, unit=self.unit, rows=rows, order=self.order)

    @property
    def planned(self) -> int:
        return sum(1 for r in self.rows if r.plan is not None)

    @property
    def short(self) -> int:
        return sum(1 for r in self.rows if r.short)

    @property
    def expected(self) -> Decimal:
        return sum((r.expected for r in self.rows), ZERO)

    @property
    def actual(self) -> Decimal:
        return sum((r.actual for r in self.rows), ZERO)

    @property
    def target(self) -> Decimal:
        return sum((r.target or ZERO for r in self.rows), ZERO)

    @property
    def measures(self) -> int:
        return sum(r.measures for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.rows)


def plan_table(user: Any, unit: OrgUnit, year: int, as_of: datetime.date | None = None) -> PlanTable:
    """Every village under ``unit`` that the user may read (asked for a unit above their scope — a station
    head for the township — the villages of their own part of it), with its plan of ``year``: chosen paths,
    expected against target and against actual counted income on ``as_of``, measures done and overdue."""
    scope = scope_paths(user, Action.VIEW)
    if not any(unit.path.startswith(p) or p.startswith(unit.path) for p in scope):
        raise NotFoundError()  # neither in the reader's scope nor above it
    as_of = as_of or default_as_of(year)
    if as_of.year != year:
        raise ServiceError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    villages = list(
        OrgUnit.objects.restrict(user, Action.VIEW)
        .filter(level=Level.VILLAGE, path__startswith=unit.path)
        .order_by("path")
    )
    ids = [v.pk for v in villages]
    placement = station_and_district(villages)
    targets = dict(
        VillageTarget.objects.filter(campaign__year=year, village_id__in=ids).values_list(
            "village_id", "amount"
        )
    )
    plans = {p.village_id: p for p in Plan.objects.filter(year=year, village_id__in=ids)}
    chosen: dict[int, list[str]] = defaultdict(list)
    expected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for village_id, name, amount in (
        PlanPath.objects.filter(plan__year=year, plan__village_id__in=ids)
        .order_by("path__order", "path_id")
        .values_list("plan__village_id", "path__name", "expected")
    ):
        chosen[village_id].append(name)
        expected[village_id] += amount
    income: dict[int, Decimal] = {}
    if as_of.year == year:
        sums: list[QuerySet[Any, dict[str, Any]]] = [
            counted(Entry.objects.filter(village_id__in=ids, date__lte=as_of), year)
            .values("village_id")
            .annotate(total=Sum("amount")),
            counted_shares(Recognition.objects.filter(village_id__in=ids, date__lte=as_of), year)
            .values("village_id")
            .annotate(total=Sum("amount")),
        ]
        for part in sums:
            for r in part:
                income[r["village_id"]] = income.get(r["village_id"], ZERO) + (r["total"] or ZERO)
    measure_counts: dict[int, dict[str, int]] = {}
    for r in (
        Measure.objects.filter(plan__year=year, plan__village_id__in=ids)
        .values("plan__village_id")
        .annotate(
            total=Count("id"), done=Count("id", filter=Q(status=MeasureStatus.DONE, done_on__lte=as_of))
        )
    ):
        measure_counts[r["plan__village_id"]] = {"total": r["total"], "done": r["done"]}
    overdue: dict[int, int] = defaultdict(int)
    for m in (
        Measure.objects.filter(plan__year=year, plan__village_id__in=ids, deadline__lt=as_of)
        .filter(Q(status__in=OPEN_MEASURE_STATUSES) | Q(status=MeasureStatus.DONE, done_on__gt=as_of))
        .select_related("plan")
    ):
        if overdue_workdays(m.deadline, as_of) > 0:
            overdue[m.plan.village_id] += 1
    rows: list[PlanRow] = []
    for v in villages:
        station, district = placement[v.pk]
        counts = measure_counts.get(v.pk, {"total": 0, "done": 0})
        rows.append(
            PlanRow(
                village=v,
                station=station.name if station else "",
                district=district.name if district else "",
                plan=plans.get(v.pk),
                target=targets.get(v.pk),
                paths=chosen.get(v.pk, []),
                expected=expected.get(v.pk, ZERO),
                actual=income.get(v.pk, ZERO),
                measures=counts["total"],
                done=counts["done"],
                overdue=overdue.get(v.pk, 0),
            )
        )
    order = {name: i for i, name in enumerate(DevelopmentPath.objects.values_list("name", flat=True))}
    return PlanTable(year=year, as_of=as_of, unit=unit, rows=rows, order=order)


def plans_summary(table: PlanTable) -> dict[str, Any]:
    """The JSON summary of ``GET /api/v1/plans/summary`` (money as strings)."""
    return {
        "year": table.year,
        "as_of": table.as_of.isoformat(),
        "unit": table.unit.code,
        "villages": table.planned,
        "villages_in_scope": len(table.rows),
        "villages_by_path": dict(table.paths),
        "villages_short_of_target": table.short,
        "measures": {"total": table.measures, "done": table.done, "overdue": table.overdue},
        "expected": f"{table.expected:.2f}",
        "target": f"{table.target:.2f}",
        "actual": f"{table.actual:.2f}",
    }


def linkable_entries(measure: Measure) -> QuerySet[Entry]:
    """Rows of the measure's village and year that no measure has claimed yet (reversals excluded)."""
    year = measure.plan.year
    return (
        Entry.objects.filter(
            village_id=measure.plan.village_id,
            date__gte=datetime.date(year, 1, 1),
            date__lte=datetime.date(year, 12, 31),
            reverses__isnull=True,
            measure_link__isnull=True,
        )
        .select_related("category", "path")
        .order_by("-date", "-pk")
    )


def linked_entries(measure: Measure) -> QuerySet[Entry]:
    return (
        Entry.objects.filter(measure_link__measure=measure)
        .select_related("category", "path", "reversal")
        .order_by("date", "pk")
    )
