import datetime
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiangcun.core.errors import ServiceError
from qiangcun.supervision.weeks import parse_week, week_of, weeks_of


@given(year=st.integers(2000, 2100), cutoff=st.integers(0, 6))
def test_every_day_of_the_year_lies_in_exactly_one_week(year, cutoff):
    weeks = weeks_of(year, cutoff)
    assert weeks[0].start == datetime.date(year, 1, 1)
    assert weeks[-1].end == datetime.date(year, 12, 31)
    for before, after in itertools.pairwise(weeks):
        assert after.start == before.end + datetime.timedelta(days=1)
    assert [w.number for w in weeks] == list(range(1, len(weeks) + 1))
    for week in weeks[:-1]:
        assert week.end.weekday() == cutoff  # every week but the last ends on the cut-off day
    assert all(w.days <= 13 for w in weeks)
    assert all(w.days == 7 for w in weeks[1:-1])


@given(year=st.integers(2000, 2100))
def test_with_a_sunday_cutoff_week_n_is_iso_week_n(year):
    for week in weeks_of(year, 6)[:-1]:
        assert week.end.isocalendar()[:2] == (year, week.number)


def test_the_demo_week_16_ends_on_the_article_date_with_a_friday_cutoff():
    week = parse_week("2020-W16", 4)
    assert (week.start, week.end) == (datetime.date(2020, 4, 11), datetime.date(2020, 4, 17))
    assert week_of(datetime.date(2020, 4, 17), 4) == week
    assert week_of(datetime.date(2020, 4, 18), 4).number == 17
    sunday = parse_week("2020w16")
    assert (sunday.start, sunday.end) == (datetime.date(2020, 4, 13), datetime.date(2020, 4, 19))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2020-16", "格式不对"),
        ("", "格式不对"),
        ("2020-W54", "2020 年只有第 1–53 周，没有第 54 周"),
        ("2020-W00", "没有第 0 周"),
        ("1999-W01", "年度 1999 超出范围"),
    ],
)
def test_a_bad_week_is_refused_in_chinese(raw, message):
    with pytest.raises(ServiceError) as error:
        parse_week(raw)
    assert message in error.value.message
