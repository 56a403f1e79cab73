"""``qiangcun rollup --check`` / ``--rebuild``: the monthly income roll-up against the ledger."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.ledger import rollup


class Command(BaseCommand):
    help = (
        "收入汇总（进度表读取的月度、年度汇总）：--check 与台账逐行核对，--rebuild 由台账重建。"
        "Monthly income roll-up: --check compares it with the ledger, --rebuild makes it again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--check", action="store_true", help="逐行核对汇总与台账，不一致时退出码 1")
        group.add_argument("--rebuild", action="store_true", help="清空汇总并由台账重建（一个事务内完成）")
        parser.add_argument("--limit", type=int, default=20, help="--check 最多列出多少处不一致（默认 20）")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["rebuild"]:
            lines = rollup.rebuild()
            self.stdout.write(
                f"已由台账重建收入汇总：月度 {lines} 行（{time.monotonic() - started:.1f} 秒）。"
            )
            return
        differences = rollup.check()
        seconds = time.monotonic() - started
        if not differences:
            self.stdout.write(f"收入汇总（月度、年度）与台账一致（{seconds:.1f} 秒）。")
            return
        for difference in differences[: max(options["limit"], 0)]:
            self.stdout.write(str(difference))
        raise CommandError(
            f"收入汇总与台账有 {len(differences)} 处不一致；核实原因后可用 qiangcun rollup --rebuild 重建。"
        )
