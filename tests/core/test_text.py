"""The one rule for free text: control characters and lone surrogates are refused, with the place."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from qiangcun.core.text import CleanStr, clean_text, text_problem, validate_text


@pytest.mark.parametrize(
    "ch", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f", "\ud800", "\udfff"]
)
def test_control_characters_and_lone_surrogates_are_refused(ch):
    problem = text_problem(f"三月{ch}承包费")
    assert problem is not None and problem.startswith("第 3 个字是") and f"U+{ord(ch):04X}" in problem
    with pytest.raises(ValueError, match=r"^摘要：第 3 个字是"):
        clean_text(f"三月{ch}承包费", label="摘要")
    with pytest.raises(ValidationError):
        validate_text(f"三月{ch}承包费")


@pytest.mark.parametrize(
    "text", ["", "三月土地流转承包费", "第一行\n第二行", "甲\t乙", "😀 ＡＢＣ１２ \u3000", "\ufffd"]
)
def test_ordinary_text_passes_unchanged(text):
    assert text_problem(text) is None
    assert clean_text(text) == text
    validate_text(text)


def test_the_pydantic_type_refuses_with_the_same_reason():
    class Body(BaseModel):
        summary: CleanStr

    assert Body(summary="承包费").summary == "承包费"
    with pytest.raises(PydanticError) as caught:
        Body(summary="承包\ud800费")
    error = caught.value.errors()[0]
    assert error["loc"] == ("summary",) and "残缺的 Unicode 代理字符" in str(error["ctx"]["error"])
