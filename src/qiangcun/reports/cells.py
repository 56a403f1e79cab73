"""A cell as text, the way a printed table shows it: 元 with thousands separators and two decimals
("12,345.67"), percentages with one decimal ("25.4%"), points signed ("+3.2", "-4.0"), dates as
2020-04-17. Used by the Word, PDF and poster renderers; the .xlsx writer uses number formats instead.

Amounts are rounded half up on the Decimal they are given (never through a float). A value that is
already text (a "—", "不适用") is shown as it is, whatever the column's kind."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .xlsx import writable

NUMERIC_KINDS = frozenset({"yuan", "percent", "int", "points"})

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def format_cell(kind: str, value: Any) -> str:
    """``value`` as the text a printed table shows in a column of ``kind``; "" for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return writable(value)
    if kind == "yuan":
        return f"{_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP):,}"
    if kind == "percent":
        return f"{(_decimal(value) * 100).quantize(_TENTH, rounding=ROUND_HALF_UP)}%"
    if kind == "points":
        points = _decimal(value).quantize(_TENTH, rounding=ROUND_HALF_UP)
        return f"{points:+}" if points else "0.0"
    if kind == "int":
        return f"{int(value)}"
    if kind == "date" and isinstance(value, datetime.date):
        return value.isoformat()
    return writable(str(value))


def is_numeric(kind: str) -> bool:
    """Whether a column of ``kind`` is right-aligned."""
    return kind in NUMERIC_KINDS
