"""Request middleware of the layers below the domain: where a request came from, for the audit log."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from qiangcun.core import origin as audit

API_PREFIX = "/api/"


def client_address(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or — behind the one proxy we trust
    (``QIANGCUN_TRUSTED_PROXY``) — the last address of ``X-Forwarded-For``: the one that proxy appended, as
    it saw the client. Earlier entries come from the client itself and can be anything, so they count for
    nothing (else a guesser could dodge the per-address lockout by sending a new one each time). "" when
    not an address."""
    if getattr(settings, "QIANGCUN_TRUSTED_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = audit.normalize_address(forwarded.split(",")[-1]) if forwarded else ""
        if last:
            return last
    return audit.normalize_address(str(request.META.get("REMOTE_ADDR") or ""))


class AuditOriginMiddleware:
    """Every change record written while a request runs carries the client's address and the channel
    (``api`` under ``/api/``, ``web`` otherwise)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = audit.Channel.API if request.path_info.startswith(API_PREFIX) else audit.Channel.WEB
        with audit.origin(address=client_address(request), channel=channel):
            return self.get_response(request)
