from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "qiangcun.reports"
    label = "reports"
    verbose_name = "报表"
