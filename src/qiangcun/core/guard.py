"""Database triggers that keep the change log append-only, whatever the path (raw SQL, the shell, a
script), as :mod:`qiangcun.ledger.freeze` does for verified ledger rows.

- UPDATE and DELETE of a change record are refused (SQLite and PostgreSQL).
- SQLite: ``INSERT OR REPLACE`` / ``REPLACE INTO`` with an existing id would delete that record without
  firing the delete trigger; a BEFORE INSERT trigger refuses an id that exists.
- PostgreSQL: TRUNCATE fires no row trigger; a statement trigger refuses it while the table holds a row.
- A test suite that empties tables between tests (DELETE on SQLite, TRUNCATE on PostgreSQL) drops the
  triggers first (``uninstall``), as ``tests/conftest.py`` does for the freeze triggers.

These stop accidents and casual edits; someone who can drop a trigger can still change rows — which is
what the hash chain (``qiangcun audit verify``) shows. ``install`` is idempotent and runs after every
``migrate`` (``CoreConfig``'s post_migrate handler).
"""

from __future__ import annotations

from typing import Any

REFUSED = "change records are append-only"
TABLE = "core_changerecord"

TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": ("core_changerecord_no_update", "core_changerecord_no_delete", "core_changerecord_no_replace"),
    "postgresql": ("core_changerecord_append_only", "core_changerecord_no_truncate"),
}
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS["sqlite"]]
POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {name} ON {TABLE}" for name in TRIGGERS["postgresql"]]

SQLITE = [
    *SQLITE_DROP,
    f"""CREATE TRIGGER core_changerecord_no_update BEFORE UPDATE ON {TABLE}
       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    f"""CREATE TRIGGER core_changerecord_no_delete BEFORE DELETE ON {TABLE}
       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
    f"""CREATE TRIGGER core_changerecord_no_replace BEFORE INSERT ON {TABLE}
       WHEN EXISTS (SELECT 1 FROM {TABLE} WHERE id = NEW.id)
       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION core_changerecord_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'change record % is append-only (% refused)', OLD.id, TG_OP
           USING ERRCODE = 'integrity_constraint_violation';
       END; $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS core_changerecord_append_only ON {TABLE}",
    f"""CREATE TRIGGER core_changerecord_append_only BEFORE UPDATE OR DELETE ON {TABLE}
       FOR EACH ROW EXECUTE FUNCTION core_changerecord_append_only()""",
    f"""CREATE OR REPLACE FUNCTION core_changerecord_no_truncate() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM {TABLE}) THEN
           RAISE EXCEPTION 'TRUNCATE of {TABLE} refused: {REFUSED}'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS core_changerecord_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER core_changerecord_no_truncate BEFORE TRUNCATE ON {TABLE}
       FOR EACH STATEMENT EXECUTE FUNCTION core_changerecord_no_truncate()""",
]


def run_for_vendor(connection: Any, *, postgresql: list[str], sqlite: list[str]) -> None:
    """Run the statements written for the connection's database (the trigger sets here and in
    ``ledger.freeze`` come as a PostgreSQL list and a SQLite list)."""
    with connection.cursor() as cursor:
        for sql in postgresql if connection.vendor == "postgresql" else sqlite:
            cursor.execute(sql)


def install(connection: Any) -> None:
    run_for_vendor(connection, postgresql=POSTGRES, sqlite=SQLITE)


def uninstall(connection: Any) -> None:
    run_for_vendor(connection, postgresql=POSTGRES_DROP, sqlite=SQLITE_DROP)
