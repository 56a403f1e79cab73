"""What stands between a signed-in session and the pages: its time limits, and the steps some people must
take before anything else (the second factor, a new password)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from qiangcun.accounts import policy
from qiangcun.accounts.signin import otp_required, password_expired

#: How often the "last seen" time is written back to the session (not on every request).
SEEN_RESOLUTION = 60.0


def _json(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False})


def _to(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that htmx follows as a whole page."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


class SessionLimitsMiddleware:
    """Ends a session idle for the policy's minutes or older than its hours (``accounts.policy``) since
    sign-in: the session is deleted on the server (not only forgotten by the browser), and the person is
    sent to sign in again with the reason."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = timezone.now().timestamp()
            session = request.session
            auth_at = session.get("auth_at")
            seen_at = session.get("seen_at")
            if not isinstance(auth_at, int | float) or not isinstance(seen_at, int | float):
                session["auth_at"] = session["seen_at"] = now
            else:
                reason = ""
                rules = policy.current()
                if now - auth_at > rules.session_hours * 3600:
                    reason = "absolute"
                elif now - seen_at > rules.idle_minutes * 60:
                    reason = "idle"
                if reason:
                    logout(request)
                    if request.path_info.startswith("/api/"):
                        return _json("登录已过期，请重新登录", 401)
                    query = urlencode({"expired": reason, "next": request.get_full_path()})
                    return _to(request, f"{reverse('login')}?{query}")
                if now - seen_at > SEEN_RESOLUTION:
                    session["seen_at"] = now
        return self.get_response(request)


#: The session key that says this sign-in has no step left (its value: the sign-in's ``auth_at``).
CLEARED = "steps_done_for"

#: Where a person with a step to take may still go, whatever the step.
ALWAYS_OPEN = ("logout",)
STEP_PAGES = {
    "verify": ("otp_verify",),
    "password": ("password_change",),
    "enrol": ("otp_setup",),
}
STEP_MESSAGES = {
    "verify": "请先输入手机验证器上的动态口令",
    "password": "密码已到更换期限，请先在网页上修改密码",
    "enrol": "请先在网页上绑定手机验证器（双因素认证）",
}


def pending_step(request: HttpRequest) -> str | None:
    """What a signed-in person must do before anything else, in order: prove the second factor they have,
    change a one-time or expired password, set up the second factor their role requires."""
    user = request.user
    if not user.is_authenticated:
        return None
    verified = getattr(user, "is_verified", None)
    is_verified = bool(verified()) if callable(verified) else False
    from django_otp import user_has_device

    if not is_verified and user_has_device(user, confirmed=True):
        return "verify"
    if user.must_change_password or password_expired(user):
        return "password"
    if not is_verified and otp_required(user):
        return "enrol"
    return None


class PasswordChangeRequiredMiddleware:
    """Sends every page request of a person with a step to take (:func:`pending_step`) to that step's
    page; an API call over the session gets a Chinese 403. A one-time password also counts for nothing
    meanwhile (``User.scope_paths``), so nothing slips past this by another route."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = getattr(request, "session", None)
            cleared = session is not None and session.get(CLEARED) == session.get("auth_at") is not None
            step = "password" if user.must_change_password else (None if cleared else pending_step(request))
            if step is None and session is not None and not cleared:
                # Nothing to do for this sign-in: later requests skip the queries (a role granted meanwhile
                # asks for its second factor at the next sign-in; a session lasts 12 hours at most). Written
                # once: setting it again on every request would save the session on every request — a write
                # transaction per page view, which on SQLite takes the database's one write lock.
                session[CLEARED] = session.get("auth_at")
            if step is not None:
                allowed = {reverse(name) for name in (*ALWAYS_OPEN, *STEP_PAGES[step])}
                path = request.path_info
                if path not in allowed and not path.startswith("/static/"):
                    if path.startswith("/api/"):
                        message = STEP_MESSAGES[step]
                        if step == "password" and user.must_change_password:
                            message = "请先在网页上修改一次性密码"
                        return _json(message, 403)
                    return _to(request, reverse(STEP_PAGES[step][0]))
        return self.get_response(request)
