"""Reads of the ledger, restricted to the user's scope."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from qiangcun.core.scope import Action
from qiangcun.ledger.models import Category, Entry, EntryQuerySet, Status
from qiangcun.orgs.models import OrgUnit


def entries_visible(*, user: Any, action: str = Action.VIEW) -> EntryQuerySet:
    return Entry.objects.restrict(user, action).select_related(
        "village", "category", "path", "entered_by", "reviewed_by", "reverses"
    )


def _awaiting_review(user: Any) -> EntryQuerySet:
    return entries_visible(user=user, action=Action.VERIFY).filter(status=Status.SUBMITTED)


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


# ------------------------------------------------------------------------------------------- duplicates


def entries_alike(
    *, village: OrgUnit, date: datetime.date, amount: Decimal, category: Category, summary: str
) -> EntryQuerySet:
    """Rows of ``village`` identical on date, amount, category and summary (a likely duplicate), leaving
    out rows already reversed. Unscoped: the caller has checked the user may write in ``village``."""
    return Entry.objects.filter(
        village=village,
        date=date,
        amount=amount,  # type: ignore[misc]  # MoneyField compares Decimal yuan
        category=category,
        summary=summary.strip(),
        reversal__isnull=True,
    ).order_by("id")


def likely_duplicates(rows: Iterable[Entry]) -> set[int]:
    """The ids of ``rows`` that match another row of their village on date, amount, category and summary
    (the rule of :func:`entries_alike`), in one query whatever the number of rows."""
    rows = list(rows)
    if not rows:
        return set()
    counts = Counter(
        Entry.objects.filter(
            village_id__in={e.village_id for e in rows},
            date__in={e.date for e in rows},
            reversal__isnull=True,
        ).values_list("village_id", "date", "amount", "category_id", "summary")
    )
    return {e.pk for e in rows if counts[(e.village_id, e.date, e.amount, e.category_id, e.summary)] > 1}


# ------------------------------------------------------------------------------------------- open years

#: Which years a village may enter income for. The ledger does not know campaigns (import-linter forbids
#: it); the app that sets them up (targets) registers its rule at start-up with :func:`open_years_rule`.
_open_years: Callable[[OrgUnit], list[int]] | None = None


def open_years_rule(rule: Callable[[OrgUnit], list[int]] | None) -> None:
    """Register the rule that answers :func:`open_years` (``None`` removes it)."""
    global _open_years
    _open_years = rule


def open_years(village: OrgUnit) -> list[int] | None:
    """The years ``village`` may enter rows for, or ``None`` when no rule is registered (then only dates
    after today are refused)."""
    return None if _open_years is None else _open_years(village)


def verified_totals_by_village(*, using: str = "default") -> dict[str, dict[str, Any]]:
    """Every village's verified rows: ``{village code: {"label": name, "count": n, "sum_fen": fen}}``.

    Not restricted to a user: the backup manifest and its verification read a whole database (``using``
    names it — the live one, a snapshot or a scratch copy). Sums are integer fen, exact on both engines."""
    from django.db.models import BigIntegerField, Count, Sum

    rows = (
        Entry.objects.using(using)
        .filter(status=Status.VERIFIED)
        .values("village__code", "village__name")
        .annotate(n=Count("id"), fen=Sum("amount", output_field=BigIntegerField()))
        .order_by("village__code")
    )
    return {
        row["village__code"]: {
            "label": row["village__name"],
            "count": row["n"],
            "sum_fen": int(row["fen"] or 0),
        }
        for row in rows
    }


# ------------------------------------------------------------------------------------------- list pages

#: A village's ledger on its page: this many rows a page (newest first).
VILLAGE_PAGE_ROWS = 200


@dataclass(frozen=True)
class ListTotals:
    """What a paged list of rows adds up to over all its pages: how many rows, and their sum."""

    rows: int
    amount: Decimal


def list_totals(entries: EntryQuerySet) -> ListTotals:
    """Count and sum ``entries`` in the database (one query), whatever page of them is shown."""
    agg = entries.order_by().aggregate(n=Count("id"), s=Sum("amount"))
    return ListTotals(rows=agg["n"] or 0, amount=agg["s"] if agg["s"] is not None else Decimal("0.00"))
