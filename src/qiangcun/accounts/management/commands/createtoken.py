from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.accounts.models import User
from qiangcun.accounts.services import token_create


class Command(BaseCommand):
    help = "为用户生成接口令牌（只显示一次）。Make an API token for USERNAME and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="令牌用途")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"用户 {options['username']} 不存在或已停用") from exc
        _token, raw = token_create(actor=None, user=user, name=options["name"])
        self.stdout.write(raw)
        self.stderr.write("请妥善保存：此令牌只显示这一次。Keep it safe: it is shown only once.")
