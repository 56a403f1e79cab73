"""``qiangcun bulletin --township CODE --week 2020-W16 [--issue]``: make a week's bulletin and print the
paths of the .docx and .pdf written, one per line. Without ``--week``, every ended week of ``--year``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.params import year_param
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.supervision import documents, services
from qiangcun.supervision.weeks import Week, parse_week, weeks_of


class Command(BaseCommand):
    help = (
        "生成一周的工作通报（Word 与 PDF），逐行打印写出的文件路径；--issue 同时正式发布（编号、冻结数据）。"
        " Make a week's bulletin and print the paths of the .docx and .pdf written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--township", required=True, help="镇的单位代码")
        parser.add_argument("--week", help="周次，如 2020-W16；省略时为 --year 年度已结束的每一周")
        parser.add_argument("--year", help="与省略 --week 同用：年度")
        parser.add_argument("--issue", action="store_true", help="正式发布（已发布的周不会重复发布）")
        parser.add_argument("--out", help="写出文件的目录；默认 $QIANGCUN_HOME/bulletins/镇代码/")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["township"]
        township = OrgUnit.objects.filter(code=code, level=Level.TOWNSHIP).first()
        if township is None:
            raise CommandError(f"没有代码为 {code[:24]} 的镇")
        cutoff = services.settings_of(township).cutoff_weekday
        try:
            weeks = self._weeks(options, cutoff)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        out = Path(options["out"] or Path(settings.HOME) / "bulletins" / township.code)
        out.mkdir(parents=True, exist_ok=True)
        for week in weeks:
            try:
                if options["issue"]:
                    bulletin, _ = services.bulletin_issue(
                        actor=None, township=township, week=week, via=services.COMMAND_LINE
                    )
                    stem = bulletin.filename_stem
                    docx, pdf = services.bulletin_files(bulletin=bulletin)
                else:
                    snapshot, summary = services.bulletin_draft(township=township, week=week)
                    stem = f"{township.name}通报{week.label}（草稿，未发布）"
                    docx, pdf = documents.render(snapshot, summary)
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
            for suffix, body in ((".docx", docx), (".pdf", pdf)):
                path = out / f"{stem}{suffix}"
                path.write_bytes(body)
                self.stdout.write(str(path))

    def _weeks(self, options: dict[str, Any], cutoff: int) -> list[Week]:
        if options["week"]:
            return [parse_week(options["week"], cutoff)]
        year = year_param(options["year"], field="year")
        if year is None:
            raise ServiceError(
                "请给出 --week（如 2020-W16），或用 --year 指定年度以生成该年每一周", field="week"
            )
        ended = [w for w in weeks_of(year, cutoff) if w.end <= today()]
        if not ended:
            raise ServiceError(f"{year} 年还没有已结束的周", field="year")
        return ended
