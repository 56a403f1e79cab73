"""Forms of the targets page: the year's settings and the grid of village targets (a formset)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from qiangcun.ledger.forms import AmountField


class CampaignForm(forms.Form):
    """A township's year: the baseline, the top tier, how many villages should reach it, the margin."""

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


class TargetForm(forms.Form):
    """One village's target in the grid; ``village`` is the village's id, fixed by the page."""

    village = forms.IntegerField(widget=forms.HiddenInput)
    amount = AmountField(label="目标（元）")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.pop("placeholder", None)
        self.fields["amount"].widget.attrs["class"] = "num"


TargetFormSet = forms.formset_factory(TargetForm, extra=0, max_num=5000, validate_max=True)
