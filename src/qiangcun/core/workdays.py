"""The working calendar (工作日): weekends, official holidays and the make-up working days (调休) of
the State Council's yearly notice, from the ``chinese-calendar`` package.

Deadlines in the township are working-day deadlines: a deadline that falls on a rest day moves to the
next working day, and "overdue" counts working days after it. For a year the package does not know
yet (it is updated once the notice is out, each December), Saturdays and Sundays are the rest days
and ``calendar_known`` says so, so a page can warn that holidays are not counted.
"""

from __future__ import annotations

import datetime
import functools

import chinese_calendar

__all__ = [
    "add_workdays",
    "calendar_known",
    "effective_deadline",
    "is_workday",
    "next_workday",
    "overdue_workdays",
    "workdays_between",
]


def calendar_known(year: int) -> bool:
    """Whether the official holidays of ``year`` are known (otherwise only weekends rest)."""
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _official(day: datetime.date) -> bool:
    """The package's answer for one day (weekends only for a year it does not know)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@functools.lru_cache(maxsize=256)
def _year(year: int) -> tuple[bytes, tuple[int, ...]]:
    """A year's working days, asked of the package once: a flag per day (index: day of the year − 1) and the
    running count (index k: working days among the year's first k days). The package checks every date it
    is asked against the whole of its holiday table (~0.02 ms a call): an arrears summary counting day by day
    spent 93% of its time there."""
    first = datetime.date(year, 1, 1)
    days = (datetime.date(year + 1, 1, 1) - first).days if year < datetime.MAXYEAR else 365
    flags = bytes(_official(first + datetime.timedelta(days=i)) for i in range(days))
    running = [0]
    for flag in flags:
        running.append(running[-1] + flag)
    return flags, tuple(running)


def is_workday(day: datetime.date) -> bool:
    return bool(_year(day.year)[0][day.timetuple().tm_yday - 1])


def _through(day: datetime.date) -> int:
    """Working days from 1 January of ``day``'s year up to and including ``day``."""
    return _year(day.year)[1][day.timetuple().tm_yday]


def next_workday(day: datetime.date) -> datetime.date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_workday(day):
        day += datetime.timedelta(days=1)
    return day


def add_workdays(day: datetime.date, count: int) -> datetime.date:
    """The working day ``count`` working days after ``day`` (``count`` ≥ 0; 0 → ``next_workday(day)``)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = next_workday(day)
    while count:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count -= 1
    return day


def workdays_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in the half-open range (start, end]: 0 when ``end`` ≤ ``start``."""
    if end <= start:
        return 0
    if start.year == end.year:
        return _through(end) - _through(start)
    whole_years = sum(_year(y)[1][-1] for y in range(start.year + 1, end.year))
    return _year(start.year)[1][-1] - _through(start) + whole_years + _through(end)


def effective_deadline(deadline: datetime.date) -> datetime.date:
    """A deadline on a rest day is met on the next working day."""
    return next_workday(deadline)


def overdue_workdays(deadline: datetime.date, today: datetime.date) -> int:
    """How many working days past its deadline an open item is on ``today`` (0: not overdue)."""
    return workdays_between(effective_deadline(deadline), today)
