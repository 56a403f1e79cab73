from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "qiangcun.targets"
    label = "targets"
    verbose_name = "目标"
