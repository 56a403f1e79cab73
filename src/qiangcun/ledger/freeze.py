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


#: The yearly shares of a spread row (``ledger_recognition``) are part of it: frozen with it. A share of a
#: verified row is neither changed, removed nor pushed out, and none is added to it.
_SHARE_OF_VERIFIED = "(SELECT status FROM ledger_entry WHERE id = {row}.entry_id) = 'verified'"
_SHARE_ID_TAKEN = (
    "EXISTS (SELECT 1 FROM ledger_recognition r JOIN ledger_entry e ON e.id = r.entry_id "
    "WHERE r.id = NEW.id AND e.status = 'verified')"
)
SHARE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "ledger_recognition_frozen_update",
        "ledger_recognition_frozen_delete",
        "ledger_recognition_frozen_insert",
    ),
    "postgresql": ("ledger_recognition_frozen", "ledger_recognition_no_truncate"),
}
SHARES_SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in SHARE_TRIGGERS["sqlite"]]
SHARES_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {name} ON ledger_recognition" for name in SHARE_TRIGGERS["postgresql"]
]
SHARES_SQLITE = [
    *SHARES_SQLITE_DROP,
    f"""CREATE TRIGGER ledger_recognition_frozen_update BEFORE UPDATE ON ledger_recognition
       WHEN {_SHARE_OF_VERIFIED.format(row="OLD")} OR {_SHARE_OF_VERIFIED.format(row="NEW")}
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER ledger_recognition_frozen_delete BEFORE DELETE ON ledger_recognition
       WHEN {_SHARE_OF_VERIFIED.format(row="OLD")}
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    # A new share of a verified row, or one that would push out (REPLACE) a verified row's share.
    f"""CREATE TRIGGER ledger_recognition_frozen_insert BEFORE INSERT ON ledger_recognition
       WHEN {_SHARE_OF_VERIFIED.format(row="NEW")} OR {_SHARE_ID_TAKEN}
       BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
]
SHARES_POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_recognition_frozen() RETURNS trigger AS $$
       BEGIN
         IF TG_OP <> 'INSERT' AND EXISTS (
             SELECT 1 FROM ledger_entry WHERE id = OLD.entry_id AND status = 'verified') THEN
           RAISE EXCEPTION 'ledger entry % is verified and frozen', OLD.entry_id
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF TG_OP <> 'DELETE' AND EXISTS (
             SELECT 1 FROM ledger_entry WHERE id = NEW.entry_id AND status = 'verified') THEN
           RAISE EXCEPTION 'ledger entry % is verified and frozen', NEW.entry_id
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS ledger_recognition_frozen ON ledger_recognition",
    """CREATE TRIGGER ledger_recognition_frozen BEFORE INSERT OR UPDATE OR DELETE ON ledger_recognition
       FOR EACH ROW EXECUTE FUNCTION ledger_recognition_frozen()""",
    """CREATE OR REPLACE FUNCTION ledger_recognition_no_truncate() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM ledger_recognition r JOIN ledger_entry e ON e.id = r.entry_id
                    WHERE e.status = 'verified') THEN
           RAISE EXCEPTION 'TRUNCATE of ledger_recognition refused: it holds shares of verified rows'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS ledger_recognition_no_truncate ON ledger_recognition",
    """CREATE TRIGGER ledger_recognition_no_truncate BEFORE TRUNCATE ON ledger_recognition
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_recognition_no_truncate()""",
]


def install(connection: Any) -> None:
    # The shares' table comes with migration ledger 0009; an earlier migration installs the rest.
    shares = "ledger_recognition" in connection.introspection.table_names()
    run_for_vendor(
        connection,
        postgresql=POSTGRES + (SHARES_POSTGRES if shares else []),
        sqlite=SQLITE + (SHARES_SQLITE if shares else []),
    )


def uninstall(connection: Any) -> None:
    shares = "ledger_recognition" in connection.introspection.table_names()
    run_for_vendor(
        connection,
        postgresql=POSTGRES_DROP + (SHARES_POSTGRES_DROP if shares else []),
        sqlite=SQLITE_DROP + (SHARES_SQLITE_DROP if shares else []),
    )
