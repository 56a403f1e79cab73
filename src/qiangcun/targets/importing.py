"""Who imports, into which villages, for which year: shared by the import commands and pages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.db.models import Max

from qiangcun.accounts.models import Role, User
from qiangcun.core.scope import path_q, scope_paths
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
    paths = tuple(set(scope_paths(actor, "enter")) | set(scope_paths(actor, "import_ledger")))
    if not paths:
        return []
    return list(OrgUnit.objects.filter(path_q("path", paths), level=Level.VILLAGE))


def import_year(villages: list[OrgUnit], year: int | None) -> int:
    """``year`` if the villages' township has a campaign for it; with no year, the latest campaign's."""
    codes = {code for village in villages for code in village.ancestor_codes()}
    campaigns = Campaign.objects.filter(township__code__in=codes)
    if year is not None:
        if not campaigns.filter(year=year).exists():
            raise CommandError(f"{year} 年还没有建立年度任务，请先在“目标”页面建立")
        return year
    latest = campaigns.aggregate(y=Max("year"))["y"]
    if latest is None:
        raise CommandError("还没有任何年度任务，请先建立年度任务，或用 --year 指定年度")
    return int(latest)
