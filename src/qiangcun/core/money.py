"""Exact money: integer fen in the database, ``Decimal`` yuan in Python, strings in JSON.

``parse_amount`` is hand-written on purpose: Python's ``Decimal`` accepts ``"1_000"``, ``"NaN"``,
exponents and full-width digits, none of which a clerk means. Only plain ``-1234.56`` /
``1,234.56`` is accepted here; a richer reader for workbooks lives with the importer.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import Combinable

FEN = Decimal("0.01")
WAN = Decimal("10000")
#: Largest amount one entry may carry: 10 亿元 — far above any village's yearly income.
MAX_YUAN = Decimal("1000000000.00")

_PLAIN = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$")


class AmountError(ValueError):
    """An amount that is not an exact sum of money in yuan; the message is Chinese, for the user."""


def parse_amount(raw: object) -> Decimal:
    """Parse a yuan amount typed by a person: ``"12000"``, ``"12,000.50"``, ``"-30.5"``.

    Raises :class:`AmountError` with a Chinese reason for anything else, including more than two
    decimals, exponents, ``NaN``/``Infinity``, underscores and full-width digits.
    """
    if isinstance(raw, bool):
        raise AmountError("金额必须是数字")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise AmountError("金额必须是有限的数字")
        value = raw
        if value != value.quantize(FEN):
            raise AmountError("金额最多两位小数（精确到分）")
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise AmountError("金额不能为空")
        if not text.isascii() or not _PLAIN.match(text):
            if re.fullmatch(r"-?[\d,]*\.\d{3,}", text):
                raise AmountError("金额最多两位小数（精确到分）")
            raise AmountError(f"“{text}”不是有效金额，请填写如 12000.00 的数字")
        value = Decimal(text.replace(",", ""))
    else:
        raise AmountError("金额必须是数字，例如 12000.00")
    if abs(value) > MAX_YUAN:
        raise AmountError("金额超出范围（单笔不超过 10 亿元）")
    return value.quantize(FEN)


def pct1(fraction: Decimal) -> Decimal:
    """A fraction as a percentage with one decimal, rounded half up once from the exact value
    (0.25249 → 25.2, never 0.2525 → 25.3); page, template filters, chart, CLI and export all print this."""
    result = (fraction * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return result if result else abs(result)


def to_fen(value: Decimal) -> int:
    """Yuan to integer fen; refuses anything finer than a fen."""
    if not value.is_finite():
        raise AmountError("金额必须是有限的数字")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise AmountError("金额最多两位小数（精确到分）")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(FEN)


def yuan_str(value: Decimal | None) -> str:
    """``Decimal`` yuan as the JSON string with two decimals, e.g. ``"12000.00"``."""
    return f"{(value or Decimal(0)).quantize(FEN, rounding=ROUND_HALF_UP):f}"


def fmt_yuan(value: Decimal | None) -> str:
    """For people: ``12,000.00``."""
    return f"{(value or Decimal(0)).quantize(FEN, rounding=ROUND_HALF_UP):,.2f}"


def fmt_wan(value: Decimal | None) -> str:
    """For summaries: ``1.20万``."""
    return f"{((value or Decimal(0)) / WAN).quantize(FEN, rounding=ROUND_HALF_UP):,.2f}万"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ("", "拾", "佰", "仟")
_BIG = ("", "万", "亿", "万亿")


def in_words(value: Decimal) -> str:
    """Capital numerals as on a receipt: ``Decimal("12000")`` → ``壹万贰仟元整``."""
    value = value.quantize(FEN)
    sign = "负" if value < 0 else ""
    yuan, rest = divmod(int(abs(value) * 100), 100)
    jiao, fen = divmod(rest, 10)
    out = ""
    if yuan:
        digits = str(yuan)
        zero = False
        for i, ch in enumerate(digits):
            d = int(ch)
            section, pos = divmod(len(digits) - 1 - i, 4)
            if d == 0:
                zero = True
            else:
                if zero:
                    out += "零"
                    zero = False
                out += _DIGITS[d] + _SMALL[pos]
            if pos == 0 and section and int(digits[max(0, i - 3) : i + 1]):
                out += _BIG[section]
        out += "元"
    if not jiao and not fen:
        return sign + (out or "零元") + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif out:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return sign + out


class MoneyField(models.BigIntegerField):
    """Stores integer fen; reads and writes ``Decimal`` yuan. Sums stay exact on every database."""

    description = "Amount in yuan, stored as integer fen"
    _pyi_private_set_type: Decimal | str | Combinable  # type: ignore[assignment]
    _pyi_private_get_type: Decimal  # type: ignore[assignment]

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        if value is None:
            return None
        return from_fen(int(value))

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            raise TypeError("MoneyField takes Decimal yuan, not int (ambiguous between yuan and fen)")
        if isinstance(value, str):
            value = parse_amount(value)
        if not isinstance(value, Decimal):
            raise TypeError(f"MoneyField takes Decimal yuan, got {type(value).__name__}")
        return to_fen(value)
