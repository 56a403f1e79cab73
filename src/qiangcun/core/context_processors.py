from typing import Any

from django.conf import settings
from django.http import HttpRequest

from qiangcun.core.clock import today
from qiangcun.core.scope import Action


def site(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"DEMO": settings.DEMO, "TODAY": today()}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context.update(
            perms_view=user.can(Action.VIEW),
            perms_enter=user.can(Action.ENTER),
            perms_verify=user.can(Action.VERIFY),
            perms_targets=user.can(Action.MANAGE_TARGETS),
            perms_audit=user.can(Action.AUDIT),
            perms_import=user.can(Action.IMPORT),
            perms_users=user.can(Action.MANAGE_USERS),
            perms_roles=user.can(Action.GRANT_ROLES),
            perms_plan=user.can(Action.PLAN),
            perms_inspect=user.can(Action.INSPECT),
            perms_policy=user.can(Action.SET_POLICY),
        )
    return context
