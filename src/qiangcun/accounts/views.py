from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView


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
            from qiangcun.demo.builder import ACCOUNTS, DEMO_PASSWORD  # demo mode only

            context["demo_accounts"] = [(u, d, r.label) for u, d, r, _ in ACCOUNTS]
            context["demo_password"] = DEMO_PASSWORD
        return context
