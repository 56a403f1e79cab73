"""The audit chain's arithmetic: a record's canonical content and its hash (no model, no database).

``hash = sha256(prev_hash + canonical_json(content))`` in lower-case hex, where ``prev_hash`` is the hash of
the record before it in id order ("" for the first) and ``content`` is every field the record stores
(:func:`content`), serialized with sorted keys, ``ensure_ascii=False`` and no spaces (``,`` and ``:``),
encoded as UTF-8. The values are those the database gives back: ``at`` in UTC to the microsecond (both
PostgreSQL and SQLite keep microseconds), JSON numbers that are whole as integers (PostgreSQL's jsonb
reads ``1e16`` back as ``10000000000000000``)."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from django.utils import timezone

GENESIS = ""

#: The fields a record's hash covers, in the order the docs list them (the JSON sorts them anyway).
FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "model",
    "object_pk",
    "unit_path",
    "before",
    "after",
    "note",
    "username",
    "address",
    "channel",
    "ok",
)


def at_text(value: datetime.datetime) -> str:
    """The moment as stored: aware (a naive value is read in the default time zone, as Django saves it),
    in UTC, ISO 8601 with microseconds."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content(record: Any) -> dict[str, Any]:
    """What a record's hash covers (``record`` is a ChangeRecord, or the migration's historical one)."""
    return {
        "id": record.pk,
        "at": at_text(record.at),
        "actor": record.actor_id,
        "action": record.action,
        "model": record.model,
        "object_pk": record.object_pk,
        "unit_path": record.unit_path,
        "before": _canonical(record.before),
        "after": _canonical(record.after),
        "note": record.note,
        "username": record.username,
        "address": record.address,
        "channel": record.channel,
        "ok": bool(record.ok),
    }


def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def chain_hash(prev_hash: str, data: dict[str, Any]) -> str:
    body = (prev_hash + canonical_json(data)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(body).hexdigest()
