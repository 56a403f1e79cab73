"""The change log: every service write records who changed what, in the same transaction.

Each record also says from where and through what: the client's address and the channel (网页 ``web``,
接口 ``api``, 命令行 ``cli``, 后台任务 ``job``), read from a context variable that the request middleware
(:mod:`qiangcun.core.middleware`), the ``qiangcun`` entry point and the job wrappers set
(:mod:`qiangcun.core.origin`)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from qiangcun.core.origin import Channel, Origin, current_origin, normalize_address, origin, set_channel
from qiangcun.core.scope import Actor

__all__ = [
    "ChangeRecord",
    "Channel",
    "Origin",
    "current_origin",
    "event",
    "normalize_address",
    "origin",
    "record",
    "set_channel",
    "snapshot",
]


class ChangeRecord(models.Model):
    """One write: who, when, which object, what it was before and after."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("操作"), max_length=64)
    model = models.CharField(_("对象类型"), max_length=64)
    object_pk = models.CharField(_("对象编号"), max_length=64)
    unit_path = models.CharField(_("组织路径"), max_length=255, blank=True, db_index=True)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    username = models.CharField(_("账号"), max_length=150, blank=True, default="")
    address = models.CharField(_("来源地址"), max_length=45, blank=True, default="")
    channel = models.CharField(_("渠道"), max_length=8, blank=True, default="", choices=Channel.choices)
    ok = models.BooleanField(_("成功"), default=True)

    class Meta:
        app_label = "core"
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_pk"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.model}#{self.object_pk}"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """A JSON-safe picture of ``fields`` of ``obj`` (foreign keys by their id)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, getattr(field, "attname", name))
        out[name] = _json_value(value)
    return out


def record(
    *,
    actor: Actor | None,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    unit_path: str = "",
    note: str = "",
) -> ChangeRecord:
    """Write the change record; must run inside the service's transaction. The address and channel come
    from the current :func:`origin`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside the service's transaction.atomic block")
    return _write(
        actor=actor,
        action=action,
        model=obj._meta.label_lower,
        object_pk=str(obj.pk),
        unit_path=unit_path,
        before=before,
        after=after,
        note=note,
        ok=True,
        username="",
    )


def event(
    *,
    actor: Actor | None,
    action: str,
    model: str,
    object_pk: str = "",
    note: str = "",
    ok: bool = True,
    username: str = "",
) -> ChangeRecord:
    """Write a record of something that changed no row of ours (a sign-in, a failed sign-in, an export):
    ``model`` is a label such as ``"accounts.user"``, ``username`` the name given when there is no actor.
    Inside a transaction it joins it (and goes if it rolls back); outside, it commits on its own."""
    with transaction.atomic():
        return _write(
            actor=actor,
            action=action,
            model=model,
            object_pk=object_pk,
            unit_path="",
            before=None,
            after=None,
            note=note,
            ok=ok,
            username=username,
        )


def _write(
    *,
    actor: Actor | None,
    action: str,
    model: str,
    object_pk: str,
    unit_path: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str,
    ok: bool,
    username: str,
) -> ChangeRecord:
    where = current_origin()
    actor_id = getattr(actor, "pk", None)
    if not username and actor_id is not None:
        username = str(getattr(actor, "username", ""))
    return ChangeRecord.objects.create(
        actor_id=actor_id,
        action=action,
        model=model,
        object_pk=object_pk,
        unit_path=unit_path,
        before=before,
        after=after,
        note=note,
        username=username,
        address=where.address,
        channel=where.channel,
        ok=ok,
    )
