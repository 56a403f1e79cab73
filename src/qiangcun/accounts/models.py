"""Users, their roles on org units, and API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiangcun.core.scope import Action
from qiangcun.orgs.models import Level, OrgUnit

__all__ = [
    "ADMIN_ROLES",
    "ROLE_ACTIONS",
    "ROLE_LEVELS",
    "SYSTEM_ROLES",
    "Action",
    "ApiToken",
    "PasswordHistory",
    "Role",
    "RoleGrant",
    "User",
    "hash_token",
]


class Role(models.TextChoices):
    TOWNSHIP_ADMIN = "township_admin", _("镇党建办")
    LEADER = "leader", _("镇领导")
    STATION_HEAD = "station_head", _("网格站长")
    DISTRICT_SECRETARY = "district_secretary", _("包区书记")
    INSTRUCTOR = "instructor", _("党建指导员")
    VILLAGE_SECRETARY = "village_secretary", _("村书记")
    VILLAGE_CLERK = "village_clerk", _("村报账员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDITOR = "auditor", _("审计管理员")


#: What each role may do on the units under its grant. Anything not listed is denied.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.TOWNSHIP_ADMIN: frozenset(
        {
            Action.VIEW,
            Action.VERIFY,
            Action.MANAGE_TARGETS,
            Action.IMPORT,
            Action.PUBLISH,
            Action.PLAN,
            Action.INSPECT,
            Action.ASSETS,
        }
    ),
    Role.LEADER: frozenset({Action.VIEW}),
    Role.STATION_HEAD: frozenset({Action.VIEW, Action.VERIFY, Action.INSPECT}),
    Role.DISTRICT_SECRETARY: frozenset({Action.VIEW, Action.VERIFY, Action.INSPECT}),
    Role.INSTRUCTOR: frozenset({Action.VIEW, Action.INSPECT}),
    Role.VILLAGE_SECRETARY: frozenset({Action.VIEW, Action.ENTER, Action.PLAN, Action.ASSETS}),
    Role.VILLAGE_CLERK: frozenset({Action.VIEW, Action.ENTER, Action.PLAN, Action.ASSETS}),
    # The system admin grants roles only where the township has no security admin (accounts.selectors).
    Role.SYSTEM_ADMIN: frozenset({Action.MANAGE_USERS, Action.GRANT_ROLES}),
    Role.SECURITY_ADMIN: frozenset({Action.GRANT_ROLES, Action.SET_POLICY}),
    Role.AUDITOR: frozenset({Action.AUDIT}),
}

#: The three system roles (三员): whoever holds one holds no other role, and none of them reads the business.
SYSTEM_ROLES: frozenset[str] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})

#: The admins: their passwords expire (``PASSWORD_MAX_AGE_DAYS``) and, by default, they need a second factor.
ADMIN_ROLES: frozenset[str] = frozenset({Role.TOWNSHIP_ADMIN, *SYSTEM_ROLES})

#: On which levels of the tree each role is granted in the pages (a county may hold the township roles).
ROLE_LEVELS: dict[str, frozenset[str]] = {
    Role.TOWNSHIP_ADMIN: frozenset({Level.TOWNSHIP, Level.COUNTY}),
    Role.LEADER: frozenset({Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE}),
    Role.STATION_HEAD: frozenset({Level.STATION}),
    Role.DISTRICT_SECRETARY: frozenset({Level.DISTRICT}),
    Role.INSTRUCTOR: frozenset({Level.VILLAGE}),
    Role.VILLAGE_SECRETARY: frozenset({Level.VILLAGE}),
    Role.VILLAGE_CLERK: frozenset({Level.VILLAGE}),
    Role.SYSTEM_ADMIN: frozenset({Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE}),
    Role.SECURITY_ADMIN: frozenset({Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE}),
    Role.AUDITOR: frozenset({Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE}),
}


class User(AbstractUser):
    """A person who signs in. What they may see and do comes only from their role grants."""

    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("手机"), max_length=11, blank=True)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("账号归哪个单位管理：该单位及以上的系统管理员可以管理它"),
    )
    must_change_password = models.BooleanField(
        _("须修改密码"), default=False, help_text=_("一次性密码登录后，改密码之前什么都不能做")
    )
    password_changed_at = models.DateTimeField(
        _("密码修改时间"),
        null=True,
        blank=True,
        help_text=_("本人上次设定密码的时间（管理员的密码按期更换）"),
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    def set_password(self, raw_password: str | None) -> None:
        """Also notes when: an admin's password expires ``PASSWORD_MAX_AGE_DAYS`` after it was set (by
        the pages, ``qiangcun changepassword`` or a reset)."""
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def _scope_cache(self) -> dict[str, tuple[str, ...]]:
        cache: dict[str, tuple[str, ...]] | None = getattr(self, "_scope_paths_cache", None)
        if cache is None:
            by_action: dict[str, list[str]] = {}
            for role, path in RoleGrant.objects.filter(user=self).values_list("role", "unit__path"):
                for action in ROLE_ACTIONS.get(role, ()):
                    by_action.setdefault(action, []).append(path)
            cache = {action: tuple(sorted(set(paths))) for action, paths in by_action.items()}
            self._scope_paths_cache = cache
        return cache

    def scope_paths(self, action: str) -> tuple[str, ...]:
        """Materialized paths of the units on whose subtree this user may perform ``action``; none while
        the account is disabled or still holds a one-time password."""
        if not self.is_active or self.must_change_password:
            return ()
        return self._scope_cache().get(action, ())

    def can(self, action: str, unit: OrgUnit | None = None) -> bool:
        paths = self.scope_paths(action)
        if unit is None:
            return bool(paths)
        return any(unit.path.startswith(p) for p in paths)

    def forget_scope(self) -> None:
        self.__dict__.pop("_scope_paths_cache", None)
        self.__dict__.pop("_roles_cache", None)

    def roles(self) -> frozenset[str]:
        """The roles this user holds anywhere (cached for the request)."""
        cached: frozenset[str] | None = getattr(self, "_roles_cache", None)
        if cached is None:
            cached = frozenset(RoleGrant.objects.filter(user=self).values_list("role", flat=True))
            self._roles_cache = cached
        return cached


class RoleGrant(models.Model):
    """A role held on an org unit; it reaches the unit's whole subtree and nothing else."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [models.UniqueConstraint(fields=["user", "role", "unit"], name="rolegrant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(_("摘要"), max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=12)
    name = models.CharField(_("用途"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class PasswordHistory(models.Model):
    """A password the user chose before (its hash only), so that the last few are not used again."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField(_("密码摘要"), max_length=128)
    at = models.DateTimeField(_("停用时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.at:%Y-%m-%d}"


class SecurityPolicy(models.Model):
    """The security policy the security admin sets in the app (one row, ``pk`` 1). A field left empty
    follows the server's setting (``QIANGCUN_PASSWORD_MIN_LENGTH`` …); :mod:`qiangcun.accounts.policy`
    reads the two together."""

    password_min_length = models.PositiveSmallIntegerField(_("密码最短长度"), null=True, blank=True)
    password_min_classes = models.PositiveSmallIntegerField(_("密码至少含几类字符"), null=True, blank=True)
    password_history = models.PositiveSmallIntegerField(_("不得重复最近几次密码"), null=True, blank=True)
    password_max_age_days = models.PositiveSmallIntegerField(_("管理员密码有效天数"), null=True, blank=True)
    lockout_failures = models.PositiveSmallIntegerField(_("连续输错几次锁定"), null=True, blank=True)
    lockout_minutes = models.PositiveSmallIntegerField(_("锁定分钟数"), null=True, blank=True)
    idle_minutes = models.PositiveSmallIntegerField(_("闲置几分钟退出"), null=True, blank=True)
    session_hours = models.PositiveSmallIntegerField(_("登录最长小时数"), null=True, blank=True)
    otp_required_roles = models.JSONField(_("必须使用动态口令的角色"), null=True, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("安全策略")
        verbose_name_plural = _("安全策略")

    def __str__(self) -> str:
        return "安全策略"
