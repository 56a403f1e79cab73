import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.errors import ServiceError
from qiangcun.core.money import fmt_yuan
from qiangcun.core.params import date_param
from qiangcun.core.scope import Action
from qiangcun.targets.selectors import BAND_LABELS, board_unit, board_year, pct1, progress, progress_document


class _Everything:
    """The CLI runs with the machine operator's authority over the whole tree."""

    is_authenticated = True
    is_active = True
    pk = None

    def scope_paths(self, action: str) -> tuple[str, ...]:
        return ("/",) if action == Action.VIEW else ()


class Command(BaseCommand):
    help = "打印进度表（与接口相同的数字）。Print the progress table, the same figures as the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", help="年度；省略时为最近的年度任务")
        parser.add_argument("--unit", help="单位代码；只有一个镇时可省略")
        parser.add_argument("--as-of", dest="as_of", help="截止日期 YYYY-MM-DD")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        user = _Everything()
        try:
            unit = board_unit(user, options["unit"])
            year = board_year(user, options["year"])
            p = progress(user=user, unit=unit, year=year, as_of=date_param(options["as_of"], label="--as-of"))
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(progress_document(p), ensure_ascii=False, indent=2))
            return
        t = p.totals
        self.stdout.write(
            f"{p.unit.name} {p.year}年村集体经济收入进度表  截至 {p.as_of:%Y-%m-%d}  "
            f"时序进度 {pct1(p.time_progress)}%\n"
            f"{t.villages} 个村  目标 {fmt_yuan(t.target)} 元  收入 {fmt_yuan(t.income)} 元  "
            f"完成 {pct1(t.completion_exact)}%  达 3 万 {t.at_baseline} 个  达 10 万 {t.at_top_tier} 个\n"
        )
        header = f"{'排名':>4} {'变化':>4}  {'村':<8} {'目标（元）':>14} {'收入（元）':>14} {'完成率':>7} {'差距':>7}  状态"
        self.stdout.write(header)
        for r in p.villages:
            change = (
                f"▲{r.rank_change}"
                if r.rank_change > 0
                else (f"▼{-r.rank_change}" if r.rank_change < 0 else "—")
            )
            self.stdout.write(
                f"{r.rank:>4} {change:>4}  {r.name:<8} {fmt_yuan(r.target):>14} {fmt_yuan(r.income):>14} "
                f"{r.completion_pct:>6}% {r.gap_points:>+6}  {BAND_LABELS[r.band]}"
            )
