"""Forms that parse what a clerk types; the services decide what is allowed."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models
from django.urls import reverse_lazy

from qiangcun.core.cells import CellError, parse_amount_cell
from qiangcun.core.text import validate_text
from qiangcun.ledger.models import Category, DevelopmentPath, Entry


class AmountField(forms.CharField):
    """An amount in 元, read exactly by the importer's own reader (``core.cells.parse_amount_cell``):
    ``12000``, ``１２０００``, ``1.2万``, ``壹万贰仟元``, ``￥2,400``, ``6,800.00元``. As it is typed, the
    server echoes it in capital numerals and in 万元 (``amount_echo``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "inputmode": "decimal",
                    "autocomplete": "off",
                    "placeholder": "例如 12000.00、1.2万 或 壹万贰仟元",
                    "hx-get": reverse_lazy("amount_echo"),
                    "hx-trigger": "input changed delay:250ms",
                    "hx-target": "#amount-echo",
                    "hx-sync": "this:replace",
                }
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_amount_cell(text)
        except CellError as exc:
            raise forms.ValidationError(str(exc)) from exc


def new_token() -> str:
    """A fresh one-time token for an entry form."""
    return secrets.token_urlsafe(16)


def _max_length(field: str) -> int:
    """The column's limit, so that form and database never disagree."""
    column = Entry._meta.get_field(field)
    assert isinstance(column, models.CharField) and column.max_length is not None
    return column.max_length


class LimitedTextField(forms.CharField):
    """A text field whose limit is stated next to it ("最多 200 字") and enforced by the server.

    No HTML ``maxlength``: a browser would silently cut a pasted text at the limit, and the clerk would
    not see what was lost. The page counts characters as they are typed (``data-limit``) and the form
    refuses a text that is too long, naming the field and the limit."""

    def __init__(self, *, label: str, max_length: int, **kwargs: Any) -> None:
        messages = kwargs.pop("error_messages", {})
        messages.setdefault(
            "max_length",
            f"{label}最多 %(limit_value)d 字，现在是 %(show_value)d 字，请删减后再保存",
        )
        kwargs.setdefault("help_text", f"最多 {max_length} 字")
        super().__init__(label=label, max_length=max_length, error_messages=messages, **kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        attrs["data-limit"] = str(self.max_length)
        return attrs


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf", "capture": "environment"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class EntryForm(forms.Form):
    date = forms.DateField(
        label="收入日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写收入日期", "invalid": "日期格式应为 2020-04-17"},
    )
    amount = AmountField(label="金额（元）", error_messages={"required": "请填写金额"})
    category = forms.ModelChoiceField(
        label="收入类别",
        queryset=Category.objects.all(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": "请选择收入类别", "invalid_choice": "收入类别无效"},
    )
    path = forms.ModelChoiceField(
        label="增收路子",
        queryset=DevelopmentPath.objects.all(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": "请选择增收路子", "invalid_choice": "增收路子无效"},
    )
    summary = LimitedTextField(
        label="摘要",
        max_length=_max_length("summary"),
        widget=forms.TextInput(attrs={"placeholder": "例如：3月集体土地流转承包费"}),
        error_messages={"required": "请填写摘要"},
        validators=[validate_text],
    )
    counterparty = LimitedTextField(
        label="付款单位", max_length=_max_length("counterparty"), required=False, validators=[validate_text]
    )
    evidence = MultipleFileField(label="凭证（收据、合同或照片）", required=False)
    #: One-time token: a second POST of the same form (a double tap) does not make a second row.
    once = forms.CharField(widget=forms.HiddenInput, max_length=128, required=False)
    confirm_duplicate = forms.BooleanField(label="是的，仍要保存", required=False)
    #: The row's version when the edit form was loaded (an edit of a row changed since is refused).
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**31 - 1)


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label="退回原因",
        max_length=200,
        error_messages={"required": "退回必须填写原因"},
        validators=[validate_text],
    )


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label="冲销原因",
        max_length=200,
        error_messages={"required": "冲销必须填写原因"},
        validators=[validate_text],
    )
