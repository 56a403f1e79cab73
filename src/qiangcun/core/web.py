"""Small helpers for pages: deny by default, scope-aware lookups, htmx-aware rendering, error pages."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET

from qiangcun.core.errors import NotFoundError, PermissionDeniedError
from qiangcun.core.params import ParamError


def require(
    action: str | None = None,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Anonymous users go to the login page; signed-in users without ``action`` anywhere get 403.

    ``action=None`` only requires a signed-in user (the view then checks objects itself). A selector's
    :class:`NotFoundError`, :class:`PermissionDeniedError` and :class:`ParamError` become the Chinese
    404, 403 and 400 pages with their message."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if action is not None and not user.can(action):
                raise PermissionDenied("没有权限")
            try:
                return view(request, *args, **kwargs)
            except NotFoundError as exc:
                raise Http404(exc.message) from exc
            except PermissionDeniedError as exc:
                raise PermissionDenied(exc.message) from exc
            except ParamError as exc:
                raise BadRequest(exc.message) from exc

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped

    return decorator


# --- error pages ------------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
NOT_FOUND = "找不到这个地址或记录：它可能不存在，或者不在您的管辖范围内"
API_PREFIX = "/api/"


def user_message(exception: BaseException | None) -> str:
    """The exception's message when our own code wrote it for the user (a Chinese string), else "".

    Django's own messages ("No Entry matches the given query.", a Resolver404's dict of tried
    patterns, a bare ``Http404``) are internal and never shown."""
    args = getattr(exception, "args", ())
    message = args[0] if args else None
    if isinstance(message, str) and _CJK.search(message):
        return message
    return ""


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler404``: the Chinese 404 page; JSON with a Chinese ``detail`` under /api/."""
    message = user_message(exception)
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": message or NOT_FOUND}, status=404, json_dumps_params={"ensure_ascii": False}
        )
    return render(request, "404.html", {"message": message}, status=404)


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler403``: the Chinese 403 page, with the reason only when it is ours (Chinese)."""
    return render(request, "403.html", {"message": user_message(exception)}, status=403)


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler400``: the Chinese 400 page, with the reason when it is ours (a :class:`ParamError`)."""
    cause = getattr(exception, "__cause__", None)
    message = cause.message if isinstance(cause, ParamError) else user_message(exception)
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": message or "请求有误"}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    return render(request, "400.html", {"message": message}, status=400)


#: What a request that met the database down (restarting, failing over, a lost connection) or too busy
#: answers: 503, try again shortly. Its write may or may not have been committed (the answer can be lost
#: after the commit), hence "look, then redo" on pages and "the same key" in the API.
DATABASE_UNAVAILABLE = "数据库暂时连不上（可能正在重启），刚才的操作可能没有完成。请稍等片刻后刷新页面，看看是否已经保存，再决定是否重做。"
DATABASE_UNAVAILABLE_API = (
    "数据库暂时连不上（可能正在重启），请稍后重试；写入请求请带同一个 Idempotency-Key 重试，不会重复记录"
)
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the Chinese 500 page — or 503 with ``Retry-After`` when the database could not be
    reached (JSON with a Chinese ``detail`` under /api/). Rendered without the request's context: the
    context processors may need the database that just failed."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        if request.path_info.startswith(API_PREFIX):
            response: HttpResponse = JsonResponse(
                {"detail": DATABASE_UNAVAILABLE_API, "field": None},
                status=503,
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            body = loader.get_template("503.html").render({"message": DATABASE_UNAVAILABLE})
            response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """``/healthz``: "this server answers" for a load balancer — a fixed page that reads nothing (no
    database, no session), so it is also the framework's floor the benchmarks compare pages with."""
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
