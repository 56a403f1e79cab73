"""Deny by default: every read of scoped data goes through ``restrict(user, action)``.

Core knows no domain: it asks the user object for the materialized paths of the org units on which
it may perform ``action`` (``user.scope_paths(action)``, provided by the accounts app), and filters
a queryset on the model's path field. No paths → empty queryset.
"""

from __future__ import annotations

from typing import Any, Protocol, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """What a role may do on the units under its grant: the one list of actions every check names."""

    VIEW = "view", _("查看")
    ENTER = "enter", _("录入台账")
    VERIFY = "verify", _("审核台账")
    MANAGE_TARGETS = "manage_targets", _("管理年度目标")
    AUDIT = "audit", _("查看审计日志")
    MANAGE_USERS = "manage_users", _("管理账号")
    GRANT_ROLES = "grant_roles", _("授予角色")
    IMPORT = "import", _("导入数据")
    PUBLISH = "publish", _("发布通报")
    PLAN = "plan", _("编制村策与措施")
    INSPECT = "inspect", _("督查与整改")
    SET_POLICY = "set_policy", _("设定安全策略")
    ASSETS = "assets", _("管理三资（资产、合同）")


class Actor(Protocol):
    """Who acts, as the layers below accounts see a user: an id and the paths they may act on."""

    @property
    def pk(self) -> Any: ...

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...

    def scope_paths(self, action: str) -> tuple[str, ...]: ...


def scope_paths(user: Any, action: str) -> tuple[str, ...]:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return ()
    getter = getattr(user, "scope_paths", None)
    if getter is None:
        return ()
    return tuple(getter(action))


def path_q(field: str, paths: tuple[str, ...]) -> Q:
    """``Q`` matching rows whose ``field`` lies under any of ``paths`` (an empty tuple matches nothing)."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


class ScopedQuerySet(models.QuerySet):
    """A queryset whose model names the path of its org unit in ``scope_path_field``."""

    scope_path_field = "path"

    def restrict(self, user: Any, action: str) -> Self:
        paths = scope_paths(user, action)
        if not paths:
            return self.none()
        return self.filter(path_q(self.scope_path_field, paths))


def allowed(user: Any, action: str, path: str) -> bool:
    """Whether ``user`` may perform ``action`` on the unit with materialized ``path``."""
    return any(path.startswith(p) for p in scope_paths(user, action))
