"""Django's ``createsuperuser``, refused: qiangcun has no superuser (三员分立 — separation of duties).

Every power comes from a role on an org unit; the first accounts come from ``qiangcun init`` (the township
admin and the system admin, each with a one-time password), and the system admin makes the rest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "强村不设超级用户：请用 qiangcun init 建立镇党建办和系统管理员账号。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*")
        parser.add_argument("--noinput", "--no-input", action="store_true")
        parser.add_argument("--username")
        parser.add_argument("--email")
        parser.add_argument("--database")

    def handle(self, *args: Any, **options: Any) -> None:
        raise CommandError(
            "强村不设超级用户（三员分立：系统管理员、安全管理员、审计管理员各管一摊，谁也不能看或改台账）。"
            "第一次使用请运行 qiangcun init --township 镇名 --code 代码 --admin 账号 --sysadmin 账号；"
            "其余账号由系统管理员在“人员”页面建立。"
        )
