from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _refreeze(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: the triggers freezing verified rows exist (a table rebuild on SQLite
    drops them; a future migration need not remember)."""
    from django.db import connections

    from qiangcun.ledger import freeze

    freeze.install(connections[using])


class LedgerConfig(AppConfig):
    name = "qiangcun.ledger"
    label = "ledger"
    verbose_name = "台账"

    def ready(self) -> None:
        post_migrate.connect(_refreeze, sender=self, dispatch_uid="qiangcun.ledger.refreeze")
        from qiangcun.core import backup
        from qiangcun.ledger.selectors import verified_totals_by_village

        # Every backup manifest records each village's verified rows, and a verification compares them.
        backup.register_summary(
            "ledger.verified_by_village",
            title="已审核台账",
            read=lambda using: verified_totals_by_village(using=using),
        )
