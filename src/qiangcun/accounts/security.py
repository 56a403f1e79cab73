"""The second factor (TOTP, django-otp) and re-authentication before sensitive actions.

A person binds an authenticator app (微信/支付宝 小程序, Google Authenticator, Microsoft Authenticator,
FreeOTP — anything that speaks RFC 6238) on 账号安全; from then on signing in asks for its six-digit code.
The township admin and the 三员 must bind one (``OTP_REQUIRED_ROLES``); everyone else may.

Re-authentication: :func:`reauth_required` wraps a view whose POST is sensitive (verifying in bulk,
granting and withdrawing roles, resetting someone's password, removing one's second factor). When the
last password check is older than ``REAUTH_SECONDS`` the POST is answered with a page that asks for the
password (and the code) and carries the original form along, so nothing typed is lost."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from qiangcun.accounts.http import AuthedRequest
from qiangcun.accounts.signin import otp_required_by_role, sign_in_event
from qiangcun.core import audit
from qiangcun.core.web import require

DEVICE_NAME = "手机验证器"
REAUTH_FIELDS = ("_reauth_password", "_reauth_otp")


def _clean_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "") if ch.isdigit())[:8]


def _next_url(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _safe_referer(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return str(referer)
    return ""


def _grouped(key: str) -> str:
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


# --- signing in with the code ------------------------------------------------------------------------------


@sensitive_post_parameters("otp_token")
@require()
@require_http_methods(["GET", "POST"])
def otp_verify(request: AuthedRequest) -> HttpResponse:
    """The second step of signing in: the code from the person's authenticator."""
    user = request.user
    if not user_has_device(user, confirmed=True):
        return redirect("otp_setup")
    error = ""
    if request.method == "POST":
        device = match_token(user, _clean_code(request.POST.get("otp_token")))
        if device is not None:
            otp_login(request, device)
            request.session["reauth_at"] = timezone.now().timestamp()
            sign_in_event(request, action="signin.otp", user=user, username=user.username, ok=True)
            return redirect(_next_url(request))
        sign_in_event(request, action="signin.otp_failed", user=user, username=user.username, ok=False)
        error = "动态口令不正确或已过期，请看手机上最新的 6 位数字再输一次"
    return render(request, "accounts/otp_verify.html", {"error": error, "next": _next_url(request, "")})


# --- binding and removing the authenticator ------------------------------------------------------------------


PENDING_KEY = "otp_pending_key"


def _pending_key(request: HttpRequest) -> str:
    """The secret being bound, kept in the session until confirmed (a GET writes nothing)."""
    key = request.session.get(PENDING_KEY)
    if not isinstance(key, str) or len(key) != 40:
        key = default_key()
        request.session[PENDING_KEY] = key
    return key


@sensitive_post_parameters("otp_token")
@require()
@require_http_methods(["GET", "POST"])
def otp_setup(request: AuthedRequest) -> HttpResponse:
    """账号安全: bind an authenticator (scan the code, type one code to confirm), or see the one bound."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    error = ""
    if confirmed is None:
        key = _pending_key(request)
        device = TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=False)
        if request.method == "POST":
            # A pending device holds the throttle between wrong codes (django-otp slows repeated failures).
            device, _ = TOTPDevice.objects.get_or_create(
                user=user, key=key, confirmed=False, defaults={"name": DEVICE_NAME}
            )
            if device.verify_token(_clean_code(request.POST.get("otp_token"))):
                with transaction.atomic():
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                    audit.record(
                        actor=user,
                        action="otp.enrol",
                        obj=user,
                        after={"username": user.username, "device": device.name},
                    )
                request.session.pop(PENDING_KEY, None)
                otp_login(request, device)
                request.session["reauth_at"] = timezone.now().timestamp()
                messages.success(request, "已绑定手机验证器：以后登录时除密码外还要输入它显示的 6 位动态口令")
                return redirect(_next_url(request))
            error = "动态口令不正确：请确认手机时间准确，输入验证器上当前显示的 6 位数字"
        key = device.config_url.split("secret=", 1)[1].split("&", 1)[0]
        qr = segno.make(device.config_url, error="m")
        context: dict[str, Any] = {
            "qr_svg": qr.svg_inline(scale=5, border=2, dark="#1f2933", omitsize=True),
            "key": _grouped(key),
            "error": error,
            "required": otp_required_by_role(user),
        }
    else:
        context = {"device": confirmed, "required": otp_required_by_role(user)}
    context["next"] = _next_url(request, "")
    return render(request, "accounts/otp_setup.html", context)


def reauth_required(
    when: Callable[[HttpRequest], bool] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Ask for the password again (and the code, where one is bound) before a sensitive POST, unless it was
    checked within ``REAUTH_SECONDS``; ``when`` narrows it to some POSTs (e.g. verifying more than one row)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST" or (when is not None and not when(request)):
                return view(request, *args, **kwargs)
            user = request.user
            now = timezone.now().timestamp()
            last = request.session.get("reauth_at")
            fresh = isinstance(last, int | float) and now - last <= settings.REAUTH_SECONDS
            error = ""
            if not fresh and "_reauth_password" in request.POST:
                password = request.POST.get("_reauth_password", "")
                ok = authenticate(request, username=user.get_username(), password=password) is not None
                if ok and user_has_device(user, confirmed=True):
                    device = match_token(user, _clean_code(request.POST.get("_reauth_otp")))
                    ok = device is not None
                    if not ok:
                        error = "动态口令不正确或已过期"
                elif not ok:
                    error = "密码不正确（连续输错会锁定账号）"
                sign_in_event(
                    request,
                    action="reauth.ok" if ok else "reauth.failed",
                    user=user,  # type: ignore[arg-type]
                    username=user.get_username(),
                    ok=ok,
                )
                if ok:
                    request.session["reauth_at"] = now
                    fresh = True
            if fresh:
                if any(name in request.POST for name in REAUTH_FIELDS):
                    data = request.POST.copy()
                    for name in REAUTH_FIELDS:
                        data.pop(name, None)
                    data._mutable = False
                    request.POST = data  # type: ignore[misc,assignment]
                return view(request, *args, **kwargs)
            carried = [
                (name, value)
                for name, values in request.POST.lists()
                if name not in (*REAUTH_FIELDS, "csrfmiddlewaretoken")
                for value in values
            ]
            return render(
                request,
                "accounts/reauth.html",
                {
                    "action": request.get_full_path(),
                    "carried": carried,
                    "error": error,
                    "needs_otp": user_has_device(user, confirmed=True),
                    "back": _safe_referer(request),
                },
                status=200 if not error else 403,
            )

        return wrapped

    return decorator


@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@require()
@require_http_methods(["POST"])
@reauth_required()
def otp_remove(request: AuthedRequest) -> HttpResponse:
    """Unbind one's authenticator (after the password and a code); refused where the role requires one."""
    user = request.user
    if otp_required_by_role(user):
        messages.error(request, "您的角色必须使用双因素认证，不能解除绑定；换手机请找系统管理员重置")
        return redirect("otp_setup")
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        if removed:
            audit.record(actor=user, action="otp.remove", obj=user, before={"username": user.username})
    messages.success(request, "已解除手机验证器，以后登录只需密码")
    return redirect("otp_setup")
