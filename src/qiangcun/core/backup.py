"""Online backup, verification and restore of the whole database (SQLite or PostgreSQL).

A backup is two files in the backup folder (``QIANGCUN_HOME/backups`` by default):

- ``qiangcun-YYYYmmdd-HHMMSS.sqlite3`` — a SQLite database made with the SQLite backup API from a
  read snapshot (consistent while the server writes; journal mode switched to DELETE so the file
  stands alone), or ``qiangcun-YYYYmmdd-HHMMSS.pgdump`` — ``pg_dump --format=custom`` of an exported
  REPEATABLE READ snapshot;
- ``<that name>.json`` — the manifest: format, engine, sha256 and size of the data file, the applied
  migrations, row counts per table and the apps' summaries (``register_summary``), all read from the
  same snapshot as the data.

Knows no domain: an app adds its own figures (the ledger: count and verified fen per village) with
``register_summary`` in its ``AppConfig.ready``. Every backup, verification and restore is appended to
``backup-log.jsonl`` in the backup folder — a record that a restore cannot wipe.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import getpass
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.utils import timezone

from qiangcun.core.money import fmt_yuan, from_fen
from qiangcun.core.serving import running_pid

FORMAT = 1
EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "pgdump"}
NAME_RE = re.compile(r"^qiangcun-(\d{8})-(\d{6})(?:-(\d+))?\.(sqlite3|pgdump)$")
LOG_NAME = "backup-log.jsonl"
SAFETY_DIR = "before-restore"


class BackupError(Exception):
    """A backup, verification or restore that cannot go on; the message is Chinese, for the operator."""


#: A summary reads one database (by alias) and returns ``{key: {"label": str, "count": int, "sum_fen": int}}``.
SummaryFn = Callable[[str], dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Summary:
    title: str
    read: SummaryFn


_SUMMARIES: dict[str, Summary] = {}


def register_summary(name: str, *, title: str, read: SummaryFn) -> None:
    """Add figures to every manifest and to every verification (called from an app's ``ready``)."""
    _SUMMARIES[name] = Summary(title, read)


def default_dir() -> Path:
    return Path(settings.HOME) / "backups"


def engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in EXTENSIONS:
        raise BackupError(f"不支持的数据库类型：{vendor}")
    return vendor


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(data: Path) -> Path:
    return data.with_name(data.name + ".json")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` (mode 0600) through a temporary name, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def log_event(folder: Path, action: str, **fields: Any) -> None:
    """Append one line to the folder's backup log (0600). The database's own change log is replaced by
    a restore; this file is not."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = {"at": timezone.localtime().isoformat(timespec="seconds"), "action": action, **fields}
    fd = os.open(folder / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")


# --- reading a database -------------------------------------------------------------------------


@contextlib.contextmanager
def extra_alias(base: str = "default", **changes: Any) -> Iterator[str]:
    """A temporary database alias: ``base``'s settings with ``changes`` (another file, another database,
    other options). Closed and forgotten on exit."""
    alias = f"qiangcun_backup_{secrets.token_hex(4)}"
    cfg = copy.deepcopy(connections[base].settings_dict)
    cfg.update(changes)
    # Set on the handler, not added to DATABASES: a connection made on the fly, as Django's test cases
    # allow ("dynamically created connections are always allowed").
    wrapper = load_backend(cfg["ENGINE"]).DatabaseWrapper(cfg, alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        with contextlib.suppress(Exception):
            wrapper.close()
        with contextlib.suppress(AttributeError, KeyError):
            del connections[alias]


def sqlite_alias(path: Path, *, readonly: bool) -> contextlib.AbstractContextManager[str]:
    uri = f"file:{quote(str(path))}" + ("?mode=ro" if readonly else "")
    return extra_alias(NAME=uri, OPTIONS={}, CONN_MAX_AGE=0)


def facts_of(alias: str) -> dict[str, Any]:
    """What the manifest records of a database: applied migrations, rows per table, the summaries."""
    conn = connections[alias]
    with conn.cursor() as cursor:
        tables = sorted(conn.introspection.table_names(cursor))
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")
            counts[table] = int(cursor.fetchone()[0])
    applied = sorted([app, name] for app, name in MigrationRecorder(conn).applied_migrations())
    summaries = {}
    for name, summary in sorted(_SUMMARIES.items()):
        try:
            with transaction.atomic(using=alias):  # a savepoint when inside the snapshot's transaction
                summaries[name] = summary.read(alias)
        except DatabaseError:  # a database not migrated yet (a fresh install about to be restored into)
            if applied:
                raise
    return {
        "migrations": applied,
        "tables": counts,
        "summaries": summaries,
        "audit_head": _audit_head(alias) if applied else None,
    }


def _audit_head(alias: str) -> dict[str, Any] | None:
    """The change log's last record (id and hash) at the backup's moment: an anchor outside the database,
    so that ``qiangcun audit verify`` notices records removed from the end of the chain (which the chain
    alone cannot show)."""
    from qiangcun.core.audit import ChangeRecord

    try:
        with transaction.atomic(using=alias):
            head = ChangeRecord.objects.using(alias).order_by("-id").values_list("id", "hash").first()
    except DatabaseError:
        return None
    return {"id": head[0], "hash": head[1]} if head else None


def last_restore(*folders: Path) -> datetime.datetime | None:
    """When the newest restore recorded in these folders' backup logs happened (the log is a file the
    database cannot change: a forged restore record in the change log counts for nothing)."""
    newest: datetime.datetime | None = None
    for folder in folders:
        try:
            lines = (Path(folder) / LOG_NAME).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                entry = json.loads(line)
                if entry.get("action") != "restore":
                    continue
                at = datetime.datetime.fromisoformat(str(entry["at"]))
            except (ValueError, KeyError, AttributeError, TypeError):
                continue
            if timezone.is_aware(at) and (newest is None or at > newest):
                newest = at
    return newest


def newest_anchor(
    folder: Path | None = None, *, after: datetime.datetime | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The newest backup in ``folder`` (default: the backup folder), made after ``after`` (the last
    restore: backups of the database it replaced no longer describe this one), that recorded the change
    log's last record: (its file name, ``{"id", "hash"}``)."""
    for path in reversed(backups_in(Path(folder) if folder is not None else default_dir())):
        try:
            manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
            made = datetime.datetime.fromisoformat(str(manifest.get("created_at")))
        except (OSError, ValueError, AttributeError):
            continue
        if after is not None and (timezone.is_naive(made) or made <= after):
            continue
        head = manifest.get("audit_head") if isinstance(manifest, dict) else None
        if isinstance(head, dict) and isinstance(head.get("id"), int) and isinstance(head.get("hash"), str):
            return path.name, head
    return None


# --- uploaded files (evidence, photos) ---------------------------------------------------------------

#: Uploaded files are kept beside the backups in a store named by their SHA-256 (each file once, however
#: many backups list it); a manifest lists ``{"path", "sha256", "size"}`` of every file under MEDIA_ROOT.
MEDIA_STORE = "media-store"


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _store_path(folder: Path, digest: str) -> Path:
    return folder / MEDIA_STORE / digest[:2] / digest


def _newest_media(folder: Path) -> dict[str, dict[str, Any]]:
    """The files the newest backup in ``folder`` listed, by path (their hashes need not be read again)."""
    for path in reversed(backups_in(folder)):
        try:
            listed = (
                json.loads(manifest_path(path).read_text(encoding="utf-8")).get("media", {}).get("files", [])
            )
        except (OSError, ValueError, AttributeError):
            continue
        return {f["path"]: f for f in listed if isinstance(f, dict) and "path" in f}
    return {}


def media_backup(folder: Path) -> dict[str, Any]:
    """Copy every file under MEDIA_ROOT not yet in ``folder``'s store into it; returns the manifest's list.
    A file's hash is read while it is copied (so the store holds exactly what the hash says), or taken from
    the last manifest when its size and modification time are unchanged and its stored copy exists."""
    root = media_root()
    files: list[dict[str, Any]] = []
    added = 0
    if root.is_dir():
        known = _newest_media(folder)
        for item in sorted(root.rglob("*")):
            if item.is_symlink() or not item.is_file() or _own_temporary(item.name):
                continue
            rel = item.relative_to(root).as_posix()
            stat_ = item.stat()
            prev = known.get(rel)
            digest = ""
            stamp = {"size": stat_.st_size, "mtime_ns": stat_.st_mtime_ns, "ctime_ns": stat_.st_ctime_ns}
            copy = _store_path(folder, str(prev.get("sha256", "x" * 64))) if prev is not None else None
            if (
                prev is not None
                and copy is not None
                and all(prev.get(k) == v for k, v in stamp.items())
                and copy.is_file()
                and copy.stat().st_size == stat_.st_size  # a copy that changed size is made again
            ):
                digest = str(prev["sha256"])
            else:
                digest, stored = _store_copy(folder, item)
                added += stored
            files.append({"path": rel, "sha256": digest, **stamp})
    return {"files": files, "count": len(files), "bytes": sum(f["size"] for f in files), "added": added}


def _own_temporary(name: str) -> bool:
    """Files a backup or restore writes for a moment (an upload's own name may start with a dot)."""
    return name.startswith((".incoming-", ".qiangcun-restoring-"))


def _store_copy(folder: Path, source: Path) -> tuple[str, int]:
    """Copy ``source`` into the store, hashing what is written; returns (hash, 1 if it was new)."""
    store = folder / MEDIA_STORE
    store.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=store)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        target = _store_path(folder, digest.hexdigest())
        if target.is_file() and sha256_file(target) == digest.hexdigest():
            tmp.unlink()
            return digest.hexdigest(), 0  # a damaged copy (bit rot) is replaced below
        target.parent.mkdir(exist_ok=True, mode=0o700)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        return digest.hexdigest(), 1
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _media_target(rel: str) -> Path:
    """Where a listed file goes back to: under MEDIA_ROOT, never outside it (a manifest is only a file)."""
    root = media_root().resolve()
    target = (root / rel).resolve()
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts or root not in target.parents:
        raise BackupError(f"清单中的文件路径不合法：{rel[:100]}")
    return target


def media_check(path: Path, manifest: dict[str, Any], *, heal: bool = False) -> list[str]:
    """Each listed file whose stored copy is missing or changed (``heal``: a damaged copy is removed, so
    that the next backup stores the file again)."""
    out = []
    for item in manifest.get("media", {}).get("files", []):
        stored = _store_path(path.parent, str(item["sha256"]))
        if not stored.is_file():
            out.append(f"上传文件 {item['path']}：备份中没有它的副本")
        elif sha256_file(stored) != item["sha256"]:
            out.append(f"上传文件 {item['path']}：备份中的副本已损坏（SHA-256 不符）")
            if heal:  # the next backup copies the live file again
                stored.unlink(missing_ok=True)
    return out


def media_restore(path: Path, manifest: dict[str, Any]) -> int:
    """Put back every listed file that is missing or different under MEDIA_ROOT; returns how many."""
    restored = 0
    for item in manifest.get("media", {}).get("files", []):
        target = _media_target(str(item["path"]))
        if (
            target.is_file()
            and target.stat().st_size == item["size"]
            and sha256_file(target) == item["sha256"]
        ):
            continue
        stored = _store_path(path.parent, str(item["sha256"]))
        if not stored.is_file():
            raise BackupError(f"上传文件 {item['path']} 在备份中没有副本，无法恢复")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".qiangcun-restoring-", dir=target.parent)
        try:
            with stored.open("rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        restored += 1
    return restored


def _media_collect(folder: Path) -> list[Path]:
    """Remove stored files no remaining backup in ``folder`` lists; returns them."""
    store = folder / MEDIA_STORE
    if not store.is_dir():
        return []
    wanted: set[str] = set()
    for path in backups_in(folder):
        try:
            listed = (
                json.loads(manifest_path(path).read_text(encoding="utf-8")).get("media", {}).get("files", [])
            )
        except (OSError, ValueError, AttributeError):
            return []  # a manifest that cannot be read: keep everything
        wanted.update(str(f.get("sha256")) for f in listed if isinstance(f, dict))
    removed = []
    for obj in store.glob("??/*"):
        if obj.is_file() and obj.name not in wanted:
            obj.unlink()
            removed.append(obj)
    return removed


# --- backup -------------------------------------------------------------------------------------


@dataclass
class Backup:
    path: Path
    manifest: dict[str, Any]
    seconds: float = 0.0

    @property
    def manifest_path(self) -> Path:
        return manifest_path(self.path)


def _new_name(folder: Path, ext: str) -> Path:
    """``qiangcun-<now>.<ext>``; a second backup within the same second gets ``-2``, then ``-3`` … —
    always above any number used in that second, so the newest sorts last even after a prune."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    taken = [
        int(m.group(3) or 1)
        for p in folder.iterdir()
        if (m := NAME_RE.match(p.name.removesuffix(".json"))) and f"{m.group(1)}-{m.group(2)}" == stamp
    ]
    n = max(taken, default=0) + 1
    return folder / f"qiangcun-{stamp}{'' if n == 1 else f'-{n}'}.{ext}"


def _pg_env(cfg: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for ``cfg``: the password travels here, never on a command line."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if cfg.get(key):
            env[var] = str(cfg[key])
        else:
            env.pop(var, None)
    options = cfg.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    env["PGDATABASE"] = str(cfg["NAME"])
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


def _run(argv: list[str], *, env: dict[str, str], what: str, **kwargs: Any) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, check=False, **kwargs)
    except FileNotFoundError as exc:
        raise BackupError(
            f"{what}失败：找不到 {argv[0]}（请安装 PostgreSQL 客户端 postgresql-client）"
        ) from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise BackupError(f"{what}失败（{argv[0]} 退出码 {done.returncode}）：{err[-2000:]}")


def backup_make(*, to: Path | None = None, alias: str = "default", reason: str = "") -> Backup:
    """Make a consistent online backup of ``alias`` in folder ``to``; returns its path and manifest."""
    folder = Path(to) if to is not None else default_dir()
    with folder_lock(folder):
        return _backup_make(folder, alias=alias, reason=reason)


def _backup_make(folder: Path, *, alias: str, reason: str) -> Backup:
    started = time.monotonic()
    kind = engine(alias)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _new_name(folder, EXTENSIONS[kind])
    partial = path.with_name(f".{path.name}.partial")
    # Created 0600 before anything is written (pg_dump opens it again and keeps the mode).
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if kind == "sqlite":
            facts = _sqlite_backup(alias, partial)
        else:
            facts = _pg_backup(alias, partial)
        os.chmod(partial, 0o600)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "app": "qiangcun",
            "engine": kind,
            "file": path.name,
            "created_at": timezone.localtime().isoformat(timespec="seconds"),
            "reason": reason,
            "sha256": sha256_file(partial),
            "size": partial.stat().st_size,
            **facts,
            # after the database's snapshot: every file a row of it names was uploaded before it
            "media": media_backup(folder),
        }
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _write_private(manifest_path(path), json.dumps(manifest, ensure_ascii=False, indent=1).encode())
    result = Backup(path, manifest, time.monotonic() - started)
    log_event(
        folder, "backup", file=path.name, sha256=manifest["sha256"], size=manifest["size"], reason=reason
    )
    if alias == "default":
        audit_event(
            "backup.create", path.name, f"sha256 {manifest['sha256']}；{manifest['size']} 字节；{reason}"
        )
    return result


def audit_event(action: str, name: str, note: str) -> None:
    """A backup or a restore in the change log (who: the operating-system account running the command)."""
    from qiangcun.core import audit

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - a process without a user name
        who = ""
    audit.event(actor=None, action=action, model="core.backup", object_pk=name[:64], note=note, username=who)


def _sqlite_backup(alias: str, target: Path) -> dict[str, Any]:
    conn = connections[alias]
    conn.ensure_connection()
    dest = sqlite3.connect(target)
    try:
        # One step (pages=-1): the whole database is copied from one read snapshot, so writers on other
        # connections (WAL mode) go on and the copy is consistent.
        conn.connection.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
        dest.commit()
    finally:
        dest.close()
    with sqlite_alias(target, readonly=True) as scratch:
        return facts_of(scratch)


def _pg_backup(alias: str, target: Path) -> dict[str, Any]:
    from psycopg import IsolationLevel

    cfg = connections[alias].settings_dict
    options = {**(cfg.get("OPTIONS") or {}), "isolation_level": IsolationLevel.REPEATABLE_READ}
    with extra_alias(alias, OPTIONS=options, CONN_MAX_AGE=0) as snap, transaction.atomic(using=snap):
        with connections[snap].cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        # pg_dump reads the exported snapshot while this transaction stays open: the dump and the
        # manifest's figures see exactly the same rows.
        _run(
            [
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ],
            env=_pg_env(cfg),
            what="pg_dump 备份",
        )
        return facts_of(snap)


# --- reading a backup ---------------------------------------------------------------------------


def resolve(path: Path) -> tuple[Path, dict[str, Any]]:
    """The data file and its manifest (``path`` may name either)."""
    path = Path(path)
    if path.name.endswith(".json"):
        path = path.with_name(path.name[: -len(".json")])
    if not path.exists():
        raise BackupError(f"找不到备份文件：{path}")
    mpath = manifest_path(path)
    if not mpath.exists():
        raise BackupError(f"找不到备份清单：{mpath}（备份不完整，不能使用）")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"备份清单 {mpath.name} 无法读取：{exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("app") != "qiangcun" or "sha256" not in manifest:
        raise BackupError(f"{mpath.name} 不是强村的备份清单")
    if manifest.get("format", 0) > FORMAT:
        raise BackupError(f"{mpath.name} 的格式版本 {manifest.get('format')} 比本程序新，请升级后再用")
    return path, manifest


def check_checksum(path: Path, manifest: dict[str, Any]) -> None:
    size = path.stat().st_size
    if size != manifest.get("size"):
        raise BackupError(
            f"校验失败：{path.name} 大小 {size} 字节，清单记录 {manifest.get('size')} 字节（文件已损坏或被改动）"
        )
    digest = sha256_file(path)
    if digest != manifest["sha256"]:
        raise BackupError(
            f"校验失败：{path.name} 的 SHA-256 为 {digest}，清单记录 {manifest['sha256']}（文件已损坏或被改动）"
        )


def code_migrations() -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return set(loader.disk_migrations)


@dataclass
class MigrationCheck:
    newer: list[tuple[str, str]] = field(default_factory=list)  # in the backup, unknown to this code
    missing: list[tuple[str, str]] = field(default_factory=list)  # in the code, not in the backup


def check_migrations(manifest: dict[str, Any]) -> MigrationCheck:
    theirs = {(app, name) for app, name in manifest.get("migrations", [])}
    ours = code_migrations()
    return MigrationCheck(sorted(theirs - ours), sorted(ours - theirs))


# --- verification ------------------------------------------------------------------------------


@dataclass
class Verification:
    path: Path
    manifest: dict[str, Any]
    found: dict[str, Any]
    differences: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.differences


def compare(manifest: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Each difference between what the manifest says and what the restored database holds, in Chinese."""
    out: list[str] = []
    want_tables: dict[str, int] = manifest.get("tables", {})
    got_tables: dict[str, int] = found["tables"]
    for table in sorted(set(want_tables) | set(got_tables)):
        if table not in got_tables:
            out.append(f"表 {table}：清单记录 {want_tables[table]} 行，恢复后没有这张表")
        elif table not in want_tables:
            out.append(f"表 {table}：清单中没有，恢复后有 {got_tables[table]} 行")
        elif want_tables[table] != got_tables[table]:
            out.append(f"表 {table}：清单记录 {want_tables[table]} 行，恢复后 {got_tables[table]} 行")
    if sorted(map(list, manifest.get("migrations", []))) != found["migrations"]:
        out.append("已执行的迁移与清单记录不同")
    want_sums: dict[str, dict[str, Any]] = manifest.get("summaries", {})
    for name in sorted(set(want_sums) | set(found["summaries"])):
        title = _SUMMARIES[name].title if name in _SUMMARIES else name
        want, got = want_sums.get(name, {}), found["summaries"].get(name, {})
        for key in sorted(set(want) | set(got)):
            w, g = want.get(key), got.get(key)
            label = (w or g or {}).get("label", "")
            if w is None or g is None or (w["count"], w["sum_fen"]) != (g["count"], g["sum_fen"]):
                out.append(f"{title} {label}（{key}）：清单记录 {_figure(w)}，恢复后 {_figure(g)}")
    return out


def _figure(item: dict[str, Any] | None) -> str:
    if item is None:
        return "无"
    return f"{item['count']} 笔 {fmt_yuan(from_fen(item['sum_fen']))} 元"


def verify(path: Path, *, alias: str = "default") -> Verification:
    """Check the checksum, restore into a scratch database, compare with the manifest."""
    started = time.monotonic()
    path, manifest = resolve(path)
    check_checksum(path, manifest)
    kind = manifest.get("engine")
    if kind == "sqlite":
        found = _sqlite_verify(path)
    elif kind == "postgresql":
        if engine(alias) != "postgresql":
            raise BackupError("这是 PostgreSQL 备份，验证需要在 PostgreSQL 上进行（设置 DATABASE_URL）")
        found = _pg_verify(path, alias)
    else:
        raise BackupError(f"清单中的数据库类型 {kind!r} 不受支持")
    differences = compare(manifest, found) + media_check(path, manifest, heal=True)
    result = Verification(path, manifest, found, differences, time.monotonic() - started)
    log_event(path.parent, "verify", file=path.name, ok=result.ok, differences=result.differences[:20])
    return result


def _sqlite_integrity(path: Path) -> None:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name} 不是有效的 SQLite 数据库：{exc}") from exc
    finally:
        conn.close()
    if rows != ["ok"]:
        raise BackupError(f"{path.name} 完整性检查未通过：{'; '.join(rows[:5])}")


def _sqlite_verify(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qiangcun-verify-") as tmp:
        scratch = Path(tmp) / "scratch.sqlite3"
        shutil.copyfile(path, scratch)
        _sqlite_integrity(scratch)
        with sqlite_alias(scratch, readonly=False) as alias:
            return facts_of(alias)


def _pg_verify(path: Path, alias: str) -> dict[str, Any]:
    conn = connections[alias]
    name = f"qiangcun_verify_{secrets.token_hex(6)}"
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {conn.ops.quote_name(name)}")
    except DatabaseError as exc:
        raise BackupError(
            f"无法建立临时数据库 {name} 用于核对（数据库用户需要 CREATEDB 权限）：{exc}"
        ) from exc
    try:
        cfg = {**conn.settings_dict, "NAME": name}
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={name}", str(path)],
            env=_pg_env(cfg),
            what="pg_restore 恢复到临时数据库",
        )
        with extra_alias(alias, NAME=name, CONN_MAX_AGE=0) as scratch:
            return facts_of(scratch)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {conn.ops.quote_name(name)} WITH (FORCE)")


# --- restore ------------------------------------------------------------------------------------


@dataclass
class RestorePlan:
    path: Path
    manifest: dict[str, Any]
    migrations: MigrationCheck
    target: str  # the database that will be replaced, for people
    current_rows: int


def restore_plan(path: Path, *, alias: str = "default") -> RestorePlan:
    """Every check a restore makes before it changes anything; raises ``BackupError`` on the first fail."""
    path, manifest = resolve(path)
    kind = engine(alias)
    if manifest.get("engine") != kind:
        raise BackupError(f"备份是 {manifest.get('engine')} 数据库的，当前数据库是 {kind}，不能直接恢复")
    check_checksum(path, manifest)
    migrations = check_migrations(manifest)
    if migrations.newer:
        shown = "、".join(f"{app}.{name}" for app, name in migrations.newer[:5])
        more = f" 等 {len(migrations.newer)} 个" if len(migrations.newer) > 5 else ""
        raise BackupError(
            f"拒绝恢复：备份来自更新的版本，含有本程序没有的迁移 {shown}{more}。请先升级强村再恢复。"
        )
    cfg = connections[alias].settings_dict
    target = (
        str(cfg["NAME"])
        if kind == "sqlite"
        else f"PostgreSQL 数据库 {cfg['NAME']}（{cfg.get('HOST') or 'localhost'}）"
    )
    for item in manifest.get("media", {}).get("files", []):
        _media_target(str(item.get("path", "")))
    missing = media_check(path, manifest)
    if missing:
        raise BackupError(
            f"拒绝恢复：{missing[0]}" + (f"（共 {len(missing)} 处）" if len(missing) > 1 else "")
        )
    current = facts_of(alias)
    return RestorePlan(path, manifest, migrations, target, sum(current["tables"].values()))


def server_pid() -> int | None:
    """The pid of a ``qiangcun serve``/``demo`` gunicorn running on this data folder, if any."""
    return running_pid(Path(settings.HOME) / "run" / "gunicorn.pid")


def restore_apply(plan: RestorePlan, *, alias: str = "default") -> Backup:
    """Make a safety backup of the current database, then replace it with the backup. Returns the safety
    backup. The caller runs ``migrate`` afterwards when ``plan.migrations.missing``."""
    safety = backup_make(
        alias=alias, to=default_dir() / SAFETY_DIR, reason=f"恢复 {plan.path.name} 之前的自动备份"
    )
    # the files first: they are only added or put back (the safety backup holds what was there), so a
    # failure here leaves the database as it was; the database is then replaced in one transaction
    files = media_restore(plan.path, plan.manifest)
    if plan.manifest["engine"] == "sqlite":
        _sqlite_restore(plan.path, alias)
    else:
        _pg_restore(plan.path, alias)
    log_event(
        default_dir(),
        "restore",
        file=plan.path.name,
        sha256=plan.manifest["sha256"],
        safety_backup=str(safety.path),
        migrate_after=bool(plan.migrations.missing),
        media_restored=files,
    )
    return safety


def _sqlite_restore(path: Path, alias: str) -> None:
    conn = connections[alias]
    with tempfile.TemporaryDirectory(prefix="qiangcun-restore-") as tmp:
        copy_path = Path(tmp) / "restore.sqlite3"
        shutil.copyfile(path, copy_path)
        _sqlite_integrity(copy_path)
        conn.close()
        conn.ensure_connection()
        live = conn.connection
        source = sqlite3.connect(copy_path)
        try:
            # The backup API writes the whole copy into the live database as one write transaction
            # through SQLite's own pager: atomic, and safe with the live WAL file (replacing the file
            # under a -wal that holds the old database's pages would corrupt it).
            source.backup(live)
        finally:
            source.close()
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA quick_check")
            result = cursor.fetchone()[0]
        if result != "ok":
            raise BackupError(f"恢复后的数据库检查未通过：{result}")


def _pg_restore(path: Path, alias: str) -> None:
    conn = connections[alias]
    cfg = conn.settings_dict
    with conn.cursor() as cursor:
        tables = conn.introspection.table_names(cursor)
    conn.close()
    env = _pg_env(cfg)
    # One transaction (psql --single-transaction): drop every table of the current database — tables
    # of newer migrations too, which pg_restore --clean would leave behind — then the dump's own
    # DROP … IF EXISTS (its functions) and the whole restore. Any error rolls all of it back.
    prefix = ""
    if tables:
        prefix = "DROP TABLE IF EXISTS " + ", ".join(conn.ops.quote_name(t) for t in tables) + " CASCADE;\n"
    script = tempfile.NamedTemporaryFile(prefix="qiangcun-restore-", suffix=".sql", delete=False)
    script.close()
    script_path = Path(script.name)
    os.chmod(script_path, 0o600)
    try:
        with script_path.open("wb") as fh:
            fh.write(prefix.encode())
            fh.flush()
            try:
                done = subprocess.run(
                    [
                        "pg_restore",
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--no-privileges",
                        "--file=-",
                        str(path),
                    ],
                    stdout=fh,
                    stderr=subprocess.PIPE,
                    env=env,
                    check=False,
                )
            except FileNotFoundError as exc:
                raise BackupError("找不到 pg_restore（请安装 PostgreSQL 客户端 postgresql-client）") from exc
            if done.returncode != 0:
                raise BackupError(
                    f"pg_restore 读取备份失败：{done.stderr.decode('utf-8', 'replace')[-2000:]}"
                )
        _run(
            [
                "psql",
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "-v",
                "ON_ERROR_STOP=1",
                f"--file={script_path}",
            ],
            env=env,
            what="PostgreSQL 恢复（psql，单一事务）",
        )
    finally:
        script_path.unlink(missing_ok=True)


# --- retention ----------------------------------------------------------------------------------


def _order(path: Path) -> tuple[str, str, int]:
    m = NAME_RE.match(path.name)
    assert m is not None
    return (m.group(1), m.group(2), int(m.group(3) or 1))


def backups_in(folder: Path) -> list[Path]:
    """The regular backups in ``folder`` (not the safety backups made before a restore), oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and NAME_RE.match(p.name)), key=_order)


def prune(folder: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (data file and manifest); returns what was deleted."""
    if keep < 1:
        raise BackupError("至少保留 1 份备份")
    with folder_lock(folder):
        return _prune(folder, keep=keep)


def _prune(folder: Path, *, keep: int) -> list[Path]:
    found = backups_in(folder)
    doomed = found[: max(0, len(found) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
        manifest_path(path).unlink(missing_ok=True)
    if doomed:
        collected = _media_collect(folder)
        log_event(folder, "prune", deleted=[p.name for p in doomed], keep=keep, media_removed=len(collected))
    return doomed


def next_run(now: datetime.datetime, hour: int) -> datetime.datetime:
    """The next moment at ``hour`` o'clock local time after ``now``."""
    local = timezone.localtime(now)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment <= local:
        moment = timezone.make_aware(
            datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(hour))
        )
    return moment


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One backup or prune at a time in ``folder`` (a prune must not remove the stored files of a backup
    still being made). ``fcntl`` where there is one; on Windows, no lock."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
