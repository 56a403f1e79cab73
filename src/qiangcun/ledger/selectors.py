"""Reads of the ledger, restricted to the user's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from qiangcun.ledger.models import Entry, EntryQuerySet, Status


def entries_visible(*, user: Any, action: str = "view") -> EntryQuerySet:
    return Entry.objects.restrict(user, action).select_related(
        "village", "category", "path", "entered_by", "reviewed_by", "reverses"
    )


def _awaiting_review(user: Any) -> EntryQuerySet:
    return entries_visible(user=user, action="verify").filter(status=Status.SUBMITTED)


def _own(user: Any) -> Q:
    """Rows the user entered, and reversals of rows the user entered: someone else decides on them."""
    pk = getattr(user, "pk", None)
    return Q(entered_by_id=pk) | Q(reverses__entered_by_id=pk)


def entries_for_review(*, user: Any) -> EntryQuerySet:
    """Rows awaiting verification in villages the user may verify, grouped by village — without the
    rows the user may not decide on (their own rows and reversals of their own rows)."""
    return _awaiting_review(user).exclude(_own(user)).order_by("village__path", "date", "id")


def entries_awaiting_others(*, user: Any) -> EntryQuerySet:
    """Rows in the user's review scope that await someone else's verification because the user entered
    them (or the row they reverse)."""
    return _awaiting_review(user).filter(_own(user))
