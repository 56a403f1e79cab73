from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from qiangcun.accounts.models import Role
from qiangcun.accounts.services import (
    check_name,
    check_username,
    grant_create,
    normalize_username,
    one_time_password,
    user_create,
)
from qiangcun.core.errors import ServiceError
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create


class Command(BaseCommand):
    help = (
        "第一次使用：迁移数据库，建立本镇、一个镇党建办账号和一个系统管理员账号，打印两人的一次性密码。"
        " First run: migrate, create the township, its admin and its system admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--township", required=True, help="镇名，例如 相衙镇")
        parser.add_argument("--code", required=True, help="镇的代码（统计用区划代码），例如 371422105")
        parser.add_argument("--admin", required=True, help="镇党建办的账号（管业务）")
        parser.add_argument(
            "--sysadmin", required=True, help="系统管理员的账号（管账号，不看业务），须是另一个人"
        )
        parser.add_argument("--admin-name", default="", help="镇党建办账号的姓名（可不填）")
        parser.add_argument("--sysadmin-name", default="", help="系统管理员的姓名（可不填）")
        parser.add_argument("--county", default="", help="所属县名（可不填），例如 宁津县")
        parser.add_argument("--county-code", default="", help="所属县的代码，与 --county 一起给")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        try:
            lines = self._init(options)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write("已建立。以下一次性密码只显示这一次，请交给本人；首次登录须先修改密码：")
        for line in lines:
            self.stdout.write(line)

    @transaction.atomic
    def _init(self, o: dict[str, Any]) -> list[str]:
        name, code = o["township"].strip(), o["code"].strip().upper()
        admin, sysadmin = normalize_username(o["admin"]), normalize_username(o["sysadmin"])
        if not name or not code:
            raise ServiceError("镇名和代码都不能为空")
        if admin.casefold() == sysadmin.casefold():
            raise ServiceError("镇党建办和系统管理员须是两个不同的账号（两个人：分权的要求）")
        admin = check_username(admin, field="admin")
        sysadmin = check_username(sysadmin, field="sysadmin")
        admin_name = check_name(o["admin_name"]) if o["admin_name"].strip() else ""
        sysadmin_name = check_name(o["sysadmin_name"]) if o["sysadmin_name"].strip() else ""
        existing = OrgUnit.objects.filter(code=code).first()
        if existing is not None:
            raise ServiceError(
                f"代码 {code} 已被“{existing.name}”（{Level(existing.level).label}）使用：这个镇已经存在，未做任何改动"
            )
        county = self._county(o["county"].strip(), o["county_code"].strip().upper())
        same_name = OrgUnit.objects.filter(level=Level.TOWNSHIP, name=name, parent=county).first()
        if same_name is not None:
            raise ServiceError(f"已有名为“{name}”的镇（代码 {same_name.code}），未做任何改动")
        township = unit_create(actor=None, level=Level.TOWNSHIP, name=name, code=code, parent=county)
        lines = []
        for username, display, role in (
            (admin, admin_name, Role.TOWNSHIP_ADMIN),
            (sysadmin, sysadmin_name, Role.SYSTEM_ADMIN),
        ):
            password = one_time_password()
            user = user_create(
                actor=None,
                username=username,
                password=password,
                display_name=display,
                unit=township,
                must_change_password=True,
            )
            grant_create(actor=None, user=user, role=role, unit=township)
            lines.append(f"{username} {password}")
        return lines

    def _county(self, name: str, code: str) -> OrgUnit | None:
        if not name and not code:
            return None
        if not name or not code:
            raise ServiceError("--county 和 --county-code 要一起给")
        found = OrgUnit.objects.filter(code=code).first()
        if found is None:
            return unit_create(actor=None, level=Level.COUNTY, name=name, code=code)
        if found.level != Level.COUNTY or found.name != name:
            raise ServiceError(
                f"代码 {code} 已是“{found.name}”（{Level(found.level).label}），与 --county {name} 不符"
            )
        return found
