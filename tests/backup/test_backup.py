"""``qiangcun backup`` / ``backup --verify`` / ``restore`` and the scheduled backup, on the engine the suite
runs on (SQLite, or PostgreSQL through DATABASE_URL: pg_dump, a scratch database created and dropped)."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from qiangcun.core import backup
from qiangcun.core.audit import ChangeRecord
from qiangcun.ledger.models import Entry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_hashing")]


@pytest.fixture
def home(settings, tmp_path: Path) -> Path:
    settings.HOME = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


@pytest.fixture
def ledger(tree, make_entry):
    """Two villages with verified rows, one with a draft."""
    make_entry(tree.sunzhuang, "1000.00", status="verified")
    make_entry(tree.sunzhuang, "234.56", status="verified")
    make_entry(tree.liudao, "10.01", status="verified")
    make_entry(tree.liudao, "99.99", status="verified")
    draft = make_entry(tree.yanglaotou, "500.00")
    return draft


def _backup(home: Path) -> Path:
    out = io.StringIO()
    call_command("backup", stdout=out)
    (made,) = backup.backups_in(home / "backups")
    assert str(made) in out.getvalue() and "SHA-256" in out.getvalue()
    return made


def _edit_manifest(path: Path, change) -> None:
    mpath = backup.manifest_path(path)
    manifest = json.loads(mpath.read_text())
    change(manifest)
    mpath.write_text(json.dumps(manifest))


def test_backup_then_verify_passes(home, tree, ledger) -> None:
    made = _backup(home)
    assert made.suffix == (".sqlite3" if connection.vendor == "sqlite" else ".pgdump")
    for path in (made, backup.manifest_path(made)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = json.loads(backup.manifest_path(made).read_text())
    assert manifest["engine"] == connection.vendor
    assert manifest["sha256"] == backup.sha256_file(made)
    assert manifest["tables"]["ledger_entry"] == 5
    assert ["ledger", "0001_initial"] in manifest["migrations"]
    assert manifest["summaries"]["ledger.verified_by_village"] == {
        "371422105201": {"label": "孙庄村", "count": 2, "sum_fen": 123456},
        "371422105202": {"label": "刘道村", "count": 2, "sum_fen": 11000},
    }

    out = io.StringIO()
    call_command("backup", "--verify", str(made), stdout=out)
    assert "核对通过" in out.getvalue()
    if connection.vendor == "postgresql":  # the scratch database is gone
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'qiangcun_verify_%'")
            assert cursor.fetchall() == []


def test_backup_to_another_folder(home, tree, tmp_path) -> None:
    folder = tmp_path / "elsewhere"
    call_command("backup", "--to", str(folder), stdout=io.StringIO())
    (made,) = backup.backups_in(folder)
    assert backup.verify(made).ok


def test_a_flipped_byte_fails_the_checksum(home, tree, ledger) -> None:
    made = _backup(home)
    data = bytearray(made.read_bytes())
    data[len(data) // 2] ^= 0x01
    made.write_bytes(bytes(data))
    with pytest.raises(CommandError, match=r"校验失败.*SHA-256"):
        call_command("backup", "--verify", str(made), stdout=io.StringIO())
    with pytest.raises(CommandError, match="校验失败"):
        call_command("restore", str(made), "--yes", stdout=io.StringIO())


def test_verify_names_the_village_whose_sums_differ(home, tree, ledger) -> None:
    made = _backup(home)

    def change(manifest):
        manifest["summaries"]["ledger.verified_by_village"]["371422105202"]["sum_fen"] += 1
        manifest["tables"]["orgs_orgunit"] += 1

    _edit_manifest(made, change)
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 处"):
        call_command("backup", "--verify", str(made), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert any(
        "刘道村（371422105202）" in line and "110.01 元" in line and "110.00 元" in line for line in lines
    )
    assert any("orgs_orgunit" in line for line in lines)
    assert "孙庄村" not in err.getvalue()


def test_restore_brings_back_a_deleted_row_after_a_safety_backup(home, tree, ledger) -> None:
    made = _backup(home)
    draft_pk = ledger.pk
    Entry.objects.filter(pk=draft_pk).delete()

    with pytest.raises(CommandError, match="确认请加 --yes"):
        call_command("restore", str(made), stdout=io.StringIO())
    assert not Entry.objects.filter(pk=draft_pk).exists()
    assert not (home / "backups" / backup.SAFETY_DIR).exists()

    out = io.StringIO()
    call_command("restore", str(made), "--yes", stdout=out)
    assert Entry.objects.filter(pk=draft_pk).exists()
    assert Entry.objects.count() == 5
    (safety,) = backup.backups_in(home / "backups" / backup.SAFETY_DIR)
    assert str(safety) in out.getvalue()
    safety_manifest = json.loads(backup.manifest_path(safety).read_text())
    assert safety_manifest["tables"]["ledger_entry"] == 4  # the database as it was before the restore
    assert backup.verify(safety).ok
    log = (home / "backups" / backup.LOG_NAME).read_text()
    assert '"action": "restore"' in log
    # The change log (restored with the database) says a restore happened, from which file, by whom.
    (restored,) = ChangeRecord.objects.filter(action="backup.restore")
    assert restored.object_pk == made.name and safety.name in restored.note and restored.username
    assert call_command("audit", "verify", stdout=io.StringIO()) is None  # the chain is whole after it
    # the restored database still refuses to change a verified row
    verified = Entry.objects.filter(status="verified").first()
    assert verified is not None
    with pytest.raises(Exception, match="frozen"):
        Entry.objects.filter(pk=verified.pk).update(summary="改")


def test_restore_refuses_a_backup_from_a_newer_version(home, tree, ledger) -> None:
    made = _backup(home)
    _edit_manifest(made, lambda m: m["migrations"].append(["ledger", "9999_from_the_future"]))
    Entry.objects.filter(pk=ledger.pk).delete()
    with pytest.raises(CommandError, match=r"更新的版本.*ledger\.9999_from_the_future"):
        call_command("restore", str(made), "--yes", stdout=io.StringIO())
    assert not Entry.objects.filter(pk=ledger.pk).exists()
    assert not (home / "backups" / backup.SAFETY_DIR).exists()


def test_restore_refuses_while_the_server_runs(home, tree, monkeypatch) -> None:
    made = _backup(home)
    monkeypatch.setattr(backup, "server_pid", lambda: 4242)
    with pytest.raises(CommandError, match=r"正在运行.*4242"):
        call_command("restore", str(made), "--yes", stdout=io.StringIO())
    assert not (home / "backups" / backup.SAFETY_DIR).exists()


def test_prune_orders_backups_made_in_the_same_second(tmp_path) -> None:
    names = [
        "qiangcun-20260301-020000.sqlite3",
        "qiangcun-20260301-020000-2.sqlite3",
        "qiangcun-20260301-020000-10.sqlite3",
        "qiangcun-20260302-020000.sqlite3",
        "notes.sqlite3",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / (name + ".json")).write_text("{}")
    deleted = backup.prune(tmp_path, keep=2)
    assert [p.name for p in deleted] == names[:2]
    assert sorted(p.name for p in backup.backups_in(tmp_path)) == sorted(names[2:4])
    assert (tmp_path / "notes.sqlite3").exists()


def test_restoring_an_older_backup_runs_migrate(home, tree, ledger) -> None:
    from django.db.migrations.recorder import MigrationRecorder

    last = ("django_tasks_database", "0021_conditional_partial_index_ordering")
    call_command("migrate", "django_tasks_database", "0020", verbosity=0)
    try:
        made = _backup(home)
    finally:
        call_command("migrate", "django_tasks_database", verbosity=0)
    assert list(last) not in json.loads(backup.manifest_path(made).read_text())["migrations"]
    Entry.objects.filter(pk=ledger.pk).delete()

    out = io.StringIO()
    call_command("restore", str(made), "--yes", stdout=out)
    assert "已执行 migrate（1 个迁移）" in out.getvalue()
    assert last in MigrationRecorder(connection).applied_migrations()
    assert Entry.objects.filter(pk=ledger.pk).exists()


def test_the_password_reaches_pg_tools_through_the_environment_only(home, tree, monkeypatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump runs on PostgreSQL only")
    import subprocess

    calls = []
    real_run = subprocess.run

    def spy(argv, **kwargs):
        calls.append((argv, kwargs.get("env") or {}))
        return real_run(argv, **kwargs)

    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "s3cret-pw")  # trust: ignored by the server
    monkeypatch.setattr(backup.subprocess, "run", spy)
    made = _backup(home)
    assert backup.verify(made).ok
    assert [argv[0] for argv, _ in calls] == ["pg_dump", "pg_restore"]
    for argv, env in calls:
        assert not any("s3cret-pw" in part for part in argv)
        assert env["PGPASSWORD"] == "s3cret-pw"


def test_records_removed_from_the_end_of_the_chain_are_found_against_the_newest_backup(home, tree, ledger):
    from qiangcun.core import guard

    made = _backup(home)
    head = json.loads(backup.manifest_path(made).read_text())["audit_head"]
    assert head == dict(
        zip(("id", "hash"), ChangeRecord.objects.order_by("-id").values_list("id", "hash")[1], strict=True)
    )
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"与备份 {made.name} 核对一致：它记下的第 {head['id']} 条仍在" in out.getvalue()
    # someone with the database file removes the last records: the chain alone still holds
    guard.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_changerecord WHERE id >= %s", [head["id"] - 1])
    finally:
        guard.install(connection)
    with pytest.raises(
        CommandError, match=f"审计链尾部缺失：备份 {made.name} 记下的最后一条是第 {head['id']} 条"
    ):
        call_command("audit", "verify", stdout=io.StringIO())


# --- uploaded files (evidence) -------------------------------------------------------------------------


def _evidence(home: Path, rel: str, body: bytes) -> Path:
    path = home / "media" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def test_uploaded_files_are_backed_up_once_verified_and_restored(home, tree, ledger) -> None:
    import hashlib

    receipt = _evidence(home, "evidence/2020/04/收据.jpg", b"\xff\xd8 receipt")
    photo = _evidence(home, "inspections/1/photo.png", b"\x89PNG photo")
    _evidence(home, "evidence/2020/04/copy.jpg", b"\xff\xd8 receipt")  # same bytes, stored once
    first = _backup(home)
    media = json.loads(backup.manifest_path(first).read_text())["media"]
    assert (media["count"], media["added"]) == (3, 2)
    listed = {f["path"]: f["sha256"] for f in media["files"]}
    assert listed["evidence/2020/04/收据.jpg"] == hashlib.sha256(b"\xff\xd8 receipt").hexdigest()
    store = home / "backups" / backup.MEDIA_STORE
    assert sorted(p.name for p in store.glob("??/*")) == sorted(set(listed.values()))
    # a second backup stores nothing new
    out = io.StringIO()
    call_command("backup", stdout=out)
    assert "上传的凭证和照片：3 个" in out.getvalue() and "本次新存 0 个" in out.getvalue()
    # the files go; the restore brings them back, byte for byte
    receipt.unlink()
    photo.write_bytes(b"overwritten")
    call_command("restore", str(first), "--yes", stdout=io.StringIO())
    assert receipt.read_bytes() == b"\xff\xd8 receipt" and photo.read_bytes() == b"\x89PNG photo"


def test_a_damaged_or_missing_stored_file_fails_the_verification_and_stops_a_restore(home, tree) -> None:
    _evidence(home, "evidence/a.pdf", b"%PDF-1.4 a")
    made = _backup(home)
    (obj,) = (home / "backups" / backup.MEDIA_STORE).glob("??/*")
    obj.write_bytes(b"%PDF-1.4 b")
    assert backup.verify(made).differences == ["上传文件 evidence/a.pdf：备份中的副本已损坏（SHA-256 不符）"]
    assert not obj.exists()  # the damaged copy is removed: the next backup stores the file again
    with pytest.raises(CommandError, match="核对未通过"):
        call_command("backup", "--verify", str(made), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match=r"拒绝恢复：上传文件 evidence/a\.pdf：备份中没有它的副本"):
        call_command("restore", str(made), "--yes", stdout=io.StringIO())


def test_a_manifest_naming_a_file_outside_media_is_refused(home, tree) -> None:
    _evidence(home, "evidence/a.pdf", b"%PDF-1.4 a")
    made = _backup(home)
    _edit_manifest(made, lambda m: m["media"]["files"][0].update(path="../../etc/cron.d/x"))
    with pytest.raises(CommandError, match="清单中的文件路径不合法"):
        call_command("restore", str(made), "--yes", stdout=io.StringIO())
    assert not (home.parent / "etc").exists()


def test_pruning_removes_stored_files_no_backup_lists(home, tree) -> None:
    old = _evidence(home, "evidence/old.jpg", b"old")
    _backup(home)
    old.unlink()
    _evidence(home, "evidence/new.jpg", b"new")
    call_command("backup", stdout=io.StringIO())
    store = home / "backups" / backup.MEDIA_STORE
    assert len(list(store.glob("??/*"))) == 2
    backup.prune(home / "backups", keep=1)
    (kept,) = store.glob("??/*")
    assert kept.read_bytes() == b"new"
