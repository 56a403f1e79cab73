"""Forms of the targets page: the year's settings and the grid of village targets (a formset)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from qiangcun.ledger.forms import AmountField
from qiangcun.ledger.models import Category

#: The settings that lock once the year's first ledger row is verified.
LOCKED_FIELDS = ("baseline", "top_tier", "categories")


class CategoriesField(forms.ModelMultipleChoiceField):
    """Ticked categories by id. A value that is no id (text, NUL, more digits than an id holds) is a
    Chinese error before any query — SQLite raises OverflowError on a 20-digit integer."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else []:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value")
        return super().clean(value)


class CampaignForm(forms.Form):
    """A township's year: the baseline, the top tier, how many villages should reach it, the margin and
    which income categories count. ``locked`` leaves out the settings that may no longer change."""

    baseline = AmountField(label="基础线（元）")
    top_tier = AmountField(label="强村线（元）")
    goal = forms.IntegerField(
        label="强村目标个数",
        min_value=0,
        max_value=10000,
        error_messages={"invalid": "请填写整数", "min_value": "不能为负数", "max_value": "数目过大"},
    )
    band_margin = forms.DecimalField(
        label="黄牌容差（百分点）",
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("99.99"),
        max_digits=4,
        decimal_places=2,
        error_messages={
            "invalid": "请填写 0 至 99.99 之间的数",
            "max_digits": "请填写 0 至 99.99 之间的数",
            "max_decimal_places": "最多两位小数",
            "max_value": "请填写 0 至 99.99 之间的数",
            "min_value": "请填写 0 至 99.99 之间的数",
        },
    )
    categories = CategoriesField(
        label="计入目标的类别",
        queryset=Category.objects.order_by("order", "id"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "至少选择一个计入目标的收入类别",
            "invalid_choice": "没有这个收入类别，请刷新页面后重选",
            "invalid_pk_value": "没有这个收入类别，请刷新页面后重选",
            "invalid_list": "请从列出的收入类别中选择",
        },
    )

    def __init__(self, *args: Any, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("baseline", "top_tier"):  # no amount echo on this page
            attrs = self.fields[name].widget.attrs
            for key in [k for k in attrs if k.startswith("hx-") or k == "placeholder"]:
                del attrs[key]
        if locked:
            for name in LOCKED_FIELDS:
                del self.fields[name]


class TargetForm(forms.Form):
    """One village's target in the grid; ``village`` is the village's id, fixed by the page."""

    village = forms.IntegerField(widget=forms.HiddenInput)
    amount = AmountField(label="目标（元）")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.pop("placeholder", None)
        self.fields["amount"].widget.attrs["class"] = "num"


TargetFormSet = forms.formset_factory(TargetForm, extra=0, max_num=5000, validate_max=True)
