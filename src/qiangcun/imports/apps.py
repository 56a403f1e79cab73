from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "qiangcun.imports"
    label = "imports"
    verbose_name = "导入"
