"""Reads of accounts: whose account an admin manages, who may grant roles where, who holds what."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from qiangcun.accounts.models import SYSTEM_ROLES, Role, RoleGrant, User
from qiangcun.core.scope import Action, path_q, scope_paths
from qiangcun.orgs.models import OrgUnit


def manageable_users(actor: User) -> QuerySet[User]:
    """The accounts ``actor`` manages (creates, disables, resets): those whose unit lies under the
    actor's ``MANAGE_USERS`` scope. Nobody else's."""
    paths = scope_paths(actor, Action.MANAGE_USERS)
    return User.objects.filter(path_q("unit__path", paths))


def grantable_users(actor: User) -> QuerySet[User]:
    """The accounts ``actor`` may give roles to: those whose unit lies under the actor's ``GRANT_ROLES`` scope."""
    paths = scope_paths(actor, Action.GRANT_ROLES)
    return User.objects.filter(path_q("unit__path", paths))


def people(actor: User) -> QuerySet[User]:
    """Everyone an account page shows ``actor``: accounts they manage or may give roles to, with
    their unit and their grants (with units) loaded for a list."""
    paths = scope_paths(actor, Action.MANAGE_USERS) + scope_paths(actor, Action.GRANT_ROLES)
    return (
        User.objects.filter(path_q("unit__path", tuple(sorted(set(paths)))))
        .select_related("unit")
        .prefetch_related(
            Prefetch(
                "grants", queryset=RoleGrant.objects.select_related("unit").order_by("unit__path", "role")
            )
        )
        .order_by("unit__path", "username")
    )


def security_grants() -> list[tuple[int, str]]:
    """(user id, unit path) of every active security admin's grant: read once for a page."""
    return list(
        RoleGrant.objects.filter(role=Role.SECURITY_ADMIN, user__is_active=True).values_list(
            "user_id", "unit__path"
        )
    )


def grant_refusal(actor: User, unit: OrgUnit, security: list[tuple[int, str]] | None = None) -> str:
    """Why ``actor`` may not grant or withdraw roles on ``unit`` ("" when they may). Where a security
    admin covers the unit, only security admins grant there; otherwise the system admin does.
    ``security``: :func:`security_grants`, when a page asks about many units."""
    if not actor.can(Action.GRANT_ROLES, unit):
        return "您不能在这个单位授予或撤销角色"
    covering = {
        user_id
        for user_id, path in (security if security is not None else security_grants())
        if unit.path.startswith(path)
    }
    if covering and actor.pk not in covering:
        return "本镇设有安全管理员：角色由安全管理员授予和撤销"
    return ""


def grant_units(actor: User) -> QuerySet[OrgUnit]:
    """The units on which ``actor`` may grant roles, in tree order: the ``GRANT_ROLES`` scope, less
    the subtrees another security admin holds (unless the actor is a security admin there too)."""
    units = OrgUnit.objects.restrict(actor, Action.GRANT_ROLES).order_by("path")
    security = RoleGrant.objects.filter(role=Role.SECURITY_ADMIN, user__is_active=True)
    others = tuple(security.exclude(user_id=actor.pk).values_list("unit__path", flat=True))
    if not others:
        return units
    own = tuple(security.filter(user_id=actor.pk).values_list("unit__path", flat=True))
    return units.exclude(path_q("path", others) & ~path_q("path", own))


def above_own_township(actor: User, grant: RoleGrant, action: str = Action.GRANT_ROLES) -> bool:
    """Whether the actor's ``action`` reaches ``grant``'s unit from strictly above it (a county admin
    over a township's 三员)."""
    path = grant.unit.path
    return any(path.startswith(p) and path != p for p in scope_paths(actor, action))


def may_withdraw(actor: User, grant: RoleGrant, security: list[tuple[int, str]] | None = None) -> bool:
    """What the 撤销 button asks: may ``actor`` withdraw ``grant`` (see ``services.grant_withdraw``)?"""
    if grant.user_id == actor.pk or grant_refusal(actor, grant.unit, security):
        return False
    return grant.role not in SYSTEM_ROLES or above_own_township(actor, grant)
