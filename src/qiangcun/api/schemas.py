"""Shapes shared by every router: money and fractions as strings, and the error bodies of api.py.

Money is a string with two decimals (元), a fraction a string with four decimals; the patterns are
checked on the way out too, so a float or ``1E+2`` never reaches a caller."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema

Money = Annotated[
    str,
    Field(
        pattern=r"^-?\d+\.\d{2}$",
        description="金额（元），两位小数的字符串，不是数字",
        examples=["12000.00"],
    ),
]
Fraction4 = Annotated[
    str,
    Field(
        pattern=r"^-?\d+\.\d{4}$",
        description="比例，四位小数的字符串（0.2951 即 29.51%）",
        examples=["0.2951"],
    ),
]


class ErrorOut(Schema):
    """401 未登录或令牌无效；403 无权限；404 记录不存在或不在管辖范围内。"""

    detail: str = Field(description="给人看的中文说明")


class FieldErrorOut(Schema):
    """400 某个值不被接受：field 指出是哪个字段（请求体不是 JSON 时没有 field）。"""

    detail: str = Field(description="给人看的中文说明")
    field: str | None = Field(None, description="出错的字段名；与某个字段无关时为 null 或没有")


class FieldReason(Schema):
    """一个字段的错误。"""

    field: str = Field(description="出错的字段名（多层时以点连接）")
    reason: str = Field(description="原因（中文）")


class ValidationErrorOut(Schema):
    """422 请求的格式不对（缺字段、金额写成了数字等），errors 逐个列出。"""

    detail: str = Field(description="所有错误连成的一句中文")
    errors: list[FieldReason]


class ConflictOut(Schema):
    """409 与已有的不一致：同一个 Idempotency-Key 换了内容，已有相同记录（duplicates 列出它们的编号），
    或记录在您读取之后已被他人改动（field 为 version）。"""

    detail: str = Field(description="给人看的中文说明")
    field: str | None = Field(None, description="与请求头有关时为 Idempotency-Key；版本不符时为 version")
    duplicates: list[int] | None = Field(None, description="已有的相同记录的编号")


#: The body of each error status as api.py's exception handlers write it.
ERROR_BODIES: dict[int, Any] = {
    400: FieldErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: ValidationErrorOut,
}


def replies(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """The ``response=`` of an operation: its success shapes and the error statuses it can answer."""
    return {**ok, **{status: ERROR_BODIES[status] for status in errors}}
