"""``qiangcun audit verify``: check the change log's hash chain."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core import audit


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify(options["chunk"])

    def _verify(self, chunk: int) -> None:
        if chunk < 1:
            raise CommandError("--chunk 应为正整数")
        started = time.monotonic()
        verdict = audit.verify(chunk_size=chunk)
        seconds = time.monotonic() - started
        if verdict.ok:
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
