"""Who imports, into which villages, for which year: shared by the import commands and pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from qiangcun.accounts.models import Role, User
from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import RowError, Table, find_table, inspect_xlsx, is_total_row, normalize_text
from qiangcun.core.scope import path_q, scope_paths
from qiangcun.ledger.importing.ledger import VillageMatcher
from qiangcun.ledger.importing.values import CellError, parse_amount_cell
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets.models import Campaign


def import_actor(username: str | None) -> User:
    """The named active user, or the only township admin when no name is given."""
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在或已停用")
        return user
    admins = list(User.objects.filter(is_active=True, grants__role=Role.TOWNSHIP_ADMIN).distinct()[:2])
    if len(admins) != 1:
        raise CommandError("请用 --as 指定导入人（镇党建办或村报账员的用户名）")
    return admins[0]


def import_villages(actor: Any) -> list[OrgUnit]:
    """Villages the actor may bring rows into: where they may enter rows or import the ledger."""
    paths = tuple(set(scope_paths(actor, "enter")) | set(scope_paths(actor, "import")))
    if not paths:
        return []
    return list(OrgUnit.objects.filter(path_q("path", paths), level=Level.VILLAGE))


def campaign_years(villages: list[OrgUnit]) -> list[int]:
    """Years with a campaign in the townships of these villages, latest first."""
    codes = {code for village in villages for code in village.ancestor_codes()}
    years = Campaign.objects.filter(township__code__in=codes).values_list("year", flat=True)
    return sorted(set(years), reverse=True)


def import_year(villages: list[OrgUnit], year: int | None) -> int:
    """``year`` if the villages' township has a campaign for it; with no year, the latest campaign's."""
    years = campaign_years(villages)
    if year is not None:
        if year not in years:
            raise ServiceError(f"{year} 年还没有建立年度任务，请先在“目标”页面建立", field="year")
        return year
    if not years:
        raise ServiceError("还没有任何年度任务，请先建立年度任务，或指定年度", field="year")
    return years[0]


# ---------------------------------------------------------------------------------------------- targets

TARGET_FIELDS = {
    "village": ["村名", "村庄", "行政村", "村居", "村", "单位"],
    "amount": ["目标", "年度目标", "目标任务", "任务", "收入目标", "目标金额", "目标收入"],
    "station": ["网格站"],
    "district": ["管区"],
}
TARGET_LABELS = {"village": "村名", "amount": "目标"}


@dataclass
class ParsedTargets:
    name: str
    table: Table | None = None
    amounts: dict[int, Decimal] = field(default_factory=dict)
    rows: dict[int, int] = field(default_factory=dict)  # village id → Excel row
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


def parse_targets_file(path: Path, *, name: str, campaign: Campaign) -> ParsedTargets:
    """Village targets for ``campaign``: every row names a village of the township and an amount ≥ the baseline."""
    inspect_xlsx(path, name=name)
    table, data = find_table(path, fields=TARGET_FIELDS, required=["village", "amount"], labels=TARGET_LABELS)
    result = ParsedTargets(name=name, table=table)
    cols = table.columns
    matcher = VillageMatcher(list(OrgUnit.objects.under(campaign.township).filter(level=Level.VILLAGE)))
    for number, cells in data:
        values = [cells[c.index] if c.index < len(cells) else None for c in cols.values()]
        texts = [normalize_text(v) for v in values]
        if not any(texts) or is_total_row(cells, key=cols["village"].index, required=cols["amount"].index):
            result.skipped += 1
            continue
        village_col, amount_col = cols["village"], cols["amount"]
        raw_village = cells[village_col.index] if village_col.index < len(cells) else None
        raw_amount = cells[amount_col.index] if amount_col.index < len(cells) else None
        village = None
        try:
            village = matcher.match(raw_village)
        except CellError as exc:
            result.errors.append(RowError(number, village_col.letter, village_col.header, str(exc)))
        try:
            amount = parse_amount_cell(raw_amount, wan=amount_col.wan)
        except CellError as exc:
            result.errors.append(RowError(number, amount_col.letter, amount_col.header, str(exc)))
            continue
        if amount < campaign.baseline:
            result.errors.append(
                RowError(
                    number,
                    amount_col.letter,
                    amount_col.header,
                    f"目标 {amount:,.2f} 元低于基础线 {campaign.baseline:,.2f} 元",
                )
            )
            continue
        if village is None:
            continue
        if village.pk in result.rows:
            result.errors.append(
                RowError(
                    number,
                    village_col.letter,
                    village_col.header,
                    f"{village.name}与第 {result.rows[village.pk]} 行重复",
                )
            )
            continue
        result.rows[village.pk] = number
        result.amounts[village.pk] = amount
    return result


def report_errors(command: Any, path: Path, table: Table | None, errors: list[RowError]) -> None:
    """Print the errors by Excel row, write the error report workbook next to the data and exit 1."""
    import sys

    from django.conf import settings

    from qiangcun.core.excel import error_report

    command.stderr.write(f"{path.name}：发现 {len(errors)} 处错误，一条都没有导入。")
    for error in errors[:200]:
        command.stderr.write(f"  {error}")
    if len(errors) > 200:
        command.stderr.write(f"  ……其余 {len(errors) - 200} 处见错误报告")
    if table is not None:
        report_dir = Path(settings.HOME) / "import-reports"
        report_dir.mkdir(exist_ok=True)
        report = report_dir / f"{path.stem}-错误报告.xlsx"
        report.write_bytes(error_report(path, table, errors))
        command.stderr.write(f"错误报告：{report}")
    sys.exit(1)


def import_townships(actor: Any) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(actor, "import").filter(level=Level.TOWNSHIP))


def township_for(actor: Any, code: str | None) -> OrgUnit:
    """The township named by code, or the only township the actor may import into."""
    townships = import_townships(actor)
    if code:
        found = [u for u in townships if u.code == code]
        if not found:
            raise ServiceError(f"没有代码为 {code} 的镇，或您没有向它导入的权限", field="township")
        return found[0]
    if len(townships) != 1:
        raise ServiceError("请指定要导入到哪个镇（命令行用 --township 镇的代码）", field="township")
    return townships[0]


def progress_bar(row: int, total: int, width: int = 30) -> str:
    """A terminal progress bar: ``[##########----------]  50%  50,000 / 100,000 行``."""
    share = min(row / total, 1.0) if total else 0.0
    filled = int(share * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {share * 100:3.0f}%  {row:,} / {total:,} 行"
