"""How an import writes its rows: ``COPY`` on PostgreSQL, one prepared INSERT over all rows on SQLite —
exact to the fen, with the database's checks and the freeze triggers still in force.

Run on PostgreSQL with ``DATABASE_URL`` set (the COPY test is skipped on SQLite and vice versa)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, InternalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from qiangcun.ledger import services
from qiangcun.ledger.importing.ledger import ParsedRow
from qiangcun.ledger.models import Entry, ImportBatch, Status
from qiangcun.ledger.services import entries_import

AMOUNTS = ["0.30", "1234567.89", "0.07", "19.99", "1000000000.00", "35.10", "-12800.00", "999999999.99"]


def _rows(tree, category, path, amounts=AMOUNTS):
    return [
        ParsedRow(
            row=n,
            village=tree.villages[n % len(tree.villages)],
            date=datetime.date(2020, 1 + n % 12, 1 + n % 28),
            amount=Decimal(amount),
            category=category,
            path=path,
            summary=f'导入的第 {n} 行\t含制表符、引号"、换行\n和反斜杠\\N',
            counterparty="某公司" if n % 2 else "",
        )
        for n, amount in enumerate(amounts, start=2)
    ]


@pytest.fixture
def spy(monkeypatch):
    """Which way the rows went in: ``copy`` (COPY) or ``executemany``."""
    used: list[str] = []
    copy_rows = services._copy_rows

    def spying_copy(*args, **kwargs):
        used.append("copy")
        return copy_rows(*args, **kwargs)

    monkeypatch.setattr(services, "_copy_rows", spying_copy)
    return used


def test_an_import_writes_every_row_exactly(tree, personas, category, path, spy, settings):
    settings.TODAY = datetime.date(2021, 1, 5)
    rows = _rows(tree, category, path)
    outcome = entries_import(
        actor=personas["township_admin"], rows=rows, file_name="台账.xlsx", sha256="0" * 64, verified=True
    )
    assert outcome.imported == len(AMOUNTS)
    entries = Entry.objects.filter(import_batch=outcome.batch).order_by("id")
    assert Entry.objects.filter(import_batch=outcome.batch).aggregate(s=Sum("amount"))["s"] == sum(
        map(Decimal, AMOUNTS)
    )
    assert [str(e.amount) for e in entries] == AMOUNTS
    assert [e.summary for e in entries] == [r.summary for r in rows]
    assert [(e.village_id, e.date, e.counterparty) for e in entries] == [
        (r.village.pk, r.date, r.counterparty) for r in rows
    ]
    assert {(e.status, e.reviewed_by_id, e.version) for e in entries} == {
        (Status.VERIFIED, personas["township_admin"].pk, 1)
    }
    assert spy == (["copy"] if connection.vendor == "postgresql" else [])


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_the_database_checks_still_hold(tree, personas, category, path, vendor):
    """A verified row without a reviewer breaks a check constraint, however it is inserted."""
    if connection.vendor != vendor:
        pytest.skip(f"runs on {vendor}")
    admin = personas["township_admin"]
    batch = ImportBatch.objects.create(kind=ImportBatch.Kind.LEDGER, file_name="x.xlsx", sha256="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        services._insert_imported(
            _rows(tree, category, path, ["5.00"]),
            actor=admin,
            status=Status.VERIFIED,
            now=timezone.now(),
            batch=batch,
            verified=False,
        )
    assert not Entry.objects.filter(import_batch=batch).exists()


def test_postgresql_checks_lengths_of_copied_text(tree, personas, category, path):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not check lengths")
    batch = ImportBatch.objects.create(kind=ImportBatch.Kind.LEDGER, file_name="x.xlsx", sha256="0" * 64)
    row = _rows(tree, category, path, ["5.00"])[0]
    long = ParsedRow(**{**row.__dict__, "summary": "长" * 201})
    with pytest.raises(DataError), transaction.atomic():
        services._insert_imported(
            [long],
            actor=personas["township_admin"],
            status=Status.SUBMITTED,
            now=timezone.now(),
            batch=batch,
            verified=False,
        )


def test_copied_verified_rows_are_frozen(tree, personas, category, path, settings):
    """The freeze triggers hold for rows an import put in (by COPY on PostgreSQL)."""
    settings.TODAY = datetime.date(2021, 1, 5)
    outcome = entries_import(
        actor=personas["township_admin"],
        rows=_rows(tree, category, path, ["5.00"]),
        file_name="台账.xlsx",
        sha256="0" * 64,
        verified=True,
    )
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Entry.objects.filter(import_batch=outcome.batch).update(summary="改")
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Entry.objects.filter(import_batch=outcome.batch).delete()


def test_a_row_dated_after_today_is_refused(tree, personas, category, path, settings):
    """``today()`` is asked once per import now; a row dated after it is still refused, naming the row."""
    from qiangcun.core.errors import ServiceError

    settings.TODAY = datetime.date(2020, 4, 17)
    rows = _rows(tree, category, path, ["5.00", "6.00"])
    rows[1] = ParsedRow(**{**rows[1].__dict__, "date": datetime.date(2020, 4, 18)})
    with pytest.raises(ServiceError, match="第 3 行：收入日期 2020-04-18 晚于今天"):
        entries_import(actor=personas["township_admin"], rows=rows, file_name="x.xlsx", sha256="0" * 64)
    assert not Entry.objects.exists()
