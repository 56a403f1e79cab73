from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "qiangcun.plans"
    label = "plans"
    verbose_name = "一村一策"
