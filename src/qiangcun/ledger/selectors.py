"""Reads of the ledger, restricted to the user's scope."""

from __future__ import annotations

from typing import Any

from qiangcun.ledger.models import Entry, EntryQuerySet, Status


def entries_visible(*, user: Any, action: str = "view") -> EntryQuerySet:
    return Entry.objects.restrict(user, action).select_related(
        "village", "category", "path", "entered_by", "reviewed_by", "reverses"
    )


def entries_for_review(*, user: Any) -> EntryQuerySet:
    """Rows awaiting verification in villages the user may verify, grouped by village."""
    return (
        entries_visible(user=user, action="verify")
        .filter(status=Status.SUBMITTED)
        .order_by("village__path", "date", "id")
    )
