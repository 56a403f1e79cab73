"""Personal information: masking, the GB 11643-1999 ID number check, ID numbers from workbook cells, and
error reports that do not carry a posted phone or ID number."""

from __future__ import annotations

import datetime
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter
from hypothesis import given
from hypothesis import strategies as st

from qiangcun.core.pii import (
    ID_AS_NUMBER,
    PROVINCES,
    WEIGHTS,
    PersonalInfoReporterFilter,
    check_char,
    check_id_number,
    id_number_problem,
    mask_id_number,
    mask_personal,
    mask_phone,
    read_id_number_cell,
)

TODAY = datetime.date(2020, 4, 17)

#: The worked example printed in GB 11643-1999 itself, and numbers made up here with the algorithm
#: (region codes of real counties, invented birth dates and sequence numbers: nobody's number).
VALID = ["11010519491231002X", "371422199001011234", "440304200002290014", "650101190001010001"]


def test_weights_are_powers_of_two_mod_11():
    assert WEIGHTS == tuple(2 ** (17 - i) % 11 for i in range(17))


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers_pass(number):
    assert id_number_problem(number, today=TODAY) is None
    assert check_id_number(f" {number.lower()} ", today=TODAY) == number


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("371422900101123", "15 位的旧身份证号"),
        ("37142219900101123", "应为 18 位，现在是 17 位"),
        ("371422199001011235", "校验位"),
        ("37142219900101123Y", "最后一位为数字或 X"),
        ("３７1422199001011234", "前 17 位应为数字"),
        ("991422199001011234", "地区代码"),
        ("371422199002301234", "出生日期"),
        ("371422202104171234", "出生日期"),  # born after today
        ("", "请填写身份证号"),
    ],
)
def test_wrong_numbers_are_refused_with_the_reason(number, reason):
    problem = id_number_problem(number, today=TODAY)
    assert problem is not None and reason in problem
    if number:
        assert number not in problem  # the reason never repeats the number (it may reach a log)


def _numbers():
    return st.builds(
        lambda province, rest, born, seq: f"{province}{rest:04d}{born:%Y%m%d}{seq:03d}",
        st.sampled_from(sorted(PROVINCES)),
        st.integers(0, 9999),
        st.dates(datetime.date(1900, 1, 1), TODAY),
        st.integers(0, 999),
    )


@given(_numbers())
def test_every_number_with_its_check_char_passes_and_every_other_last_char_fails(first17):
    good = first17 + check_char(first17)
    assert id_number_problem(good, today=TODAY) is None
    for other in "0123456789X":
        if other != good[-1]:
            assert "校验位" in (id_number_problem(first17 + other, today=TODAY) or "")


@given(_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_one_mistyped_digit_is_always_caught(first17, where, delta):
    good = first17 + check_char(first17)
    wrong = good[:where] + str((int(good[where]) + delta) % 10) + good[where + 1 :]
    assert id_number_problem(wrong, today=TODAY) is not None


@given(_numbers())
def test_masked_id_shows_the_first_3_and_last_4(first17):
    good = first17 + check_char(first17)
    masked = mask_id_number(good)
    assert masked == good[:3] + "*" * 11 + good[-4:]


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_masked_phone_shows_the_first_3_and_last_4(phone):
    assert mask_phone(phone) == phone[:3] + "****" + phone[-4:]
    assert phone not in mask_personal(f"联系人张三，电话{phone}。")


def test_masks_of_examples_and_blanks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("371422199001011234") == "371***********1234"
    assert mask_phone("") == mask_phone(None) == ""
    assert mask_phone("12345") == "*****"


@pytest.mark.parametrize("cell", [371422199001011234, 3.71422199001011e17, 1.0, True])
def test_an_id_number_in_a_number_cell_is_refused(cell):
    with pytest.raises(ValueError, match="以文本格式填写"):
        read_id_number_cell(cell, today=TODAY)


def test_an_id_number_cell_as_text():
    assert read_id_number_cell(" 11010519491231002x ", today=TODAY) == "11010519491231002X"
    assert read_id_number_cell("371422199001011234", today=TODAY) == "371422199001011234"
    with pytest.raises(ValueError, match="以文本格式填写"):
        read_id_number_cell("3.71422E+17", today=TODAY)
    with pytest.raises(ValueError) as refused:
        read_id_number_cell("371422199001011235", today=TODAY)
    assert "校验位" in str(refused.value)
    assert ID_AS_NUMBER == "身份证号必须以文本格式填写（数字格式会丢失末位或变成科学计数法）"


def _report(settings, data: dict[str, str]) -> str:
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "qiangcun.core.pii.PersonalInfoReporterFilter"
    request = RequestFactory().post("/people/new/", data)
    phone = data.get("phone", "")  # a local variable of the failing frame, as in a service
    try:
        raise ValueError("boom")
    except ValueError:
        exc_type, exc, tb = sys.exc_info()
    del phone
    reporter = ExceptionReporter(request, exc_type, exc, tb)
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def test_error_reports_carry_no_posted_phone_or_id_number(settings):
    text = _report(
        settings,
        {
            "phone": "13812345678",
            "id_number": "371422199001011234",
            "summary": "联系 13987654321，身份证 11010519491231002X",
            "display_name": "张三",
        },
    )
    for secret in ("13812345678", "371422199001011234", "13987654321", "11010519491231002X"):
        assert secret not in text
    assert "139****4321" in text and "110***********002X" in text
    assert "张三" in text  # the rest of the report is still there


def test_the_project_uses_the_filter():
    from django.conf import settings

    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER.endswith("PersonalInfoReporterFilter")
    assert issubclass(PersonalInfoReporterFilter, object)
