from typing import Any

from django.conf import settings
from django.http import HttpRequest

from qiangcun.core.clock import today


def site(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"DEMO": settings.DEMO, "TODAY": today()}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context.update(
            perms_view=user.can("view"),
            perms_enter=user.can("enter"),
            perms_verify=user.can("verify"),
            perms_targets=user.can("manage_targets"),
            perms_audit=user.can("audit"),
            perms_import=user.can("import"),
        )
    return context
