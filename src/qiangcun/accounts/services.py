"""Writes to accounts: users, role grants, passwords, API tokens.

The page-facing services (``account_create``, ``account_disable``/``_enable``, ``password_reset``,
``password_change``, ``grant_create``/``grant_withdraw`` with an actor) check who may do what here;
``actor=None`` is the installation itself (``qiangcun init``, the demo builder, test fixtures)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qiangcun.accounts import policy
from qiangcun.accounts.models import (
    ROLE_LEVELS,
    SYSTEM_ROLES,
    ApiToken,
    PasswordHistory,
    Role,
    RoleGrant,
    SecurityPolicy,
    User,
    hash_token,
)
from qiangcun.accounts.selectors import above_own_township, grant_refusal, manageable_users
from qiangcun.core import audit
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.excel import FieldColumn, RowError
from qiangcun.core.scope import Action, allowed
from qiangcun.core.text import text_problem
from qiangcun.orgs.models import Level, OrgUnit

if TYPE_CHECKING:
    from qiangcun.accounts.importing import PersonRow

_USER_FIELDS = ["username", "display_name", "phone", "unit", "is_active"]

#: One-time passwords: no 0/O, 1/l/I, so that a printed sheet reads back without doubt.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
OTP_GROUPS = 3
OTP_GROUP_LENGTH = 4
PHONE = re.compile(r"1[3-9]\d{9}")
USERNAME_MAX = 32


def one_time_password() -> str:
    """Twelve random letters and digits in three groups (``k7mq-2xwp-9tre``): easy to read off a sheet,
    passes the password rules, and must be changed at the first sign-in."""
    while True:
        groups = [
            "".join(secrets.choice(_OTP_ALPHABET) for _ in range(OTP_GROUP_LENGTH)) for _ in range(OTP_GROUPS)
        ]
        password = "-".join(groups)
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def _person_path(user: User) -> str:
    return user.unit.path if user.unit_id and user.unit is not None else ""


def normalize_username(username: str) -> str:
    """A username as stored and as looked up: NFKC (full-width ａ３ is a3, as the login form reads it)."""
    return unicodedata.normalize("NFKC", username).strip()


def check_username(username: str, *, field: str = "username") -> str:
    """The username as stored, or :class:`ServiceError` with the reason in Chinese."""
    username = normalize_username(username)
    if not username:
        raise ServiceError("账号不能为空", field=field)
    if len(username) > USERNAME_MAX:
        raise ServiceError(f"账号最长 {USERNAME_MAX} 个字符（现在 {len(username)} 个）", field=field)
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise ServiceError("账号只能由字母、数字、汉字和 @ . + - _ 组成，不能有空格", field=field) from exc
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"账号 {username} 已被使用（不区分大小写），请换一个", field=field)
    return username


def check_name(display_name: str, *, field: str = "display_name") -> str:
    display_name = display_name.strip()
    if not display_name:
        raise ServiceError("姓名不能为空", field=field)
    if len(display_name) > 64:
        raise ServiceError("姓名最长 64 个字", field=field)
    problem = text_problem(display_name)
    if problem:
        raise ServiceError(f"姓名：{problem}", field=field)
    return display_name


def check_phone(phone: str, *, field: str = "phone") -> str:
    phone = phone.strip().replace(" ", "").replace("-", "")
    if phone and not PHONE.fullmatch(phone):
        raise ServiceError("手机号应为 11 位数字、以 1 开头（可以不填）", field=field)
    return phone


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    display_name: str = "",
    is_staff: bool = False,
    phone: str = "",
    unit: OrgUnit | None = None,
    must_change_password: bool = False,
) -> User:
    """Make an account (the installation's own write; people's accounts come from ``account_create``)."""
    username = normalize_username(username)
    if not username:
        raise ServiceError("用户名不能为空", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"用户名 {username} 已存在", field="username")
    user = User(
        username=username,
        display_name=display_name,
        is_staff=is_staff,
        phone=phone,
        unit=unit,
        must_change_password=must_change_password,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(
        actor=actor,
        action="user.create",
        obj=user,
        after=audit.snapshot(user, _USER_FIELDS),
        unit_path=_person_path(user),
    )
    return user


def _may_manage(actor: User, user: User) -> None:
    """The actor manages the account: it lies under their units, it is not their own, and — for the
    holder of a system role (三员) — their own grant sits strictly above every unit of that role, so
    that no system admin takes over the security admin, the auditor or another system admin of their
    own township (by a reset password, or by disabling them)."""
    if actor.pk == user.pk:
        raise PermissionDeniedError("不能对自己的账号做这项操作（改自己的密码请用“修改密码”）")
    if not manageable_users(actor).filter(pk=user.pk).exists():
        raise PermissionDeniedError("该账号不在您管理的范围内")
    for grant in RoleGrant.objects.filter(user=user, role__in=SYSTEM_ROLES).select_related("unit"):
        if not above_own_township(actor, grant, Action.MANAGE_USERS):
            raise PermissionDeniedError(
                f"{user}是{grant.get_role_display()}：三员的账号只能由上级（县）系统管理员停用、重置密码或修改，"
                "或在服务器上用 qiangcun changepassword 改密码"
            )


@transaction.atomic
def account_create(
    *, actor: User, username: str, display_name: str, phone: str = "", unit: OrgUnit
) -> tuple[User, str]:
    """A person's account under ``unit``, with a one-time password (returned, never stored in clear)
    that must be changed at the first sign-in. Roles are granted separately."""
    if not allowed(actor, Action.MANAGE_USERS, unit.path):
        raise PermissionDeniedError("您不能在这个单位下建立账号")
    display_name = check_name(display_name)
    username = check_username(username)
    phone = check_phone(phone)
    password = one_time_password()
    user = user_create(
        actor=actor,
        username=username,
        password=password,
        display_name=display_name,
        phone=phone,
        unit=unit,
        must_change_password=True,
    )
    return user, password


@transaction.atomic
def account_update(*, actor: User, user: User, display_name: str, phone: str, unit: OrgUnit) -> User:
    """Change a person's name, phone or unit (the username never changes: the log names people by it)."""
    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    _may_manage(actor, user)
    if not allowed(actor, Action.MANAGE_USERS, unit.path):
        raise PermissionDeniedError("您不能把账号放到这个单位下")
    before = audit.snapshot(user, _USER_FIELDS)
    user.display_name, user.phone, user.unit = check_name(display_name), check_phone(phone), unit
    user.save(update_fields=["display_name", "phone", "unit"])
    after = audit.snapshot(user, _USER_FIELDS)
    if after != before:
        audit.record(
            actor=actor, action="user.update", obj=user, before=before, after=after, unit_path=unit.path
        )
    return user


def _set_active(actor: User, user: User, active: bool) -> User:
    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    _may_manage(actor, user)
    if user.is_active == active:
        return user
    before = audit.snapshot(user, _USER_FIELDS)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(
        actor=actor,
        action="user.enable" if active else "user.disable",
        obj=user,
        before=before,
        after=audit.snapshot(user, _USER_FIELDS),
        unit_path=_person_path(user),
    )
    user.forget_scope()
    return user


@transaction.atomic
def account_disable(*, actor: User, user: User) -> User:
    """The person can no longer sign in (their session ends, their API tokens are revoked); their
    records and the log keep their name."""
    return _set_active(actor, user, False)


@transaction.atomic
def account_enable(*, actor: User, user: User) -> User:
    return _set_active(actor, user, True)


@transaction.atomic
def password_reset(*, actor: User, user: User) -> str:
    """A new one-time password for someone who forgot theirs; returned once, to be handed over."""
    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    _may_manage(actor, user)
    password = one_time_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    audit.record(
        actor=actor,
        action="user.password_reset",
        obj=user,
        after={"username": user.username, "display_name": user.display_name, "must_change_password": True},
        unit_path=_person_path(user),
    )
    user.forget_scope()
    return password


@transaction.atomic
def otp_reset(*, actor: User, user: User) -> int:
    """Remove a person's authenticators (a lost or changed phone): they bind a new one at the next
    sign-in, where their role requires one. Returns how many were removed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    _may_manage(actor, user)
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    if removed:
        audit.record(
            actor=actor,
            action="otp.reset",
            obj=user,
            before={"username": user.username, "devices": removed},
            after={"username": user.username, "devices": 0},
            unit_path=_person_path(user),
        )
    return int(removed)


def password_rules() -> str:
    """The password rules in force, as the password page states them (the policy in force)."""
    rules = policy.current()
    return "；".join(
        [
            f"至少 {rules.password_min_length} 位",
            f"含大写字母、小写字母、数字、符号中的至少 {rules.password_min_classes} 类",
            "不能是常见密码",
            "不能与账号、姓名、手机号太像",
            f"不能与最近 {max(rules.password_history, 1)} 次用过的密码相同",
        ]
    )


@transaction.atomic
def password_change(*, user: User, old: str, new: str) -> User:
    """The user's own new password. The old one (the one-time password, after a reset) must be right;
    the new one must differ from it and meet the rules of :func:`password_rules`."""
    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    if not user.check_password(old):
        raise ServiceError("原密码不正确", field="old_password")
    if new == old:
        raise ServiceError("新密码不能与原密码（一次性密码）相同", field="new_password1")
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise ServiceError("；".join(exc.messages), field="new_password1") from exc
    was_forced = user.must_change_password
    if not was_forced and user.has_usable_password():  # one-time passwords are not kept
        PasswordHistory.objects.create(user=user, password=user.password)
        keep = max(policy.current().password_history - 1, 0)
        stale = list(PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[keep:])
        PasswordHistory.objects.filter(pk__in=stale).delete()
    user.set_password(new)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    audit.record(
        actor=user,
        action="user.password_change",
        obj=user,
        before={"must_change_password": was_forced},
        after={"username": user.username, "display_name": user.display_name, "must_change_password": False},
        unit_path=_person_path(user),
    )
    user.forget_scope()
    return user


@transaction.atomic
def grant_create(*, actor: User | None, user: User, role: str, unit: OrgUnit) -> RoleGrant:
    """Grant ``role`` on ``unit`` (its whole subtree) to ``user``.

    With a person as ``actor`` (the pages, the people import) the rules apply: the actor may grant
    roles there (see :func:`accounts.selectors.grant_refusal`), never to themselves; the role fits the
    unit's level; the three system roles are never held together with another role. ``actor=None``
    (init, the demo, fixtures) checks only that the role exists."""
    if role not in Role.values:
        raise ServiceError(f"未知角色：{role}", field="role")
    given = user
    user = User.objects.select_for_update(of=("self",)).select_related("unit").get(pk=user.pk)
    if actor is not None:
        refusal = grant_refusal(actor, unit)
        if refusal:
            raise PermissionDeniedError(refusal)
        if actor.pk == user.pk:
            raise PermissionDeniedError("不能给自己授予角色")
        if unit.level not in ROLE_LEVELS[role]:
            where = "、".join(str(Level(level).label) for level in sorted(ROLE_LEVELS[role]))
            raise ServiceError(
                f"{Role(role).label}只能授予在{where}上（{unit.name}是{Level(unit.level).label}）",
                field="unit",
            )
        if not user.is_active:
            raise ServiceError(f"{user}的账号已停用，请先启用再授予角色", field="user")
        held = set(RoleGrant.objects.filter(user=user).exclude(role=role).values_list("role", flat=True))
        clash = held & SYSTEM_ROLES if role not in SYSTEM_ROLES else held
        if clash:
            names = "、".join(str(Role(r).label) for r in sorted(clash))
            raise ServiceError(
                f"{user}已是{names}；系统管理员、安全管理员、审计管理员三员分立，不与其他角色兼任",
                field="role",
            )
    grant, created = RoleGrant.objects.get_or_create(user=user, role=role, unit=unit)
    if created:
        audit.record(
            actor=actor,
            action="rolegrant.create",
            obj=grant,
            after={"user": user.username, "role": role, "unit": unit.code},
            unit_path=unit.path,
        )
    if user.unit_id is None:
        # An account with no unit yet belongs where it was first given a role.
        User.objects.filter(pk=user.pk).update(unit=unit)
        user.unit = given.unit = unit
    user.forget_scope()
    given.forget_scope()
    return grant


@transaction.atomic
def grant_withdraw(*, actor: User, grant: RoleGrant) -> None:
    """Take a role back, by whoever may grant it there; never one's own."""
    grant = RoleGrant.objects.select_for_update(of=("self",)).select_related("user", "unit").get(pk=grant.pk)
    refusal = grant_refusal(actor, grant.unit)
    if refusal:
        raise PermissionDeniedError(refusal)
    if actor.pk == grant.user_id:
        raise PermissionDeniedError("不能撤销自己的角色")
    if grant.role in SYSTEM_ROLES and not above_own_township(actor, grant):
        raise PermissionDeniedError(
            f"{grant.get_role_display()}是三员之一：只能由上级（县）撤销，本镇的管理员不能撤销"
        )
    audit.record(
        actor=actor,
        action="rolegrant.delete",
        obj=grant,
        before={"user": grant.user.username, "role": grant.role, "unit": grant.unit.code},
        unit_path=grant.unit.path,
    )
    grant.delete()
    grant.user.forget_scope()


TOKEN_PREFIX = "qc_"


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token itself, which is never stored and never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:10], name=name)
    audit.record(
        actor=actor,
        action="apitoken.create",
        obj=token,
        after={"user": user.username, "prefix": token.prefix},
    )
    return token, raw


def token_authenticate(raw: str) -> User | None:
    """The active user a bearer token belongs to, or ``None`` (also while the user holds a one-time
    password: it is changed in the pages first)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(
            key_hash=hash_token(raw),
            revoked_at__isnull=True,
            user__is_active=True,
            user__must_change_password=False,
        )
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


# --- importing people ---------------------------------------------------------------------------------

#: Which column of the sheet a service's ``field`` is about.
_IMPORT_COLUMNS = {
    "username": "username",
    "display_name": "name",
    "name": "name",
    "user": "name",
    "phone": "phone",
    "role": "role",
    "unit": "unit",
}


@dataclass(frozen=True)
class ImportedPerson:
    """An account made by an import, with its one-time password (held in memory only, never stored)."""

    row: int
    user: User
    password: str
    role: str  # "" when no role was granted
    unit: OrgUnit
    username_made: bool


@dataclass
class PeopleOutcome:
    people: list[ImportedPerson]

    @property
    def grants(self) -> int:
        return sum(1 for p in self.people if p.role)

    def by_level(self) -> list[tuple[str, int, int]]:
        """(unit kind, accounts, grants) for each kind of unit the people belong to, in tree order."""
        accounts: dict[str, int] = {}
        grants: dict[str, int] = {}
        for person in self.people:
            level = person.unit.level
            accounts[level] = accounts.get(level, 0) + 1
            grants[level] = grants.get(level, 0) + bool(person.role)
        return [(str(Level(lv).label), accounts[lv], grants[lv]) for lv in Level.values if lv in accounts]


class PeopleImportError(Exception):
    """The import was refused as a whole; ``errors`` names every bad row (nothing was saved)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("；".join(str(e) for e in errors[:20]))
        self.errors = errors


@transaction.atomic
def _account_create_hashed(
    *, actor: User, username: str, display_name: str, phone: str, unit: OrgUnit, encoded: str
) -> User:
    """:func:`account_create` with its one-time password already hashed: the people import hashes
    before its transaction (see :func:`people_import`). The same checks, the same audit record."""
    if not allowed(actor, Action.MANAGE_USERS, unit.path):
        raise PermissionDeniedError("您不能在这个单位下建立账号")
    display_name = check_name(display_name)
    username = check_username(username)
    phone = check_phone(phone)
    user = user_create(
        actor=actor,
        username=username,
        password=None,
        display_name=display_name,
        phone=phone,
        unit=unit,
        must_change_password=True,
    )
    user.password = encoded
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    return user


def people_import(
    *,
    actor: User,
    rows: Sequence[PersonRow],
    columns: Mapping[str, FieldColumn] | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    before_commit: Callable[[PeopleOutcome], None] | None = None,
) -> PeopleOutcome:
    """Make every row's account (as :func:`account_create` does, with a one-time password that must be
    changed first) and grant its role (:func:`grant_create`, with ``actor``'s rules) in one
    transaction: all or none.

    Every row is tried, so that every refusal is reported — each :class:`ServiceError` becomes a
    :class:`RowError` naming the row and the column it is about (``columns``: the sheet's) — and then
    nothing is kept: :class:`PeopleImportError` lists them all. ``dry_run`` does the same and rolls back
    what it made: the outcome says what the import would do, without passwords.

    The passwords are hashed before the transaction opens: PBKDF2 takes 0.4–0.6 s a password, and
    inside the transaction a township's people would hold SQLite's only write lock for minutes, stopping
    every other write of the site (measured on the demo township, 216 people: check 2.2 s; import 93 s,
    of which 91 s hashing and 1.8 s in the transaction). ``progress(row, last_row)`` is called while
    hashing.
    ``before_commit(outcome)`` runs inside the transaction once every account is made (the import
    pages write the password sheet there): if it raises, nothing is imported."""
    if not actor.can(Action.MANAGE_USERS):
        raise PermissionDeniedError("您没有管理账号的权限")
    columns = columns or {}

    def row_error(person: PersonRow, exc: ServiceError, default: str) -> RowError:
        key = default if exc.field is None else _IMPORT_COLUMNS.get(exc.field, "")
        if key == "unit":
            key = person.unit_field
        if key == "username" and "username" not in columns:
            key = "name"  # a username made from the name: the name is what to change
        column = columns.get(key)
        if column is None:
            return RowError(person.row, "", "", exc.message)
        return RowError(person.row, column.letter, column.header, exc.message)

    total = max((p.row for p in rows), default=0)
    passwords: list[tuple[str, str]] = []
    for person in rows:
        if dry_run:
            passwords.append(("", make_password(None)))
            continue
        password = one_time_password()
        passwords.append((password, make_password(password)))
        if progress is not None:
            progress(person.row, total)
    errors: list[RowError] = []
    made: list[ImportedPerson] = []
    with transaction.atomic():
        for person, (password, encoded) in zip(rows, passwords, strict=True):
            try:
                user = _account_create_hashed(
                    actor=actor,
                    username=person.username,
                    display_name=person.name,
                    phone=person.phone,
                    unit=person.unit,
                    encoded=encoded,
                )
            except ServiceError as exc:
                errors.append(row_error(person, exc, "unit"))
                continue
            if person.role in SYSTEM_ROLES:
                errors.append(
                    row_error(
                        person,
                        ServiceError(
                            f"{Role(person.role).label}是三员之一，请在账号页面逐个授予，不在批量导入中授予",
                            field="role",
                        ),
                        "role",
                    )
                )
                continue
            if person.role:
                try:
                    grant_create(actor=actor, user=user, role=person.role, unit=person.unit)
                except ServiceError as exc:
                    errors.append(row_error(person, exc, "role"))
                    continue
            made.append(
                ImportedPerson(person.row, user, password, person.role, person.unit, person.username_made)
            )
        outcome = PeopleOutcome(made)
        if errors or dry_run:
            transaction.set_rollback(True)
        elif before_commit is not None:
            before_commit(outcome)
    if errors:
        raise PeopleImportError(errors)
    return outcome


#: The roles that must always sign in with a second factor, whatever the policy (GB/T 22239: the 三员).
OTP_ALWAYS: frozenset[str] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})


@transaction.atomic
def policy_update(
    *, actor: User, values: Mapping[str, int | None], otp_roles: Sequence[str] | None
) -> SecurityPolicy:
    """The security admin sets the policy (:mod:`qiangcun.accounts.policy`): each number ``None`` (follow
    the server's setting) or within the rule's range; ``otp_roles`` ``None`` (follow the setting) or the
    roles that must use a second factor, the 三员 always among them. In force at the next request."""
    if not actor.can(Action.SET_POLICY):
        raise PermissionDeniedError("只有安全管理员可以设定安全策略")
    unknown = set(values) - set(policy.RULES_BY_NAME)
    if unknown:
        raise ServiceError(f"未知的策略项：{'、'.join(sorted(unknown))}")
    for name, value in values.items():
        rule = policy.RULES_BY_NAME[name]
        if value is not None and not (rule.low <= int(value) <= rule.high):
            raise ServiceError(
                f"“{rule.label}”应在 {rule.low}–{rule.high} {rule.unit}之间（填的是 {value}）", field=name
            )
    if otp_roles is not None:
        strange = [r for r in otp_roles if r not in Role.values]
        if strange:
            raise ServiceError(f"未知角色：{'、'.join(strange)}", field="otp_required_roles")
        missing = OTP_ALWAYS - set(otp_roles)
        if missing:
            raise ServiceError(
                "系统管理员、安全管理员、审计管理员（三员）必须使用动态口令，不能取消",
                field="otp_required_roles",
            )
    row, _ = SecurityPolicy.objects.select_for_update().get_or_create(pk=policy.POLICY_PK)
    names = [*policy.RULES_BY_NAME, "otp_required_roles"]
    before = audit.snapshot(row, names)
    for name, value in values.items():
        setattr(row, name, None if value is None else int(value))
    row.otp_required_roles = None if otp_roles is None else [r for r in Role.values if r in set(otp_roles)]
    row.save()
    after = audit.snapshot(row, names)
    if after != before:
        audit.record(actor=actor, action="policy.update", obj=row, before=before, after=after)
    return row
