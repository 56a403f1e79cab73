"""Cell values as clerks write them: amounts, dates, category and path names.

Cells come from python-calamine as ``None``, ``str``, ``int``, ``float``, ``bool``, ``date``,
``datetime``, ``time`` or ``timedelta``. Every reader here either returns an exact value or raises
:class:`CellError` with a Chinese reason; nothing is guessed. The caller adds the row and column.

Hand-written on purpose: ``Decimal()`` accepts ``"1_000"``, ``"NaN"``, exponents and would take a
float's binary expansion; ``unicodedata.NFKC`` would turn ``"①"`` or ``"¹"`` into digits. Amounts and
dates therefore fold only full-width ASCII forms (``"１２０００"``, ``"￥"``, ``"，"``) and refuse the rest.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, Inexact, InvalidOperation, localcontext

from openpyxl.utils.datetime import from_excel

from qiangcun.core.excel import normalize_text
from qiangcun.core.money import FEN, MAX_YUAN, WAN

__all__ = [
    "CellError",
    "is_blank",
    "match_name",
    "normalize_text",
    "parse_amount_cell",
    "parse_capital_numerals",
    "parse_date_cell",
]


class CellError(ValueError):
    """A cell that cannot be read exactly; the message is Chinese, for the user (the caller adds row/column)."""


# ------------------------------------------------------------------------------------------ text

#: Characters that are invisible but not ``str.isspace()``: zero-width space/joiners, word joiner, BOM.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")


def is_blank(value: object) -> bool:
    """``None``, ``""`` and strings of only whitespace (incl. ``\\u3000``, zero-width) are blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return normalize_text(value) == ""
    return False


def _fold(text: str) -> str:
    """Full-width ASCII forms to ASCII (U+FF01–U+FF5E, ideographic space, ￥), strip, drop invisibles.

    Narrower than NFKC on purpose: circled, superscript or other compatibility digits stay as they
    are and are refused by the parsers instead of silently becoming digits.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif ch == "\u3000":
            out.append(" ")
        elif ch == "\uffe5":  # ￥ FULLWIDTH YEN SIGN
            out.append("¥")
        elif ch == "\u2212":  # − MINUS SIGN
            out.append("-")
        elif ch in _INVISIBLE:
            continue
        else:
            out.append(ch)
    return "".join(out).strip()


# ---------------------------------------------------------------------------------------- amounts

_CAPITAL_DIGITS = {
    "零": 0,
    "壹": 1,
    "贰": 2,
    "貳": 2,
    "叁": 3,
    "參": 3,
    "叄": 3,
    "肆": 4,
    "伍": 5,
    "陆": 6,
    "陸": 6,
    "柒": 7,
    "捌": 8,
    "玖": 9,
}
_SMALL_UNITS = {"拾": 1, "佰": 2, "仟": 3}
_BIG_UNITS = {"万": "万", "萬": "万", "亿": "亿", "億": "亿"}
_YUAN_CHARS = "元圆圓"
_ZHENG_CHARS = "整正"
#: A string containing any of these is read as capital numerals (``"壹万伍仟元"``).
_CAPITAL_MARKERS = frozenset(set(_CAPITAL_DIGITS) | set(_SMALL_UNITS))
#: Ordinary (lower-case) numerals a clerk might write; refused with a hint.
_LOWER_NUMERALS = frozenset("一二三四五六七八九十百千两〇")

_AMOUNT_HINT = "请填写如 12000.00、1.2万 或 壹万贰仟元 的金额"

_AMOUNT_RE = re.compile(
    r"""
    (?P<open>\()?
    (?P<neg1>-)?
    (?:¥|\$|RMB|人民币)?
    (?P<neg2>-)?
    (?P<int>\d[\d,]*)
    (?:\.(?P<frac>\d+))?
    (?:(?P<unit>万元|万|元|圆)(?P<zheng>[整正])?)?
    (?P<close>\))?
    """,
    re.VERBOSE,
)
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+")
_EXPONENT_RE = re.compile(r"\d\.?\s*[eE]\s*[-+]?\s*\d")
_NON_FINITE = frozenset({"nan", "inf", "infinity", "∞", "#num!", "#div/0!", "#value!"})


_MAX_YUAN_FLOAT = float(MAX_YUAN)  # 1e9 exactly


def _amount_error(text: str) -> CellError:
    return CellError(f"金额“{text}”无法识别，{_AMOUNT_HINT}")


def _scale(value: Decimal, factor: Decimal) -> Decimal:
    """``value × factor`` exactly; a product too long to hold exactly is refused (it cannot be in fen)."""
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[Inexact] = True
        try:
            return value * factor
        except (Inexact, InvalidOperation) as exc:
            raise CellError("金额位数过多，最多两位小数（精确到分）") from exc


def _has_fen_precision(value: Decimal) -> bool:
    """True when ``value`` is a whole number of fen (trailing zeros allowed: ``12.500`` is 12.50)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return exponent >= -2 or value == value.quantize(FEN)


def _finish_amount(value: Decimal) -> Decimal:
    if value <= 0:
        raise CellError("金额必须大于 0")
    if value > MAX_YUAN:
        raise CellError("金额超出范围（单笔不超过 10 亿元）")
    if not _has_fen_precision(value):
        raise CellError(f"金额 {value.normalize():f} 超过两位小数（精确到分），请核对")
    return value.quantize(FEN)


def _amount_from_float(value: float, factor: Decimal) -> Decimal:
    if not math.isfinite(value):
        raise CellError("金额必须是有限的数字")
    exact = _scale(Decimal(repr(value)), factor)
    if value > 0 and not _has_fen_precision(exact) and exact <= MAX_YUAN:
        # Excel shows and compares numbers to 15 significant digits; a formula result such as
        # 0.1+0.2 = 0.30000000000000004 is 0.3 in the sheet. Every amount up to 10 亿元 in fen has
        # at most 12 significant digits, so this only removes binary noise, never a typed digit.
        shown = _scale(Decimal(format(value, ".15g")), factor)
        if _has_fen_precision(shown):
            exact = shown
    return _finish_amount(exact)


def _amount_from_text(raw: str, *, wan: bool) -> Decimal:
    text = _fold(raw)
    if not text:
        raise CellError("金额不能为空")
    shown = text
    if any(ch in _CAPITAL_MARKERS for ch in text):
        compact = "".join(ch for ch in text if not ch.isspace())
        if wan and any(ch in compact for ch in _YUAN_CHARS + "角分"):
            raise CellError(f"该列单位是万元，金额“{shown}”却写了元角分，请统一单位")
        value = parse_capital_numerals(compact)
        return _finish_amount(_scale(value, WAN) if wan else value)
    # Whitespace is allowed next to symbols and units ("￥ 2,400", "1.2 万"), never between digits.
    text = re.sub(r"(?<=\D)\s+|\s+(?=\D)", "", text)
    if any(ch.isspace() for ch in text):
        raise CellError(f"金额“{shown}”中有多个数字，{_AMOUNT_HINT}")
    lowered = text.casefold()
    if lowered.lstrip("+-") in _NON_FINITE:
        raise CellError("金额必须是有限的数字")
    if "_" in text:
        raise CellError(f"金额“{shown}”中不能有下划线，{_AMOUNT_HINT}")
    if _EXPONENT_RE.search(text):
        raise CellError(f"金额“{shown}”不能用科学计数法，请填写完整数字")
    if any(ch in _LOWER_NUMERALS for ch in text):
        raise CellError(f"金额“{shown}”请用阿拉伯数字或大写数字（如 壹万伍仟元）填写")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"-?[¥$]?[\d.,]*\d[\d.,]*(?:万元|万|元|圆)?", text) and "," in text:
            raise CellError(f"金额“{shown}”的千位分隔符位置不对（应每三位一个逗号，如 3,500.50）")
        if len(re.findall(r"\d+(?:[.,]\d+)*", text)) > 1:
            raise CellError(f"金额“{shown}”中有多个数字，{_AMOUNT_HINT}")
        raise _amount_error(shown)
    if bool(match["open"]) != bool(match["close"]):
        raise _amount_error(shown)
    integer, frac, unit = match["int"], match["frac"] or "", match["unit"] or ""
    if "," in integer and not _THOUSANDS_RE.fullmatch(integer):
        raise CellError(f"金额“{shown}”的千位分隔符位置不对（应每三位一个逗号，如 3,500.50）")
    if match["neg1"] or match["neg2"] or match["open"]:
        raise CellError("金额必须大于 0")
    in_wan = unit.startswith("万")
    if wan and unit in ("元", "圆"):
        raise CellError(f"该列单位是万元，金额“{shown}”却写了元，请统一单位")
    if not (in_wan or wan) and len(frac) > 2:
        raise CellError(f"金额“{shown}”超过两位小数（精确到分），请核对")
    value = Decimal(integer.replace(",", "") + ("." + frac if frac else ""))
    return _finish_amount(_scale(value, WAN) if (in_wan or wan) else value)


def parse_amount_cell(value: object, *, wan: bool = False) -> Decimal:
    """Exact yuan, quantized to 0.01, from an amount cell; ``wan=True`` when the column is in 万元.

    Accepts numbers, ``"3,500.50"``, ``"１２０００"``, ``"￥2,400"``, ``"6,800.00元"``, ``"1.2万"``,
    ``"0.35万元"`` (a 万 suffix multiplies by 10000 once, whatever ``wan`` says) and capital numerals
    ``"壹万伍仟元"``. Refuses, with :class:`CellError`, anything not positive, above 10 亿元, finer than
    a fen, or not plainly one amount.
    """
    if type(value) is float and not wan and 0.0 < value <= _MAX_YUAN_FLOAT:
        # A number cell (python-calamine gives every number as a float). When the float is the one
        # nearest to a whole number of fen, that number of fen is the amount: up to 10 亿元 doubles are
        # far closer together than a fen, so the float's shortest repr — what the exact path below
        # reads — is that very amount. Same result, without the string and the decimal context.
        fen = round(value * 100)
        if fen / 100 == value:
            return Decimal(fen).scaleb(-2)
    factor = WAN if wan else Decimal(1)
    if isinstance(value, bool):
        raise CellError("金额必须是数字，不能是 TRUE/FALSE")
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        raise CellError("金额不能是日期或时间，请检查这一列")
    if value is None:
        raise CellError("金额不能为空")
    if isinstance(value, int):
        return _finish_amount(_scale(Decimal(value), factor))
    if isinstance(value, float):
        return _amount_from_float(value, factor)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError("金额必须是有限的数字")
        return _finish_amount(_scale(value, factor))
    if isinstance(value, str):
        return _amount_from_text(value, wan=wan)
    raise CellError(f"金额无法识别（{type(value).__name__}），{_AMOUNT_HINT}")


def _capital_error(text: str) -> CellError:
    return CellError(f"大写金额“{text}”写法不对，请按票据写法填写，如 壹万零伍拾元伍角贰分")


def _parse_capital_integer(text: str, shown: str) -> int:
    """``"壹万零伍拾"`` → 10050. Units must fall strictly; a 零 must stand for a real gap."""
    if text == "零":
        return 0
    sections: list[tuple[str, int]] = []
    rest = text
    if "亿" in rest:
        high, _, rest = rest.partition("亿")
        if not high or "亿" in rest:
            raise _capital_error(shown)
        sections.append((high, 8))
    if "万" in rest:
        middle, _, rest = rest.partition("万")
        if not middle or "万" in rest:
            raise _capital_error(shown)
        sections.append((middle, 4))
    sections.append((rest, 0))

    # Tokens: (digit, exponent), or None for 零.
    tokens: list[tuple[int, int] | None] = []
    for section, base in sections:
        i = 0
        while i < len(section):
            ch = section[i]
            if ch == "零":
                tokens.append(None)
                i += 1
                continue
            if ch in _SMALL_UNITS and not tokens and i == 0 and ch == "拾":
                tokens.append((1, base + 1))  # "拾伍万": a leading 拾 means 壹拾
                i += 1
                continue
            if ch not in _CAPITAL_DIGITS:
                raise _capital_error(shown)
            digit = _CAPITAL_DIGITS[ch]
            unit = section[i + 1] if i + 1 < len(section) else ""
            if unit in _SMALL_UNITS:
                tokens.append((digit, base + _SMALL_UNITS[unit]))
                i += 2
            else:
                tokens.append((digit, base))
                i += 1
    if not tokens or tokens[0] is None or tokens[-1] is None:
        raise _capital_error(shown)
    total = 0
    previous: tuple[int, int] | None = None
    zero_pending = False
    for token in tokens:
        if token is None:
            if zero_pending:
                raise _capital_error(shown)
            zero_pending = True
            continue
        digit, exponent = token
        if previous is not None:
            if exponent >= previous[1]:
                raise _capital_error(shown)
            if zero_pending and previous[1] - exponent < 2:
                raise _capital_error(shown)  # 零 where nothing is missing ("壹仟零贰佰")
            if not zero_pending and exponent == 0 and previous[1] >= 2:
                # "壹佰伍" is 150 when spoken but 105 when read by place: ambiguous, so refused.
                raise CellError(f"大写金额“{shown}”有歧义，请写明单位，如 壹佰伍拾 或 壹佰零伍")
        total += digit * 10**exponent
        previous, zero_pending = token, False
    return total


_CAPITAL_FRACTION_RE = re.compile(
    r"(?P<zero>零)?(?:(?P<jiao>[壹贰貳叁參叄肆伍陆陸柒捌玖])角)?(?:(?P<fen>[壹贰貳叁參叄肆伍陆陸柒捌玖])分)?"
)


def parse_capital_numerals(text: str) -> Decimal:
    """Capital numerals as written on receipts: ``"壹万零伍拾元伍角贰分"`` → ``Decimal("10050.52")``.

    Reads 壹…玖 with 拾/佰/仟/万/亿, 元 (or 圆), 角, 分 and a closing 整 (or 正), with an optional
    人民币 prefix and 负 for negatives (traditional forms 貳 參 陸 萬 億 圓 too). A missing 零 is
    tolerated where the next unit is written ("壹仟万壹佰"), but a bare last digit after a gap
    ("壹佰伍": 150 or 105?), a 零 where no place is empty, units out of order and lower-case numerals
    are refused.
    """
    compact = normalize_text(text)
    shown = compact or str(text)
    s = compact
    for old, new in _BIG_UNITS.items():
        s = s.replace(old, new)
    if s.startswith("人民币"):
        s = s[3:]
    negative = s.startswith("负")
    if negative:
        s = s[1:]
    if s and s[-1] in _ZHENG_CHARS:
        s = s[:-1]
    if not s:
        raise CellError("金额不能为空" if not compact else f"大写金额“{shown}”没有数字")
    yuan_at = [i for i, ch in enumerate(s) if ch in _YUAN_CHARS]
    if len(yuan_at) > 1:
        raise _capital_error(shown)
    if yuan_at:
        integer_text, fraction_text = s[: yuan_at[0]], s[yuan_at[0] + 1 :]
        if not integer_text:
            raise _capital_error(shown)
    elif "角" in s or "分" in s:
        integer_text, fraction_text = "", s
    else:
        integer_text, fraction_text = s, ""
    yuan = _parse_capital_integer(integer_text, shown) if integer_text else 0
    match = _CAPITAL_FRACTION_RE.fullmatch(fraction_text)
    if match is None:
        raise _capital_error(shown)
    jiao = _CAPITAL_DIGITS[match["jiao"]] if match["jiao"] else 0
    fen = _CAPITAL_DIGITS[match["fen"]] if match["fen"] else 0
    if match["zero"]:
        # "贰拾元零伍分" (no 角) and "壹仟元零伍角" (units place empty) are the receipt rules.
        if not yuan or not (jiao or fen) or (jiao and yuan % 10 != 0):
            raise _capital_error(shown)
    value = Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
    return (-value if negative else value).quantize(FEN)


# ------------------------------------------------------------------------------------------ dates

#: Excel's 1900 date system (openpyxl's ``from_excel`` converts): serial 1 is 1900-01-01; 60 is the
#: non-existent 1900-02-29 (the Lotus bug), refused here; 2958465 is 9999-12-31.
_EXCEL_MAX_SERIAL = 2958465

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d{1,6})?)?"
_DATE_PATTERNS = [
    re.compile(rf"(?P<y>\d{{4}})(?P<sep>[./-])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})(?:(?:\s+|T){_TIME})?"),
    re.compile(
        rf"(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})(?:\s*[日号])?(?:(?:\s+|(?<=[日号])){_TIME})?"
    ),
    re.compile(rf"(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})(?:(?:\s+|T){_TIME})?"),
]
_SHORT_YEAR_RE = re.compile(r"\d{2}\s*(?:[./-]|年)\s*\d{1,2}\s*(?:[./-]|月)\s*\d{1,2}.*")

_DATE_HINT = "请填写如 2020-03-18、2020.3.18 或 2020年3月18日 的日期"


def _date_from_serial(serial: int) -> datetime.date:
    if not 1 <= serial <= _EXCEL_MAX_SERIAL:
        raise CellError(f"日期序号 {serial} 超出范围，{_DATE_HINT}")
    if serial == 60:
        raise CellError("日期 1900-02-29 不存在")
    return from_excel(serial).date()


def _date_from_parts(year: str, month: str, day: str, shown: str) -> datetime.date:
    if int(year) < 1900:  # before anything Excel can hold, and before any ledger
        raise CellError(f"日期“{shown}”的年份不合理，{_DATE_HINT}")
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise CellError(f"日期“{shown}”不存在，请核对年月日") from exc


def _date_from_number(number: int) -> datetime.date:
    # 20200318 typed into a number cell: eight digits, far above any serial, read as yyyymmdd.
    if 19000101 <= number <= 99991231:
        text = str(number)
        return _date_from_parts(text[:4], text[4:6], text[6:], text)
    return _date_from_serial(number)


def _date_from_text(raw: str) -> datetime.date:
    text = _fold(raw)
    if not text:
        raise CellError("日期不能为空")
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if match["h"] is not None:
            hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
            if hour > 23 or minute > 59 or second > 59:
                raise CellError(f"日期“{text}”中的时间不对，{_DATE_HINT}")
        return _date_from_parts(match["y"], match["m"], match["d"], text)
    if _SHORT_YEAR_RE.fullmatch(text):
        raise CellError(f"日期“{text}”的年份请写四位数字，如 2020")
    raise CellError(f"日期“{text}”无法识别，{_DATE_HINT}")


def parse_date_cell(value: object, *, year: int | None = None) -> datetime.date:
    """A date from a date cell, an Excel serial number or text such as ``"2020.3.18"``.

    With ``year``, a date outside that year is refused (the campaign year).
    """
    if type(value) is datetime.date:  # a date cell, the common case: at once
        if year is not None and value.year != year:
            raise CellError(f"日期 {value.isoformat()} 不在 {year} 年内")
        return value
    if isinstance(value, bool):
        raise CellError("日期不能是 TRUE/FALSE")
    if value is None:
        raise CellError("日期不能为空")
    if isinstance(value, datetime.datetime):
        result = value.date()
    elif isinstance(value, datetime.date):
        result = value
    elif isinstance(value, datetime.time | datetime.timedelta):
        raise CellError(f"日期不能只有时间，{_DATE_HINT}")
    elif isinstance(value, int):
        result = _date_from_number(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"日期无法识别，{_DATE_HINT}")
        if value < 1 or value >= 99991232:
            raise CellError(f"日期序号 {value} 超出范围，{_DATE_HINT}")
        whole = int(value)  # the date part of a date-time serial
        if value != whole and whole > _EXCEL_MAX_SERIAL:
            raise CellError(f"日期“{value}”无法识别，{_DATE_HINT}")
        result = _date_from_number(whole)
    elif isinstance(value, str):
        result = _date_from_text(value)
    else:
        raise CellError(f"日期无法识别（{type(value).__name__}），{_DATE_HINT}")
    if year is not None and result.year != year:
        raise CellError(f"日期 {result.isoformat()} 不在 {year} 年内")
    return result


# ------------------------------------------------------------------------------------------ names


def _name_key(value: object) -> str:
    return normalize_text(value).casefold()


class NameMatcher:
    """:func:`match_name` for one set of names, built once and cached by the raw cell value."""

    def __init__(self, names: Iterable[str], synonyms: Mapping[str, str]) -> None:
        self.by_key: dict[str, str] = {}
        for name in names:
            self.by_key.setdefault(_name_key(name), name)
        for synonym, canonical in synonyms.items():
            target = self.by_key.get(_name_key(canonical))
            if target is not None:
                self.by_key.setdefault(_name_key(synonym), target)
        self.cache: dict[object, str | None] = {}

    def __call__(self, text: object) -> str | None:
        try:
            return self.cache[text]
        except (KeyError, TypeError):
            pass
        key = _name_key(text)
        found = self.by_key.get(key) if key else None
        try:
            self.cache[text] = found
        except TypeError:
            pass
        return found


def match_name(text: object, names: Iterable[str], synonyms: Mapping[str, str]) -> str | None:
    """The one of ``names`` that ``text`` means: the name itself, else through ``synonyms``.

    Both sides go through :func:`normalize_text` and case folding, so width, spaces and case do not
    matter. Returns the name as spelled in ``names``, or ``None`` when unknown (including a synonym
    whose canonical name is not among ``names``).
    """
    return NameMatcher(names, synonyms)(text)
