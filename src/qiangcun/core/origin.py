"""From where and through what a write came: a context variable the audit log reads.

Set by the request middleware (:mod:`qiangcun.core.middleware`: the client's address, ``web`` or ``api``),
by the ``qiangcun`` entry point (``cli``) and by the background tasks (``job``). Imports no model, so the
entry point can set it before Django is set up."""

from __future__ import annotations

import contextvars
import ipaddress
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Through what a write came."""

    WEB = "web", _("网页")
    API = "api", _("接口")
    CLI = "cli", _("命令行")
    JOB = "job", _("后台任务")


@dataclass(frozen=True)
class Origin:
    """From where (the client's address, "" when none) and through what (a :class:`Channel`, "" unknown)."""

    address: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Refusal:
    """A write refused while a request, command or job ran: the Chinese message, and where it was raised
    (``ledger.services.entry_submit``; ``in_service`` when a service module was on the way)."""

    message: str
    where: str
    in_service: bool


NOWHERE = Origin()  # frozen: a safe default
_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("qiangcun_audit_origin", default=NOWHERE)


@dataclass
class Watch:
    """What went wrong with the writes of one request, command or job: the refusals noted (at most
    :data:`MAX_REFUSALS`) and whether a failure was already recorded (a failed sign-in records its own)."""

    refusals: list[Refusal] = field(default_factory=list)
    recorded: bool = False


#: The watch of the current request, command or job (``None``: nobody is watching).
_watch: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("qiangcun_audit_watch", default=None)
#: At most this many refusals are kept for one request (the record lists them; a loop over rows that
#: refuses each one must not grow the record without bound).
MAX_REFUSALS = 5


@contextmanager
def watching_refusals() -> Iterator[Watch]:
    """Within the block, every refused write (a :class:`~qiangcun.core.errors.ServiceError` raised) is
    noted in the :class:`Watch` it yields, for the audit log's record of a failed write, written when the
    block's request, command or job is over."""
    watch = Watch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


def note_refusal(message: str) -> None:
    """Note a refusal in the watch (if any), with the first frame of ours that is no error's ``__init__``
    as where it was raised — or, when a service is on the way, the outermost public service function."""
    watch = _watch.get()
    if watch is None or len(watch.refusals) >= MAX_REFUSALS:
        return
    first, service = "", ""
    frame = sys._getframe(1)
    while frame is not None:  # outward: the raise, the helpers, the service the view called, the view
        module = str(frame.f_globals.get("__name__", ""))
        name = frame.f_code.co_name
        raising = name == "__init__" and isinstance(frame.f_locals.get("self"), BaseException)
        if module.startswith("qiangcun.") and not raising:
            here = f"{module.removeprefix('qiangcun.')}.{name}"
            first = first or here
            if ".services" in module and not name.startswith("_"):
                service = here  # the outermost public service wins
        frame = frame.f_back  # type: ignore[assignment]
    where, in_service = (service, True) if service else (first, False)
    watch.refusals.append(Refusal(message=message, where=where, in_service=in_service))


def note_failure_recorded() -> None:
    """A record of a failed write was written for the watched request (no second one is needed)."""
    watch = _watch.get()
    if watch is not None:
        watch.recorded = True


def current_origin() -> Origin:
    return _origin.get()


@contextmanager
def origin(*, address: str | None = None, channel: str | None = None) -> Iterator[Origin]:
    """Within the block, records carry ``address`` and ``channel`` (``None``: keep the current one)."""
    now = _origin.get()
    new = Origin(
        address=now.address if address is None else normalize_address(address),
        channel=now.channel if channel is None else Channel(channel).value,
    )
    token = _origin.set(new)
    try:
        yield new
    finally:
        _origin.reset(token)


def set_channel(channel: str) -> None:
    """For the rest of this context (a whole command-line process): records carry ``channel``."""
    _origin.set(Origin(address=_origin.get().address, channel=Channel(channel).value))


def normalize_address(raw: str) -> str:
    """An IP address in its canonical text ("" for anything that is not one)."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return ""
