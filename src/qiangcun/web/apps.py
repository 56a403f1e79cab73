from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "qiangcun.web"
    label = "web"
    verbose_name = "页面"
