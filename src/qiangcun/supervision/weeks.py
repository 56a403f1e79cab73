"""The weeks of a bulletin year: every day of the year in exactly one week.

A week ends on the township's cut-off day (周日 by default). Weeks are numbered 1, 2, … within the
year; the first begins on 1 January and ends on the first cut-off day that ISO 8601 puts in the
year's own week-year (so with a Sunday cut-off week *n* is ISO week *n*, and the first week may be
longer than seven days); the last ends on 31 December."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from qiangcun.core.errors import ServiceError

WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
_WEEK = re.compile(r"^\s*(\d{4})\s*-?\s*[Ww]\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    start: datetime.date
    end: datetime.date

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def describe(self) -> str:
        return f"{self.start.month}月{self.start.day}日至{self.end.month}月{self.end.day}日"


def weeks_of(year: int, cutoff: int = 6) -> list[Week]:
    """Every week of ``year`` for a cut-off weekday ``cutoff`` (0 = Monday … 6 = Sunday)."""
    if not 0 <= cutoff <= 6:
        raise ValueError("cutoff must be 0..6")
    first = datetime.date(year, 1, 1)
    last = datetime.date(year, 12, 31)
    day = first + datetime.timedelta(days=(cutoff - first.weekday()) % 7)
    if day.isocalendar().year != year:
        day += datetime.timedelta(days=7)
    weeks: list[Week] = []
    start = first
    while day <= last:
        weeks.append(Week(year, len(weeks) + 1, start, day))
        start = day + datetime.timedelta(days=1)
        day += datetime.timedelta(days=7)
    if start <= last:
        weeks.append(Week(year, len(weeks) + 1, start, last))
    return weeks


def week_of(day: datetime.date, cutoff: int = 6) -> Week:
    """The week of ``day``'s year that holds ``day``."""
    for week in weeks_of(day.year, cutoff):
        if week.start <= day <= week.end:
            return week
    raise AssertionError("every day lies in a week")  # pragma: no cover


def parse_week(raw: str, cutoff: int = 6) -> Week:
    """``2020-W16`` (also ``2020W16``) → that week; a Chinese error naming the input otherwise."""
    match = _WEEK.match(raw or "")
    if not match:
        raise ServiceError(f"周次“{(raw or '')[:20]}”的格式不对，应写作 2020-W16", field="week")
    year, number = int(match[1]), int(match[2])
    if not 2000 <= year <= 2100:
        raise ServiceError(f"年度 {year} 超出范围（2000–2100）", field="week")
    weeks = weeks_of(year, cutoff)
    if not 1 <= number <= len(weeks):
        raise ServiceError(f"{year} 年只有第 1–{len(weeks)} 周，没有第 {number} 周", field="week")
    return weeks[number - 1]
