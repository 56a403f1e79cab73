from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "qiangcun.exports"
    label = "exports"
    verbose_name = "导出"
