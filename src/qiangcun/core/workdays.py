"""The working calendar (工作日): weekends, official holidays and the make-up working days (调休) of
the State Council's yearly notice, from the ``chinese-calendar`` package.

Deadlines in the township are working-day deadlines: a deadline that falls on a rest day moves to the
next working day, and "overdue" counts working days after it. For a year the package does not know
yet (it is updated once the notice is out, each December), Saturdays and Sundays are the rest days
and ``calendar_known`` says so, so a page can warn that holidays are not counted.
"""

from __future__ import annotations

import datetime

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


def is_workday(day: datetime.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


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
    count = 0
    day = start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def effective_deadline(deadline: datetime.date) -> datetime.date:
    """A deadline on a rest day is met on the next working day."""
    return next_workday(deadline)


def overdue_workdays(deadline: datetime.date, today: datetime.date) -> int:
    """How many working days past its deadline an open item is on ``today`` (0: not overdue)."""
    return workdays_between(effective_deadline(deadline), today)
