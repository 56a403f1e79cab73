"""Query parameters as people and programs send them: checked once, refused with a Chinese reason.

Pages turn :class:`ParamError` into a 400 page, the API into a 400 answer, the CLI into an error line;
no value of a parameter can reach the database unchecked (``year=99999`` once made a 500)."""

from __future__ import annotations

import datetime

from qiangcun.core.errors import ServiceError

#: Years a campaign may have (the same bounds as ``Campaign.year``).
MIN_YEAR = 2000
MAX_YEAR = 2100


class ParamError(ServiceError):
    """A query parameter that cannot be used; ``field`` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field, code="bad_param")


def year_param(raw: object, *, field: str = "year") -> int | None:
    """A year between 2000 and 2100, or ``None`` when absent."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4 and MIN_YEAR <= int(text) <= MAX_YEAR):
        raise ParamError(
            f"年度“{_shown(raw)}”不对：应为 {MIN_YEAR} 至 {MAX_YEAR} 之间的四位年份", field=field
        )
    return int(text)


def date_param(raw: object, *, field: str = "as_of", label: str = "截止日期") -> datetime.date | None:
    """An ISO date (2020-04-17) within the campaign years, or ``None`` when absent."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime.date):
        value = raw
    else:
        text = str(raw).strip()
        try:
            if not text.isascii() or len(text) != 10:
                raise ValueError
            value = datetime.date.fromisoformat(text)
        except ValueError:
            raise ParamError(f"{label}“{_shown(raw)}”不对：格式应为 2020-04-17", field=field) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ParamError(f"{label} {value.isoformat()} 超出范围（{MIN_YEAR}—{MAX_YEAR} 年）", field=field)
    return value


def choice_param(raw: object, choices: object, *, field: str, label: str) -> str:
    """One of ``choices`` (any container of strings), or ``""`` when absent."""
    if raw is None or raw == "":
        return ""
    text = str(raw)
    if text not in choices:  # type: ignore[operator]
        raise ParamError(f"{label}“{_shown(raw)}”不认识", field=field)
    return text


def text_param(raw: object, *, field: str, label: str, max_length: int = 64) -> str:
    """Free text for a search or a code: at most ``max_length`` characters, no control characters."""
    if raw is None:
        return ""
    text = str(raw)
    if len(text) > max_length:
        raise ParamError(f"{label}太长（最多 {max_length} 个字）", field=field)
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ParamError(f"{label}含有不可见的控制字符", field=field)
    return text


def _shown(raw: object) -> str:
    text = "".join(
        ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else "\ufffd" for ch in str(raw)
    )
    return text if len(text) <= 20 else text[:20] + "…"
