"""Hypothesis on the parsers that had none: whatever is typed, each gives a value or its own error with a
Chinese reason — never another exception — and what the project prints reads back to the same value
(money to the fen).

Already covered elsewhere: ``parse_amount_cell``, ``parse_capital_numerals``, ``parse_date_cell``
(tests/core/test_cells.py), ``parse_amount``'s round trip of formatted fen (tests/core/test_money.py),
the people reader's cells (tests/accounts/test_people_import.py), ``weeks_of`` (tests/supervision/test_weeks.py).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from qiangcun.core.cells import CellError
from qiangcun.core.errors import ServiceError
from qiangcun.core.money import MAX_YUAN, AmountError, fmt_yuan, from_fen, parse_amount, to_fen, yuan_str
from qiangcun.core.params import (
    MAX_YEAR,
    MIN_YEAR,
    ParamError,
    choice_param,
    date_param,
    text_param,
    year_param,
)
from qiangcun.core.text import clean_text, text_problem, validate_text
from qiangcun.core.workdays import add_workdays, is_workday, workdays_between
from qiangcun.plans.importing import MAX_AREA_MU, parse_area, parse_deadline, parse_money
from qiangcun.reports.cells import format_cell
from qiangcun.supervision.weeks import parse_week, weeks_of

CHINESE = re.compile("[一-龥]")
FEN = Decimal("0.01")

#: Any text, including what st.text() leaves out: C0 controls, DEL and lone surrogates.
ANY_CHAR = st.one_of(
    st.characters(),
    st.integers(0, 0x1F).map(chr),
    st.just("\x7f"),
    st.integers(0xD800, 0xDFFF).map(chr),
)
ANY_TEXT = st.text(alphabet=ANY_CHAR, max_size=40)
#: Text that looks like what the parser reads, so the accepting branches are reached too.
NUMBERISH = st.text(alphabet="0123456789.,-+ 　万元亩年月日底末上下半季度第一二三四W-wｗ０１２", max_size=16)
ANY_VALUE = st.one_of(
    ANY_TEXT,
    NUMBERISH,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
)
FEN_AMOUNTS = st.integers(min_value=-(10**11), max_value=10**11)
CAMPAIGN_DATES = st.dates(datetime.date(MIN_YEAR, 1, 1), datetime.date(MAX_YEAR, 12, 31))


def _chinese(exc: BaseException) -> None:
    assert CHINESE.search(str(exc)), f"reason not in Chinese: {exc}"


# --- core/params.py: query parameters --------------------------------------------------------------------


@given(st.one_of(ANY_TEXT, NUMBERISH, st.integers(), st.none()))
@example("２０２０")
@example(" 2020 ")
def test_year_param_gives_a_campaign_year_or_param_error(raw):
    try:
        year = year_param(raw)
    except ParamError as exc:
        assert exc.field == "year"
        _chinese(exc)
        return
    assert year is None or MIN_YEAR <= year <= MAX_YEAR


@given(st.integers(MIN_YEAR, MAX_YEAR))
def test_year_param_round_trip(year):
    assert year_param(str(year)) == year == year_param(year)


@given(st.one_of(ANY_TEXT, NUMBERISH, st.none(), st.dates()))
@example("2020-02-30")
@example("２０２０-01-01")
@example("1999-12-31")
def test_date_param_gives_a_date_or_param_error(raw):
    try:
        day = date_param(raw)
    except ParamError as exc:
        assert exc.field == "as_of"
        _chinese(exc)
        return
    assert day is None or MIN_YEAR <= day.year <= MAX_YEAR


@given(CAMPAIGN_DATES)
def test_date_param_round_trip(day):
    assert date_param(day.isoformat()) == day == date_param(day)


@given(ANY_TEXT, st.sets(st.text(max_size=5), max_size=4))
def test_choice_param_gives_a_choice_or_param_error(raw, choices):
    try:
        value = choice_param(raw, choices, field="status", label="状态")
    except ParamError as exc:
        assert exc.field == "status"
        _chinese(exc)
        return
    assert value == "" or value in choices
    for choice in choices:
        assert choice_param(choice, choices, field="status", label="状态") == choice


@given(st.one_of(ANY_TEXT, st.none()), st.integers(1, 50))
def test_text_param_gives_the_text_unchanged_or_param_error(raw, max_length):
    try:
        value = text_param(raw, field="unit", label="单位代码", max_length=max_length)
    except ParamError as exc:
        assert exc.field == "unit"
        _chinese(exc)
        return
    assert value == (raw or "")
    assert len(value) <= max_length
    assert text_problem(value) is None  # what a parameter lets through, a form would let through too


# --- core/text.py: free text ------------------------------------------------------------------------------


@given(ANY_TEXT)
@example("a\x00b")
@example("\ud800")
@example("行一\n行二\t制表")
def test_text_rule_agrees_everywhere(text):
    problem = text_problem(text)
    bad = [
        i
        for i, ch in enumerate(text)
        if (ord(ch) < 32 and ch not in "\t\n") or ch == "\x7f" or 0xD800 <= ord(ch) <= 0xDFFF
    ]
    assert (problem is None) == (not bad)
    if problem is None:
        assert clean_text(text, label="摘要") == text
        validate_text(text)
        return
    assert f"第 {bad[0] + 1} 个字" in problem  # the reason points at the first bad character
    with pytest.raises(ValueError, match=r"^摘要："):
        clean_text(text, label="摘要")
    with pytest.raises(ValidationError):
        validate_text(text)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary()))
def test_text_rule_ignores_what_is_not_text(value):
    assert text_problem(value) is None
    validate_text(value)


# --- core/money.py: amounts typed by a person -------------------------------------------------------------


@given(
    st.one_of(ANY_TEXT, NUMBERISH, st.integers(), st.decimals(allow_nan=True, allow_infinity=True), st.none())
)
@example("1_000")
@example("NaN")
@example("1e3")
@example("１２０００")
@example("12.345")
def test_parse_amount_gives_fen_or_amount_error(raw):
    try:
        value = parse_amount(raw)
    except AmountError as exc:
        _chinese(exc)
        return
    assert abs(value) <= MAX_YUAN
    assert value == value.quantize(FEN)


@given(FEN_AMOUNTS)
def test_what_is_printed_reads_back_to_the_fen(fen):
    """Every way the project prints yuan (JSON, pages, printed tables) parses back to the same fen."""
    yuan = from_fen(fen)
    for shown in (yuan_str(yuan), fmt_yuan(yuan), format_cell("yuan", yuan)):
        assert to_fen(parse_amount(shown)) == fen, shown


# --- supervision/weeks.py -------------------------------------------------------------------------------


@given(
    st.one_of(ANY_TEXT, NUMBERISH, st.from_regex(r"\A\s*\d{4}\s*-?\s*[Ww]\s*\d{1,2}\s*\Z")), st.integers(0, 6)
)
@example("2020-W00", 6)
@example("2020-W54", 6)
@example("1999-W01", 6)
def test_parse_week_gives_a_week_or_service_error(raw, cutoff):
    try:
        week = parse_week(raw, cutoff)
    except ServiceError as exc:
        assert exc.field == "week"
        _chinese(exc)
        return
    assert week in weeks_of(week.year, cutoff)


@given(st.integers(2000, 2100), st.integers(0, 6), st.data())
def test_parse_week_round_trip(year, cutoff, data):
    weeks = weeks_of(year, cutoff)
    week = data.draw(st.sampled_from(weeks))
    assert parse_week(week.label, cutoff) == week
    assert parse_week(week.label.replace("-", "").lower(), cutoff) == week


# --- plans/importing.py: the plan reader's cells -----------------------------------------------------------


@given(ANY_VALUE, st.booleans())
@example("-0", False)
@example("−5万", True)
@example("零", False)
def test_parse_money_gives_yuan_or_cell_error(value, wan):
    try:
        money = parse_money(value, wan=wan, label="预计收入")
    except CellError as exc:
        _chinese(exc)
        return
    assert Decimal(0) <= money <= MAX_YUAN
    assert money == money.quantize(FEN)


@given(st.integers(min_value=0, max_value=10**11))
def test_parse_money_round_trip(fen):
    yuan = from_fen(fen)
    assert parse_money(yuan_str(yuan), wan=False, label="预计收入") == yuan
    assert parse_money(fmt_yuan(yuan), wan=False, label="预计收入") == yuan


@given(ANY_VALUE)
@example("35.5亩")
@example("0")
@example(float("inf"))
@example(9.999999999999995e25)  # once raised decimal.InvalidOperation (a 500 in the plan import)
def test_parse_area_gives_mu_or_cell_error(value):
    try:
        area = parse_area(value)
    except CellError as exc:
        _chinese(exc)
        return
    assert Decimal(0) < area <= MAX_AREA_MU
    assert area == area.quantize(FEN)


@given(st.integers(min_value=1, max_value=int(MAX_AREA_MU * 100)))
def test_parse_area_round_trip(hundredths):
    area = Decimal(hundredths) / 100
    assert parse_area(f"{area}") == area
    assert parse_area(f"{area}亩") == area
    assert parse_area(float(area)) == area


@given(ANY_VALUE, st.integers(MIN_YEAR, MAX_YEAR - 1))
@example("6月底", 2020)
@example("13月底", 2020)
@example("第五季度", 2020)
@example("长期", 2020)
def test_parse_deadline_gives_a_date_in_the_year_or_cell_error(value, year):
    try:
        day = parse_deadline(value, year=year)
    except CellError as exc:
        _chinese(exc)
        return
    assert day.year in (year, year + 1)


@given(st.dates(datetime.date(MIN_YEAR, 1, 1), datetime.date(MAX_YEAR - 1, 12, 31)))
def test_parse_deadline_round_trip(day):
    assert parse_deadline(day.isoformat(), year=day.year) == day
    assert parse_deadline(f"{day.year}年{day.month}月{day.day}日", year=day.year) == day
    assert parse_deadline(day, year=day.year) == day


# --- core/workdays.py ---------------------------------------------------------------------------------------


@given(st.dates(datetime.date(2004, 1, 1), datetime.date(2030, 12, 31)), st.integers(0, 40))
def test_add_workdays_and_workdays_between_agree(day, count):
    later = add_workdays(day, count)
    assert is_workday(later)
    start = day if is_workday(day) else add_workdays(day, 0)
    assert workdays_between(start, later) == count


@given(
    st.dates(datetime.date(2003, 1, 1), datetime.date(2032, 12, 31)),
    st.dates(datetime.date(2003, 1, 1), datetime.date(2032, 12, 31)),
)
def test_workdays_between_is_the_day_by_day_count_of_the_package(start, end):
    """The per-year tables answer as asking ``chinese_calendar`` day by day would (weekends only for a
    year it does not know), across year ends, leap days and unknown years."""
    import chinese_calendar

    def official(day):
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    days = [start + datetime.timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert workdays_between(start, end) == sum(1 for d in days if official(d))
    assert is_workday(end) == official(end)


def test_the_calendar_knows_2020s_holidays_and_make_up_days():
    assert not is_workday(datetime.date(2020, 4, 4))  # 清明, a Saturday
    assert not is_workday(datetime.date(2020, 10, 8))  # 国庆 and 中秋
    assert is_workday(datetime.date(2020, 9, 27))  # a Sunday worked in their place (调休)
    # 4 April 2020 (Qingming) to 7 April: the 5th and 6th rest too.
    assert workdays_between(datetime.date(2020, 4, 3), datetime.date(2020, 4, 7)) == 1


def test_add_workdays_refuses_a_negative_count():
    with pytest.raises(ValueError):
        add_workdays(datetime.date(2020, 1, 1), -1)
