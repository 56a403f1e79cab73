"""The change log is append-only and tamper-evident: every record carries the hash of the one before it,
``qiangcun audit verify`` walks the chain and names the first broken record; the model and database
triggers refuse to change or delete a record."""

from __future__ import annotations

import datetime
import importlib
import itertools
import threading
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from qiangcun.core import audit, guard
from qiangcun.core.audit import AppendOnlyError, ChangeRecord
from qiangcun.core.chain import GENESIS, chain_hash, content

pytestmark = pytest.mark.django_db


def _write(n: int) -> list[ChangeRecord]:
    with transaction.atomic():
        return [
            audit.event(actor=None, action="test.write", model="core.test", object_pk=str(i), note=f"第{i}次")
            for i in range(n)
        ]


def _sql(statement: str, params: list | None = None) -> None:
    """Raw SQL as someone with the database file would run it: the append-only triggers dropped first
    (the test's transaction puts them back)."""
    guard.uninstall(connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _verify_command() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def test_each_record_links_to_the_one_before_and_a_clean_chain_verifies():
    records = _write(5)
    stored = list(ChangeRecord.objects.order_by("id"))
    assert [r.pk for r in stored] == [r.pk for r in records]
    assert stored[0].prev_hash == GENESIS
    for before, rec in itertools.pairwise(stored):
        assert rec.prev_hash == before.hash and len(rec.hash) == 64
    verdict = audit.verify(chunk_size=2)  # chunks smaller than the chain: same answer
    assert verdict.ok and verdict.checked == 5 and verdict.last_id == stored[-1].pk
    out = _verify_command()
    assert "审计链完整：已核对 5 条变更记录" in out and stored[-1].hash in out


def test_an_empty_log_verifies():
    assert audit.verify().ok
    assert "没有变更记录" in _verify_command()


def test_the_stored_record_hashes_to_its_hash_to_the_microsecond_and_the_json_number():
    """The hashed values are the values the database gives back (PostgreSQL jsonb, SQLite text)."""
    moment = timezone.make_aware(datetime.datetime(2020, 4, 17, 9, 30, 15, 123456))
    naive = datetime.datetime(2020, 4, 17, 9, 30, 15, 654321)  # read in Asia/Shanghai, as Django saves it
    for at in (moment, naive):
        rec = ChangeRecord.objects.create(
            at=at,
            action="test.write",
            model="core.test",
            object_pk="1",
            after={"big": 1e16, "whole": 2.0, "part": 0.1, "名称": "孙庄村", "list": [1, "二", None, True]},
        )
        again = ChangeRecord.objects.get(pk=rec.pk)
        assert again.at.microsecond == at.microsecond
        assert chain_hash(again.prev_hash, content(again)) == again.hash == rec.hash
    assert audit.verify().ok


def test_a_changed_after_is_found_at_that_record():
    records = _write(4)
    target = records[2]
    _sql(
        "UPDATE core_changerecord SET after = %s, note = note WHERE id = %s",
        ['{"amount": "99999.00"}', target.pk],
    )
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_id == target.pk and verdict.checked == 2
    assert "内容被改过" in verdict.reason
    with pytest.raises(CommandError, match=f"审计链断裂：第 {target.pk} 条记录，内容被改过"):
        _verify_command()


def test_a_deleted_middle_record_is_found_at_the_next_one():
    records = _write(5)
    _sql("DELETE FROM core_changerecord WHERE id = %s", [records[2].pk])
    verdict = audit.verify()
    assert verdict.broken_id == records[3].pk and verdict.checked == 2
    assert "缺少记录" in verdict.reason and f"第 {records[1].pk} 条" in verdict.reason


def test_a_deleted_first_record_is_found():
    records = _write(3)
    _sql("DELETE FROM core_changerecord WHERE id = %s", [records[0].pk])
    verdict = audit.verify()
    assert verdict.broken_id == records[1].pk and "缺少记录" in verdict.reason


def test_a_record_linked_out_of_order_is_named():
    records = _write(4)
    _sql("UPDATE core_changerecord SET prev_hash = %s WHERE id = %s", [records[0].hash, records[3].pk])
    verdict = audit.verify()
    assert verdict.broken_id == records[3].pk
    assert verdict.reason.startswith(f"链顺序不对：它链接的是第 {records[0].pk} 条")


def test_a_record_written_around_the_app_has_no_hash():
    records = _write(2)
    _sql(
        "INSERT INTO core_changerecord (id, at, action, model, object_pk, unit_path, note, username, address,"
        " channel, ok, prev_hash, hash) VALUES (%s, %s, 'x', 'core.test', '1', '', '', '', '', '', %s, %s, '')",
        [records[-1].pk + 1, timezone.now(), True, records[-1].hash],
    )
    verdict = audit.verify()
    assert verdict.broken_id == records[-1].pk + 1 and "没有哈希" in verdict.reason


# --- append-only ---------------------------------------------------------------------------------------


def test_the_model_refuses_to_change_or_delete_a_record():
    (rec,) = _write(1)
    rec.note = "改了"
    for attempt in (
        rec.save,
        rec.delete,
        lambda: ChangeRecord.objects.filter(pk=rec.pk).update(note="改了"),
        lambda: ChangeRecord.objects.all().delete(),
        lambda: ChangeRecord.objects.bulk_update([rec], ["note"]),
    ):
        with pytest.raises(AppendOnlyError, match="变更记录只能追加，不能修改或删除"):
            attempt()
    assert ChangeRecord.objects.get(pk=rec.pk).note == "第0次"


def test_bulk_create_chains_each_record():
    ChangeRecord.objects.bulk_create(
        ChangeRecord(action="test.write", model="core.test", object_pk=str(i)) for i in range(3)
    )
    assert audit.verify().checked == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_changerecord SET note = 'x'",
        "UPDATE core_changerecord SET hash = ''",
        "DELETE FROM core_changerecord",
    ],
)
def test_the_database_refuses_update_and_delete(statement):
    _write(2)
    guard.install(connection)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert audit.verify().checked == 2


def test_sqlite_replace_cannot_push_a_record_out():
    if connection.vendor != "sqlite":
        pytest.skip("REPLACE is SQLite's")
    (rec,) = _write(1)
    guard.install(connection)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "REPLACE INTO core_changerecord (id, at, action, model, object_pk, unit_path, note, username,"
            " address, channel, ok, prev_hash, hash) VALUES (%s, %s, 'x', 'm', '1', '', '', '', '', '', 1, '', '')",
            [rec.pk, timezone.now()],
        )


def test_postgresql_refuses_truncate_of_the_log():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE's statement trigger is PostgreSQL's")
    _write(1)
    guard.install(connection)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_changerecord")


# --- the backfill and concurrency ---------------------------------------------------------------------


def test_the_migration_chains_records_written_before_the_chain():
    records = _write(5)
    _sql("UPDATE core_changerecord SET prev_hash = '', hash = ''")
    assert not audit.verify().ok
    migration = importlib.import_module("qiangcun.core.migrations.0003_chain")
    state = MigrationLoader(connection).project_state(("core", "0003_chain"))  # the models as then
    migration.backfill(state.apps, SimpleNamespace(connection=connection))
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 5
    assert ChangeRecord.objects.get(pk=records[-1].pk).hash == records[-1].hash  # the same chain again


def test_sqlite_serializes_writers_from_the_start_of_each_transaction():
    """On SQLite the chain relies on BEGIN IMMEDIATE: a transaction holds the write lock before it reads
    the last record, so two appends cannot read the same one."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db(transaction=True)
def test_two_transactions_appending_at_once_do_not_fork_the_chain():
    """Transaction A appends and stays open; B then appends. Without the lock B would read the same last
    record as A (A's is not committed) and both would link to it. With it, B waits until A commits."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is in memory, one connection; its writers are serialized anyway")
    _write(1)
    a_appended, b_appended = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(body):
        try:
            body()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def a():
        with transaction.atomic():
            audit.event(actor=None, action="test.a", model="core.test")
            a_appended.set()
            b_appended.wait(timeout=1.0)  # B must not get through while A holds the chain

    def b():
        a_appended.wait(timeout=10)
        with transaction.atomic():
            audit.event(actor=None, action="test.b", model="core.test")
        b_appended.set()

    threads = [threading.Thread(target=run, args=(f,)) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    prevs = list(ChangeRecord.objects.order_by("id").values_list("action", "prev_hash"))
    assert [a for a, _ in prevs] == ["test.write", "test.a", "test.b"]
    assert len({p for _, p in prevs}) == 3  # no two records link to the same one
    assert audit.verify().checked == 3
