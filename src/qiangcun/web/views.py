"""Pages that span apps: the home page (and, later, "my work")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from qiangcun.core.web import require
from qiangcun.orgs.models import Level
from qiangcun.orgs.selectors import widest_units


@require()
def home(request: HttpRequest) -> HttpResponse:
    """Where a signed-in user starts: a village's people at their village, everyone else who sees the
    business at the progress table, the auditor at the log."""
    user = request.user
    if user.can("view"):  # type: ignore[union-attr]
        tops = widest_units(user, "view")
        if len(tops) == 1 and tops[0].level == Level.VILLAGE:
            return redirect("village", code=tops[0].code)
        return redirect("progress")
    if user.can("audit"):  # type: ignore[union-attr]
        return redirect("audit_log")
    if user.can("manage_users"):  # type: ignore[union-attr]
        return render(
            request,
            "core/no_pages.html",
            {"message": "账号管理页面尚未上线。系统管理员不查看业务数据。"},
        )
    return render(request, "core/no_pages.html", {"message": "您的账号还没有分配角色，请联系镇党建办。"})
