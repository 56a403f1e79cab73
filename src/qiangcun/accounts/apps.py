from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "qiangcun.accounts"
    label = "accounts"
    verbose_name = "账号"
