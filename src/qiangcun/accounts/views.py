from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView

from qiangcun.accounts.models import RoleGrant


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
