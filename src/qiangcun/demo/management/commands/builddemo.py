from typing import Any

from django.core.management.base import BaseCommand

from qiangcun.demo import builder


class Command(BaseCommand):
    help = "建立演示乡镇（相衙镇 2020），已存在则不做任何改动。Build the demo township; idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if not builder.build(stdout=self.stdout):
            self.stdout.write("演示乡镇已存在，未做改动。")
