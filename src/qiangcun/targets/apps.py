from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "qiangcun.targets"
    label = "targets"
    verbose_name = "目标"

    def ready(self) -> None:
        # The ledger does not know campaigns; it asks this rule which years a village may enter.
        from qiangcun.ledger.selectors import open_years_rule
        from qiangcun.targets.selectors import entry_years

        open_years_rule(entry_years)
