"""From where and through what a write came: a context variable the audit log reads.

Set by the request middleware (:mod:`qiangcun.core.middleware`: the client's address, ``web`` or ``api``),
by the ``qiangcun`` entry point (``cli``) and by the background tasks (``job``). Imports no model, so the
entry point can set it before Django is set up."""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


NOWHERE = Origin()  # frozen: a safe default
_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("qiangcun_audit_origin", default=NOWHERE)


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
