"""A user who signed in with a one-time password changes it before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

#: Where such a user may still go: the password page itself, signing out, and the static files.
ALLOWED_NAMES = ("password_change", "logout")


class PasswordChangeRequiredMiddleware:
    """Sends every page request of a user whose ``must_change_password`` is set to the password page
    (an API call gets a Chinese 403). Their role grants count for nothing meanwhile either
    (``User.scope_paths``), so nothing slips past this by another route."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = {reverse(name) for name in ALLOWED_NAMES}
            path = request.path_info
            if path not in allowed and not path.startswith("/static/"):
                if path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "请先在网页上修改一次性密码"},
                        status=403,
                        json_dumps_params={"ensure_ascii": False},
                    )
                return redirect("password_change")
        return self.get_response(request)
