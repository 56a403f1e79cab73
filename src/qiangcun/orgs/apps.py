from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "qiangcun.orgs"
    label = "orgs"
    verbose_name = "组织"
