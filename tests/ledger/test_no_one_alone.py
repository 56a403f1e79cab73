"""No one alone puts money on the table: every row that counts is entered by one person and verified by
another — an imported row and a reversal too; a verified import is only a migration of a closed past year."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.accounts.models import Role
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.ledger.importing.ledger import ParsedRow
from qiangcun.ledger.models import Entry, ImportBatch, Status
from qiangcun.ledger.selectors import entries_for_review
from qiangcun.ledger.services import (
    entries_import,
    entry_create,
    entry_return,
    entry_reverse,
    entry_submit,
    entry_verify,
)
from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.usefixtures("fast_hashing")

ARTICLE_DAY = datetime.date(2020, 4, 17)


def _rows(tree, category, path, *amounts: str, date: datetime.date = datetime.date(2020, 3, 1)):
    return [
        ParsedRow(
            row=n,
            village=tree.sunzhuang,
            date=date,
            amount=Decimal(amount),
            category=category,
            path=path,
            summary=f"导入的第 {n} 行",
            counterparty="",
        )
        for n, amount in enumerate(amounts, start=2)
    ]


def _state() -> tuple[int, int, int]:
    return Entry.objects.count(), ImportBatch.objects.count(), ChangeRecord.objects.count()


# ---------------------------------------------------------------- imports


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_verified_import_of_the_current_year_is_refused(tree, personas, category, path, settings, dry_run):
    """Review finding: a township admin imported −10,000 into 孙庄村 for the current year, already
    verified, alone (author and verifier the same person)."""
    settings.TODAY = ARTICLE_DAY
    admin = personas["township_admin"]
    before = _state()
    with pytest.raises(ServiceError, match="往年") as caught:
        entries_import(
            actor=admin,
            rows=_rows(tree, category, path, "-10000.00"),
            file_name="孙庄村.xlsx",
            sha256="0" * 64,
            verified=True,
            dry_run=dry_run,
        )
    assert "2020" in caught.value.message and "第 2 行" in caught.value.message
    assert _state() == before
    assert not Entry.objects.filter(entered_by=admin, reviewed_by=admin).exists()


def test_a_verified_import_refuses_a_file_that_reaches_into_the_current_year(
    tree, personas, category, path, settings
):
    settings.TODAY = datetime.date(2021, 1, 10)
    rows = _rows(tree, category, path, "500.00") + _rows(
        tree, category, path, "-10000.00", date=datetime.date(2021, 1, 5)
    )
    before = _state()
    with pytest.raises(ServiceError, match="2021"):
        entries_import(
            actor=personas["township_admin"], rows=rows, file_name="x.xlsx", sha256="1" * 64, verified=True
        )
    assert _state() == before


def test_a_verified_import_migrates_a_closed_past_year_and_says_so(tree, personas, category, path, settings):
    settings.TODAY = datetime.date(2021, 1, 10)  # 2020 is over
    admin = personas["township_admin"]
    outcome = entries_import(
        actor=admin,
        rows=_rows(tree, category, path, "12000.00", "-2000.00"),
        file_name="2020年台账.xlsx",
        sha256="2" * 64,
        verified=True,
    )
    rows = Entry.objects.filter(import_batch=outcome.batch)
    assert sorted(rows.values_list("amount", "status")) == [
        (Decimal("-2000.00"), Status.VERIFIED),
        (Decimal("12000.00"), Status.VERIFIED),
    ]
    assert outcome.batch is not None and outcome.batch.as_verified
    record = ChangeRecord.objects.get(action="ledger.import")
    assert record.actor_id == admin.pk and record.after["verified"] is True
    assert "迁移" in record.note


def test_only_a_township_admin_migrates_a_past_year(tree, personas, category, path, settings):
    settings.TODAY = datetime.date(2021, 1, 10)
    for who, message in (("station_head", "权限"), ("village_clerk", "镇党建办")):
        with pytest.raises(PermissionDeniedError, match=message):
            entries_import(
                actor=personas[who],
                rows=_rows(tree, category, path, "100.00"),
                file_name="x.xlsx",
                sha256="3" * 64,
                verified=True,
            )
    assert Entry.objects.count() == 0


def test_imported_rows_wait_for_someone_other_than_the_importer(tree, personas, category, path, settings):
    settings.TODAY = ARTICLE_DAY
    admin, head = personas["township_admin"], personas["station_head"]
    outcome = entries_import(
        actor=admin,
        rows=_rows(tree, category, path, "3000.00"),
        file_name="孙庄村.xlsx",
        sha256="4" * 64,
    )
    (row,) = Entry.objects.filter(import_batch=outcome.batch)
    assert row.status == Status.SUBMITTED and row.entered_by_id == admin.pk
    with pytest.raises(PermissionDeniedError, match="自己录入"):
        entry_verify(actor=admin, entries=[row])
    # The importer's queue does not offer rows they may not verify; another reviewer's does.
    assert row not in set(entries_for_review(user=admin))
    assert row in set(entries_for_review(user=head))
    entry_verify(actor=head, entries=[row])
    row.refresh_from_db()
    assert row.status == Status.VERIFIED and row.reviewed_by_id == head.pk


# ---------------------------------------------------------------- one person, several roles


@pytest.fixture
def clerk_and_head(tree):
    """A user who is both the clerk of 孙庄村 and the head of its station."""
    user = user_create(actor=None, username="clerk-and-head", password=PASSWORD)
    grant_create(actor=None, user=user, role=Role.VILLAGE_CLERK, unit=tree.sunzhuang)
    grant_create(actor=None, user=user, role=Role.STATION_HEAD, unit=tree.station1)
    return user


@pytest.fixture
def own_row(tree, clerk_and_head, personas, category, path):
    """Row R: entered by the clerk-and-head, verified by the township admin."""
    entry = entry_create(
        actor=clerk_and_head,
        village=tree.sunzhuang,
        date=datetime.date(2020, 3, 1),
        amount=Decimal("5000.00"),
        category=category,
        path=path,
        summary="冬瓜销售收入",
    )
    entry = entry_submit(actor=clerk_and_head, entry=entry)
    with pytest.raises(PermissionDeniedError, match="自己录入"):
        entry_verify(actor=clerk_and_head, entries=[entry])
    return entry_verify(actor=personas["township_admin"], entries=[entry])[0]


def test_nobody_verifies_the_reversal_of_a_row_they_entered(own_row, clerk_and_head, personas):
    """Review finding: a user who is both a village clerk and a station head could verify the reversal
    (entered by someone else) of their own row."""
    reversal = entry_reverse(actor=personas["station_head"], entry=own_row, reason="重复入账")
    assert reversal.entered_by_id != clerk_and_head.pk
    with pytest.raises(PermissionDeniedError, match="原记录"):
        entry_verify(actor=clerk_and_head, entries=[reversal])
    with pytest.raises(PermissionDeniedError, match="原记录"):
        entry_return(actor=clerk_and_head, entries=[reversal], reason="不同意冲销")
    reversal.refresh_from_db()
    assert reversal.status == Status.SUBMITTED and reversal.reviewed_by_id is None
    assert reversal not in set(entries_for_review(user=clerk_and_head))
    # Someone who entered neither row may verify it.
    entry_verify(actor=personas["district_secretary"], entries=[reversal])
    reversal.refresh_from_db()
    assert reversal.status == Status.VERIFIED


def test_nobody_verifies_a_reversal_they_entered_of_their_own_row(own_row, clerk_and_head, personas):
    reversal = entry_reverse(actor=clerk_and_head, entry=own_row, reason="金额录错")
    for attempt in (
        lambda: entry_verify(actor=clerk_and_head, entries=[reversal]),
        lambda: entry_return(actor=clerk_and_head, entries=[reversal], reason="撤回"),
    ):
        with pytest.raises(PermissionDeniedError):
            attempt()
    assert Entry.objects.get(pk=reversal.pk).status == Status.SUBMITTED


def test_a_batch_with_one_forbidden_row_verifies_nothing(own_row, clerk_and_head, personas, make_entry, tree):
    other = make_entry(tree.liudao, status="submitted")
    reversal = entry_reverse(actor=personas["station_head"], entry=own_row, reason="重复入账")
    with pytest.raises(PermissionDeniedError):
        entry_verify(actor=clerk_and_head, entries=[other, reversal])
    assert set(Entry.objects.filter(pk__in=[other.pk, reversal.pk]).values_list("status", flat=True)) == {
        Status.SUBMITTED
    }
    assert set(entries_for_review(user=clerk_and_head)) == {other}


def test_the_review_page_offers_only_rows_the_user_may_verify(
    client, own_row, clerk_and_head, personas, make_entry, tree
):
    other = make_entry(tree.liudao, amount="777.00", status="submitted")
    reversal = entry_reverse(actor=personas["station_head"], entry=own_row, reason="重复入账")
    login(client, clerk_and_head)
    page = client.get("/review/").content.decode()
    assert f'value="{other.pk}"' in page
    assert f'value="{reversal.pk}"' not in page
    assert "须由他人审核" in page  # says why a row they know of is not there
    # Posting the hidden row anyway changes nothing.
    client.post("/review/", {"ids": [str(reversal.pk)], "action": "verify"})
    assert Entry.objects.get(pk=reversal.pk).status == Status.SUBMITTED
