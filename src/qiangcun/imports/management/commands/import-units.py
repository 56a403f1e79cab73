"""qiangcun import-units FILE [--dry-run] [--as USERNAME] [--township CODE]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.imports.lookups import import_actor, report_errors, township_for
from qiangcun.orgs.importing import UnitsImportError, parse_units_file, units_import


class Command(BaseCommand):
    help = "导入组织结构（网格站、管区、行政村、标签）：有任何错误则一条都不导入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
        parser.add_argument("--as", dest="username", help="以该用户身份导入（默认：唯一的镇党建办账号）")
        parser.add_argument("--township", help="镇的代码（只有一个镇时可省略）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}")
        actor = import_actor(options["username"])
        try:
            township = township_for(actor, options["township"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        try:
            parsed = parse_units_file(path, name=path.name)
        except WorkbookRefused as exc:
            raise CommandError(str(exc)) from exc
        if parsed.errors:
            report_errors(self, path, parsed.table, parsed.errors)
        try:
            outcome = units_import(actor=actor, township=township, parsed=parsed, dry_run=options["dry_run"])
        except UnitsImportError as exc:
            report_errors(self, path, parsed.table, exc.errors)
            return
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        made = "，".join(f"{label} {n} 个" for label, n in outcome.created.items())
        verb = "将新建" if options["dry_run"] else "已新建"
        self.stdout.write(
            f"{township.name}：{verb} {made}；已有的村 {outcome.unchanged} 个未改动；补充标签的村 {outcome.tagged} 个。"
            + ("（试导入：没有写入任何数据）" if options["dry_run"] else "")
        )
