"""The security policy in force: what the security admin set in the app (:class:`SecurityPolicy`), and
for what they left empty, the server's settings (the environment's ``QIANGCUN_…``, see README).

Read where it applies — the password rules, the lockout (django-axes calls :func:`failure_limit` and
:func:`cool_off`), the session limits, the second factor — so a change is in force at the next request,
in every worker. One small query each time: the row is read, not cached."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest

from qiangcun.accounts.models import Role, SecurityPolicy

POLICY_PK = 1


@dataclass(frozen=True)
class Rule:
    """One number of the policy: its Chinese label, unit, the range the app accepts (the floors keep
    GB/T 22239's demands: a password of 8 and 3 classes, a lockout, a session that ends) and the setting
    that gives it when the app leaves it empty."""

    name: str
    label: str
    unit: str
    low: int
    high: int
    setting: str
    env: str
    help: str


RULES: tuple[Rule, ...] = (
    Rule(
        "password_min_length",
        "密码最短长度",
        "位",
        8,
        64,
        "PASSWORD_MIN_LENGTH",
        "QIANGCUN_PASSWORD_MIN_LENGTH",
        "",
    ),
    Rule(
        "password_min_classes",
        "密码至少含几类字符",
        "类",
        3,
        4,
        "PASSWORD_MIN_CLASSES",
        "QIANGCUN_PASSWORD_CLASSES",
        "大写字母、小写字母、数字、符号四类中",
    ),
    Rule(
        "password_history",
        "不得重复最近几次密码",
        "次",
        1,
        24,
        "PASSWORD_HISTORY",
        "QIANGCUN_PASSWORD_HISTORY",
        "",
    ),
    Rule(
        "password_max_age_days",
        "管理员密码有效天数",
        "天",
        1,
        365,
        "PASSWORD_MAX_AGE_DAYS",
        "QIANGCUN_PASSWORD_MAX_AGE_DAYS",
        "镇党建办和三员到期须改密码",
    ),
    Rule(
        "lockout_failures",
        "连续输错几次锁定",
        "次",
        3,
        10,
        "LOCKOUT_FAILURES",
        "QIANGCUN_LOCKOUT_FAILURES",
        "",
    ),
    Rule(
        "lockout_minutes",
        "锁定分钟数",
        "分钟",
        5,
        1440,
        "LOCKOUT_MINUTES",
        "QIANGCUN_LOCKOUT_MINUTES",
        "按账号和按来源地址分别锁定",
    ),
    Rule(
        "idle_minutes", "闲置几分钟退出", "分钟", 5, 120, "SESSION_IDLE_MINUTES", "QIANGCUN_IDLE_MINUTES", ""
    ),
    Rule(
        "session_hours",
        "登录最长小时数",
        "小时",
        1,
        24,
        "SESSION_HOURS",
        "QIANGCUN_SESSION_HOURS",
        "到时须重新登录",
    ),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}
#: The roles a second factor may be required of, in the order the page lists them.
OTP_ROLES: tuple[str, ...] = tuple(str(role) for role in Role.values)


@dataclass(frozen=True)
class Policy:
    password_min_length: int
    password_min_classes: int
    password_history: int
    password_max_age_days: int
    lockout_failures: int
    lockout_minutes: int
    idle_minutes: int
    session_hours: int
    otp_required_roles: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["otp_required_roles"] = list(self.otp_required_roles)
        return out


def from_settings() -> Policy:
    """The policy the server's settings give (what a field left empty in the app follows)."""
    values: dict[str, Any] = {rule.name: int(getattr(settings, rule.setting)) for rule in RULES}
    values["otp_required_roles"] = tuple(str(r) for r in settings.OTP_REQUIRED_ROLES)
    return Policy(**values)


def stored() -> SecurityPolicy | None:
    """The security admin's row; ``None`` when there is none — or no table yet (a server started before
    ``migrate``, a restore of an older backup before its migrations run): the settings then rule."""
    try:
        return SecurityPolicy.objects.filter(pk=POLICY_PK).first()
    except DatabaseError:
        return None


def current() -> Policy:
    """The policy in force now."""
    base = from_settings()
    row = stored()
    if row is None:
        return base
    values = base.as_dict()
    for rule in RULES:
        value = getattr(row, rule.name)
        if value is not None:
            values[rule.name] = int(value)
    if row.otp_required_roles is not None:
        values["otp_required_roles"] = tuple(str(r) for r in row.otp_required_roles)
    else:
        values["otp_required_roles"] = base.otp_required_roles
    return Policy(**values)


# --- what django-axes asks (AXES_FAILURE_LIMIT and AXES_COOLOFF_TIME name these) ---------------------


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    return current().lockout_failures


def cool_off(request: HttpRequest | None = None) -> datetime.timedelta:
    return datetime.timedelta(minutes=current().lockout_minutes)
