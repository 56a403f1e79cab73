from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "qiangcun.ledger"
    label = "ledger"
    verbose_name = "台账"
