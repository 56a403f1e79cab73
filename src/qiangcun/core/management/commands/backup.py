from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.core import backup


def human_size(size: int) -> str:
    for unit in ("字节", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "字节" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


class Command(BaseCommand):
    help = (
        "在线备份数据库（SQLite 备份接口 / pg_dump），附清单与 SHA-256；--verify FILE 在临时数据库中还原并核对。"
        " Online backup with a manifest; --verify FILE restores into a scratch database and compares."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", type=Path, help="备份目录（默认 QIANGCUN_HOME/backups）")
        parser.add_argument("--verify", type=Path, metavar="FILE", help="核对一份备份，而不是新做备份")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["verify"] is not None:
                self._verify(options["verify"])
            else:
                self._backup(options["to"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _backup(self, to: Path | None) -> None:
        made = backup.backup_make(to=to)
        m = made.manifest
        rows = sum(m["tables"].values())
        self.stdout.write(f"已备份（{'SQLite' if m['engine'] == 'sqlite' else 'PostgreSQL'}）：{made.path}")
        self.stdout.write(f"清单：{made.manifest_path}")
        self.stdout.write(
            f"大小：{human_size(m['size'])}（{m['size']} 字节），{len(m['tables'])} 张表 {rows} 行"
        )
        self.stdout.write(f"SHA-256：{m['sha256']}")
        media = m.get("media", {})
        self.stdout.write(
            f"上传的凭证和照片：{media.get('count', 0)} 个，{human_size(media.get('bytes', 0))}"
            f"（本次新存 {media.get('added', 0)} 个，存于 {made.path.parent / backup.MEDIA_STORE}）"
        )
        self.stdout.write(f"用时 {made.seconds:.2f} 秒")

    def _verify(self, path: Path) -> None:
        result = backup.verify(path)
        m = result.manifest
        self.stdout.write(f"备份：{result.path}（{m.get('created_at', '')}）")
        self.stdout.write("校验和：一致")
        villages = sum(len(v) for v in result.found["summaries"].values())
        self.stdout.write(
            f"临时数据库中还原：{len(result.found['tables'])} 张表 {sum(result.found['tables'].values())} 行，"
            f"汇总 {villages} 项；用时 {result.seconds:.2f} 秒"
        )
        if result.ok:
            self.stdout.write(
                "核对通过：各表行数、各村已审核金额和上传文件"
                f"（{m.get('media', {}).get('count', 0)} 个）与清单一致。"
            )
            return
        for line in result.differences:
            self.stderr.write(f"不一致：{line}")
        raise CommandError(f"核对未通过：{len(result.differences)} 处与清单不一致（见上）")
