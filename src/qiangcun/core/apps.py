from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "qiangcun.core"
    label = "core"
    verbose_name = "基础"
