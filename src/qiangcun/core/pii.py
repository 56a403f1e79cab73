"""Personal information (《个人信息保护法》): phone and ID numbers, masked wherever a role need not see them.

- :func:`mask_phone` — ``13812345678`` → ``138****5678``;
- :func:`id_number_problem` / :func:`check_id_number` — a 居民身份证号码 by GB 11643-1999: 18 characters,
  a six-digit region code, a real birth date, a sequence, and the ISO 7064 MOD 11-2 check character;
  15-digit numbers (the first generation cards) are refused with a clear message;
- :func:`mask_id_number` — ``371422199001011234`` → ``371***********1234``;
- :func:`read_id_number_cell` — an ID number from a workbook cell: must arrive as text (a number cell
  has lost its last digit or its ``X``, or turned into ``3.71422E+17``);
- :class:`PersonalInfoReporterFilter` — Django's error reports (the debug page, mails to admins) with
  POST fields and traceback variables named like a phone or ID number masked, and any phone or ID
  number found in other POST values masked too."""

from __future__ import annotations

import datetime
import re
from pprint import pformat
from typing import Any

from django.http import HttpRequest, QueryDict
from django.views.debug import SafeExceptionReporterFilter

#: Weights of the first 17 characters (GB 11643-1999, ISO 7064 MOD 11-2): 2^(17-i) mod 11.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: The check character for each remainder mod 11.
CHECK_CHARS = "10X98765432"

#: Province-level codes of GB/T 2260 (the first two digits of the region code); 81/82/83 are the codes of
#: residence permits of Hong Kong, Macao and Taiwan residents, which follow the same rule.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)

ID_AS_NUMBER = "身份证号必须以文本格式填写（数字格式会丢失末位或变成科学计数法）"

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_phone(phone: str | None) -> str:
    """``138****5678``: the first 3 and last 4 digits of a mobile number; "" stays ""."""
    text = (phone or "").strip()
    if not text:
        return ""
    if len(text) <= 7:
        return "*" * len(text)
    return f"{text[:3]}{'*' * (len(text) - 7)}{text[-4:]}"


def mask_id_number(number: str | None) -> str:
    """``371***********1234``: the first 3 and last 4 characters of an ID number; "" stays ""."""
    text = (number or "").strip()
    if not text:
        return ""
    if len(text) <= 7:
        return "*" * len(text)
    return f"{text[:3]}{'*' * (len(text) - 7)}{text[-4:]}"


def mask_personal(text: str) -> str:
    """``text`` with every mobile number and 18-character ID number in it masked."""
    text = _ID.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


def check_char(first17: str) -> str:
    """The check character of the first 17 digits of an ID number."""
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def id_number_problem(number: str, *, today: datetime.date | None = None) -> str | None:
    """Why ``number`` is not a valid 18-character ID number (a Chinese reason), or ``None``. The reason
    never repeats the number (it may end up in a log)."""
    text = number.strip().upper() if isinstance(number, str) else ""
    if not text:
        return "请填写身份证号"
    if len(text) == 15 and text.isascii() and text.isdigit():
        return "这是 15 位的旧身份证号，请填写 18 位的居民身份证号（第二代身份证上的号码）"
    if len(text) != 18:
        return f"身份证号应为 18 位，现在是 {len(text)} 位"
    if not (text[:17].isascii() and text[:17].isdigit()) or text[17] not in "0123456789X":
        return "身份证号前 17 位应为数字，最后一位为数字或 X"
    if text[:2] not in PROVINCES:
        return "身份证号前 6 位的地区代码有误（前两位不是省级行政区代码）"
    try:
        born = datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return "身份证号第 7—14 位的出生日期有误"
    if born.year < 1900 or born > (today or datetime.date.today()):
        return "身份证号第 7—14 位的出生日期有误"
    if check_char(text[:17]) != text[17]:
        return "身份证号的校验位（最后一位）不对，请核对是否抄错"
    return None


def check_id_number(number: str, *, today: datetime.date | None = None) -> str:
    """``number`` normalised (trimmed, a lower-case ``x`` made ``X``), or :class:`ValueError` with the reason."""
    problem = id_number_problem(number, today=today)
    if problem is not None:
        raise ValueError(problem)
    return number.strip().upper()


def read_id_number_cell(value: Any, *, today: datetime.date | None = None) -> str:
    """An ID number from a workbook cell (as python-calamine or openpyxl give it). A number cell is refused:
    Excel keeps 15 significant digits, so an 18-digit number has already lost its last digits (and an
    ``X`` cannot be a number at all). Raises :class:`ValueError` with the Chinese reason."""
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError(ID_AS_NUMBER)
    if value is None:
        raise ValueError("请填写身份证号")
    if not isinstance(value, str):
        raise ValueError("身份证号必须以文本格式填写")
    text = value.strip().replace(" ", "")
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):  # 3.71422E+17: a number that went through text
        raise ValueError(ID_AS_NUMBER)
    return check_id_number(text, today=today)


#: POST fields and traceback variables that hold personal information, by name.
PERSONAL_NAMES = re.compile(r"phone|mobile|tel|id_?number|id_?card|identity|身份证|手机|电话", re.IGNORECASE)


class PersonalInfoReporterFilter(SafeExceptionReporterFilter):
    """Django's own filter (passwords, keys, tokens, ``sensitive_post_parameters``) plus personal
    information: values of fields named like a phone or ID number are replaced, and any phone or ID
    number inside other POST values is masked."""

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is None or not isinstance(params, QueryDict) or not params:
            return params
        cleansed = params.copy()
        for key, values in params.lists():
            if values == [self.cleansed_substitute]:
                continue
            if PERSONAL_NAMES.search(key):
                cleansed.setlist(key, [self.cleansed_substitute])
            else:
                cleansed.setlist(key, [mask_personal(v) if isinstance(v, str) else v for v in values])
        return cleansed

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and PERSONAL_NAMES.search(key):
            return self.cleansed_substitute
        cleaned = super().cleanse_setting(key, value)
        return mask_personal(cleaned) if type(cleaned) is str else cleaned

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [
            (name, self.cleansed_substitute if PERSONAL_NAMES.search(name) else _MaskedRepr(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class _MaskedRepr:
    """A traceback variable shown with every phone and ID number in its text masked (a ``data`` dict of
    a form, a row of an import)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        try:
            text = pformat(self.value)
        except Exception:  # a broken __repr__ must not break the error report
            return "（无法显示）"
        return mask_personal(text)
