from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core import backup


class Command(BaseCommand):
    help = (
        "从备份恢复数据库：先核对校验和与迁移版本，再自动备份当前数据库，然后替换。"
        " Restore a backup after checks, with a safety backup of the current database first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="备份文件（.sqlite3 / .pgdump，或其 .json 清单）")
        parser.add_argument("--yes", action="store_true", help="确认替换当前数据库")
        parser.add_argument(
            "--while-running",
            action="store_true",
            help="服务正在运行时仍然恢复（恢复期间写入的数据会丢失；一般应先停止 qiangcun serve）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = backup.restore_plan(options["file"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        m = plan.manifest
        rows = sum(m.get("tables", {}).values())
        self.stdout.write(f"备份：{plan.path}（{m.get('created_at', '')}，{rows} 行），校验和一致。")
        if plan.migrations.missing:
            self.stdout.write(
                f"备份比本程序旧（少 {len(plan.migrations.missing)} 个迁移），恢复后将自动执行 migrate。"
            )
        if not options["yes"]:
            raise CommandError(
                f"将用这份备份替换当前数据库 {plan.target}（现有 {plan.current_rows} 行，全部被替换；"
                "替换前会自动备份当前数据库）。确认请加 --yes。"
            )
        pid = backup.server_pid()
        if pid is not None:
            message = f"强村服务正在运行（gunicorn 进程 {pid}）：恢复之后、重启之前写入的数据会丢失。"
            if not options["while_running"]:
                raise CommandError(message + "请先停止 qiangcun serve，或加 --while-running。")
            self.stderr.write("警告：" + message)
        try:
            safety = backup.restore_apply(plan)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"恢复前的当前数据库已备份到：{safety.path}")
        if plan.migrations.missing:
            call_command("migrate", verbosity=0, interactive=False)
            self.stdout.write(f"已执行 migrate（{len(plan.migrations.missing)} 个迁移）。")
        backup.audit_event(
            "backup.restore",
            plan.path.name,
            f"sha256 {plan.manifest['sha256']}；恢复前的数据库备份为 {safety.path.name}",
        )
        self.stdout.write(f"已恢复：{plan.target} ← {plan.path.name}")
        self.stdout.write(f"如需撤销：qiangcun restore {safety.path} --yes")
