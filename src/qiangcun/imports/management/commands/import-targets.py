"""qiangcun import-targets FILE --year Y [--dry-run] [--as USERNAME] [--township CODE]"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.core.money import fmt_wan
from qiangcun.imports.lookups import import_actor, report_errors, township_for
from qiangcun.targets.importing import parse_targets_file
from qiangcun.targets.models import Campaign
from qiangcun.targets.services import targets_set


class Command(BaseCommand):
    help = "导入各村年度目标：有任何错误则一条都不导入。"

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
        campaign = Campaign.objects.filter(township=township, year=options["year"]).first()
        if campaign is None:
            raise CommandError(f"{township.name}还没有 {options['year']} 年度任务，请先建立")
        try:
            parsed = parse_targets_file(path, name=path.name, campaign=campaign)
        except WorkbookRefused as exc:
            raise CommandError(str(exc)) from exc
        if parsed.errors:
            report_errors(self, path, parsed.table, parsed.errors)
        try:
            with transaction.atomic():
                changed = targets_set(actor=actor, campaign=campaign, amounts=parsed.amounts)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        total = sum(parsed.amounts.values(), Decimal("0.00"))
        verb = "将改动" if options["dry_run"] else "已改动"
        self.stdout.write(
            f"{township.name}{campaign.year}年：文件中 {len(parsed.amounts)} 个村，目标合计 {fmt_wan(total)}元；{verb} {changed} 个村的目标。"
            + ("（试导入：没有写入任何数据）" if options["dry_run"] else "")
        )
