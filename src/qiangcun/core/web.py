"""Small helpers for pages: deny by default, scope-aware lookups, htmx-aware rendering."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

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
            if action is not None and not user.can(action):  # type: ignore[union-attr]
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


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    """The Chinese 400 page, with the reason when it is ours (a :class:`ParamError`'s message)."""
    from django.shortcuts import render

    cause = exception.__cause__
    message = cause.message if isinstance(cause, ParamError) else ""
    return render(request, "400.html", {"message": message}, status=400)
