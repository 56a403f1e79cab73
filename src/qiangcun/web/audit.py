"""The audit log for the 审计管理员: who changed what, said as people know it.

A change record stores codes and ids (``ledger.verify``, ``village: 25``, ``status: "verified"``); this
module reads them back as the office says them (审核通过, 村：孙庄村, 状态：待审核 → 已审核), resolving every
name a page shows with one query per kind of object, whatever the number of records. It also decides
which records an auditor may read: those of their own township (see :func:`records_visible`)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from qiangcun.accounts.models import ApiToken, RoleGrant, User
from qiangcun.core.audit import ChangeRecord, Channel
from qiangcun.core.money import MoneyField, fmt_yuan, from_fen
from qiangcun.core.params import ParamError, choice_param, date_param, text_param
from qiangcun.core.pii import mask_phone
from qiangcun.core.scope import Action, path_q, scope_paths
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from qiangcun.orgs.models import OrgUnit


def _shown(key: str, text: str | None) -> str | None:
    """A value as the change log shows it: a phone number masked (personal information; the change log is
    read by auditors, who need to see that it changed, not the number)."""
    return mask_phone(text) if key == "phone" and text and text != EMPTY else text


AUDIT = Action.AUDIT
PAGE_SIZE = 50

#: Every action a service writes (``audit.record(action=...)``), as the office says it, by area.
ACTION_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "台账",
        [
            ("ledger.create", "录入台账"),
            ("ledger.update", "修改台账"),
            ("ledger.submit", "提交审核"),
            ("ledger.verify", "审核通过"),
            ("ledger.return", "退回"),
            ("ledger.reverse", "冲销"),
            ("ledger.delete", "删除草稿"),
            ("evidence.add", "上传凭证"),
            ("ledger.import", "导入台账"),
            ("ledger.rollup_rebuild", "重建收入汇总"),
            ("ledger.export", "导出台账"),
        ],
    ),
    (
        "目标",
        [
            ("campaign.create", "设立年度任务"),
            ("campaign.update", "修改年度任务"),
            ("target.create", "设定村目标"),
            ("target.update", "修改村目标"),
        ],
    ),
    (
        "组织",
        [("orgunit.create", "新建组织单位"), ("orgunit.tag", "添加标签"), ("geometry.import", "上传村界")],
    ),
    (
        "账号",
        [
            ("user.create", "新建账号"),
            ("user.update", "修改账号资料"),
            ("user.disable", "停用账号"),
            ("user.enable", "启用账号"),
            ("user.password_reset", "重置密码"),
            ("user.password_change", "修改密码"),
            ("rolegrant.create", "授予角色"),
            ("rolegrant.delete", "撤销角色"),
            ("apitoken.create", "发放接口令牌"),
            ("import.passwords_taken", "下载一次性密码表"),
            ("otp.enrol", "绑定手机验证器"),
            ("otp.remove", "解除手机验证器"),
            ("otp.reset", "重置双因素认证"),
            ("policy.update", "修改安全策略"),
        ],
    ),
    (
        "备份",
        [("backup.create", "备份数据库"), ("backup.restore", "恢复数据库")],
    ),
    (
        "登录",
        [
            ("signin.ok", "登录"),
            ("signin.failed", "登录失败"),
            ("signin.locked", "锁定账号或地址"),
            ("signin.otp", "动态口令验证通过"),
            ("signin.otp_failed", "动态口令错误"),
            ("signin.out", "退出登录"),
            ("reauth.ok", "重要操作前确认身份"),
            ("reauth.failed", "确认身份失败"),
        ],
    ),
    (
        "督导",
        [
            ("bulletin.issue", "发布通报"),
            ("bulletin.files", "生成通报文件"),
            ("bulletin.settings", "修改通报设置"),
            ("meeting.record", "记录联席会议"),
            ("inspection.record", "记录督查"),
            ("rectification.open", "交办整改"),
            ("rectification.update", "修改整改事项"),
            ("rectification.start", "开始整改"),
            ("rectification.submit", "提交销号"),
            ("rectification.close", "整改销号"),
            ("rectification.reopen", "退回重改"),
            ("interview.record", "记录约谈"),
            ("interview.follow_up", "记录约谈跟进"),
        ],
    ),
    ("审计", [("audit.export", "导出审计日志")]),
    (
        "失败的操作",
        [
            ("write.refused", "操作被拒绝"),
            ("write.denied", "无权或无效的操作"),
            ("write.failed", "操作出错"),
        ],
    ),
    (
        "一村一策",
        [
            ("plan.save", "编制一村一策"),
            ("plan.measure_create", "添加措施"),
            ("plan.measure_update", "修改措施"),
            ("plan.measure_status", "更新措施状态"),
            ("plan.measure_note", "记录措施进展"),
            ("plan.measure_link", "关联台账到措施"),
            ("plan.measure_unlink", "取消措施关联台账"),
        ],
    ),
    (
        "三资",
        [
            ("asset.create", "登记资产"),
            ("asset.update", "修改资产"),
            ("asset.status", "变更资产状态"),
            ("asset.file_add", "上传资产照片或文件"),
            ("asset.verify", "按清产核资结果更正资产"),
            ("round.start", "开始清产核资"),
            ("round.count", "清产核资盘点"),
            ("round.add_found", "清产核资登记盘盈"),
            ("round.sign", "清产核资签字"),
            ("contracts.create", "登记合同"),
            ("contracts.payment", "登记合同收款"),
            ("contracts.refund", "登记合同退款"),
            ("contracts.payment_cancel", "撤销合同收款"),
            ("contracts.payment_reverse", "冲销合同收款"),
            ("contracts.terminate", "终止合同"),
            ("contracts.settings", "修改合同设置"),
            ("contracts.reveal_party", "查看承租方完整证件号码"),
            ("contracts.export", "导出合同台账"),
            ("contracts.arrears_export", "导出合同欠款"),
            ("asset.export", "导出资产台账"),
            ("round.export", "导出清产核资清查表"),
        ],
    ),
]
ACTION_LABELS: dict[str, str] = {code: label for _, items in ACTION_GROUPS for code, label in items}

#: The result filter's choices: ``ok=1`` the writes that succeeded, ``ok=0`` those that failed.
RESULTS = {"1": "成功", "0": "失败"}
CHANNELS: dict[str, str] = {str(value): str(label) for value, label in Channel.choices}
#: An address or the start of one ("10.1.2." a subnet): digits, hex letters, dots and colons.
ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF.:")

#: Keys a record writes that are not the model's field names, mapped to the field they describe.
FIELD_ALIASES: dict[str, dict[str, str]] = {
    "ledger.importbatch": {
        "file": "file_name",
        "imported": "rows_imported",
        "duplicates": "rows_duplicate",
        "skipped": "rows_skipped",
        "verified": "as_verified",
    },
    "ledger.evidence": {"name": "original_name"},
}
#: Keys that are no field at all.
EXTRA_LABELS: dict[str, str] = {
    "villages": "各村导入",
    "accounts": "账号数",
    "shapes": "有图形的村数",
    "kinds": "图形类型",
    "sketch": "示意图形",
    "missing": "没有图形的村",
    "sha256": "文件校验值（SHA-256）",
}

EMPTY = "（空）"


# --- which records an auditor reads ---------------------------------------------------------------------


def _as_text(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The primary keys of ``qs`` as text, to compare with ``ChangeRecord.object_pk``."""
    return qs.annotate(pk_text=Cast("pk", CharField())).values("pk_text")


def people_of(paths: Sequence[str]) -> QuerySet[User]:
    """The users who belong under ``paths``: those holding a role on a unit there, and those holding no
    role at all who were created by such a user (a new account belongs where its creator works)."""
    granted_here = RoleGrant.objects.filter(path_q("unit__path", tuple(paths))).values("user_id")
    created_here = ChangeRecord.objects.filter(action="user.create", actor_id__in=granted_here).values(
        "object_pk"
    )
    return User.objects.alias(own_pk_text=Cast("pk", CharField())).filter(
        Q(pk__in=granted_here) | Q(grants__isnull=True, own_pk_text__in=created_here)
    )


def records_visible(user: Any) -> QuerySet[ChangeRecord]:
    """The change records ``user`` may audit: those whose unit lies under the user's audit scope, and of
    the records without a unit (accounts, tokens) those about a person who belongs there — the account
    created, the token's owner, otherwise the actor — and failed sign-ins under no known account. Nothing
    when the user may not audit."""
    paths = scope_paths(user, AUDIT)
    if not paths:
        return ChangeRecord.objects.none()
    people = people_of(paths)
    about_people = (
        Q(model="accounts.user", object_pk__in=_as_text(people))
        | Q(model="accounts.apitoken", object_pk__in=_as_text(ApiToken.objects.filter(user__in=people)))
        | (~Q(model__in=["accounts.user", "accounts.apitoken"]) & Q(actor__in=people))
        # Failed sign-ins under a name that is nobody's account (guessing, API tokens): every auditor sees
        # them — they hold only the name typed and the address it came from.
        | Q(model="accounts.user", object_pk="", action__startswith="signin.")
        # Backups and restores concern the whole database: every auditor sees them.
        | Q(model="core.backup")
    )
    return ChangeRecord.objects.filter(path_q("unit_path", paths) | (Q(unit_path="") & about_people))


# --- filters --------------------------------------------------------------------------------------------


@dataclass
class Filters:
    """The log's filters as the URL gives them, checked, with the choices the page offers."""

    actor: User | None = None
    unit: OrgUnit | None = None
    action: str = ""
    start: datetime.date | None = None
    end: datetime.date | None = None
    address: str = ""
    channel: str = ""
    ok: str = ""  # "", "1" or "0"
    actors: list[User] = field(default_factory=list)
    units: list[OrgUnit] = field(default_factory=list)

    def apply(self, rows: QuerySet[ChangeRecord]) -> QuerySet[ChangeRecord]:
        if self.actor is not None:
            rows = rows.filter(actor=self.actor)
        if self.unit is not None:
            rows = rows.filter(unit_path__startswith=self.unit.path)
        if self.action:
            rows = rows.filter(action=self.action)
        if self.start is not None:
            rows = rows.filter(at__date__gte=self.start)
        if self.end is not None:
            rows = rows.filter(at__date__lte=self.end)
        if self.address:  # an address, or the start of one when it ends in . or :
            if self.address.endswith((".", ":")):
                rows = rows.filter(address__startswith=self.address)
            else:
                rows = rows.filter(address=self.address)
        if self.channel:
            rows = rows.filter(channel=self.channel)
        if self.ok:
            rows = rows.filter(ok=self.ok == "1")
        return rows

    @property
    def unit_choices(self) -> list[tuple[str, str]]:
        """(code, name indented by depth under the widest unit) for the unit select."""
        top = min((u.path.count("/") for u in self.units), default=0)
        return [(u.code, "\u3000" * (u.path.count("/") - top) + u.name) for u in self.units]

    def describe(self) -> str:
        """The filters in words, for the export's subtitle."""
        parts = []
        if self.unit is not None:
            parts.append(f"单位：{self.unit.name}")
        if self.actor is not None:
            parts.append(f"操作人：{self.actor}")
        if self.action:
            parts.append(f"动作：{ACTION_LABELS[self.action]}")
        if self.start or self.end:
            start = self.start.isoformat() if self.start else "最早"
            end = self.end.isoformat() if self.end else "今天"
            parts.append(f"日期：{start} 至 {end}")
        if self.address:
            parts.append(f"来源地址：{self.address}")
        if self.channel:
            parts.append(f"渠道：{CHANNELS[self.channel]}")
        if self.ok:
            parts.append(f"结果：{RESULTS[self.ok]}")
        return "，".join(parts)


def parse_filters(user: Any, query: Mapping[str, Any], visible: QuerySet[ChangeRecord]) -> Filters:
    """Read ``actor`` (a user id), ``unit`` (a unit code within the audit scope), ``action``, ``from`` and
    ``to`` (dates), ``address`` (an IP address, or its start ending in ``.`` or ``:``), ``channel`` and ``ok``
    (1 成功, 0 失败) from the query string; anything else is a :class:`ParamError` in Chinese."""
    actors = list(User.objects.filter(pk__in=visible.values("actor_id")).order_by("username"))
    units = list(OrgUnit.objects.restrict(user, AUDIT).order_by("path"))
    by_id = {str(u.pk): u for u in actors}
    by_code = {u.code: u for u in units}
    actor = choice_param(query.get("actor"), by_id, field="actor", label="操作人")
    unit = choice_param(query.get("unit"), by_code, field="unit", label="单位")
    action = choice_param(query.get("action"), ACTION_LABELS, field="action", label="动作")
    start = date_param(query.get("from"), field="from", label="起始日期")
    end = date_param(query.get("to"), field="to", label="截止日期")
    if start and end and start > end:
        raise ParamError(f"起始日期 {start.isoformat()} 晚于截止日期 {end.isoformat()}，不对", field="from")
    address = text_param(query.get("address"), field="address", label="来源地址", max_length=45).strip()
    if address and not set(address) <= ADDRESS_CHARS:
        raise ParamError(f"来源地址“{address}”不对：应为 IP 地址，或其开头（如 10.1.2.）", field="address")
    channel = choice_param(query.get("channel"), CHANNELS, field="channel", label="渠道")
    ok = choice_param(query.get("ok"), RESULTS, field="ok", label="结果")
    return Filters(
        actor=by_id.get(actor),
        unit=by_code.get(unit),
        action=action,
        start=start,
        end=end,
        address=address,
        channel=channel,
        ok=ok,
        actors=actors,
        units=units,
    )


# --- records as people read them ------------------------------------------------------------------------


@dataclass
class Change:
    """One field of a record: its Chinese name, the value before and after (``None``: not shown)."""

    label: str
    before: str | None
    after: str | None
    table: list[tuple[str, int, str]] | None = None  # an import's villages: (village, rows, sum in 元)

    @property
    def text(self) -> str:
        if self.before is not None and self.after is not None:
            return f"{self.label}：{self.before} → {self.after}"
        return f"{self.label}：{self.after if self.after is not None else self.before}"


@dataclass
class Line:
    """A change record as the log shows it."""

    at: datetime.datetime
    actor: str
    action: str
    unit: str
    subject: str
    changes: list[Change]
    note: str
    address: str = ""
    channel: str = ""  # as said: 网页, 接口, 命令行, 后台任务 ("" unknown: written before it was recorded)
    ok: bool = True

    @property
    def result(self) -> str:
        return "成功" if self.ok else "失败"

    @property
    def inline(self) -> bool:
        """A creation or deletion lists every field: on one running line, not one line each."""
        return all(c.before is None or c.after is None for c in self.changes)

    @property
    def changes_text(self) -> str:
        return "\n".join(c.text for c in self.changes)


def _field(model: type[models.Model] | None, label: str, key: str) -> models.Field[Any, Any] | None:
    if model is None:
        return None
    name = FIELD_ALIASES.get(label, {}).get(key, key)
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


def _in_model_order(model: type[models.Model] | None, label: str, keys: Iterable[str]) -> list[str]:
    """The keys in the order the model declares its fields (PostgreSQL's jsonb keeps no key order), keys
    that are no field last."""
    order = {f.name: i for i, f in enumerate(model._meta.get_fields())} if model is not None else {}
    aliases = FIELD_ALIASES.get(label, {})
    unique = list(dict.fromkeys(keys))
    return sorted(unique, key=lambda k: (order.get(aliases.get(k, k), len(order)), unique.index(k)))


def _kind(fld: models.Field[Any, Any] | None) -> str:
    if fld is None:
        return "text"
    if fld.is_relation and fld.related_model is not None:
        related = fld.related_model
        if related is OrgUnit:
            return "unit"
        if related is Category:
            return "category"
        if related is DevelopmentPath:
            return "path"
        if related is get_user_model():
            return "user"
        if related is Entry:
            return "entry"
        return "text"
    if isinstance(fld, MoneyField):
        return "yuan"
    if isinstance(fld, models.BooleanField):
        return "bool"
    if fld.choices:
        return "choice"
    return "text"


def _yuan(value: Any) -> str:
    """A stored amount in 元 with two decimals: strings ("12000.00") are 元, integers are fen."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        if isinstance(value, int):
            amount = from_fen(value)
        else:
            amount = Decimal(str(value).strip())
            if not amount.is_finite():
                raise InvalidOperation
    except (InvalidOperation, ValueError):
        return str(value)
    return fmt_yuan(amount)


class _Names:
    """Collects the ids and codes a batch of records names, then reads each kind in one query."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[Any]] = {k: set() for k in ("unit", "category", "path", "user", "entry")}
        self.units: dict[Any, OrgUnit] = {}
        self.categories: dict[int, str] = {}
        self.paths: dict[int, str] = {}
        self.users: dict[Any, str] = {}
        self.entries: dict[int, Entry] = {}

    def want(self, kind: str, value: Any) -> None:
        if isinstance(value, list):  # a many-to-many field: each of its values
            for item in value:
                self.want(kind, item)
            return
        if kind in self.wanted and value not in (None, "") and not isinstance(value, bool | dict):
            self.wanted[kind].add(value)

    def load(self) -> None:
        ids = {v for v in self.wanted["unit"] if isinstance(v, int)}
        codes = {v for v in self.wanted["unit"] if isinstance(v, str)}
        if ids or codes:
            for unit in OrgUnit.objects.filter(Q(pk__in=ids) | Q(code__in=codes)):
                self.units[unit.pk] = self.units[unit.code] = unit
        if self.wanted["category"]:
            self.categories = dict(
                Category.objects.filter(pk__in=_ints(self.wanted["category"])).values_list("pk", "name")
            )
        if self.wanted["path"]:
            self.paths = dict(
                DevelopmentPath.objects.filter(pk__in=_ints(self.wanted["path"])).values_list("pk", "name")
            )
        ids = _ints(self.wanted["user"])
        names = {v for v in self.wanted["user"] if isinstance(v, str)}
        if ids or names:
            for user in User.objects.filter(Q(pk__in=ids) | Q(username__in=names)):
                self.users[user.pk] = self.users[user.username] = _person(user)
        if self.wanted["entry"]:
            self.entries = {
                e.pk: e
                for e in Entry.objects.filter(pk__in=_ints(self.wanted["entry"])).select_related("village")
            }

    def show(self, kind: str, value: Any, fld: models.Field[Any, Any] | None = None) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if isinstance(value, list) and kind != "text":  # a many-to-many field: its values joined with 、
            return "、".join(self.show(kind, item, fld) for item in value)
        if isinstance(value, dict | list):
            return _plain(value)
        if kind == "category" and isinstance(value, str) and not (value.isascii() and value.isdigit()):
            return value  # stored by name (a year's counted categories)
        if kind == "unit":
            unit = self.units.get(value)
            return unit.name if unit else f"{value}（已不存在）"
        if kind == "category":
            return self.categories.get(value, f"{value}（已不存在）")
        if kind == "path":
            return self.paths.get(value, f"{value}（已不存在）")
        if kind == "user":
            return self.users.get(value, str(value))
        if kind == "entry":
            entry = self.entries.get(value)
            if entry is None:
                return f"第 {value} 号记录（已删除）"
            return f"{entry.village.name} {entry.date:%Y-%m-%d} {fmt_yuan(entry.amount)} 元"
        if kind == "yuan":
            return _yuan(value)
        if kind == "bool":
            return "是" if value else "否"
        if kind == "choice" and fld is not None:
            return str(dict(fld.flatchoices).get(value, value))
        return _plain(value)


def _ints(values: Iterable[Any]) -> set[int]:
    out = set()
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            out.add(v)
        elif isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19:
            out.add(int(v))
    return out


def _person(user: Any) -> str:
    shown = str(user)
    return shown if shown == user.username else f"{shown}（{user.username}）"


def _plain(value: Any) -> str:
    """Any other stored value in words: lists joined with 、, mappings as 键：值, never Python's repr."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(_plain(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return "；".join(f"{k}：{_plain(v)}" for k, v in value.items()) or EMPTY
    return str(value)


def _villages_table(value: Any) -> list[tuple[str, int, str]]:
    """An import's ``villages`` ({name: [rows, "sum"]}) as table rows."""
    rows = []
    if isinstance(value, dict):
        for name, counts in sorted(value.items()):
            n, total = [*counts, 0, "0"][:2] if isinstance(counts, list) else (0, "0")
            rows.append((str(name), n if isinstance(n, int) else 0, _yuan(total)))
    return rows


def _subject(label: str, values: Mapping[str, Any], names: _Names, model: type[models.Model] | None) -> str:
    """What the record is about, in a few words."""
    noun = str(model._meta.verbose_name) if model is not None else label
    get = values.get
    match label:
        case "ledger.entry":
            what = f"{names.show('unit', get('village'))} {get('date', '')} {_yuan(get('amount'))} 元"
        case "ledger.importbatch":
            what = f"“{get('file', '')}”"
        case "ledger.evidence":
            what = f"“{get('name', '')}”（{names.show('entry', get('entry'))}）"
        case "accounts.user":
            shown = get("display_name") or ""
            username = get("username", "")
            what = f"{shown}（{username}）" if shown and shown != username else username
        case "imports.importjob":
            what = f"“{get('file_name', '')}”"
        case "accounts.rolegrant" | "accounts.apitoken":
            what = names.show("user", get("user"))
        case "orgs.orgunit":
            what = str(get("name") or "")
        case "targets.campaign":
            what = f"{names.show('unit', get('township'))} {get('year', '')}年"
        case "targets.villagetarget":
            what = names.show("unit", get("village"))
        case _:
            what = ""
    return f"{noun} {what}".strip()


def present(records: Iterable[ChangeRecord]) -> list[Line]:
    """``records`` (with ``actor`` selected) as the log shows them; names read with one query per kind."""
    records = list(records)
    names = _Names()
    plans: list[tuple[ChangeRecord, type[models.Model] | None, dict[str, tuple[Any, str]]]] = []
    for rec in records:
        try:
            model: type[models.Model] | None = apps.get_model(rec.model)
        except (LookupError, ValueError):
            model = None
        kinds: dict[str, tuple[Any, str]] = {}
        for key in _in_model_order(model, rec.model, [*(rec.before or {}), *(rec.after or {})]):
            fld = _field(model, rec.model, key)
            kind = _kind(fld)
            kinds[key] = (fld, kind)
            for side in (rec.before or {}, rec.after or {}):
                names.want(kind, side.get(key))
        if rec.model in ("accounts.rolegrant", "accounts.apitoken"):
            names.want("user", (rec.after or rec.before or {}).get("user"))
        codes = [c for c in rec.unit_path.split("/") if c]
        if codes:
            names.want("unit", codes[-1])
        plans.append((rec, model, kinds))
    names.load()
    lines = []
    for rec, model, kinds in plans:
        before, after = rec.before, rec.after
        changes = []
        for key, (fld, kind) in kinds.items():
            label = str(fld.verbose_name) if fld is not None else EXTRA_LABELS.get(key, key)
            if kind == "yuan" and "元" not in label:
                label += "（元）"
            if key == "villages":
                rows = _villages_table((after or before or {}).get(key))
                text = "；".join(f"{v} {n} 条 {s} 元" for v, n, s in rows) or EMPTY
                changes.append(Change(label, None, text, table=rows))
                continue
            if before is not None and after is not None:
                old, new = before.get(key), after.get(key)
                if old == new:
                    continue
                changes.append(
                    Change(
                        label,
                        _shown(key, names.show(kind, old, fld)),
                        _shown(key, names.show(kind, new, fld)),
                    )
                )
            else:
                value = (after if after is not None else before or {}).get(key)
                if value in (None, "", []) and kind != "bool":
                    continue
                changes.append(Change(label, None, _shown(key, names.show(kind, value, fld))))
        codes = [c for c in rec.unit_path.split("/") if c]
        unit = names.units.get(codes[-1]) if codes else None
        lines.append(
            Line(
                at=timezone.localtime(rec.at),
                actor=_person(rec.actor) if rec.actor_id else (rec.username or "系统"),
                action=ACTION_LABELS.get(rec.action, rec.action),
                unit=unit.name if unit else "—",
                subject=_subject(rec.model, {**(before or {}), **(after or {})}, names, model),
                changes=changes,
                note=rec.note,
                address=rec.address,
                channel=CHANNELS.get(rec.channel, rec.channel),
                ok=rec.ok,
            )
        )
    return lines
