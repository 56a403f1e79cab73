# ruff: noqa: F811  (fixtures imported from test_backup)
"""Uploaded files and the audit anchor on a bad day (from the review of 97347e1/e96818f): a dot-named
upload, a rotten stored copy, a restore that fails half-way, a forged restore record."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from qiangcun.core import audit, backup

from .test_backup import _backup, _evidence, home, ledger  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_hashing")]


def test_an_upload_whose_name_starts_with_a_dot_is_backed_up(home, tree) -> None:
    # Django keeps a leading dot in an uploaded name (get_valid_filename(".收据.jpg") == ".收据.jpg")
    _evidence(home, "evidence/370101/7/.收据.jpg", b"\xff\xd8 receipt")
    made = _backup(home)
    listed = [f["path"] for f in json.loads(backup.manifest_path(made).read_text())["media"]["files"]]
    assert listed == ["evidence/370101/7/.收据.jpg"]


def test_a_damaged_stored_copy_is_healed_by_the_next_backup(home, tree) -> None:
    _evidence(home, "evidence/a.pdf", b"%PDF-1.4 a")
    _backup(home)
    (obj,) = (home / "backups" / backup.MEDIA_STORE).glob("??/*")
    obj.write_bytes(b"bit rot")  # the live file is still good
    call_command("backup", stdout=io.StringIO())
    newest = backup.backups_in(home / "backups")[-1]
    assert backup.verify(newest).differences == []  # the next backup stored it again
    backup.restore_plan(newest)


def test_a_restore_that_fails_after_the_database_is_replaced_gives_no_false_tamper_alarm(
    home, tree, ledger, monkeypatch
) -> None:
    _evidence(home, "evidence/a.pdf", b"%PDF-1.4 a")
    old = _backup(home)
    audit.event(actor=None, action="test.more", model="x", note="later work")
    call_command("backup", stdout=io.StringIO())  # the newest anchor: a record the old backup lacks

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "media_restore", full_disk)
    with pytest.raises(OSError):
        call_command("restore", str(old), "--yes", stdout=io.StringIO())
    # the database IS the old one now; no backup.restore record, no restore line in backup.log
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)


def test_a_forged_restore_record_does_not_switch_the_anchor_check_off(home, tree, ledger) -> None:
    from django.db import connection

    from qiangcun.core import guard

    made = _backup(home)
    head = json.loads(backup.manifest_path(made).read_text())["audit_head"]
    guard.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_changerecord WHERE id >= %s", [head["id"] - 1])
    finally:
        guard.install(connection)
    # the chain is unkeyed: anyone who can write the table can append a well-chained record
    audit.event(actor=None, action="backup.restore", model="core.backup", note="")
    with pytest.raises(CommandError, match="审计链"):  # restores count from the backup log only
        call_command("audit", "verify", stdout=io.StringIO())
