"""Database triggers that refuse any UPDATE or DELETE of a verified ledger row, whatever the path.

Services already refuse; the triggers make it true for raw SQL, the shell and future code too.
"""

from __future__ import annotations

from typing import Any

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS ledger_entry_frozen_update BEFORE UPDATE ON ledger_entry
       WHEN OLD.status = 'verified'
       BEGIN SELECT RAISE(ABORT, 'ledger entry is verified and frozen'); END""",
    """CREATE TRIGGER IF NOT EXISTS ledger_entry_frozen_delete BEFORE DELETE ON ledger_entry
       WHEN OLD.status = 'verified'
       BEGIN SELECT RAISE(ABORT, 'ledger entry is verified and frozen'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ledger_entry_frozen_update",
    "DROP TRIGGER IF EXISTS ledger_entry_frozen_delete",
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
]
POSTGRES_DROP = ["DROP TRIGGER IF EXISTS ledger_entry_frozen ON ledger_entry"]


def install(connection: Any) -> None:
    statements = POSTGRES if connection.vendor == "postgresql" else SQLITE
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def uninstall(connection: Any) -> None:
    statements = POSTGRES_DROP if connection.vendor == "postgresql" else SQLITE_DROP
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
