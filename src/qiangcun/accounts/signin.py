"""Signing in as 等保 asks: lockout after repeated failures (django-axes, configured in settings), every
attempt in the audit log, expiring admin passwords, and the second factor some roles must have.

django-axes counts failures per account and per address in its own tables and refuses a locked
account or address before the password is even checked; this module gives it the project's spelling
of a username (case and width folded, as the backend signs people in), the client's address, and a
Chinese answer."""

from __future__ import annotations

import datetime
import unicodedata
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from qiangcun.accounts import policy
from qiangcun.accounts.models import ADMIN_ROLES, User
from qiangcun.core import audit
from qiangcun.core.middleware import client_address as core_client_address


def username_key(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The username as the backend matches it: ``LiSi``, ``lisi`` and ``ｌｉｓｉ`` count as one account."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None and request.method == "POST":
        raw = request.POST.get("username")
    if not isinstance(raw, str):
        return None
    return unicodedata.normalize("NFKC", raw).strip().lower()[:150] or None


def client_address(request: HttpRequest) -> str:
    """The address a request came from, as the audit log records it (``core.middleware``)."""
    return core_client_address(request)


def lockout_minutes() -> int:
    return max(1, policy.current().lockout_minutes)


def lockout_message() -> str:
    return (
        f"密码连续输错 {policy.current().lockout_failures} 次，该账号（或本机地址）已被锁定 {lockout_minutes()} 分钟。"
        "请稍后再试；忘记密码请找系统管理员重置。"
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked account or address is answered (HTTP 429), on the login page or the API."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": lockout_message()}, status=429, json_dumps_params={"ensure_ascii": False}
        )
    from qiangcun.accounts.views import ChineseAuthenticationForm

    form = ChineseAuthenticationForm(request)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked": lockout_message(), "next": request.POST.get("next", "")},
        status=429,
    )


# --- the audit log of signing in --------------------------------------------------------------------------


def sign_in_event(
    request: HttpRequest | None, *, action: str, user: User | None, username: str, ok: bool
) -> None:
    """One record of a sign-in event (address and channel from the request, by the audit middleware); a
    failure is kept even though nothing else is written."""
    audit.event(
        actor=user,
        action=action,
        model="accounts.user",
        object_pk=str(user.pk) if user is not None else "",
        username=username,
        ok=ok,
    )


@receiver(user_logged_in, dispatch_uid="qiangcun-signin-ok")
def _signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session["auth_at"] = now
        request.session["seen_at"] = now
        request.session["reauth_at"] = now
    sign_in_event(request, action="signin.ok", user=user, username=user.username, ok=True)


@receiver(user_login_failed, dispatch_uid="qiangcun-signin-failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    key = username_key(request, credentials) or ""
    user = User.objects.filter(username__iexact=key).first() if key else None
    sign_in_event(request, action="signin.failed", user=user, username=key, ok=False)


@receiver(user_locked_out, dispatch_uid="qiangcun-signin-locked")
def _locked(
    sender: Any, request: HttpRequest | None, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    key = username_key(None, {"username": username}) or ""
    user = User.objects.filter(username__iexact=key).first() if key else None
    sign_in_event(request, action="signin.locked", user=user, username=key, ok=False)


@receiver(user_logged_out, dispatch_uid="qiangcun-signout")
def _signed_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        sign_in_event(request, action="signin.out", user=user, username=user.username, ok=True)


# --- what an admin must do before anything else --------------------------------------------------------------


def password_expired(user: User) -> bool:
    """An admin's password older than the policy's days (``PASSWORD_MAX_AGE_DAYS``; never in the demo)."""
    days = policy.current().password_max_age_days
    if days <= 0 or settings.DEMO or user.must_change_password:
        return False
    if not (user.roles() & ADMIN_ROLES):
        return False
    changed = user.password_changed_at
    if changed is None:  # no password was ever set here (no usable one): nothing to expire
        return False
    return timezone.now() - changed > datetime.timedelta(days=days)


def otp_required_by_role(user: User) -> bool:
    """Whether a role this user holds must use a second factor (``OTP_REQUIRED_ROLES``; not in the demo)."""
    return not settings.DEMO and bool(user.roles() & set(policy.current().otp_required_roles))


def otp_required(user: User) -> bool:
    """Whether this user must sign in with a second factor: by role (``OTP_REQUIRED_ROLES``), or because
    they set one up themselves. The demo waives the role rule."""
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True) or otp_required_by_role(user)
