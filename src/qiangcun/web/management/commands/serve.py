import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core.serving import SERVERS, default_server, serve
from qiangcun.core.tasks import ensure_backup_scheduled
from qiangcun.exports.services import expire_orphans as expire_export_orphans
from qiangcun.imports.jobs import expire_orphans
from qiangcun.supervision.tasks import ensure_tick


class Command(BaseCommand):
    help = (
        "迁移数据库，启动网页服务和后台任务（正式使用）。Migrate, then run the server and the worker "
        "for a real install."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="监听地址（默认 127.0.0.1；在镇内网上给别的电脑用时填 0.0.0.0，并设置 ALLOWED_HOSTS）",
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="网页服务进程数（默认 2；waitress 为每个 4 线程）"
        )
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=None,
            help="网页服务程序（默认取环境变量 QIANGCUN_SERVER；未设时 Windows 用 waitress，其他系统用 gunicorn）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["port"] <= 65535:
            raise CommandError("端口应在 1 到 65535 之间")
        try:
            server = options["server"] or default_server(dict(os.environ))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        call_command("migrate", verbosity=0, interactive=False)
        expire_orphans()  # imports left running by a server that was killed: failed, with the reason
        expire_export_orphans()  # and exports
        ensure_tick()  # scheduled bulletins: one task waits in the worker's queue while a schedule is set
        ensure_backup_scheduled()  # the daily backup: one task waits in the queue, never two
        host, port = options["host"], options["port"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(f"强村已启动：http://{shown}:{port}/   按 Ctrl-C 停止服务和后台任务。")
        self.stdout.flush()
        env = {k: v for k, v in os.environ.items() if k not in ("QIANGCUN_DEMO", "QIANGCUN_DEMO_PASSWORD")}
        dead = serve(
            host=host,
            port=port,
            workers=options["workers"],
            run_dir=Path(settings.HOME) / "run",
            env=env,
            server=server,
        )
        if dead is not None:
            raise CommandError(f"{dead} 意外退出，服务已停止（另一进程也已结束）。")
        self.stdout.write("服务已停止。")
