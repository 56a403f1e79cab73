"""The database itself keeps verified rows: on SQLite no conflict clause (INSERT OR REPLACE, REPLACE INTO,
UPDATE OR REPLACE, an upsert) changes or removes one, with or without ``recursive_triggers``; on PostgreSQL
no TRUNCATE — of the ledger or cascading from a table it references — empties a ledger that holds one.
Raw SQL on purpose: this is what the shell, a script or a future bug could run."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from qiangcun.ledger import freeze
from qiangcun.ledger.models import Entry, Status
from qiangcun.ledger.services import entry_reverse, entry_verify

pytestmark = pytest.mark.usefixtures("fast_hashing")

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite conflict clauses")
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL TRUNCATE")


def _row(pk: int) -> dict[str, Any]:
    return Entry.objects.filter(pk=pk).values().get()


def _raw(pk: int) -> tuple[list[str], list[Any]]:
    """The columns and stored values of one row, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM ledger_entry WHERE id = %s", [pk])
        values = list(cursor.fetchone())
        columns = [c[0] for c in cursor.description]
    return columns, values


def _insert(verb: str, pk: int, **changes: Any) -> None:
    """``verb`` (INSERT OR REPLACE, REPLACE …) a copy of row ``pk`` with ``changes`` applied."""
    columns, values = _raw(pk)
    row = dict(zip(columns, values, strict=True))
    row.update(changes)
    names = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    with connection.cursor() as cursor:
        cursor.execute(f"{verb} INTO ledger_entry ({names}) VALUES ({marks})", list(row.values()))


@pytest.fixture
def verified(tree, make_entry):
    return make_entry(tree.sunzhuang, amount="8888.88", status="verified")


@pytest.fixture
def verified_reversal(verified, personas):
    """A verified row and its verified reversal (the reversal holds the unique ``reverses_id``)."""
    reversal = entry_reverse(actor=personas["station_head"], entry=verified, reason="金额录错")
    return entry_verify(actor=personas["township_admin"], entries=[reversal])[0]


@pytest.fixture
def draft(tree, make_entry):
    return make_entry(tree.liudao, amount="12.00", status="draft")


@pytest.fixture(params=[False, True], ids=["recursive_triggers_off", "recursive_triggers_on"])
def recursive(request):
    """Both ways a connection may be set: the freeze must not depend on the connection's pragmas."""
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA recursive_triggers = {int(request.param)}")
    yield request.param
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers = 0")


def _refused(attempt) -> None:
    with pytest.raises(DatabaseError, match="frozen"), transaction.atomic():
        attempt()


# ---------------------------------------------------------------------------------------------- SQLite


@sqlite_only
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_replace_cannot_overwrite_a_verified_row(verified, recursive, verb):
    before = _row(verified.pk)
    _refused(
        lambda: _insert(verb, verified.pk, amount=100, status="draft", reviewed_by_id=None, reviewed_at=None)
    )
    _refused(lambda: _insert(verb, verified.pk))  # not even with the very same values
    assert _row(verified.pk) == before


@sqlite_only
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_replace_cannot_remove_a_verified_row_through_another_unique_key(
    verified_reversal, draft, recursive, verb
):
    """A new row (new id) carrying the ``reverses_id`` of a verified reversal would make REPLACE delete it."""
    before = _row(verified_reversal.pk)
    new_id = verified_reversal.pk + 1000
    _refused(lambda: _insert(verb, draft.pk, id=new_id, reverses_id=verified_reversal.reverses_id))
    assert _row(verified_reversal.pk) == before
    assert not Entry.objects.filter(pk=new_id).exists()


@sqlite_only
def test_update_or_replace_cannot_remove_a_verified_row(verified_reversal, draft, recursive):
    """Moving a draft onto a verified row's id (or its unique ``reverses_id``) would delete the verified row."""
    frozen = {pk: _row(pk) for pk in (verified_reversal.pk, verified_reversal.reverses_id)}
    draft_before = _row(draft.pk)

    def run(sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    for pk in frozen:
        _refused(
            lambda pk=pk: run("UPDATE OR REPLACE ledger_entry SET id = %s WHERE id = %s", [pk, draft.pk])
        )
    _refused(
        lambda: run(
            "UPDATE OR REPLACE ledger_entry SET reverses_id = %s WHERE id = %s",
            [verified_reversal.reverses_id, draft.pk],
        )
    )
    _refused(
        lambda: run("UPDATE OR REPLACE ledger_entry SET amount = 1 WHERE id = %s", [verified_reversal.pk])
    )
    assert {pk: _row(pk) for pk in frozen} == frozen
    assert _row(draft.pk) == draft_before


@sqlite_only
def test_upsert_cannot_change_a_verified_row(verified, recursive):
    before = _row(verified.pk)
    columns, values = _raw(verified.pk)
    names, marks = ", ".join(columns), ", ".join(["%s"] * len(columns))

    def upsert() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO ledger_entry ({names}) VALUES ({marks}) "
                "ON CONFLICT (id) DO UPDATE SET amount = 1, status = 'draft'",
                values,
            )

    _refused(upsert)
    assert _row(verified.pk) == before


@sqlite_only
def test_replace_still_works_for_rows_not_yet_verified(draft, recursive):
    """The freeze spares the normal life of a row: a draft may be replaced (and deleted)."""
    _insert("INSERT OR REPLACE", draft.pk, amount=4200)
    assert _row(draft.pk)["amount"] == Decimal("42.00")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE OR REPLACE ledger_entry SET amount = 4300 WHERE id = %s", [draft.pk])
    assert _row(draft.pk)["amount"] == Decimal("43.00")


@sqlite_only
def test_ordinary_inserts_pass(tree, make_entry, verified):
    """The insert trigger looks up the new row's keys: an ordinary insert (an auto id) is not refused."""
    made = make_entry(tree.sunzhuang, amount="1.00", date=datetime.date(2020, 3, 2), status="verified")
    assert Entry.objects.filter(status=Status.VERIFIED).count() == 2 and made.pk > verified.pk


@sqlite_only
def test_the_insert_guard_covers_every_unique_key(db):
    """REPLACE deletes the row holding any unique value the new row repeats: a unique key added to
    ledger_entry must be added to the guard in ``freeze.py`` too."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "ledger_entry")
    unique = {tuple(c["columns"]) for c in constraints.values() if c["unique"] or c["primary_key"]}
    assert unique == set(freeze.SQLITE_UNIQUE_KEYS)


# ---------------------------------------------------------------------------------------------- PostgreSQL


TRUNCATE_REFUSED = "TRUNCATE of ledger_entry refused"


def _settle() -> None:
    """Run the foreign-key checks Django defers to commit: PostgreSQL refuses any TRUNCATE of a table
    with pending trigger events, which would hide whether our guard refuses it."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        # (a bare "TRUNCATE ledger_entry" PostgreSQL refuses itself: ledger_evidence, ledger_requestkey,
        # ledger_recognition, contracts_payment and plans_measureentry reference it)
        "TRUNCATE ledger_evidence, ledger_requestkey, ledger_recognition, contracts_payment, plans_measureentry,"
        " ledger_entry",
        "TRUNCATE TABLE ONLY ledger_entry, ledger_evidence, ledger_requestkey, ledger_recognition,"
        " contracts_payment, plans_measureentry RESTART IDENTITY",
        "TRUNCATE ledger_entry CASCADE",
        "TRUNCATE ledger_importbatch CASCADE",
        "TRUNCATE ledger_category CASCADE",
        "TRUNCATE orgs_orgunit CASCADE",
        "TRUNCATE accounts_user CASCADE",
    ],
)
def test_truncate_cannot_empty_a_ledger_with_verified_rows(verified, sql):
    before = _row(verified.pk)
    _settle()
    # TRUNCATE accounts_user CASCADE reaches the change log too (its actor column), whose own guard may
    # refuse first: either refusal leaves the ledger whole, which is what counts.
    refused = TRUNCATE_REFUSED if "accounts_user" not in sql else f"{TRUNCATE_REFUSED}|{CHANGELOG_REFUSED}"
    with (
        pytest.raises(DatabaseError, match=refused),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert _row(verified.pk) == before


CHANGELOG_REFUSED = "TRUNCATE of core_changerecord refused"


@postgres_only
def test_truncate_of_a_ledger_without_verified_rows_is_allowed(draft):
    """TRUNCATE may do what DELETE may: rows not yet verified are not frozen."""
    _settle()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_entry CASCADE")
    assert not Entry.objects.exists()


@postgres_only
def test_the_truncate_guard_is_reinstalled_after_an_uninstall(verified):
    freeze.uninstall(connection)
    freeze.install(connection)
    _settle()
    with (
        pytest.raises(DatabaseError, match=TRUNCATE_REFUSED),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE ledger_entry CASCADE")
    assert Entry.objects.filter(pk=verified.pk).exists()


# ---------------------------------------------------------------------------------------------- migrate


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_entry'::regclass AND NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entry'"
            )
        return {name for (name,) in cursor.fetchall()}


def test_every_guard_is_back_after_a_migrate(db):
    """A table rebuild on SQLite drops triggers: post_migrate puts every guard back, the new ones too."""
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal

    installed = _triggers()
    assert installed >= set(freeze.TRIGGERS[connection.vendor])
    freeze.uninstall(connection)
    assert _triggers() == set()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default", apps=apps)
    assert _triggers() == installed
