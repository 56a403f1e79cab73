from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "qiangcun.accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self) -> None:
        from qiangcun.accounts import signin  # noqa: F401  (connects the sign-in audit receivers)
