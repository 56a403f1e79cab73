from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "qiangcun.assets"
    label = "assets"
    verbose_name = "集体资产"
