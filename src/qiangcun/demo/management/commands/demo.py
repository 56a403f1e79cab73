import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.serving import serve
from qiangcun.demo import builder
from qiangcun.exports.services import expire_orphans as expire_export_orphans
from qiangcun.imports.jobs import expire_orphans


class Command(BaseCommand):
    help = "迁移数据库、建立演示乡镇并在 127.0.0.1 上启动服务。Migrate, build the demo township and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="只建库，不启动服务")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        if builder.build(stdout=self.stdout):
            self.stdout.write("")
        else:
            self.stdout.write("演示乡镇已存在，未做改动。")
        if options["no_serve"]:
            return
        expire_orphans()  # imports left running by a server that was killed: failed, with the reason
        expire_export_orphans()  # and exports
        port = options["port"]
        self.stdout.write(f"\n演示地址 Demo: http://127.0.0.1:{port}/   （演示日期 2020年4月17日）")
        self.stdout.write(f"演示账号 Accounts (password {builder.DEMO_PASSWORD}):")
        for username, display, role, _unit in builder.ACCOUNTS:
            self.stdout.write(f"  {username:<20} {display}（{role.label}）")
        self.stdout.write("按 Ctrl-C 停止服务和后台任务。")
        self.stdout.flush()
        env = dict(
            os.environ,
            QIANGCUN_DEMO="1",
            QIANGCUN_DEMO_PASSWORD=builder.DEMO_PASSWORD,
            QIANGCUN_TODAY=builder.ARTICLE_DATE.isoformat(),
        )
        dead = serve(
            host="127.0.0.1",
            port=port,
            workers=options["workers"],
            run_dir=Path(settings.HOME) / "run",
            env=env,
        )
        if dead is not None:
            raise CommandError(f"{dead} 意外退出，演示已停止（另一进程也已结束）。")
        self.stdout.write("演示已停止。")
