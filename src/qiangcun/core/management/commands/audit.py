"""``qiangcun audit verify``: check the change log's hash chain."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core import audit, backup


class Command(BaseCommand):
    help = "审计日志：verify 核对变更记录的哈希链（防篡改）。Audit log: `verify` checks the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, title="子命令")
        verify = sub.add_parser(
            "verify",
            help="按编号顺序逐条核对哈希链，报告第一条断裂的记录及原因",
            description="按编号顺序逐条核对变更记录的哈希链；链完整时退出码 0，否则 1 并指出第一条断裂的记录。",
        )
        verify.add_argument("--chunk", type=int, default=2000, help="每次读入的记录数（默认 2000）")
        verify.add_argument(
            "--backups",
            help="备份目录（默认 $QIANGCUN_HOME/backups）：与最新备份记下的最后一条记录核对，发现链尾被删",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify(options["chunk"], options.get("backups"))

    def _verify(self, chunk: int, backups: str | None = None) -> None:
        if chunk < 1:
            raise CommandError("--chunk 应为正整数")
        started = time.monotonic()
        verdict = audit.verify(chunk_size=chunk)
        seconds = time.monotonic() - started
        if verdict.ok:
            self._against_backup(verdict, backups)
            if verdict.last_id is None:
                self.stdout.write("审计链完整：没有变更记录。")
                return
            self.stdout.write(
                f"审计链完整：已核对 {verdict.checked} 条变更记录（{seconds:.1f} 秒），"
                f"最后一条第 {verdict.last_id} 条，哈希 {verdict.last_hash}"
            )
            return
        self.stdout.write(f"已核对 {verdict.checked} 条完好的记录（{seconds:.1f} 秒）。")
        raise CommandError(f"审计链断裂：第 {verdict.broken_id} 条记录，{verdict.reason}。")

    def _against_backup(self, verdict: audit.Verdict, backups: str | None) -> None:
        """The chain alone cannot show records removed from its end; the newest backup's manifest noted
        the last record when it was made: it must still be there, unchanged."""
        folder = Path(backups) if backups else backup.default_dir()
        found = backup.newest_anchor(folder, after=backup.last_restore(folder, backup.default_dir()))
        if found is None:
            self.stdout.write("（没有可对照的备份清单：链尾若被删除无法由链本身发现，请定期备份。）")
            return
        name, head = found
        stored = audit.ChangeRecord.objects.filter(pk=head["id"]).values_list("hash", flat=True).first()
        if stored is None or verdict.last_id is None or verdict.last_id < head["id"]:
            raise CommandError(
                f"审计链尾部缺失：备份 {name} 记下的最后一条是第 {head['id']} 条，现已不存在"
                f"（现存最后一条：{verdict.last_id or '无'}），有记录被删除。"
            )
        if stored != head["hash"]:
            raise CommandError(
                f"审计链与备份 {name} 不符：第 {head['id']} 条的哈希与备份时记下的不同，链被重写过。"
            )
        self.stdout.write(f"与备份 {name} 核对一致：它记下的第 {head['id']} 条仍在，哈希相同。")
