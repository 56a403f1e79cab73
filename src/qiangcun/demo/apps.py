from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "qiangcun.demo"
    label = "demo"
    verbose_name = "演示"
