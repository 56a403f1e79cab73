"""Database triggers that refuse any change or removal of a verified ledger row, whatever the path.

Services already refuse; the triggers make it true for raw SQL, the shell and future code too.

- UPDATE and DELETE of a verified row are refused (both databases).
- SQLite: a conflict clause — ``INSERT OR REPLACE``, ``REPLACE INTO``, ``UPDATE OR REPLACE`` — deletes the
  row that holds a unique value the new row repeats, and that delete fires no delete trigger unless the
  connection has ``PRAGMA recursive_triggers`` on. Rather than depend on every connection's pragmas (a
  script, the ``sqlite3`` shell or a backup tool would not set it), a BEFORE INSERT and a BEFORE UPDATE
  trigger refuse a row whose unique keys (``SQLITE_UNIQUE_KEYS``) collide with a verified row's.
- PostgreSQL: TRUNCATE fires no row trigger. A statement trigger refuses a TRUNCATE of ``ledger_entry`` —
  named, or reached by ``CASCADE`` from a table it references — while the ledger holds a verified row:
  TRUNCATE may do exactly what DELETE may (rows not yet verified are not frozen). A test suite that
  empties tables between tests drops the triggers first (``uninstall``), as ``tests/conftest.py`` does.

``install`` is idempotent and runs after every ``migrate`` (``LedgerConfig``'s post_migrate handler).
"""

from __future__ import annotations

from typing import Any

from qiangcun.core.guard import run_for_vendor

FROZEN = "ledger entry is verified and frozen"

#: Every unique key of ledger_entry (the primary key and the one-to-one ``reverses``). A REPLACE deletes
#: the row holding any of them; ``tests/ledger/test_freeze.py`` checks this list against the table.
SQLITE_UNIQUE_KEYS: tuple[tuple[str, ...], ...] = (("id",), ("reverses_id",))


def _collides(other_than_old: bool) -> str:
    """SQL: a verified row (other than the one being updated) holds one of the new row's unique keys."""
    tests = []
    for key in SQLITE_UNIQUE_KEYS:
        match = " AND ".join(f"v.{column} = NEW.{column}" for column in key)
        exclude = " AND v.id <> OLD.id" if other_than_old else ""
        tests.append(
            f"EXISTS (SELECT 1 FROM ledger_entry v WHERE {match}{exclude} AND v.status = 'verified')"
        )
    return " OR ".join(tests)


#: The triggers ``install`` creates, per database vendor.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "ledger_entry_frozen_update",
        "ledger_entry_frozen_delete",
        "ledger_entry_frozen_replace",
        "ledger_entry_frozen_update_replace",
    ),
    "postgresql": ("ledger_entry_frozen", "ledger_entry_no_truncate"),
}
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS["sqlite"]]
POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {name} ON ledger_entry" for name in TRIGGERS["postgresql"]]

_SQLITE_KEY_COLUMNS = ", ".join(dict.fromkeys(c for key in SQLITE_UNIQUE_KEYS for c in key))

SQLITE = [
    *SQLITE_DROP,  # then created again, so that a changed trigger reaches an existing database
    f"""CREATE TRIGGER ledger_entry_frozen_update BEFORE UPDATE ON ledger_entry
       WHEN OLD.status = 'verified'
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER ledger_entry_frozen_delete BEFORE DELETE ON ledger_entry
       WHEN OLD.status = 'verified'
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    # INSERT OR REPLACE / REPLACE INTO: the new row would push a verified row out.
    f"""CREATE TRIGGER ledger_entry_frozen_replace BEFORE INSERT ON ledger_entry
       WHEN {_collides(other_than_old=False)}
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    # UPDATE OR REPLACE: a row moved onto a verified row's keys would push it out.
    f"""CREATE TRIGGER ledger_entry_frozen_update_replace
       BEFORE UPDATE OF {_SQLITE_KEY_COLUMNS} ON ledger_entry
       WHEN {_collides(other_than_old=True)}
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_entry_frozen() RETURNS trigger AS $$
       BEGIN
         IF OLD.status = 'verified' THEN
           RAISE EXCEPTION 'ledger entry % is verified and frozen', OLD.id USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS ledger_entry_frozen ON ledger_entry",
    """CREATE TRIGGER ledger_entry_frozen BEFORE UPDATE OR DELETE ON ledger_entry
       FOR EACH ROW EXECUTE FUNCTION ledger_entry_frozen()""",
    """CREATE OR REPLACE FUNCTION ledger_entry_no_truncate() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM ledger_entry WHERE status = 'verified') THEN
           RAISE EXCEPTION 'TRUNCATE of ledger_entry refused: it holds verified rows, which are frozen'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry",
    """CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_no_truncate()""",
]


def install(connection: Any) -> None:
    run_for_vendor(connection, postgresql=POSTGRES, sqlite=SQLITE)


def uninstall(connection: Any) -> None:
    run_for_vendor(connection, postgresql=POSTGRES_DROP, sqlite=SQLITE_DROP)
