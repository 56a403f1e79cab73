"""Exact money: parsing what people type, capital numerals, fen in the database, exact sums."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiangcun.core.money import (
    MAX_YUAN,
    AmountError,
    MoneyField,
    fmt_wan,
    fmt_yuan,
    from_fen,
    in_words,
    parse_amount,
    to_fen,
    yuan_str,
)
from qiangcun.ledger import rollup
from qiangcun.ledger.models import Entry, Status
from qiangcun.targets.models import VillageTarget
from qiangcun.targets.selectors import progress

pytestmark = pytest.mark.usefixtures("fast_hashing")

HAN = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12000", Decimal("12000.00")),
        ("12,000.50", Decimal("12000.50")),
        ("-30.5", Decimal("-30.50")),
        ("1,234,567.89", Decimal("1234567.89")),
        ("  88.8 ", Decimal("88.80")),
        ("0.01", Decimal("0.01")),
        (Decimal("12.5"), Decimal("12.50")),
        (Decimal("7"), Decimal("7.00")),
        (12000, Decimal("12000.00")),
        (-3, Decimal("-3.00")),
        ("1000000000.00", MAX_YUAN),
    ],
)
def test_parse_amount_accepts_plain_amounts(raw, expected):
    value = parse_amount(raw)
    assert isinstance(value, Decimal)
    assert value == expected
    # Always two places, so str() is what a receipt shows.
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "raw",
    [
        "1_000",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1e5",
        "1E5",
        "１２０００",  # full-width digits
        "12.345",
        "",
        "   ",
        "abc",
        "12,00",  # misplaced group separator
        "+5",
        ".5",
        "5.",
        "-",
        "1 000",
        "¥100",
        "1000000000.01",
        True,
        False,
        1.5,
        None,
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1.234"),
        Decimal("-0.001"),
        [12000],
    ],
)
def test_parse_amount_refuses_with_a_chinese_message(raw):
    with pytest.raises(AmountError) as info:
        parse_amount(raw)
    message = str(info.value)
    assert HAN.search(message), message
    # AmountError is a ValueError, so callers that catch ValueError see it too.
    assert isinstance(info.value, ValueError)


def test_parse_amount_names_the_reason():
    with pytest.raises(AmountError, match="两位小数"):
        parse_amount("12.345")
    with pytest.raises(AmountError, match="不能为空"):
        parse_amount("")
    with pytest.raises(AmountError, match="１２０００"):
        parse_amount("１２０００")
    with pytest.raises(AmountError, match="超出范围"):
        parse_amount("-1000000000.01")


@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_parse_amount_round_trips_formatted_fen(fen):
    """Whatever we print (plain or with thousands separators) we read back to the same fen."""
    yuan = from_fen(fen)
    assert to_fen(parse_amount(f"{yuan:f}")) == fen
    assert to_fen(parse_amount(f"{yuan:,.2f}")) == fen
    assert to_fen(parse_amount(yuan)) == fen


# ---------------------------------------------------------------- fen conversions and formatting


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_fen_round_trip(fen):
    yuan = from_fen(fen)
    assert yuan.as_tuple().exponent == -2
    assert to_fen(yuan) == fen
    assert yuan * 100 == fen


@pytest.mark.parametrize("bad", [Decimal("0.001"), Decimal("12.345"), Decimal("NaN"), Decimal("-Infinity")])
def test_to_fen_refuses_what_is_not_whole_fen(bad):
    with pytest.raises(AmountError):
        to_fen(bad)


def test_formatting():
    assert fmt_yuan(Decimal("1234567.891")) == "1,234,567.89"
    assert fmt_yuan(Decimal("0.005")) == "0.01"  # half up, not banker's
    assert fmt_yuan(None) == "0.00"
    assert fmt_wan(Decimal("12000")) == "1.20万"
    assert fmt_wan(Decimal("220000.00")) == "22.00万"
    assert fmt_wan(Decimal("6700000")) == "670.00万"
    assert fmt_wan(Decimal("-5000")) == "-0.50万"
    assert fmt_wan(Decimal("125")) == "0.01万"  # 0.0125 → 0.01
    assert fmt_wan(Decimal("150")) == "0.02万"  # 0.015 → 0.02 (half up)
    assert yuan_str(Decimal("3")) == "3.00"
    assert yuan_str(None) == "0.00"
    assert yuan_str(Decimal("-12.345")) == "-12.35"


# ---------------------------------------------------------------- capital numerals


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("12000", "壹万贰仟元整"),
        ("100010000", "壹亿零壹万元整"),
        ("12.05", "壹拾贰元零伍分"),
        ("0", "零元整"),
        ("-30", "负叁拾元整"),
        ("10", "壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("100000", "壹拾万元整"),
        ("100000000", "壹亿元整"),
        ("220000.00", "贰拾贰万元整"),
        ("1000000.01", "壹佰万元零壹分"),
        ("12345678.9", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角"),
        ("0.5", "伍角"),
        ("0.05", "伍分"),
        ("1.50", "壹元伍角"),
        ("-0.01", "负壹分"),
    ],
)
def test_in_words(value, words):
    assert in_words(Decimal(value)) == words


_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def _words_to_fen(words: str) -> int:
    """An independent reader of capital numerals, to check ``in_words`` by round trip."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    yuan_part, _, small = words.rpartition("元") if "元" in words else ("", "", words)
    total = section = digit = 0
    for ch in yuan_part:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch in _UNIT:
            assert digit, f"unit {ch} without a digit in {words}"
            section += digit * _UNIT[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
        else:
            raise AssertionError(f"unexpected {ch!r} in {words}")
    total += section + digit
    fen = total * 100
    m = re.fullmatch(r"零?(?:([壹贰叁肆伍陆柒捌玖])角)?(?:([壹贰叁肆伍陆柒捌玖])分)?", small)
    assert m, f"bad jiao/fen part {small!r} in {words}"
    fen += 10 * _DIGIT.get(m.group(1) or "零") + _DIGIT.get(m.group(2) or "零")
    return sign * fen


@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_in_words_reads_back_to_the_same_amount(fen):
    words = in_words(from_fen(fen))
    assert _words_to_fen(words) == fen
    assert "零零" not in words
    assert not words.startswith("零") or fen == 0
    assert words.endswith("整") == (fen % 100 == 0)


# ---------------------------------------------------------------- MoneyField in the database


def test_money_field_stores_integer_fen(tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="12345.67")
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount FROM ledger_entry WHERE id = %s", [entry.pk])
        (raw,) = cursor.fetchone()
    assert isinstance(raw, int) and not isinstance(raw, bool)
    assert raw == 1234567
    fresh = Entry.objects.get(pk=entry.pk)
    assert fresh.amount == Decimal("12345.67")
    assert isinstance(fresh.amount, Decimal)
    assert str(fresh.amount) == "12345.67"


def test_money_field_round_trip_on_targets(tree):
    target = VillageTarget.objects.get(campaign=tree.campaign, village=tree.sunzhuang)
    assert target.amount == Decimal("100000.00")
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount FROM targets_villagetarget WHERE id = %s", [target.pk])
        assert cursor.fetchone()[0] == 10_000_000
    target.amount = Decimal("123456.78")
    target.save()
    assert VillageTarget.objects.get(pk=target.pk).amount == Decimal("123456.78")
    # Lookups take yuan too.
    assert VillageTarget.objects.filter(pk=target.pk, amount=Decimal("123456.78")).exists()
    assert VillageTarget.objects.filter(pk=target.pk, amount__gt=Decimal("123456.77")).exists()
    assert not VillageTarget.objects.filter(pk=target.pk, amount__gt=Decimal("123456.78")).exists()


def test_money_field_prep_refuses_ambiguous_values():
    field = MoneyField()
    assert field.get_prep_value(Decimal("1.50")) == 150
    assert field.get_prep_value("1,000.5") == 100050
    assert field.get_prep_value(None) is None
    with pytest.raises(TypeError):
        field.get_prep_value(100)  # yuan or fen? refused
    with pytest.raises(TypeError):
        field.get_prep_value(1.5)
    with pytest.raises(AmountError):
        field.get_prep_value(Decimal("1.005"))
    assert field.to_python("12,000.50") == Decimal("12000.50")
    assert field.to_python(None) is None
    with pytest.raises(ValidationError):
        field.to_python("1e5")


def test_money_field_sum_is_exact_decimal(tree, make_entry):
    for amount in ("0.10", "0.20", "4028269.39", "0.01"):
        make_entry(tree.sunzhuang, amount=amount, status="verified")
    total = Entry.objects.aggregate(total=Sum("amount"))["total"]
    assert isinstance(total, Decimal)
    assert total == Decimal("4028269.70")
    assert str(total) == "4028269.70"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),  # village
            st.integers(min_value=-(10**10), max_value=10**11).filter(bool),  # fen, never 0
            st.integers(min_value=0, max_value=364),  # day of 2020
        ),
        min_size=1,
        max_size=40,
    )
)
def test_sums_of_many_amounts_are_exact_to_the_fen(tree, personas, category, path, rows):
    admin = personas["township_admin"]
    clerk = personas["village_clerk"]
    villages = tree.villages
    now = timezone.now()
    with transaction.atomic():
        Entry.objects.bulk_create(
            Entry(
                village=villages[v],
                date=datetime.date(2020, 1, 1) + datetime.timedelta(days=day),
                amount=from_fen(fen),
                category=category,
                path=path,
                summary="随机金额",
                status=Status.VERIFIED,
                entered_by=clerk,
                submitted_at=now,
                reviewed_by=admin,
                reviewed_at=now,
            )
            for v, fen, day in rows
        )
        rollup.rebuild()  # bulk_create went around the services that keep the roll-up
        expected_total = sum((Decimal(fen) / 100 for _v, fen, _d in rows), Decimal(0))
        assert Entry.objects.aggregate(total=Sum("amount"))["total"] == expected_total

        p = progress(user=admin, unit=tree.township, year=2020, as_of=datetime.date(2020, 12, 31))
        assert p.totals.income == expected_total
        by_code = {r.code: r.income for r in p.villages}
        for index, village in enumerate(villages):
            expected = sum((Decimal(fen) / 100 for v, fen, _d in rows if v == index), Decimal(0))
            assert by_code[village.code] == expected
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("fraction", "printed"),
    [("0.25249", "25.2%"), ("0.2525", "25.3%"), ("-0.0001", "0.0%"), ("-0.00049", "0.0%"), ("1", "100.0%")],
)
def test_template_percentages_round_once_like_pct1(fraction, printed):
    """One percentage rounding: the template filters print what pct1 computes (no "-0.0%")."""
    from qiangcun.core.money import pct1
    from qiangcun.core.templatetags.qc import pct, points

    assert pct(Decimal(fraction)) == printed == f"{pct1(Decimal(fraction))}%"
    assert points(Decimal(fraction)) == f"{pct1(Decimal(fraction)):+f}"
