"""Request middleware of the layers below the domain: where a request came from, for the audit log."""

from __future__ import annotations

import logging
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


#: Methods that only read: a request with any other method is a write, whose failure is recorded.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AuditOriginMiddleware:
    """Every change record written while a request runs carries the client's address and the channel
    (``api`` under ``/api/``, ``web`` otherwise).

    A write that did not happen is recorded too (``ok`` false, one record per request): a signed-in
    user's POST (PUT, PATCH, DELETE) that a service refused — the form shows the reason and the log keeps
    it —, that the page refused before any service (403, 404, 409 …) or that broke (5xx). Anonymous
    requests are not recorded (the sign-in records its own failures; nothing else is open to them, and an
    outsider must not be able to fill the log)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = audit.Channel.API if request.path_info.startswith(API_PREFIX) else audit.Channel.WEB
        with (
            audit.origin(address=client_address(request), channel=channel),
            audit.watching_refusals() as watch,
        ):
            try:
                response = self.get_response(request)
            except Exception as exc:  # re-raised: the server error page or the test client shows it
                if request.method not in SAFE_METHODS:
                    _record_failure(request, watch, status=500, detail=type(exc).__name__)
                raise
            if request.method not in SAFE_METHODS and (watch.refusals or response.status_code >= 400):
                _record_failure(request, watch, status=response.status_code)
            return response


#: At most this many failure records per person a minute by default (``AUDIT_FAILURES_PER_MINUTE``): a loop
#: of bad posts must not fill the log, nor hold the change log's append lock; the ones over it are counted in
#: the next record that is written.
FAILURES_PER_MINUTE = 20


def _within_rate(user_pk: object) -> tuple[bool, int]:
    """Whether another failure record may be written for this person this minute, and how many were left
    out before it."""
    from django.core.cache import cache

    key = f"qiangcun:failures:{user_pk}"
    cache.add(key, 0, 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 60)
        count = 1
    skipped_key = f"{key}:skipped"
    if count > getattr(settings, "AUDIT_FAILURES_PER_MINUTE", FAILURES_PER_MINUTE):
        cache.add(skipped_key, 0, 3600)
        try:
            cache.incr(skipped_key)
        except ValueError:
            cache.set(skipped_key, 1, 3600)
        return False, 0
    skipped = int(cache.get(skipped_key) or 0)
    if skipped:
        cache.delete(skipped_key)
    return True, skipped


def _record_failure(request: HttpRequest, watch: audit.Watch, *, status: int, detail: str = "") -> None:
    from qiangcun.core import audit as log  # the models: loaded once Django is

    user = getattr(request, "user", None)
    if watch.recorded or user is None or not user.is_authenticated:
        return
    match = getattr(request, "resolver_match", None)
    if (
        match is None
    ):  # no page at that address: nothing was written or could be (and its text is the sender's)
        return
    allowed, skipped = _within_rate(user.pk)
    if not allowed:
        return
    if watch.refusals:
        action = log.REFUSED
    elif status >= 500:
        action = log.FAILED
    else:
        action = log.DENIED
    # the route's name, never the path as sent (the sender chooses it: it could read like a refusal)
    what = f"{request.method} {match.view_name}（{status}）"
    if skipped:
        detail = f"{detail}；此前一分钟内另有 {skipped} 次失败未逐条记录".lstrip("；")
    try:
        log.failure(actor=user, action=action, what=what, refusals=watch.refusals, detail=detail)
    except Exception:  # the answer stands; the log says why the record is missing
        logging.getLogger(__name__).exception("could not record the failed write %s", what)
