from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _guard(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: the triggers keeping the change log append-only exist (a table rebuild on
    SQLite drops them; a future migration need not remember)."""
    from django.db import connections

    from qiangcun.core import guard

    guard.install(connections[using])


class CoreConfig(AppConfig):
    name = "qiangcun.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        post_migrate.connect(_guard, sender=self, dispatch_uid="qiangcun.core.guard")
