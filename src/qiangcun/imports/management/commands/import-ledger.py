"""qiangcun import-ledger FILE [--dry-run] [--verified] [--as USERNAME] [--year Y]"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.core.money import fmt_wan, fmt_yuan
from qiangcun.imports.lookups import import_actor, import_villages, import_year, progress_bar, report_errors
from qiangcun.ledger.importing.ledger import parse_ledger_file
from qiangcun.ledger.services import entries_import


class Command(BaseCommand):
    help = "导入台账工作簿（.xlsx）：有任何错误则一条都不导入，并生成错误报告。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="只检查并汇总，不写入")
        parser.add_argument(
            "--verified",
            action="store_true",
            help="按已审核导入：只用于迁移已经结束的往年台账（年份早于今年），仅镇党建办；记入审计日志",
        )
        parser.add_argument("--as", dest="username", help="以该用户身份导入（默认：唯一的镇党建办账号）")
        parser.add_argument("--year", type=int, help="台账年度（默认：最新的年度任务）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}")
        actor = import_actor(options["username"])
        villages = import_villages(actor)
        try:
            year = import_year(villages, options["year"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        tty = sys.stderr.isatty()

        def progress(row: int, total: int) -> None:
            if tty:
                sys.stderr.write("\r" + progress_bar(row, total))
                sys.stderr.flush()

        try:
            parsed = parse_ledger_file(
                path,
                name=path.name,
                year=year,
                villages=villages,
                progress=progress,
                allow_negative=options["verified"],
            )
        except WorkbookRefused as exc:
            raise CommandError(str(exc)) from exc
        if tty:
            sys.stderr.write("\r" + " " * 60 + "\r")
        if not parsed.ok:
            report_errors(self, path, parsed.table, parsed.errors)
        try:
            outcome = entries_import(
                actor=actor,
                rows=parsed.rows,
                file_name=path.name,
                sha256=parsed.sha256,
                skipped=parsed.skipped,
                verified=options["verified"],
                dry_run=options["dry_run"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        verb = "将导入" if options["dry_run"] else "已导入"
        self.stdout.write(
            f"{path.name}：{verb} {outcome.imported} 条，合计 {fmt_yuan(outcome.total)} 元（{fmt_wan(outcome.total)}元）；"
            f"已在台账中、跳过 {outcome.duplicates} 条；空行、小计、合计、签名行跳过 {outcome.skipped} 行。"
        )
        for name, (count, total) in sorted(outcome.per_village.items()):
            self.stdout.write(f"  {name}\t{count} 条\t{fmt_yuan(total)} 元")
        if options["dry_run"]:
            self.stdout.write("（试导入：没有写入任何数据）")
