"""The settings a new year opens with, in one place: the targets page's create form, an import that
opens a year and ``campaign_create`` all take them from here.

The categories that count toward targets in a new year are those whose installation flag
(``ledger.Category.counts_toward_target``) is set; once a year is open it keeps its own set
(``Campaign.counted_categories``), and changing the flag later changes only years opened after."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from qiangcun.ledger.models import Category

BASELINE = Decimal("30000.00")
TOP_TIER = Decimal("100000.00")
GOAL_TOP_TIER_VILLAGES = 0
BAND_MARGIN = Decimal("10.00")


def default_categories() -> QuerySet[Category]:
    """The categories a new year counts toward targets, in their display order."""
    return Category.objects.filter(counts_toward_target=True).order_by("order", "id")


def describe(baseline: Decimal, top_tier: Decimal, categories: list[str]) -> str:
    """A year's settings in one phrase, as the import check and the targets page say them:
    基础线 30,000.00 元、强村线 100,000.00 元、计入目标的类别：经营收入、发包及上交收入、投资收益."""
    return (
        f"基础线 {baseline:,.2f} 元、强村线 {top_tier:,.2f} 元、"
        f"计入目标的类别：{'、'.join(categories) or '（无）'}"
    )
