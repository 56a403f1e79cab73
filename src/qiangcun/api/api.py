"""The HTTP API at /api/v1/: same services, same scope rules as the pages."""

from __future__ import annotations

import json
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, django_auth

from qiangcun.accounts.services import token_authenticate
from qiangcun.accounts.signin import client_address, lockout_message
from qiangcun.api.contracts import router as contracts_router
from qiangcun.api.ledger import router as ledger_router
from qiangcun.api.orgs import router as orgs_router
from qiangcun.api.plans import router as plans_router
from qiangcun.api.targets import router as targets_router
from qiangcun.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from qiangcun.core.web import NOT_FOUND, user_message


class UTF8Renderer(JSONRenderer):
    """Chinese as itself, not \\uXXXX. Money and fractions are already strings in the schemas."""

    encoder_class = NinjaJSONEncoder
    json_dumps_params = {"ensure_ascii": False}

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return json.dumps(data, cls=self.encoder_class, **self.json_dumps_params)


class TokenLockedOut(Exception):
    """Too many bad tokens from this address: refused for the lockout period, good token or not."""


class BearerToken(HttpBearer):
    """A bearer token. Bad tokens count against the caller's address like wrong passwords do (django-axes):
    after ``AXES_FAILURE_LIMIT`` of them the address is answered 429 until the lockout ends."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        credentials = {"username": f"api-token@{client_address(request)}"}
        if not AxesProxyHandler.is_allowed(request, credentials):
            raise TokenLockedOut
        user = token_authenticate(token)
        if user is None:
            user_login_failed.send(sender=BearerToken, credentials=credentials, request=request)
            return None
        request.user = user
        return user


api = NinjaAPI(
    title="强村 qiangcun API",
    version="1",
    description="村级集体经济增收平台接口。金额为两位小数的字符串（元），比例为四位小数的字符串。",
    auth=[BearerToken(), django_auth],
    renderer=UTF8Renderer(),
    docs_decorator=login_required,
    urls_namespace="api",
)
api.add_router("/", targets_router)
api.add_router("/", ledger_router)
api.add_router("/", orgs_router)
api.add_router("/", plans_router)
api.add_router("/", contracts_router)


@api.exception_handler(NotFoundError)
def _not_found(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=404)


@api.exception_handler(Http404)
def _http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    """Django's own "No ... matches the given query." / ninja's "Not Found" never reach the caller."""
    return api.create_response(request, {"detail": user_message(exc) or NOT_FOUND}, status=404)


@api.exception_handler(PermissionDeniedError)
def _forbidden(request: HttpRequest, exc: PermissionDeniedError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=403)


@api.exception_handler(ServiceError)
def _invalid(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=400)


@api.exception_handler(TokenLockedOut)
def _locked_out(request: HttpRequest, exc: TokenLockedOut) -> HttpResponse:
    return api.create_response(request, {"detail": lockout_message()}, status=429)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": "请先登录，或在 Authorization 头中提供有效令牌"}, status=401
    )


_PYDANTIC_CN = {
    "missing": "必填",
    "string_type": '必须是字符串（金额请写成 "12000.00"）',
    "int_parsing": "必须是整数",
    "date_from_datetime_parsing": "日期格式应为 2020-04-17",
    "date_parsing": "日期格式应为 2020-04-17",
    "extra_forbidden": "不认识的字段",
    "int_parsing_size": "数字太大",
}


_BOUNDS_CN = {
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "less_than": "必须小于 {lt}",
}


def _reason(error: dict[str, Any]) -> str:
    """A pydantic error in Chinese: our own validators' reasons as they are, bounds with their limit."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in _BOUNDS_CN:
        return _BOUNDS_CN[kind].format(**{k: v for k, v in ctx.items() if k in ("ge", "le", "gt", "lt")})
    return _PYDANTIC_CN.get(kind, error.get("msg", "格式不对"))


@api.exception_handler(ValidationError)
def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        loc = [str(x) for x in error.get("loc", []) if x not in ("body", "payload", "query")]
        field = ".".join(loc)
        reason = _reason(error)
        errors.append({"field": field, "reason": reason})
    detail = "；".join(f"{e['field']}：{e['reason']}" for e in errors) or "请求格式不对"
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)
