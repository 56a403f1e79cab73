"""Reading cell values as clerks write them: amounts, capital numerals, dates, category/path names.

Pure functions, no database. Every accepted form is checked for its exact value and every refused
form for a ``CellError`` whose Chinese message names the field; hypothesis round-trips check that
whatever the app or Excel writes reads back exactly.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl.utils.datetime import from_excel, to_excel

from qiangcun.core.cells import (
    CellError,
    is_blank,
    match_name,
    normalize_text,
    parse_amount_cell,
    parse_capital_numerals,
    parse_date_cell,
)
from qiangcun.core.money import MAX_YUAN, in_words
from qiangcun.ledger.defaults import CATEGORIES, PATHS
from qiangcun.ledger.importing.names import CATEGORY_SYNONYMS, PATH_SYNONYMS

CATEGORY_NAMES = [name for _line, name, _counts in CATEGORIES]
D = Decimal


def fullwidth(text: str) -> str:
    """ASCII → full-width forms (U+FF01–U+FF5E), as a Chinese IME types them."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# ------------------------------------------------------------------------- normalize_text, is_blank


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        (" 孙庄 ", "孙庄"),
        ("孙\u3000庄村", "孙庄村"),
        ("\u3000孙庄村\u3000", "孙庄村"),
        ("经营\n收入", "经营收入"),
        ("发包 及\t上交收入", "发包及上交收入"),
        ("\u200b租金\ufeff", "租金"),
        ("ＡＢＣ１２３", "ABC123"),
        ("Ａｂ", "Ab"),  # width folded, case kept
        ("（元）", "(元)"),
        ("a\xa0b", "ab"),
        (12, "12"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw", [None, "", " ", "\u3000", "\u3000 \t\n", "\u200b", "\ufeff ", "\xa0"])
def test_is_blank_true(raw):
    assert is_blank(raw) is True


@pytest.mark.parametrize(
    "raw", ["0", " x ", "孙庄", 0, 0.0, False, 12, datetime.date(2020, 1, 1), datetime.time(0, 0), "-"]
)
def test_is_blank_false(raw):
    assert is_blank(raw) is False


# ---------------------------------------------------------------------------- parse_amount_cell

AMOUNTS_ACCEPTED = [
    # numbers as calamine gives them
    (12000, False, "12000.00"),
    (12000.0, False, "12000.00"),
    (3500.5, False, "3500.50"),
    (0.01, False, "0.01"),
    (0.1, False, "0.10"),
    (1234.56, False, "1234.56"),
    (999999999.99, False, "999999999.99"),
    (D("12.5"), False, "12.50"),
    (1000000000, False, "1000000000.00"),
    # plain text
    ("12000", False, "12000.00"),
    (" 88.8 ", False, "88.80"),
    ("0.01", False, "0.01"),
    ("12000.5", False, "12000.50"),
    ("007", False, "7.00"),
    ("3,500.50", False, "3500.50"),
    ("1,234,567.89", False, "1234567.89"),
    ("1,000,000,000.00", False, "1000000000.00"),
    # full-width
    ("１２０００", False, "12000.00"),
    ("１２，０００．５０", False, "12000.50"),
    ("\u3000１２０００\u3000", False, "12000.00"),
    # currency signs and 元
    ("￥2,400", False, "2400.00"),
    ("¥2400", False, "2400.00"),
    ("￥ 2,400", False, "2400.00"),
    ("￥2,400.5元", False, "2400.50"),
    ("RMB100", False, "100.00"),
    ("人民币100元", False, "100.00"),
    ("6,800.00元", False, "6800.00"),
    ("6800元整", False, "6800.00"),
    ("6800 元", False, "6800.00"),
    ("6800圆", False, "6800.00"),
    # 万
    ("1.2万", False, "12000.00"),
    ("1.2 万", False, "12000.00"),
    ("0.35万元", False, "3500.00"),
    ("１.２万", False, "12000.00"),
    ("10万", False, "100000.00"),
    ("1,234.5万", False, "12345000.00"),
    ("1.234567万", False, "12345.67"),
    ("1.2300000万", False, "12300.00"),  # written zeros after 万 are still whole fen
    ("0.000001万", False, "0.01"),
    ("100000万", False, "1000000000.00"),
    # the column is in 万元
    ("1.2", True, "12000.00"),
    (1.2, True, "12000.00"),
    (0.35, True, "3500.00"),
    (3, True, "30000.00"),
    (D("0.5"), True, "5000.00"),
    ("1.234567", True, "12345.67"),
    ("1,234.5", True, "12345000.00"),
    ("１.２", True, "12000.00"),
    ("￥1.2", True, "12000.00"),
    ("1.2万", True, "12000.00"),  # ×10000 once, not twice
    ("0.35万元", True, "3500.00"),
    ("壹拾贰", True, "120000.00"),
    # capital numerals as on receipts
    ("壹万伍仟元", False, "15000.00"),
    ("叁仟贰佰元伍角", False, "3200.50"),
    ("壹佰元整", False, "100.00"),
    ("贰拾元零伍分", False, "20.05"),
    ("壹佰圆正", False, "100.00"),
    ("人民币壹万元整", False, "10000.00"),
    ("壹万零伍拾元伍角贰分", False, "10050.52"),
    ("壹拾亿元整", False, "1000000000.00"),
    ("拾元", False, "10.00"),
    ("伍角", False, "0.50"),
    (" 壹万 伍仟元 ", False, "15000.00"),
]


@pytest.mark.parametrize(("raw", "wan", "expected"), AMOUNTS_ACCEPTED)
def test_parse_amount_cell_accepts(raw, wan, expected):
    value = parse_amount_cell(raw, wan=wan)
    assert isinstance(value, Decimal)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2, "quantized to the fen"


AMOUNTS_REFUSED = [
    # more than two decimals of yuan (after 万)
    ("12.345", False, "两位小数"),
    ("1.000", False, "两位小数"),  # could be the European 1.000 = 1000; never guess
    ("0.001", False, "两位小数"),
    ("1.2345678万", False, "两位小数"),
    ("1.2345678", True, "两位小数"),
    ("0.0000001万元", False, "两位小数"),
    ("1." + "1" * 80 + "万", False, "两位小数"),
    (1234.567, False, "两位小数"),
    (0.001, False, "两位小数"),
    (1.2345678, True, "两位小数"),
    (D("1.005"), False, "两位小数"),
    # not finite
    ("NaN", False, "有限"),
    ("nan", False, "有限"),
    ("Infinity", False, "有限"),
    ("-Infinity", False, "有限"),
    ("inf", False, "有限"),
    ("ＮａＮ", False, "有限"),
    (float("nan"), False, "有限"),
    (float("inf"), False, "有限"),
    (float("-inf"), False, "有限"),
    (D("NaN"), False, "有限"),
    (D("Infinity"), False, "有限"),
    # exponents, underscores
    ("1e5", False, "科学计数法"),
    ("1E+3", False, "科学计数法"),
    ("1.5e3", False, "科学计数法"),
    ("2E-2", False, "科学计数法"),
    ("１ｅ５", False, "科学计数法"),
    ("1_000", False, "下划线"),
    ("1_000.50", False, "下划线"),
    # zero and negatives
    ("0", False, "金额必须大于 0"),
    ("0.00", False, "金额必须大于 0"),
    ("0万", False, "金额必须大于 0"),
    ("-5", False, "金额必须大于 0"),
    ("－５", False, "金额必须大于 0"),
    ("\u22125", False, "金额必须大于 0"),
    ("-¥5", False, "金额必须大于 0"),
    ("¥-5", False, "金额必须大于 0"),
    ("(100)", False, "金额必须大于 0"),
    ("-1.2万", False, "金额必须大于 0"),
    ("负壹佰元", False, "金额必须大于 0"),
    ("零元整", False, "金额必须大于 0"),
    (0, False, "金额必须大于 0"),
    (-3, False, "金额必须大于 0"),
    (0.0, False, "金额必须大于 0"),
    (-0.0, False, "金额必须大于 0"),
    (-0.5, False, "金额必须大于 0"),
    (D("-1"), False, "金额必须大于 0"),
    # too large
    ("1,000,000,000.01", False, "超出范围"),
    ("1000000001", False, "超出范围"),
    ("100000.01万", False, "超出范围"),
    ("100001", True, "超出范围"),
    ("壹拾亿零壹元", False, "超出范围"),
    ("9" * 60, False, "金额"),
    (10**10, False, "超出范围"),
    (10**40, False, "超出范围"),
    (1e12, False, "超出范围"),
    (1e300, False, "超出范围"),
    # not amounts at all
    (True, False, "金额"),
    (False, False, "金额"),
    (datetime.date(2020, 3, 18), False, "日期"),
    (datetime.datetime(2020, 3, 18, 10, 30), False, "日期"),
    (datetime.time(10, 30), False, "时间"),
    (datetime.timedelta(days=3), False, "金额"),
    (None, False, "不能为空"),
    ("", False, "不能为空"),
    ("   ", False, "不能为空"),
    ("\u3000", False, "不能为空"),
    ("\u200b", False, "不能为空"),
    (b"12", False, "金额"),
    ([12], False, "金额"),
    # mixed junk, lower-case numerals
    ("约五千", False, "阿拉伯数字或大写数字"),
    ("五千", False, "阿拉伯数字或大写数字"),
    ("一万元", False, "阿拉伯数字或大写数字"),
    ("1万5千", False, "阿拉伯数字或大写数字"),
    ("约5000", False, "金额"),
    ("5000左右", False, "金额"),
    ("约 5000 元", False, "金额"),
    ("待定", False, "金额"),
    ("-", False, "金额"),
    ("¥", False, "金额"),
    ("元", False, "金额"),
    ("万", False, "金额"),
    ("万元", False, "金额"),
    ("12.", False, "金额"),
    (".5", False, "金额"),
    ("1.2.3", False, "金额"),
    ("0x10", False, "金额"),
    ("+-5", False, "金额"),
    ("(100", False, "金额"),
    ("12000元元", False, "金额"),
    ("1.2亿", False, "金额"),
    ("#DIV/0!", False, "金额"),
    ("①②", False, "金额"),  # NFKC would make this "12"
    ("1²000", False, "金额"),  # and this "12000"
    ("１２０００ｘ", False, "金额"),
    # malformed thousands separators
    ("12,00", False, "千位分隔符"),
    ("1,2345", False, "千位分隔符"),
    ("3.500,50", False, "千位分隔符"),
    ("1,23", False, "千位分隔符"),
    ("12,000,00", False, "千位分隔符"),
    ("1,000.000,5", False, "千位分隔符"),
    ("1,,000", False, "千位分隔符"),
    ("1,000,", False, "千位分隔符"),
    (",100", False, "千位分隔符"),
    # two numbers
    ("1200 300", False, "多个数字"),
    ("12 000", False, "多个数字"),
    ("1200元300元", False, "多个数字"),
    ("1200/300", False, "多个数字"),
    ("1200、300", False, "多个数字"),
    ("1200+300", False, "多个数字"),
    # a 万元 column with an explicit 元 in the cell: contradictory, not guessed
    ("6,800.00元", True, "万元"),
    ("6800圆", True, "万元"),
    ("壹万伍仟元", True, "万元"),
    ("伍角", True, "万元"),
    # capital numerals written wrongly or ambiguously
    ("壹万零伍仟元", False, "大写金额"),
    ("壹仟零贰佰元", False, "大写金额"),
    ("壹佰伍", False, "歧义"),
    ("壹万伍", False, "歧义"),
    ("壹元零伍角", False, "大写金额"),
    ("伍角零伍分", False, "大写金额"),
    ("壹万元零", False, "大写金额"),
    ("元整", False, "金额"),
]


@pytest.mark.parametrize(("raw", "wan", "fragment"), AMOUNTS_REFUSED)
def test_parse_amount_cell_refuses(raw, wan, fragment):
    with pytest.raises(CellError) as info:
        parse_amount_cell(raw, wan=wan)
    message = str(info.value)
    assert "金额" in message
    assert fragment in message


def test_cell_error_is_a_value_error():
    with pytest.raises(ValueError, match="金额"):
        parse_amount_cell("约五千")


def test_float_cells_are_read_by_their_repr_never_their_binary_expansion():
    # Decimal(0.1) would be 0.1000000000000000055511151231257827…: never whole fen.
    assert parse_amount_cell(0.1) == Decimal("0.10")
    assert parse_amount_cell(0.29) == Decimal("0.29")
    assert parse_amount_cell(1.15) == Decimal("1.15")
    assert parse_amount_cell(999999999.99) == Decimal("999999999.99")
    assert parse_amount_cell(0.0001, wan=True) == Decimal("1.00")


def test_float_binary_noise_from_a_formula_reads_as_excel_shows_it():
    # =0.1+0.2 is stored as 0.30000000000000004; Excel shows and compares it as 0.3.
    assert repr(0.1 + 0.2) == "0.30000000000000004"
    assert parse_amount_cell(0.1 + 0.2) == Decimal("0.30")
    assert parse_amount_cell(1.1 * 3) == Decimal("3.30")  # 3.3000000000000003
    assert parse_amount_cell(12345 * 0.35) == Decimal("4320.75")
    # A typed third decimal is not noise: still refused.
    with pytest.raises(CellError, match="两位小数"):
        parse_amount_cell(4320.751)
    with pytest.raises(CellError, match="两位小数"):
        parse_amount_cell(0.30000000000001)


def test_max_amount_is_ten_yi_yuan_inclusive():
    assert parse_amount_cell(str(MAX_YUAN)) == MAX_YUAN
    assert parse_amount_cell("10万", wan=True) == Decimal("100000.00")
    assert parse_amount_cell("100000", wan=True) == MAX_YUAN
    with pytest.raises(CellError, match="超出范围"):
        parse_amount_cell(str(MAX_YUAN + Decimal("0.01")))


def test_wan_suffix_multiplies_once_whatever_the_column_says():
    for wan in (False, True):
        assert parse_amount_cell("1.2万", wan=wan) == Decimal("12000.00")
        assert parse_amount_cell("0.35万元", wan=wan) == Decimal("3500.00")
    assert parse_amount_cell("1.2", wan=False) == Decimal("1.20")
    assert parse_amount_cell("1.2", wan=True) == Decimal("12000.00")


# ------------------------------------------------------------------------ parse_capital_numerals

CAPITALS_ACCEPTED = [
    ("壹万零伍拾元伍角贰分", "10050.52"),
    ("壹万伍仟元", "15000"),
    ("叁仟贰佰元伍角", "3200.50"),
    ("壹佰元整", "100"),
    ("壹佰元正", "100"),
    ("壹佰圆整", "100"),
    ("壹佰圓", "100"),
    ("贰拾元零伍分", "20.05"),
    ("贰拾元伍分", "20.05"),  # the 零 is customary but the unit 分 is explicit
    ("伍角", "0.50"),
    ("伍角整", "0.50"),
    ("伍分", "0.05"),
    ("伍角贰分", "0.52"),
    ("零元伍角", "0.50"),
    ("拾元", "10"),
    ("壹拾元整", "10"),
    ("拾伍万元", "150000"),
    ("壹拾伍万元", "150000"),
    ("玖仟玖佰玖拾玖元玖角玖分", "9999.99"),
    ("壹拾亿元整", "1000000000"),
    ("壹亿零壹万元整", "100010000"),
    ("壹亿壹万元", "100010000"),
    ("壹亿伍佰万元", "105000000"),
    ("壹仟万零壹佰元整", "10000100"),
    ("壹仟万壹佰元", "10000100"),
    ("壹万伍拾元", "10050"),
    ("壹佰零伍元", "105"),
    ("壹仟元零伍角", "1000.50"),
    ("壹仟陆佰捌拾元零叁角贰分", "1680.32"),  # 会计基础工作规范's own example
    ("壹仟陆佰捌拾元叁角贰分", "1680.32"),
    ("壹万伍仟", "15000"),
    ("人民币壹万元整", "10000"),
    ("负壹佰元整", "-100"),
    ("零元整", "0"),
    ("壹萬貳仟圓整", "12000"),
    ("陸佰參拾元", "630"),
    ("叄拾元", "30"),
    (" 壹万\u3000伍仟元 ", "15000"),
    ("玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元", "999999999999"),
]


@pytest.mark.parametrize(("text", "expected"), CAPITALS_ACCEPTED)
def test_parse_capital_numerals_accepts(text, expected):
    value = parse_capital_numerals(text)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2


CAPITALS_REFUSED = [
    "",
    "   ",
    "整",
    "元",
    "元整",
    "人民币",
    "负",
    "五千",
    "壹万五千元",
    "壹万伍仟元角",
    "12000",
    "壹2元",
    "壹万零伍仟元",  # 零 where no place is empty
    "壹仟零贰佰元",
    "壹拾零伍元",
    "零壹佰元",
    "壹佰零元",
    "壹佰零零伍元",
    "壹万元零",
    "壹元零伍角",  # 零 before 角 only when the units place is empty
    "伍角零伍分",
    "零伍分",
    "零角伍分",
    "壹佰伍",  # 150 or 105?
    "壹仟伍元",
    "壹万伍",
    "伍佰伍佰元",  # repeated unit
    "壹佰壹仟元",  # rising unit
    "伍伍元",
    "壹万万元",
    "壹亿亿元",
    "壹亿万元",
    "万元",
    "亿元",
    "佰元",
    "壹亿拾万元",  # a bare 拾 only at the very start
    "壹佰元元",
    "壹佰元整整",
    "壹佰元伍",
    "壹佰元伍角伍角",
    "壹佰伍角",  # 角 without 元 after an integer
    "伍分伍角",
    "壹佰元整伍角",
    "壹万亿元",
    "壹佰元负",
    "约壹佰元",
    "壹佰元左右",
]


@pytest.mark.parametrize("text", CAPITALS_REFUSED)
def test_parse_capital_numerals_refuses(text):
    with pytest.raises(CellError, match="金额"):
        parse_capital_numerals(text)


# ----------------------------------------------------------------------------- parse_date_cell

DATES_ACCEPTED = [
    (datetime.date(2020, 3, 18), "2020-03-18"),
    (datetime.datetime(2020, 3, 18, 23, 59), "2020-03-18"),
    ("2020.3.18", "2020-03-18"),
    ("2020/04/09", "2020-04-09"),
    ("2020-4-11", "2020-04-11"),
    ("2020年4月2日", "2020-04-02"),
    ("2020年03月31日", "2020-03-31"),
    ("2020年4月2号", "2020-04-02"),
    ("2020年4月2", "2020-04-02"),
    ("2020 年 4 月 2 日", "2020-04-02"),
    ("20200318", "2020-03-18"),
    ("２０２０.３.１８", "2020-03-18"),
    ("２０２０年３月１８日", "2020-03-18"),
    ("２０２０／０４／０９", "2020-04-09"),
    ("\u30002020-4-11\u3000", "2020-04-11"),
    ("2020-04-09 10:30", "2020-04-09"),
    ("2020-04-09 10:30:15", "2020-04-09"),
    ("2020-04-09 00:00:00", "2020-04-09"),
    ("2020-04-09T10:30:00", "2020-04-09"),
    ("2020-04-09 10:30:15.250", "2020-04-09"),
    ("2020/4/9 8:05", "2020-04-09"),
    ("2020.3.18 23:59", "2020-03-18"),
    ("2020年4月2日 10:30", "2020-04-02"),
    ("2020年4月2日10:30", "2020-04-02"),
    ("20200318 10:30", "2020-03-18"),
    ("2020-04-09 １０：３０", "2020-04-09"),
    ("2020-02-29", "2020-02-29"),
    # Excel serial numbers (1900 date system)
    (43831, "2020-01-01"),
    (43831.0, "2020-01-01"),
    (43831.5, "2020-01-01"),
    (43831.999999, "2020-01-01"),
    (43908, "2020-03-18"),
    (44927, "2023-01-01"),
    (61, "1900-03-01"),
    (59, "1900-02-28"),
    (1, "1900-01-01"),
    (2958465, "9999-12-31"),
    (2958465.5, "9999-12-31"),
    # 20200318 typed into a number cell
    (20200318, "2020-03-18"),
    (20200318.0, "2020-03-18"),
    (19000101, "1900-01-01"),
    (99991231, "9999-12-31"),
    ("1900-01-01", "1900-01-01"),
    ("9999.12.31", "9999-12-31"),
]


@pytest.mark.parametrize(("raw", "expected"), DATES_ACCEPTED)
def test_parse_date_cell_accepts(raw, expected):
    value = parse_date_cell(raw)
    assert type(value) is datetime.date
    assert value == datetime.date.fromisoformat(expected)


DATES_REFUSED = [
    ("2020.13.40", "不存在"),
    ("2020-02-30", "不存在"),
    ("2021-02-29", "不存在"),
    ("2020-00-10", "不存在"),
    ("2020-4-0", "不存在"),
    ("2020年13月1日", "不存在"),
    ("20201340", "不存在"),
    ("0000-01-01", "年份不合理"),
    ("1899-12-31", "年份不合理"),
    ("10000101", "年份不合理"),
    (10000101, "超出范围"),
    (18991231, "超出范围"),
    (20201340, "不存在"),
    ("20.3.18", "四位"),
    ("20-3-18", "四位"),
    ("20/03/18", "四位"),
    ("20年3月18日", "四位"),
    ("abc", "日期"),
    ("三月十八日", "日期"),
    ("二〇二〇年三月十八日", "日期"),
    ("2020年4月", "日期"),
    ("2020-4", "日期"),
    ("3/18/2020", "日期"),
    ("18.03.2020", "日期"),
    ("2020.3/18", "日期"),
    ("2020-04-0910:30", "日期"),
    ("2020-04-09 10", "日期"),
    ("2020-04-09 25:00", "时间"),
    ("2020-04-09 10:61", "时间"),
    ("2020-04-09 10:30 上午", "日期"),
    ("2020-04-09 extra", "日期"),
    ("202003181", "日期"),
    ("43908", "日期"),
    ("", "不能为空"),
    ("   ", "不能为空"),
    (None, "不能为空"),
    (True, "日期"),
    (False, "日期"),
    (datetime.time(10, 30), "日期"),
    (datetime.timedelta(days=3), "日期"),
    (0, "超出范围"),
    (-5, "超出范围"),
    (60, "1900-02-29"),
    (0.5, "超出范围"),
    (-1.5, "超出范围"),
    (2958466, "超出范围"),
    (10**9, "超出范围"),
    (20200318.5, "日期"),
    (float("nan"), "日期"),
    (float("inf"), "日期"),
    (Decimal("43908"), "日期"),
    (b"2020-01-01", "日期"),
]


@pytest.mark.parametrize(("raw", "fragment"), DATES_REFUSED)
def test_parse_date_cell_refuses(raw, fragment):
    with pytest.raises(CellError) as info:
        parse_date_cell(raw)
    message = str(info.value)
    assert "日期" in message
    assert fragment in message


@pytest.mark.parametrize(
    "raw", ["2020-01-01", "2020-12-31", datetime.date(2020, 6, 1), 43831, "2020年12月31日", 20200101]
)
def test_parse_date_cell_inside_the_campaign_year(raw):
    assert parse_date_cell(raw, year=2020).year == 2020


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2019-12-31", "日期 2019-12-31 不在 2020 年内"),
        ("2021.1.1", "日期 2021-01-01 不在 2020 年内"),
        (datetime.datetime(2021, 1, 1, 0, 0), "日期 2021-01-01 不在 2020 年内"),
        (43830, "日期 2019-12-31 不在 2020 年内"),
        (20190101, "日期 2019-01-01 不在 2020 年内"),
    ],
)
def test_parse_date_cell_outside_the_campaign_year(raw, message):
    with pytest.raises(CellError) as info:
        parse_date_cell(raw, year=2020)
    assert str(info.value) == message


def test_impossible_date_is_refused_before_the_year_check():
    with pytest.raises(CellError, match="不存在"):
        parse_date_cell("2020-02-30", year=2020)


# ------------------------------------------------------------------------ names and synonyms

REQUIRED_CATEGORY_SYNONYMS = {
    "经营收入": ["经营收入", "经营性收入", "经营"],
    "发包及上交收入": [
        "发包及上交收入",
        "发包收入",
        "承包费",
        "承包收入",
        "租赁收入",
        "租金",
        "租赁",
        "上交收入",
        "土地承包费",
    ],
    "投资收益": ["投资收益", "投资收入", "分红", "股金分红", "入股分红"],
    "补助收入": ["补助收入", "补助", "补贴", "上级补助", "财政补助"],
    "其他收入": ["其他收入", "其他", "其它", "其它收入"],
}
REQUIRED_PATH_SYNONYMS = {
    "土地流转": ["流转", "土地租赁"],
    "光伏发电": ["光伏", "光伏收益", "光伏电站"],
    "扶贫项目收益": ["扶贫项目", "扶贫收益", "扶贫"],
    "合作社": ["合作社分红", "领办合作社"],
    "有偿服务": ["农机服务", "服务", "社会化服务"],
    "招商引资": ["招商", "招商项目"],
    "边角经济": ["边角地", "坑塘", "边角"],
    "电商": ["网店", "电子商务", "直播带货"],
    "现代农业": ["种植", "养殖", "特色种植", "设施农业"],
    "其他": ["其它"],
}


@pytest.mark.parametrize(
    ("synonym", "canonical"),
    [(s, c) for c, synonyms in REQUIRED_CATEGORY_SYNONYMS.items() for s in synonyms],
)
def test_category_synonyms_required(synonym, canonical):
    assert CATEGORY_SYNONYMS[synonym] == canonical
    assert match_name(synonym, CATEGORY_NAMES, CATEGORY_SYNONYMS) == canonical


@pytest.mark.parametrize(
    ("synonym", "canonical"),
    [(s, c) for c, synonyms in REQUIRED_PATH_SYNONYMS.items() for s in synonyms],
)
def test_path_synonyms_required(synonym, canonical):
    assert PATH_SYNONYMS[synonym] == canonical
    assert match_name(synonym, PATHS, PATH_SYNONYMS) == canonical


@pytest.mark.parametrize(("synonyms", "names"), [(CATEGORY_SYNONYMS, CATEGORY_NAMES), (PATH_SYNONYMS, PATHS)])
def test_synonym_tables_are_normalized_and_point_at_real_names(synonyms, names):
    assert set(synonyms.values()) == set(names), "every canonical name is reachable, no unknown targets"
    for synonym in synonyms:
        assert normalize_text(synonym) == synonym, synonym
    for name in names:
        assert synonyms[name] == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("经营收入", "经营收入"),
        (" 经营 收入 ", "经营收入"),
        ("经营\u3000收入", "经营收入"),
        ("租赁收入", "发包及上交收入"),
        ("\u3000承包费 ", "发包及上交收入"),
        ("分红", "投资收益"),
        ("其它", "其他收入"),
        ("不知道", None),
        ("收入", None),
        ("", None),
        ("   ", None),
        (None, None),
        (123, None),
    ],
)
def test_match_name_categories(text, expected):
    assert match_name(text, CATEGORY_NAMES, CATEGORY_SYNONYMS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("光伏", "光伏发电"),
        ("直播 带货", "电商"),
        ("其它", "其他"),
        ("其他", "其他"),
        ("土地流转", "土地流转"),
        ("租赁", None),  # a category synonym, not a path
        ("分红", None),
    ],
)
def test_match_name_paths(text, expected):
    assert match_name(text, PATHS, PATH_SYNONYMS) == expected


def test_match_name_is_width_and_case_insensitive_and_returns_the_name_as_spelled():
    names = ["E-Commerce 电商", "Solar"]
    synonyms = {"pv": "Solar", "ＷＥＢ": "E-Commerce 电商"}
    assert match_name("ｓｏｌａｒ", names, synonyms) == "Solar"
    assert match_name("SOLAR", names, synonyms) == "Solar"
    assert match_name("e-commerce电商", names, synonyms) == "E-Commerce 电商"
    assert match_name("ＰＶ", names, synonyms) == "Solar"
    assert match_name("web", names, synonyms) == "E-Commerce 电商"
    assert match_name("wind", names, synonyms) is None


def test_match_name_prefers_an_exact_name_over_a_synonym():
    # An installation that created a category literally named 租金 gets it, not 发包及上交收入.
    names = [*CATEGORY_NAMES, "租金"]
    assert match_name("租金", names, CATEGORY_SYNONYMS) == "租金"


def test_match_name_synonym_for_a_name_not_in_this_installation_is_unknown():
    assert match_name("分红", ["经营收入", "其他收入"], CATEGORY_SYNONYMS) is None


def test_match_name_accepts_a_one_shot_iterable():
    assert match_name("补贴", iter(CATEGORY_NAMES), CATEGORY_SYNONYMS) == "补助收入"


# ------------------------------------------------------------------- hypothesis: amounts round trip

FEN_AMOUNTS = st.integers(min_value=1, max_value=10**11).map(lambda fen: Decimal(fen) / 100)


@given(FEN_AMOUNTS)
@example(Decimal("0.01"))
@example(Decimal("1000000000.00"))
@example(Decimal("1234.56"))
def test_formatted_amounts_parse_back_exactly(amount):
    amount = amount.quantize(Decimal("0.01"))
    forms = [
        f"{amount:,.2f}",
        f"{amount:.2f}",
        f"{amount:f}",
        f"￥{amount:,.2f}",
        f"¥{amount:.2f}",
        f"{amount:,.2f}元",
        f"{amount:.2f}元",
        f"￥{amount:,.2f}元",
        fullwidth(f"{amount:,.2f}"),
        f"{(amount / 10000).normalize():f}万",
        f"{(amount / 10000).normalize():f}万元",
    ]
    for form in forms:
        assert parse_amount_cell(form) == amount, form
    assert parse_amount_cell(f"{(amount / 10000).normalize():f}", wan=True) == amount
    assert parse_amount_cell(float(amount)) == amount
    assert parse_amount_cell(float(amount / 10000), wan=True) == amount
    if amount == amount.to_integral_value():
        assert parse_amount_cell(int(amount)) == amount


@given(FEN_AMOUNTS)
@example(Decimal("10050.52"))
@example(Decimal("100010000"))
@example(Decimal("10000100"))
@example(Decimal("1000000000"))
@example(Decimal("0.05"))
def test_capital_numerals_from_in_words_parse_back_exactly(amount):
    words = in_words(amount)
    assert parse_capital_numerals(words) == amount
    assert parse_capital_numerals(in_words(-amount)) == -amount
    assert parse_amount_cell(words) == amount
    traditional = words.translate(str.maketrans("万亿贰叁陆元", "萬億貳參陸圓"))
    assert parse_capital_numerals(traditional) == amount


@given(FEN_AMOUNTS, st.data())
def test_zero_in_capital_numerals_never_changes_the_value(amount, data):
    """Adding or removing a 零 anywhere either keeps the value or is refused — never another amount."""
    words = in_words(amount)
    without = words.replace("零", "")
    at = data.draw(st.integers(min_value=0, max_value=len(words)))
    inserted = words[:at] + "零" + words[at:]
    for variant in (without, inserted):
        try:
            value = parse_capital_numerals(variant)
        except CellError:
            continue
        assert value == amount, variant


def test_zero_in_capital_numerals_can_be_refused():
    # The property above would pass vacuously if everything were refused; these are refused.
    assert parse_capital_numerals("壹佰零伍元") == Decimal("105")
    with pytest.raises(CellError):
        parse_capital_numerals("壹佰伍元")
    with pytest.raises(CellError):
        parse_capital_numerals("壹佰零伍拾元")


@given(st.text(max_size=30))
@example("1." + "0" * 40 + "1万")
@example("9" * 400)
@example("0." + "0" * 400)
def test_parse_amount_cell_on_any_text_returns_fen_or_cell_error(text):
    for wan in (False, True):
        try:
            value = parse_amount_cell(text, wan=wan)
        except CellError as exc:
            assert "金额" in str(exc)
            continue
        assert Decimal("0.01") <= value <= MAX_YUAN
        assert value == value.quantize(Decimal("0.01"))


@given(st.text(alphabet="零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整负", max_size=20))
def test_parse_capital_numerals_on_capital_alphabet_is_consistent(text):
    try:
        value = parse_capital_numerals(text)
    except CellError as exc:
        assert "金额" in str(exc)
        return
    # Whatever it accepts is a whole number of fen that the canonical form spells the same way.
    assert value == value.quantize(Decimal("0.01"))
    assert parse_capital_numerals(in_words(value)) == value


@given(st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_parse_amount_cell_on_any_float_returns_fen_or_cell_error(number, wan):
    try:
        value = parse_amount_cell(number, wan=wan)
    except CellError as exc:
        assert "金额" in str(exc)
        return
    assert Decimal("0.01") <= value <= MAX_YUAN
    # Within Excel's 15 significant digits of the float, scaled by the column's unit.
    scale = 10000 if wan else 1
    assert abs(float(value) - number * scale) <= abs(number * scale) * 1e-14


# --------------------------------------------------------------------- hypothesis: dates round trip

CAMPAIGN_DATES = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2100, 12, 31))


def date_strings(day: datetime.date) -> list[str]:
    y, m, d = day.year, day.month, day.day
    return [
        f"{y}.{m}.{d}",
        f"{y}.{m:02}.{d:02}",
        f"{y}/{m:02}/{d:02}",
        f"{y}/{m}/{d}",
        f"{y}-{m}-{d}",
        f"{y}-{m:02}-{d:02}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02}月{d:02}日",
        f"{y}{m:02}{d:02}",
        fullwidth(f"{y}-{m:02}-{d:02}"),
        fullwidth(f"{y}.{m}.{d}"),
        f"{y}年{m}月{d}日".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        f"{y}-{m:02}-{d:02} 10:30",
        f"{y}/{m}/{d} 23:59:59",
        f"{y}-{m:02}-{d:02}T08:00:00",
    ]


@given(CAMPAIGN_DATES)
@example(datetime.date(2020, 2, 29))
@example(datetime.date(2100, 12, 31))
def test_formatted_dates_parse_back(day):
    for text in date_strings(day):
        assert parse_date_cell(text) == day, text
        assert parse_date_cell(text, year=day.year) == day, text
    assert parse_date_cell(day) == day
    assert parse_date_cell(datetime.datetime.combine(day, datetime.time(13, 5))) == day
    assert parse_date_cell(int(f"{day:%Y%m%d}")) == day


@given(CAMPAIGN_DATES, st.floats(min_value=0, max_value=0.999999))
def test_excel_serials_parse_back(day, time_of_day):
    serial = to_excel(day)  # openpyxl's conversion, independent of ours
    assert serial == int(serial)
    assert parse_date_cell(int(serial)) == day
    assert parse_date_cell(float(serial)) == day
    assert parse_date_cell(float(serial) + time_of_day) == day
    assert parse_date_cell(int(serial), year=day.year) == day


@given(st.integers(min_value=1, max_value=2958465).filter(lambda n: n != 60))
def test_every_serial_agrees_with_openpyxl(serial):
    assert parse_date_cell(serial) == from_excel(serial).date()


@given(st.text(max_size=30))
@example("2020-02-30")
@example("9999-12-31 23:59:59")
def test_parse_date_cell_on_any_text_returns_date_or_cell_error(text):
    try:
        value = parse_date_cell(text)
    except CellError as exc:
        assert "日期" in str(exc)
        return
    assert type(value) is datetime.date


@given(st.one_of(st.floats(), st.integers()))
def test_parse_date_cell_on_any_number_returns_date_or_cell_error(number):
    try:
        value = parse_date_cell(number)
    except CellError as exc:
        assert "日期" in str(exc)
        return
    assert datetime.date(1900, 1, 1) <= value <= datetime.date(9999, 12, 31)


# ------------------------------------------------------------------ cells as python-calamine gives them


def test_cells_read_by_python_calamine(tmp_path):
    """The types and values calamine yields for a real .xlsx go through the parsers as intended."""
    openpyxl = pytest.importorskip("openpyxl")
    calamine = pytest.importorskip("python_calamine")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        [
            3500.5,
            12000,
            "￥2,400",
            "壹万伍仟元",
            datetime.date(2020, 3, 18),
            datetime.datetime(2020, 4, 9, 10, 30),
            43831,
            43831.5,
            "2020年4月2日",
        ]
    )
    path = tmp_path / "cells.xlsx"
    book.save(path)
    row = calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
    assert [parse_amount_cell(cell) for cell in row[:4]] == [
        Decimal("3500.50"),
        Decimal("12000.00"),
        Decimal("2400.00"),
        Decimal("15000.00"),
    ]
    assert [parse_date_cell(cell, year=2020) for cell in row[4:]] == [
        datetime.date(2020, 3, 18),
        datetime.date(2020, 4, 9),
        datetime.date(2020, 1, 1),
        datetime.date(2020, 1, 1),
        datetime.date(2020, 4, 2),
    ]
    with pytest.raises(CellError, match="日期"):
        parse_amount_cell(row[4])
