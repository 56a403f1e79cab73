"""Who imports, into which villages and townships, for which year: shared by the import pages,
the background jobs and the ``import-*`` commands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from qiangcun.accounts.models import Role, User
from qiangcun.core.clock import today
from qiangcun.core.errors import ServiceError
from qiangcun.core.excel import RowError, Table
from qiangcun.core.scope import Action, path_q, scope_paths
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


def import_villages(actor: User) -> list[OrgUnit]:
    """Villages the actor may bring rows into: where they may enter rows or import the ledger."""
    paths = tuple(set(scope_paths(actor, Action.ENTER)) | set(scope_paths(actor, Action.IMPORT)))
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


def report_errors(
    command: Any, path: Path, table: Table | Sequence[Table] | None, errors: list[RowError]
) -> None:
    """Print the errors by Excel row (or by their place in a Word file), write the error report workbook
    next to the data (none when ``table`` is None) and exit 1."""
    import sys

    from django.conf import settings

    from qiangcun.core.excel import error_report

    command.stderr.write(f"{path.name}：发现 {len(errors)} 处错误，一条都没有导入。")
    for error in errors[:200]:
        command.stderr.write(f"  {error}")
    if len(errors) > 200:
        more = "见错误报告" if table is not None else "改正以上各处后重新检查"
        command.stderr.write(f"  ……其余 {len(errors) - 200} 处{more}")
    if table is not None:
        report_dir = Path(settings.HOME) / "import-reports"
        report_dir.mkdir(exist_ok=True)
        report = report_dir / f"{path.stem}-错误报告.xlsx"
        report.write_bytes(error_report(path, table, errors))
        command.stderr.write(f"错误报告：{report}")
    sys.exit(1)


def import_townships(actor: User) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(actor, Action.IMPORT).filter(level=Level.TOWNSHIP))


def target_years(actor: User) -> list[tuple[int, str]]:
    """The years a targets import offers, latest first, as (year, label): every year with a campaign in
    the actor's townships, and last year, this year and next year even without one — importing targets
    for such a year opens it with the default settings, and the label says so."""
    townships = import_townships(actor)
    opened: dict[int, int] = {}
    for year in Campaign.objects.filter(township__in=townships).values_list("year", flat=True):
        opened[year] = opened.get(year, 0) + 1
    now = today().year
    choices = []
    for year in sorted(set(opened) | {now - 1, now, now + 1}, reverse=True):
        have = opened.get(year, 0)
        if have and have >= len(townships):
            label = f"{year}"
        elif have:
            label = f"{year}（部分镇尚未建立，导入时按默认设置建立）"
        else:
            label = f"{year}（尚未建立，导入时按默认设置建立）"
        choices.append((year, label))
    return choices


def township_for(actor: User, code: str | None) -> OrgUnit:
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
