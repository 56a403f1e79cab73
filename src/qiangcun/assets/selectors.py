"""Reads of the register and of 清产核资, always restricted to the reader's scope.

``idle_assets(user, unit)`` and ``idle_area_mu(user, unit)`` are what the contracts summary calls for the
township's idle 亩."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from qiangcun.assets.models import (
    Asset,
    AssetKind,
    AssetQuerySet,
    AssetStatus,
    LandClass,
    RoundLine,
    VerificationRound,
)
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.scope import Action
from qiangcun.orgs.models import OrgUnit

ZERO_MU = Decimal("0.00")
ZERO_YUAN = Decimal("0.00")


def assets_visible(
    user: Any,
    unit: OrgUnit | None = None,
    *,
    kind: str = "",
    status: str = "",
    include_disposed: bool = True,
) -> AssetQuerySet:
    """The assets the user may read under ``unit`` (all of the user's scope without one), with their
    village; optionally of one kind or status."""
    qs = Asset.objects.restrict(user, Action.VIEW).select_related("village")
    if unit is not None:
        qs = qs.filter(village__path__startswith=unit.path)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    elif not include_disposed:
        qs = qs.exclude(status=AssetStatus.DISPOSED)
    return qs.order_by("village__path", "code", "pk")


def asset_get(user: Any, pk: int) -> Asset | None:
    return (
        Asset.objects.restrict(user, Action.VIEW)
        .select_related("village", "created_by")
        .filter(pk=pk)
        .first()
    )


def idle_assets(user: Any, unit: OrgUnit) -> AssetQuerySet:
    """The idle assets (status 闲置, any kind) under ``unit`` that the user may read."""
    return assets_visible(user, unit, status=AssetStatus.IDLE)


def idle_area_mu(user: Any, unit: OrgUnit) -> Decimal:
    """The idle land in 亩 under ``unit``: the area of the idle resources (资源性资产) the user may read."""
    total = idle_assets(user, unit).filter(kind=AssetKind.RESOURCE).aggregate(s=Sum("area_mu"))["s"]
    return Decimal(total or 0).quantize(ZERO_MU)


@dataclass
class TotalRow:
    label: str
    count: int = 0
    area_mu: Decimal = ZERO_MU
    value: Decimal = ZERO_YUAN


@dataclass
class Totals:
    """Counts, 亩 and 元 of a set of assets: in all, by kind, by land class (resources), idle land."""

    all: TotalRow
    by_kind: list[TotalRow] = field(default_factory=list)
    by_land_class: list[TotalRow] = field(default_factory=list)
    idle: TotalRow = field(default_factory=lambda: TotalRow("闲置"))


def _row(label: str, agg: dict[str, Any]) -> TotalRow:
    return TotalRow(
        label,
        int(agg.get("n") or 0),
        Decimal(agg.get("a") or 0).quantize(ZERO_MU),
        agg.get("v") or ZERO_YUAN,
    )


def totals(assets: QuerySet[Asset]) -> Totals:
    """The figures of ``assets`` (already restricted and filtered), disposed items left out, in four queries."""
    live = assets.exclude(status=AssetStatus.DISPOSED).order_by()
    # Area in 亩 is land's (资源性资产): a building's or machine's area, if entered, is not 土地等资源.
    aggs = {"n": Count("pk"), "a": Sum("area_mu", filter=Q(kind=AssetKind.RESOURCE)), "v": Sum("value")}
    out = Totals(all=_row("合计", live.aggregate(**aggs)))
    kinds = {r["kind"]: r for r in live.values("kind").annotate(**aggs)}
    out.by_kind = [_row(str(k.label), kinds[k.value]) for k in AssetKind if k.value in kinds]
    classes = {
        r["land_class"]: r for r in live.filter(kind=AssetKind.RESOURCE).values("land_class").annotate(**aggs)
    }
    out.by_land_class = [_row(str(c.label), classes[c.value]) for c in LandClass if c.value in classes]
    out.idle = _row("闲置", live.filter(status=AssetStatus.IDLE).aggregate(**aggs))
    return out


def idle_by_village(user: Any, unit: OrgUnit) -> list[tuple[OrgUnit, Decimal, int]]:
    """Per village under ``unit``: idle land in 亩 and the number of idle items, villages with none left out."""
    rows = (
        idle_assets(user, unit)
        .order_by()
        .values("village")
        .annotate(a=Sum("area_mu", filter=Q(kind=AssetKind.RESOURCE)), n=Count("pk"))
        .order_by("village")
    )
    found = {r["village"]: r for r in rows}
    villages = OrgUnit.objects.filter(pk__in=list(found)).order_by("path")
    return [(v, Decimal(found[v.pk]["a"] or 0).quantize(ZERO_MU), found[v.pk]["n"]) for v in villages]


def asset_history(asset: Asset) -> QuerySet[ChangeRecord]:
    """The change log of one asset (the reader may read the asset: checked by the caller)."""
    return (
        ChangeRecord.objects.filter(model=Asset._meta.label_lower, object_pk=str(asset.pk))
        .select_related("actor")
        .order_by("-at", "-pk")
    )


def rounds_visible(user: Any, unit: OrgUnit | None = None) -> QuerySet[VerificationRound]:
    qs = VerificationRound.objects.restrict(user, Action.VIEW).select_related(
        "village", "started_by", "signed_by"
    )
    if unit is not None:
        qs = qs.filter(village__path__startswith=unit.path)
    return qs.annotate(n_lines=Count("lines")).order_by("village__path", "-base_date", "-pk")


def round_get(user: Any, pk: int) -> VerificationRound | None:
    return (
        VerificationRound.objects.restrict(user, Action.VIEW)
        .select_related("village", "started_by", "signed_by")
        .filter(pk=pk)
        .first()
    )


def round_lines(r: VerificationRound) -> QuerySet[RoundLine]:
    return r.lines.select_related("asset", "counted_by").order_by("position", "pk")


@dataclass
class RoundSummary:
    lines: int
    counted: int
    same: int
    surplus: int
    loss: int
    changed: int
    surplus_value: Decimal
    loss_value: Decimal
    surplus_area: Decimal
    loss_area: Decimal


def round_summary(lines: list[RoundLine]) -> RoundSummary:
    """How many lines and with what result; the value and area gained by the 盘盈 lines and lost by the 盘亏
    lines (a 变动 line, up in one and down in the other, is in neither)."""
    counted = [line for line in lines if line.counted]
    value_diffs = [line.value_diff or ZERO_YUAN for line in counted if line.result in ("surplus", "loss")]
    area_diffs = [line.area_diff or ZERO_MU for line in counted if line.result in ("surplus", "loss")]
    return RoundSummary(
        lines=len(lines),
        counted=len(counted),
        same=sum(1 for line in counted if line.result == "same"),
        surplus=sum(1 for line in counted if line.result == "surplus"),
        loss=sum(1 for line in counted if line.result == "loss"),
        changed=sum(1 for line in counted if line.result == "changed"),
        surplus_value=sum((d for d in value_diffs if d > 0), ZERO_YUAN),
        loss_value=-sum((d for d in value_diffs if d < 0), ZERO_YUAN),
        surplus_area=sum((d for d in area_diffs if d > 0), ZERO_MU),
        loss_area=-sum((d for d in area_diffs if d < 0), ZERO_MU),
    )
