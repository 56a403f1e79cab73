from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from qiangcun.accounts.models import RoleGrant
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.params import choice_param
from qiangcun.core.scope import path_q, scope_paths
from qiangcun.core.web import require


class ChineseAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确，请重新输入（注意区分大小写）",
        "inactive": "该账号已停用，请联系镇党建办",
    }


class QiangcunLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = ChineseAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.DEMO:
            # Demo mode only: the demo's accounts (named demo-…) with their roles, read from the database.
            grants = RoleGrant.objects.filter(
                user__username__startswith="demo-", user__is_active=True
            ).select_related("user")
            accounts: dict[str, tuple[str, str, str]] = {}
            for grant in grants.order_by("user_id"):
                accounts.setdefault(
                    grant.user.username, (grant.user.username, str(grant.user), grant.get_role_display())
                )
            context["demo_accounts"] = list(accounts.values())
            context["demo_password"] = settings.DEMO_PASSWORD
        return context


#: The audit log's action filter: a prefix of ``ChangeRecord.action`` and its label.
ACTIONS = [
    ("ledger.", "台账（全部）"),
    ("ledger.verify", "审核通过"),
    ("ledger.return", "退回"),
    ("ledger.reverse", "冲销"),
    ("target.", "村目标"),
    ("campaign.", "年度任务"),
    ("orgunit.", "组织单位"),
    ("user.", "用户"),
    ("rolegrant.", "授权"),
    ("apitoken.", "接口令牌"),
]


@require("audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    """The change log, for the auditor: who changed what, before and after, within the auditor's scope."""
    paths = scope_paths(request.user, "audit")
    rows = ChangeRecord.objects.filter(path_q("unit_path", paths) | Q(unit_path="")).select_related("actor")
    action = choice_param(request.GET.get("action"), dict(ACTIONS), field="action", label="动作")
    if action:
        rows = rows.filter(action__startswith=action)
    page = Paginator(rows.order_by("-at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"page": page, "action": action, "actions": ACTIONS})
