"""qiangcun import-targets FILE --year Y [--dry-run] [--as USERNAME] [--township CODE]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.imports.lookups import import_actor, report_errors, township_for
from qiangcun.imports.services import targets_summary
from qiangcun.targets import defaults
from qiangcun.targets.importing import parse_targets_file
from qiangcun.targets.models import Campaign
from qiangcun.targets.services import targets_import


class Command(BaseCommand):
    help = "导入各村年度目标：有任何错误则一条都不导入。该年尚无年度任务时按默认设置建立。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--year", type=int, required=True)
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
        year = options["year"]
        campaign = Campaign.objects.filter(township=township, year=year).first()
        baseline = campaign.baseline if campaign is not None else defaults.BASELINE
        try:
            parsed = parse_targets_file(path, name=path.name, township=township, baseline=baseline)
        except WorkbookRefused as exc:
            raise CommandError(str(exc)) from exc
        if parsed.errors:
            report_errors(self, path, parsed.table, parsed.errors)
        try:
            done = targets_import(
                actor=actor, township=township, year=year, amounts=parsed.amounts, dry_run=options["dry_run"]
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        notice, summary = targets_summary(township, done, parsed.amounts, dry_run=options["dry_run"])
        if notice:
            self.stdout.write(notice)
        self.stdout.write(f"{summary}。" + ("（试导入：没有写入任何数据）" if options["dry_run"] else ""))
