"""Free text as people type it: one rule for every entry point (forms, the API, imports).

Control characters (U+0000–U+001F except tab and newline, and U+007F) and lone surrogates are refused
with a Chinese reason: nobody types them on purpose, an .xlsx cannot hold them, PostgreSQL refuses
NUL, and a lone surrogate cannot even be stored. ``\\r`` is refused too (a browser's ``\\r\\n`` in a
text box is folded to ``\\n`` by Django before it gets here).

- :func:`text_problem` / :func:`clean_text` — the rule itself;
- :func:`validate_text` — a Django validator (``validators=[validate_text]`` on a form field);
- :data:`CleanStr` — the same for pydantic / ninja schemas."""

from __future__ import annotations

import re
from typing import Annotated

from django.core.exceptions import ValidationError
from pydantic import AfterValidator

#: Characters no entry point accepts: C0 controls but tab and newline, DEL, lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def text_problem(text: object) -> str | None:
    """Why ``text`` cannot be accepted (a Chinese reason), or ``None`` when it is fine (or not text)."""
    if not isinstance(text, str):
        return None
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    ch = found.group()
    kind = "无法识别的字符（残缺的 Unicode 代理字符）" if 0xD800 <= ord(ch) <= 0xDFFF else "不可见的控制字符"
    return (
        f"第 {found.start() + 1} 个字是{kind} U+{ord(ch):04X}，请删去后重新输入（常见于从其他软件复制粘贴）"
    )


def clean_text(text: str, *, label: str = "") -> str:
    """``text`` unchanged if it holds no forbidden character; otherwise :class:`ValueError` with the
    Chinese reason, prefixed with ``label`` (the field's name) when given."""
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(f"{label}：{problem}" if label else problem)
    return text


def validate_text(value: object) -> None:
    """Django validator: the field's error names the field already, so the reason is enough."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(problem, code="control_character")


#: A str field of a ninja / pydantic schema that refuses control characters and lone surrogates.
CleanStr = Annotated[str, AfterValidator(clean_text)]
