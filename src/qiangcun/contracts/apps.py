from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "qiangcun.contracts"
    label = "contracts"
    verbose_name = "合同与应收"
