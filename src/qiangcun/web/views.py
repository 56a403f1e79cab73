"""Pages that span apps: the home page ("my work" for everyone who reads the business), the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from qiangcun.accounts.http import AuthedRequest
from qiangcun.core import audit as change_log
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.models import OrgUnit
from qiangcun.orgs.selectors import widest_units
from qiangcun.reports.http import xlsx_response
from qiangcun.reports.xlsx import Column, write_table
from qiangcun.web import audit
from qiangcun.web.mywork import my_work

T = TypeVar("T")


def home(request: HttpRequest) -> HttpResponse:
    """Where a signed-in user starts: everyone who reads the business on "my work" (我的工作: what is
    theirs to do, web/mywork.py), the auditor at the log, the admins at the accounts. On a database
    with no township yet, anyone is told how to make one."""
    if not OrgUnit.objects.exists():
        return render(request, "web/first_run.html")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _home(cast(AuthedRequest, request))


def _home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if user.can(Action.VIEW):
        return render(request, "web/my.html", {"w": my_work(user)})
    if user.can(Action.AUDIT):
        return redirect("audit_log")
    if user.can(Action.MANAGE_USERS) or user.can(Action.GRANT_ROLES):
        return redirect("people")
    return render(request, "core/no_pages.html", {"message": "您的账号还没有分配角色，请联系镇党建办。"})


@require(Action.AUDIT)
def audit_log(request: AuthedRequest) -> HttpResponse:
    """The change log for the auditor, within their township: who did what, when, to which village's
    row, before and after, in words; filtered by person, unit, action and dates, 50 a page."""
    visible = audit.records_visible(request.user)
    filters = audit.parse_filters(request.user, request.GET, visible)
    rows = filters.apply(visible).select_related("actor").order_by("-at", "-id")
    page = Paginator(rows, audit.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/audit_log.html",
        {
            "page": page,
            "lines": audit.present(page.object_list),
            "filters": filters,
            "action_groups": audit.ACTION_GROUPS,
            "channels": audit.CHANNELS,
            "results": audit.RESULTS,
        },
    )


AUDIT_COLUMNS = [
    Column("时间", "text", 20),
    Column("操作人", "text", 16),
    Column("动作", "text", 12),
    Column("单位", "text", 12),
    Column("对象", "text", 36),
    Column("变更内容", "text", 60),
    Column("说明", "text", 30),
    Column("来源地址", "text", 18),
    Column("渠道", "text", 10),
    Column("结果", "text", 8),
]


@require(Action.AUDIT)
def audit_export(request: AuthedRequest) -> HttpResponse:
    """The log as filtered, every record of it, to Excel. The export is itself recorded (导出审计日志)."""
    visible = audit.records_visible(request.user)
    filters = audit.parse_filters(request.user, request.GET, visible)
    rows = filters.apply(visible).select_related("actor").order_by("-at", "-id")
    change_log.event(
        actor=request.user,
        action="audit.export",
        model="core.changerecord",
        note=f"导出审计日志：{filters.describe() or '全部记录'}",
    )

    def lines() -> Iterator[tuple[str, ...]]:
        for chunk in _chunks(rows.iterator(chunk_size=2000), 2000):
            for line in audit.present(chunk):
                yield (
                    f"{line.at:%Y-%m-%d %H:%M:%S}",
                    line.actor,
                    line.action,
                    line.unit,
                    line.subject,
                    line.changes_text,
                    line.note,
                    line.address,
                    line.channel,
                    line.result,
                )

    scope = "、".join(u.name for u in widest_units(request.user, Action.AUDIT))
    body = write_table(
        title=f"{scope}审计日志",
        subtitle=filters.describe(),
        columns=AUDIT_COLUMNS,
        rows=lines(),
        unit_line="金额单位：元",
        sheet_name="审计日志",
    )
    return xlsx_response(body, f"{scope}审计日志.xlsx")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
