"""Writes to accounts: users, role grants, API tokens."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from qiangcun.accounts.models import ApiToken, Role, RoleGrant, User, hash_token
from qiangcun.core import audit
from qiangcun.core.errors import ServiceError
from qiangcun.orgs.models import OrgUnit


@transaction.atomic
def user_create(
    *, actor: User | None, username: str, password: str | None, display_name: str = "", is_staff: bool = False
) -> User:
    username = username.strip()
    if not username:
        raise ServiceError("用户名不能为空", field="username")
    if User.objects.filter(username=username).exists():
        raise ServiceError(f"用户名 {username} 已存在", field="username")
    user = User(username=username, display_name=display_name, is_staff=is_staff)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(
        actor=actor,
        action="user.create",
        obj=user,
        after={"username": username, "display_name": display_name},
    )
    return user


@transaction.atomic
def grant_create(*, actor: User | None, user: User, role: str, unit: OrgUnit) -> RoleGrant:
    if role not in Role.values:
        raise ServiceError(f"未知角色：{role}", field="role")
    grant, created = RoleGrant.objects.get_or_create(user=user, role=role, unit=unit)
    if created:
        audit.record(
            actor=actor,
            action="rolegrant.create",
            obj=grant,
            after={"user": user.username, "role": role, "unit": unit.code},
            unit_path=unit.path,
        )
    user.forget_scope()
    return grant


TOKEN_PREFIX = "qc_"


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token itself, which is never stored and never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:10], name=name)
    audit.record(
        actor=actor,
        action="apitoken.create",
        obj=token,
        after={"user": user.username, "prefix": token.prefix},
    )
    return token, raw


def token_authenticate(raw: str) -> User | None:
    """The active user a bearer token belongs to, or ``None``."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
