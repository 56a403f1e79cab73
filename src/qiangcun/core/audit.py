"""The change log: every service write records who changed what, in the same transaction.

Each record also says from where and through what: the client's address and the channel (网页 ``web``,
接口 ``api``, 命令行 ``cli``, 后台任务 ``job``), read from a context variable that the request middleware
(:mod:`qiangcun.core.middleware`), the ``qiangcun`` entry point and the job wrappers set
(:mod:`qiangcun.core.origin`)."""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiangcun.core.chain import GENESIS, chain_hash, content
from qiangcun.core.origin import (
    Channel,
    Origin,
    Refusal,
    current_origin,
    normalize_address,
    note_failure_recorded,
    origin,
    set_channel,
    watching_refusals,
)
from qiangcun.core.pii import PERSONAL_NAMES, mask_id_number, mask_personal, mask_phone
from qiangcun.core.scope import Actor

__all__ = [
    "AppendOnlyError",
    "ChangeRecord",
    "Channel",
    "Origin",
    "current_origin",
    "event",
    "failure",
    "normalize_address",
    "origin",
    "record",
    "set_channel",
    "snapshot",
    "watching_refusals",
]


#: The key of the PostgreSQL advisory lock that serializes appends to the chain (``"qcau"`` in ASCII).
CHAIN_LOCK = 0x71636175

APPEND_ONLY = "变更记录只能追加，不能修改或删除"


def _now() -> datetime.datetime:
    """The moment a record is written (looked up at each call, so that a test may stand on a day)."""
    return timezone.now()


class AppendOnlyError(Exception):
    """An attempt to change or remove a change record."""


class ChangeRecordQuerySet(models.QuerySet["ChangeRecord"]):
    """Records are appended one by one (each links to the one before it) and never changed or removed."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{APPEND_ONLY}（试图批量修改）")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{APPEND_ONLY}（试图批量删除）")

    def bulk_update(self, objs: Iterable[ChangeRecord], fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{APPEND_ONLY}（试图批量修改）")

    def bulk_create(self, objs: Iterable[ChangeRecord], *args: Any, **kwargs: Any) -> list[ChangeRecord]:
        """Each record in turn, so that each is chained to the one before."""
        made = list(objs)
        with transaction.atomic(using=self.db):
            for obj in made:
                obj.save(using=self.db)
        return made


class ChangeRecord(models.Model):
    """One write: who (``actor``, or ``username`` when there is none), when, from where (``address``) and
    through what (``channel``), which object, what it was before and after, whether it succeeded (``ok``);
    linked into a hash chain (``prev_hash`` → ``hash``, see :mod:`qiangcun.core.chain`). Append-only: the
    model refuses to change or delete a record, and database triggers refuse UPDATE and DELETE
    (:mod:`qiangcun.core.guard`)."""

    at = models.DateTimeField(_("时间"), default=_now, editable=False, db_index=True)
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
    prev_hash = models.CharField(_("上一条哈希"), max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(_("哈希"), max_length=64, blank=True, default="", editable=False)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        app_label = "core"
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_pk"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.model}#{self.object_pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Append the record to the chain; a record once written is never saved again."""
        if not self._state.adding:
            raise AppendOnlyError(f"{APPEND_ONLY}（第 {self.pk} 条）")
        using = kwargs.get("using") or router.db_for_write(ChangeRecord, instance=self)
        kwargs["using"] = using
        kwargs["force_insert"] = True
        with transaction.atomic(using=using):
            _link(self, using)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{APPEND_ONLY}（第 {self.pk} 条）")


def _link(rec: ChangeRecord, using: str) -> None:
    """Give ``rec`` its id, the previous record's hash and its own hash. Runs inside the transaction that
    inserts it, holding the chain: on PostgreSQL a transaction-scoped advisory lock (released at commit
    or rollback), taken before the last record is read; on SQLite the database's write lock, which every
    transaction here holds from its start (``transaction_mode="IMMEDIATE"`` in settings), so two appends
    never read the same last record."""
    connection = connections[using]
    table = ChangeRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        last = ChangeRecord.objects.using(using).order_by("-id").values_list("id", "hash").first()
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            new_id = int(cursor.fetchone()[0])
        else:  # AUTOINCREMENT: never reuse the id of a removed last row
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            new_id = max(int(row[0]) if row else 0, last[0] if last else 0) + 1
    if timezone.is_naive(rec.at):
        rec.at = timezone.make_aware(rec.at, timezone.get_default_timezone())
    rec.id = new_id
    rec.prev_hash = last[1] if last else GENESIS
    rec.hash = chain_hash(rec.prev_hash, content(rec))


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


def _masked(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """``values`` with phone and ID numbers masked (``138****5678``): the log says that a number changed and
    to what, recognisably, but keeps no one's whole number (个人信息保护法: collect no more than needed)."""
    if not values:
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value and PERSONAL_NAMES.search(str(key)):
            value = mask_id_number(value) if len(value) == 18 else mask_phone(value)
        out[key] = value
    return out


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
    before, after = _masked(before), _masked(after)
    if not ok:
        note_failure_recorded()
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


#: Actions of the records of writes that did not happen (``ok`` false), by what stopped them.
REFUSED = "write.refused"  # a service refused it (a ServiceError: the message says why)
DENIED = "write.denied"  # the page or endpoint refused it (403, 404, 405, 409 …) before any service
FAILED = "write.failed"  # it broke (a server error, an exception in a job)
#: A failure record's note is cut to this many characters.
MAX_NOTE = 2000


def failure(
    *,
    actor: Actor | None,
    action: str,
    what: str,
    refusals: Iterable[Refusal] = (),
    detail: str = "",
    username: str = "",
) -> ChangeRecord:
    """Record a write that did not happen (``ok`` false): ``what`` is the request or command (``POST
    /ledger/12/submit/``, ``import-ledger``), ``refusals`` what the services said, ``detail`` anything
    else (the status, the exception's type). Runs in its own transaction, after the one the write
    rolled back: must not be called inside it (it would go with it)."""
    seen: list[str] = []
    model = ""
    for refusal in refusals:
        if not model and refusal.where:
            model = refusal.where.split(".", 1)[0]
        line = f"{refusal.message}（{refusal.where}）" if refusal.where else refusal.message
        if line not in seen:
            seen.append(line)
    note = mask_personal("；".join([what, *seen, *([detail] if detail else [])]))
    return event(
        actor=actor,
        action=action,
        model=model or "write",
        note=note[:MAX_NOTE],
        ok=False,
        username=username,
    )


@contextlib.contextmanager
def job_failures(what: str) -> Iterator[None]:
    """Around one background job: what a service refused in it, or an exception that ended it, is recorded
    (``ok`` false) when it is over, unless the job recorded its own failure. The exception goes on."""
    with watching_refusals() as watch:
        try:
            yield
        except Exception as exc:
            if not watch.recorded:
                _failure_quietly(FAILED, what, watch.refusals, type(exc).__name__)
            raise
        refused = [r for r in watch.refusals if r.in_service]
        if refused and not watch.recorded:
            _failure_quietly(REFUSED, what, refused, "")


def _failure_quietly(action: str, what: str, refusals: list[Refusal], detail: str) -> None:
    try:
        failure(actor=None, action=action, what=what, refusals=refusals, detail=detail)
    except Exception:  # the job's own outcome matters more than this record; the log says why
        logging.getLogger(__name__).exception("could not record the failed job %s", what)


# --- checking the chain ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What :func:`verify` found: how many records it checked, the last good one, and the first broken
    record with the reason (``broken_id`` ``None`` when the chain holds)."""

    checked: int = 0
    last_id: int | None = None
    last_hash: str = GENESIS
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _records(chunk_size: int, using: str) -> Iterator[ChangeRecord]:
    """Every record in id order, ``chunk_size`` at a time (keyset pagination: bounded memory on both
    databases, no long-open cursor)."""
    after = None
    while True:
        rows = ChangeRecord.objects.using(using).order_by("id")
        if after is not None:
            rows = rows.filter(id__gt=after)
        chunk = list(rows[:chunk_size])
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].pk


def verify(*, chunk_size: int = 2000, using: str = "default") -> Verdict:
    """Walk the chain in id order: each record's hash must be that of its content after the previous
    record's hash. Stops at the first broken record and says why: its content was changed (its hash no
    longer matches), a record before it is missing (it links to a hash no record has), or the chain's
    order is broken (it links to another record than the one before it)."""
    verdict = Verdict()
    for rec in _records(chunk_size, using):
        if rec.prev_hash != verdict.last_hash:
            verdict.broken_id = rec.pk
            verdict.reason = _link_broken(rec, verdict, using)
            return verdict
        if not rec.hash or chain_hash(rec.prev_hash, content(rec)) != rec.hash:
            verdict.broken_id = rec.pk
            verdict.reason = (
                "内容被改过：按记录现有内容算出的哈希与它存的哈希不符"
                if rec.hash
                else "没有哈希：这条记录不是经由本系统追加的"
            )
            return verdict
        verdict.checked += 1
        verdict.last_id, verdict.last_hash = rec.pk, rec.hash
    return verdict


def _link_broken(rec: ChangeRecord, verdict: Verdict, using: str) -> str:
    before = f"第 {verdict.last_id} 条" if verdict.last_id is not None else "链首"
    if not rec.prev_hash:
        return f"链顺序不对：它自称链首，但它前面还有{before}"
    linked = ChangeRecord.objects.using(using).filter(hash=rec.prev_hash).values_list("id", flat=True).first()
    if linked is None:
        return f"缺少记录：它链接的上一条记录已不存在（现存的前一条是{before}），有记录被删除"
    return f"链顺序不对：它链接的是第 {linked} 条，而不是前一条（{before}）"
