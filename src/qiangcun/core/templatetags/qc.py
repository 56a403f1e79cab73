"""Template filters for numbers that read right: 元 with two decimals, 万元, percentages."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from qiangcun.core.money import fmt_wan, fmt_yuan, pct1
from qiangcun.core.pii import mask_phone

register = template.Library()


def _decimal(value: Decimal | str | None) -> Decimal | None:
    """Amounts stored as JSON strings ("12000.00") read back exactly."""
    if isinstance(value, str):
        return Decimal(value) if value.strip() else None
    return value


@register.filter
def masked_phone(value: str | None) -> str:
    """``138****5678`` (personal information: only the system admin's people pages show it whole)."""
    return mask_phone(value)


@register.filter
def yuan(value: Decimal | str | None) -> str:
    return fmt_yuan(_decimal(value))


@register.filter
def wan(value: Decimal | str | None) -> str:
    return fmt_wan(_decimal(value))


@register.filter
def pct(value: Decimal | None) -> str:
    """A fraction as a percentage with one decimal: 0.2541 → 25.4%."""
    if value is None:
        return "—"
    return f"{pct1(Decimal(value)):f}%"


@register.filter
def points(value: Decimal | None) -> str:
    """A fraction difference in percentage points with sign: -0.052 → -5.2."""
    if value is None:
        return "—"
    return f"{pct1(Decimal(value)):+f}"


@register.filter
def bar(value: Decimal | None) -> str:
    """Width for a completion bar, capped at 100%."""
    if value is None:
        return "0"
    return f"{min(max(Decimal(value) * 100, Decimal(0)), Decimal(100)):.1f}"


@register.filter
def step(value: Decimal | None) -> str:
    """A bar's width (or a marker's place) in whole percent, 0 to 100, for the ``w-N`` / ``at-N`` classes:
    the Content-Security-Policy allows no inline ``style`` attribute."""
    if value is None:
        return "0"
    whole = (Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return str(min(max(int(whole), 0), 100))


@register.simple_tag
def rank_change(change: int) -> str:
    if change > 0:
        return format_html('<span class="up" title="比 7 天前上升 {} 位">▲{}</span>', change, change)
    if change < 0:
        return format_html('<span class="down" title="比 7 天前下降 {} 位">▼{}</span>', -change, -change)
    return mark_safe('<span class="same" title="与 7 天前持平">—</span>')


@register.filter
def neg(value: Decimal | None) -> bool:
    return value is not None and value < 0


@register.simple_tag(takes_context=True)
def sort_url(context: template.Context, key: str) -> str:
    """The current query string with ``sort`` replaced: filters stay in the URL."""
    query = context["request"].GET.copy()
    query["sort"] = key
    return "?" + query.urlencode()


@register.filter
def isodate(value: str | None) -> datetime.date | None:
    """A snapshot's ISO date string ("2020-04-17") as a date, for the ``date`` filter."""
    return datetime.date.fromisoformat(value) if value else None


@register.filter
def get(mapping: dict, key: str) -> object:
    return mapping.get(key, "")
