from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from qiangcun.demo import builder


class Command(BaseCommand):
    help = "迁移数据库并建立演示乡镇（相衙镇 2020），已存在则不做任何改动。Migrate and build the demo township; idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        if not builder.build(stdout=self.stdout):
            self.stdout.write("演示乡镇已存在，未做改动。")
