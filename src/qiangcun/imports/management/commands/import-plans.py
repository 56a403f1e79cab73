"""qiangcun import-plans FILE [--year Y] [--dry-run] [--as USERNAME]

FILE is an Excel workbook (.xlsx) or a Word document (.docx); see ``plans.importing`` for the layouts.
Errors are listed by row (by table and row in a Word file); a workbook also gets the red-marked report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.core.money import fmt_wan
from qiangcun.core.word import is_word_file
from qiangcun.imports.lookups import import_actor, import_year, report_errors
from qiangcun.plans.importing import parse_plans_file, plan_villages, plans_import


class Command(BaseCommand):
    help = "导入一村一策（Excel .xlsx 或 Word .docx；按行一张表，或一村一页/一村一部分）：有任何错误则一个村都不导入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--year", type=int, help="年度（默认：最近一个有年度任务的年度）")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
        parser.add_argument("--as", dest="username", help="以该用户身份导入（默认：唯一的镇党建办账号）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}")
        actor = import_actor(options["username"])
        villages, plannable = plan_villages(actor)
        try:
            year = import_year([v for v in villages if v.pk in plannable], options["year"])
            parsed = parse_plans_file(path, name=path.name, year=year, villages=villages, plannable=plannable)
        except (ServiceError, WorkbookRefused) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        tables = None if is_word_file(path.name) else parsed.tables  # no red-marked report for Word
        if parsed.errors:
            report_errors(self, path, tables, parsed.errors)
        done = plans_import(actor=actor, parsed=parsed, dry_run=options["dry_run"])
        if done.errors:
            report_errors(self, path, tables, done.errors)
        self.stdout.write(
            f"{'将导入' if options['dry_run'] else '已导入'} {len(done.villages)} 个村 {year} 年的一村一策："
            f"增收路子 {done.paths} 条，预计收入合计 {fmt_wan(done.expected)}元；"
            f"措施新增 {done.added} 项、更新 {done.updated} 项、不变 {done.unchanged} 项"
            + ("（试导入：没有写入任何数据）" if options["dry_run"] else "")
        )
