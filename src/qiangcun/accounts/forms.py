"""Forms of the account pages: they parse what an admin types; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms

from qiangcun.accounts.models import Role
from qiangcun.core.text import validate_text
from qiangcun.orgs.models import Level, OrgUnit

INDENT = "\u3000"


def unit_choices(units: Iterable[OrgUnit]) -> list[tuple[str, str]]:
    """Units in tree order as a select shows them: indented by depth, with their level."""
    units = list(units)
    top = min((u.depth for u in units), default=0)
    return [(u.code, f"{INDENT * (u.depth - top)}{u.name}（{Level(u.level).label}）") for u in units]


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="原密码（一次性密码）",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="新密码",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="再输一遍新密码",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        one, two = data.get("new_password1"), data.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", "两次输入的新密码不一样")
        return data


class PersonForm(forms.Form):
    display_name = forms.CharField(label="姓名", max_length=64, validators=[validate_text])
    phone = forms.CharField(
        label="手机",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    username = forms.CharField(
        label="账号（登录用，建议用姓名拼音）",
        max_length=32,
        validators=[validate_text],
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )
    unit = forms.ChoiceField(label="所属单位")

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = unit_choices(units)


class PersonEditForm(PersonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["username"]


class GrantForm(forms.Form):
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    unit = forms.ChoiceField(label="单位")

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = unit_choices(units)
