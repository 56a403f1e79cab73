from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "qiangcun.supervision"
    label = "supervision"
    verbose_name = "督导"
