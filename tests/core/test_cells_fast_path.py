"""The fast path for number and date cells gives exactly what the exact path gives: the same amount to the
fen (value and its two decimal places), or the same refusal."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from qiangcun.core import cells
from qiangcun.core.cells import CellError, parse_amount_cell, parse_date_cell


def exact_path(value: float) -> str:
    """What ``parse_amount_cell`` answered for a float before the fast path: ``_amount_from_float``."""
    try:
        return str(cells._amount_from_float(value, Decimal(1)))
    except CellError as exc:
        return f"refused: {exc}"


def answer(value: float) -> str:
    try:
        return str(parse_amount_cell(value))
    except CellError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1 + 0.2, "0.30"),  # 0.30000000000000004: binary noise of a formula, 0.3 in the sheet
        (1234567.89, "1234567.89"),
        (0.07, "0.07"),
        (19.99, "19.99"),
        (100.0, "100.00"),
        (1e9, "1000000000.00"),
        (0.01, "0.01"),
        (1.1 * 3, "3.30"),  # 3.3000000000000003
        (12.345, "refused: 金额 12.345 超过两位小数（精确到分），请核对"),
        (0.001, "refused: 金额 0.001 超过两位小数（精确到分），请核对"),
        (1e9 + 0.01, "refused: 金额超出范围（单笔不超过 10 亿元）"),
        (0.0, "refused: 金额必须大于 0"),
        (-5.0, "refused: 金额必须大于 0"),
        (float("nan"), "refused: 金额必须是有限的数字"),
        (float("inf"), "refused: 金额必须是有限的数字"),
    ],
)
def test_tricky_floats(value, expected):
    assert answer(value) == exact_path(value) == expected


def test_the_fast_path_is_taken_for_a_plain_amount(monkeypatch):
    """A float nearest to whole fen does not go through the exact path at all."""

    def refuse(*args, **kwargs):
        raise AssertionError("the exact path was taken")

    monkeypatch.setattr(cells, "_amount_from_float", refuse)
    assert str(parse_amount_cell(1234567.89)) == "1234567.89"
    with pytest.raises(AssertionError):
        parse_amount_cell(0.1 + 0.2)


fen_floats = st.integers(min_value=-10, max_value=100_000_000_010).map(lambda fen: fen / 100)


@given(st.one_of(fen_floats, st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 2e9)))
@example(0.1 + 0.2)
@example(2.675)
@example(999999999.995)
@example(999999999.99)
@example(1e9 - 1e-7)
@example(5e-324)
def test_the_fast_path_answers_as_the_exact_path(value):
    assert answer(value) == exact_path(value)
    if not answer(value).startswith("refused"):
        assert parse_amount_cell(value).as_tuple().exponent == -2


@given(st.dates(), st.none() | st.integers(1900, 2100))
def test_date_cells_take_the_fast_path_with_the_same_answer(day, year):
    try:
        fast = parse_date_cell(day, year=year)
    except CellError as exc:
        fast = str(exc)
    try:
        slow = parse_date_cell(datetime.datetime.combine(day, datetime.time()), year=year)
    except CellError as exc:
        slow = str(exc)
    assert fast == slow
