"""Writes to the ledger. Every function checks the actor's scope, refuses to touch verified rows and
records the change in the same transaction."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Field
from django.utils import timezone

from qiangcun.accounts.models import User
from qiangcun.core import audit
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.files import sniff
from qiangcun.core.money import FEN, MAX_YUAN, to_fen
from qiangcun.core.scope import Action, allowed
from qiangcun.core.text import text_problem
from qiangcun.ledger import rollup
from qiangcun.ledger.models import (
    EDITABLE_STATUSES,
    Category,
    DevelopmentPath,
    Entry,
    Evidence,
    ImportBatch,
    Recognition,
    RequestKey,
    Source,
    Status,
)
from qiangcun.ledger.selectors import entries_alike
from qiangcun.ledger.spread import recognition_lines
from qiangcun.orgs.models import Level, OrgUnit

ENTER = Action.ENTER
VERIFY = Action.VERIFY

_AUDIT_FIELDS = [
    "source",
    "spread",
    "village",
    "date",
    "amount",
    "category",
    "path",
    "summary",
    "counterparty",
    "status",
    "reverses",
    "return_reason",
]

#: Return reasons one tap away on the verification queue.
COMMON_RETURN_REASONS = [
    "缺少收入凭证",
    "金额与凭证不符",
    "收入类别选择有误",
    "增收路子选择有误",
    "日期有误",
    "属于补助收入，不计入经营性收入",
]


def _snap(entry: Entry) -> dict[str, Any]:
    return audit.snapshot(entry, _AUDIT_FIELDS)


def _require(actor: User, action: str, village: OrgUnit, message: str) -> None:
    if not allowed(actor, action, village.path):
        raise PermissionDeniedError(message)


def _clean_fields(
    *,
    village: OrgUnit,
    date: datetime.date,
    amount: Decimal,
    summary: str,
    counterparty: str,
    years: Collection[int] | None = None,
) -> tuple[str, str]:
    if village.level != Level.VILLAGE:
        raise ServiceError("台账只能记在行政村名下", field="village")
    if not isinstance(date, datetime.date):
        raise ServiceError("请填写收入日期", field="date")
    if date > today():
        raise ServiceError(f"收入日期 {date:%Y-%m-%d} 晚于今天，不能预先入账", field="date")
    if date.year < 2000:
        raise ServiceError("收入日期有误", field="date")
    if years is not None and date.year not in years:
        raise ServiceError(_closed_year_message(date, years), field="date")
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ServiceError("金额必须是数字", field="amount")
    if amount != amount.quantize(FEN):
        raise ServiceError("金额最多两位小数（精确到分）", field="amount")
    if amount <= 0:
        raise ServiceError("金额必须大于 0；更正已审核的记录请用“冲销”", field="amount")
    if amount > MAX_YUAN:
        raise ServiceError("金额超出范围（单笔不超过 10 亿元）", field="amount")
    summary = (summary or "").strip()
    if not summary:
        raise ServiceError("请填写摘要，说明这笔收入的来由", field="summary")
    if len(summary) > 200:
        raise ServiceError("摘要不能超过 200 字", field="summary")
    counterparty = (counterparty or "").strip()
    if len(counterparty) > 100:
        raise ServiceError("付款单位不能超过 100 字", field="counterparty")
    return summary, counterparty


def _closed_year_message(date: datetime.date, years: Collection[int]) -> str:
    shown = "、".join(f"{y} 年" for y in sorted(years))
    if date.year < today().year:
        tail = f"现只能录入 {shown}的台账" if years else "本年度的年度任务还没有建立"
        return (
            f"收入日期 {date:%Y-%m-%d} 属于已经结束的 {date.year} 年度，{tail}；"
            "以往年度的台账请由镇党建办导入"
        )
    return f"{date.year} 年还没有建立年度任务，暂不能录入该年的台账；请镇党建办先在“目标”页面建立年度任务"


# ------------------------------------------------------------------------- repeats and duplicates

#: A one-time key counts for a day; after that the same key is new again.
REQUEST_KEY_TTL = datetime.timedelta(hours=24)

#: What a person is asked when the row they save already exists.
DUPLICATE_QUESTION = "已有相同记录，仍要保存？"


@dataclass(frozen=True)
class Once:
    """The one-time key a write comes with: an entry form's hidden token (``RequestKey.Kind.FORM``) or
    an API request's ``Idempotency-Key`` (``RequestKey.Kind.API``)."""

    kind: str
    key: str


class RepeatedRequest(ServiceError):
    """The key was used before, with the same content: ``used`` holds the row made then (and the answer).
    Not a refused write: the first try's write stands and is answered again."""

    noted = False

    def __init__(self, used: RequestKey) -> None:
        super().__init__("这次提交已经保存过，没有重复保存", code="repeated")
        self.used = used


class DuplicateEntryError(ServiceError):
    """An identical row exists (village, date, amount, category, summary); ``alike`` lists them."""

    def __init__(self, alike: list[Entry]) -> None:
        first = alike[0]
        super().__init__(
            f"{DUPLICATE_QUESTION}{first.village.name}已有 {len(alike)} 条相同记录："
            f"{first.date:%Y-%m-%d} {first.amount:,.2f} 元 {first.category.name}“{first.summary}”"
            f"（{first.get_status_display()}）",
            code="duplicate",
        )
        self.alike = alike


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts], ensure_ascii=False).encode()).hexdigest()


def _claim(actor: User, once: Once, fingerprint: str) -> RequestKey:
    """Record that ``once`` is used now, or raise :class:`RepeatedRequest` (same content) or a
    ``conflict`` :class:`ServiceError` (other content) when it was used within the last day. The
    unique constraint makes two requests at the same moment queue up: the second sees the first."""
    cutoff = timezone.now() - REQUEST_KEY_TTL
    mine = RequestKey.objects.filter(user=actor, kind=once.kind, key=once.key)

    def used() -> RequestKey | None:
        return mine.filter(created_at__gte=cutoff).select_related("entry__village", "entry__category").first()

    found = used()
    if found is None:
        try:
            with transaction.atomic():
                RequestKey.objects.filter(user=actor, created_at__lt=cutoff).delete()  # expired keys
                return RequestKey.objects.create(
                    user=actor, kind=once.kind, key=once.key, fingerprint=fingerprint
                )
        except IntegrityError:
            found = used()
            if found is None:  # pragma: no cover - the other request expired between the two reads
                raise ServiceError("提交冲突，请稍后再试", code="conflict") from None
    if found.fingerprint != fingerprint:
        raise ServiceError(
            "这个防重复提交的键已经用于另一次内容不同的提交；如要另存一条，请换一个新键重新提交",
            code="conflict",
        )
    raise RepeatedRequest(found)


def _refuse_alike(
    *,
    village: OrgUnit,
    date: datetime.date,
    amount: Decimal,
    category: Category,
    summary: str,
    exclude: int | None = None,
) -> None:
    alike = list(
        entries_alike(village=village, date=date, amount=amount, category=category, summary=summary)
        .exclude(pk=exclude)
        .select_related("village", "category")[:5]
    )
    if alike:
        raise DuplicateEntryError(alike)


@transaction.atomic
def request_key_answer(*, actor: User, once: Once, status: int, answer: dict[str, Any]) -> None:
    """Keep the answer given to the first request with ``once``, so that a repeat gets it again."""
    RequestKey.objects.filter(user=actor, kind=once.kind, key=once.key).update(status=status, answer=answer)


@transaction.atomic
def entry_create(
    *,
    actor: User,
    village: OrgUnit,
    date: datetime.date,
    amount: Decimal,
    category: Category,
    path: DevelopmentPath,
    summary: str,
    counterparty: str = "",
    submit: bool = False,
    once: Once | None = None,
    check_duplicate: bool = False,
    years: Collection[int] | None = None,
    source: str = Source.TYPED,
    shares: Mapping[int, Decimal] | None = None,
) -> Entry:
    """Record a new income item as a draft (or submitted at once with ``submit=True``).

    Rows no one types — a contract's payment — say so with ``source`` (then only that source changes or
    withdraws them) and may be refunds (a negative amount). ``shares``: year → the part of ``amount``
    that counts toward that year's target (a lump sum spread over its years, ``ledger.spread``); given
    for more than the receipt year, the row is ``spread`` and its :class:`Recognition` lines are made.

    What a person types (the entry form, the API) comes with the checks trusted callers (the demo, the
    tests' fixtures) skip: ``once``, its one-time key (a repeat raises :class:`RepeatedRequest`);
    ``check_duplicate``, ask before saving a row identical to an existing one
    (:class:`DuplicateEntryError`; pass ``False`` once the person confirmed); ``years``, the years open
    for entry in the village (see ``selectors.open_years``). Dates after today are always refused."""
    _require(actor, ENTER, village, "您没有在该村录入台账的权限")
    used = None
    if once is not None:
        used = _claim(
            actor,
            once,
            _fingerprint(
                "create",
                village.pk,
                date,
                amount,
                category.pk,
                path.pk,
                (summary or "").strip(),
                (counterparty or "").strip(),
                submit,
            ),
        )
    summary, counterparty = _clean_fields(
        village=village,
        date=date,
        amount=-amount if source and amount < 0 else amount,
        summary=summary,
        counterparty=counterparty,
        years=years,
    )
    lines = _recognition_lines(date, amount, shares)
    if check_duplicate:
        _refuse_alike(village=village, date=date, amount=amount, category=category, summary=summary)
    now = timezone.now()
    entry = Entry.objects.create(
        source=source,
        spread=bool(lines),
        village=village,
        date=date,
        amount=amount,
        category=category,
        path=path,
        summary=summary,
        counterparty=counterparty,
        status=Status.SUBMITTED if submit else Status.DRAFT,
        submitted_at=now if submit else None,
        entered_by=actor,
    )
    _recognise(entry, lines)
    audit.record(actor=actor, action="ledger.create", obj=entry, after=_snap(entry), unit_path=village.path)
    if used is not None:
        used.entry = entry
        used.save(update_fields=["entry"])
    return entry


def _recognition_lines(
    date: datetime.date, amount: Decimal, shares: Mapping[int, Decimal] | None
) -> list[tuple[int, datetime.date, Decimal]]:
    """The spread lines of a row, or [] when all of it counts on its own date."""
    if not shares:
        return []
    if sum(shares.values(), Decimal("0.00")) != amount:
        raise ServiceError("分年确认的各年金额之和必须等于收款金额", field="amount")
    if any(a and (a > 0) != (amount > 0) for a in shares.values()):
        raise ServiceError("分年确认的各年金额必须与收款同为正数（或同为退款）", field="amount")
    lines = recognition_lines(date, shares)
    return lines if len(lines) > 1 else []


def _recognise(entry: Entry, lines: Sequence[tuple[int, datetime.date, Decimal]]) -> None:
    Recognition.objects.bulk_create(
        Recognition(
            entry=entry,
            village_id=entry.village_id,
            category_id=entry.category_id,
            year=year,
            date=day,
            amount=amount,
        )
        for year, day, amount in lines
    )


def _refuse_sourced(entry: Entry, doing: str) -> None:
    if entry.source:
        raise ServiceError(
            f"该记录由{entry.get_source_display()}生成，不能在台账中{doing}；请在对应的合同页面办理",
            code="state",
        )


def _lock(entry: Entry) -> Entry:
    """Re-read the row inside the transaction (row lock on PostgreSQL) so decisions use fresh state."""
    return Entry.objects.select_for_update().select_related("village").get(pk=entry.pk)


class StaleEntryError(ServiceError):
    """The row changed since the person (or API client) loaded it: ``expected`` is the version they saw,
    ``entry`` the row as it is now. Nothing was saved."""

    def __init__(self, entry: Entry, expected: int, *, doing: str, then: str) -> None:
        super().__init__(stale_message(entry, doing=doing, then=then), code="stale")
        self.entry = entry
        self.expected = expected


def stale_message(entry: Entry, *, doing: str = "您的修改没有保存", then: str = "请刷新后重新填写") -> str:
    """Who changed ``entry`` last and when, from the change log (the row itself when the log has nothing)."""
    last = (
        audit.ChangeRecord.objects.filter(model=Entry._meta.label_lower, object_pk=str(entry.pk))
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    if last is not None:
        who = str(last.actor) if last.actor is not None else (last.username or "他人")
        when = last.at
    else:  # pragma: no cover - every service write leaves a record
        who, when = "他人", entry.updated_at
    local = timezone.localtime(when)
    at = f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%Y-%m-%d %H:%M}"
    what = f"{entry.village.name} {entry.date:%Y-%m-%d} {entry.amount:,.2f} 元"
    state = "" if entry.is_editable else f"，现为“{entry.get_status_display()}”"
    return f"这条记录（{what}）已被 {who} 在 {at} 修改过{state}，{doing}。{then}。"


def _check_version(
    entry: Entry,
    expected: int | None,
    *,
    doing: str = "您的修改没有保存",
    then: str = "请刷新后重新填写",
) -> None:
    """Refuse (nothing saved) when the caller saw another version of the locked row than it holds now."""
    if expected is not None and expected != entry.version:
        raise StaleEntryError(entry, expected, doing=doing, then=then)


@transaction.atomic
def entry_update(
    *,
    actor: User,
    entry: Entry,
    date: datetime.date,
    amount: Decimal,
    category: Category,
    path: DevelopmentPath,
    summary: str,
    counterparty: str = "",
    once: Once | None = None,
    check_duplicate: bool = False,
    years: Collection[int] | None = None,
    expected_version: int | None = None,
) -> Entry:
    """Change a draft or returned row. Submitted and verified rows cannot be edited. ``once``,
    ``check_duplicate`` and ``years`` as for :func:`entry_create`. ``expected_version``: the version the
    edit form was loaded from; if the row has changed since, :class:`StaleEntryError` and nothing saved."""
    entry = _lock(entry)
    _require(actor, ENTER, entry.village, "您没有修改该村台账的权限")
    used = None
    if once is not None:
        used = _claim(
            actor,
            once,
            _fingerprint(
                "update",
                entry.pk,
                date,
                amount,
                category.pk,
                path.pk,
                (summary or "").strip(),
                (counterparty or "").strip(),
            ),
        )
    _check_version(entry, expected_version)
    if entry.status not in EDITABLE_STATUSES:
        raise ServiceError(f"该记录{entry.get_status_display()}，不能修改", code="frozen")
    _refuse_sourced(entry, "修改")
    if entry.reverses_id is not None:
        raise ServiceError("冲销记录的金额和内容由原记录决定，不能修改", code="state")
    if entry.spread and (date, amount, category.pk) != (entry.date, entry.amount, entry.category_id):
        # Its yearly shares were made from these three: changing one would leave the shares counting the old.
        raise ServiceError(
            "该记录按年分摊计入目标，不能修改日期、金额或收入类别；请删除后重新录入或导入", code="state"
        )
    summary, counterparty = _clean_fields(
        village=entry.village,
        date=date,
        amount=amount,
        summary=summary,
        counterparty=counterparty,
        years=years,
    )
    if check_duplicate:
        _refuse_alike(
            village=entry.village,
            date=date,
            amount=amount,
            category=category,
            summary=summary,
            exclude=entry.pk,
        )
    if used is not None:
        used.entry = entry
        used.save(update_fields=["entry"])
    before = _snap(entry)
    entry.date, entry.amount, entry.category, entry.path = date, amount, category, path
    entry.summary, entry.counterparty = summary, counterparty
    entry.version += 1
    entry.save()
    audit.record(
        actor=actor,
        action="ledger.update",
        obj=entry,
        before=before,
        after=_snap(entry),
        unit_path=entry.village.path,
    )
    return entry


@transaction.atomic
def entry_submit(*, actor: User, entry: Entry, expected_version: int | None = None) -> Entry:
    """Send a draft (or a corrected returned row) for verification; ``expected_version`` as for
    :func:`entry_update`."""
    entry = _lock(entry)
    _require(actor, ENTER, entry.village, "您没有提交该村台账的权限")
    _check_version(entry, expected_version, doing="没有提交", then="请刷新后核对再提交")
    if entry.status not in EDITABLE_STATUSES:
        raise ServiceError(f"该记录{entry.get_status_display()}，不能再次提交", code="state")
    before = _snap(entry)
    entry.status = Status.SUBMITTED
    entry.submitted_at = timezone.now()
    entry.version += 1
    entry.save(update_fields=["status", "submitted_at", "version", "updated_at"])
    audit.record(
        actor=actor,
        action="ledger.submit",
        obj=entry,
        before=before,
        after=_snap(entry),
        unit_path=entry.village.path,
    )
    return entry


@transaction.atomic
def entry_delete(*, actor: User, entry: Entry) -> None:
    """Delete a draft that was never submitted, or a reversal that was returned (its author or the
    village may withdraw it, so the original can be reversed again)."""
    entry = _lock(entry)
    returned_reversal = entry.status == Status.RETURNED and entry.reverses_id is not None
    own_reversal = returned_reversal and entry.entered_by_id == getattr(actor, "pk", None)
    if not own_reversal:
        _require(actor, ENTER, entry.village, "您没有删除该村台账的权限")
    if not returned_reversal:
        _refuse_sourced(entry, "删除")
    if entry.status != Status.DRAFT and not returned_reversal:
        raise ServiceError(
            "只有草稿（或被退回的冲销记录）可以删除；已提交的记录请退回后修改，已审核的记录请冲销",
            code="state",
        )
    if entry.evidence.exists():
        raise ServiceError("该草稿已上传凭证，请先保留或改为提交", code="state")
    before = _snap(entry)
    audit.record(actor=actor, action="ledger.delete", obj=entry, before=before, unit_path=entry.village.path)
    entry.delete()


@transaction.atomic
def entry_withdraw_posted(*, actor: User, entry: Entry, source: str) -> None:
    """Take back a row posted by ``source`` (a contract payment cancelled): only while it is a draft or
    was returned — a submitted row waits for its review, a verified one is reversed."""
    entry = _lock(entry)
    _require(actor, ENTER, entry.village, "您没有删除该村台账的权限")
    if entry.source != source or not source:
        raise ServiceError("该记录不是由此来源生成的", code="state")
    if entry.status not in EDITABLE_STATUSES:
        raise ServiceError(
            f"该收款的台账记录{entry.get_status_display()}，不能撤回；"
            + ("已审核的请冲销" if entry.status == Status.VERIFIED else "请待审核人退回后再撤回"),
            code="state",
        )
    if entry.evidence.exists():
        raise ServiceError("该记录已上传凭证，不能撤回", code="state")
    before = _snap(entry)
    audit.record(actor=actor, action="ledger.delete", obj=entry, before=before, unit_path=entry.village.path)
    entry.recognitions.all().delete()
    entry.delete()


def _review_guard(actor: User, entry: Entry) -> None:
    _require(actor, VERIFY, entry.village, f"您没有审核{entry.village.name}台账的权限")
    if entry.status != Status.SUBMITTED:
        raise ServiceError(
            f"{entry.village.name} {entry.date:%Y-%m-%d} {entry.amount} 元：该记录{entry.get_status_display()}，"
            "只有待审核的记录可以审核或退回",
            code="state",
        )
    actor_pk = getattr(actor, "pk", None)
    if entry.entered_by_id == actor_pk:
        raise PermissionDeniedError("不能审核自己录入的记录，须由他人审核")
    # Whatever roles one holds: the author of a row never decides on its reversal either.
    if entry.reverses is not None and entry.reverses.entered_by_id == actor_pk:
        raise PermissionDeniedError(
            f"{entry.village.name} {entry.date:%Y-%m-%d} 的冲销记录：原记录是您录入的，冲销须由他人审核"
        )


@transaction.atomic
def entry_verify(
    *, actor: User, entries: Sequence[Entry], expected_versions: Mapping[int, int] | None = None
) -> list[Entry]:
    """Verify submitted rows, all or none. Verified rows are frozen from then on. ``expected_versions``
    (row id → the version the reviewer was shown): a row changed since is refused, and nothing verified."""
    if not entries:
        raise ServiceError("请至少选择一条记录")
    locked = list(
        Entry.objects.select_for_update(of=("self",))
        .select_related("village", "reverses")
        .filter(pk__in=[e.pk for e in entries])
        .order_by("pk")
    )
    if len(locked) != len({e.pk for e in entries}):
        raise ServiceError("所选记录有的已不存在，请刷新后重试")
    now = timezone.now()
    for entry in locked:
        _review_guard(actor, entry)
        _check_version(
            entry,
            (expected_versions or {}).get(entry.pk),
            doing="所选记录都没有审核",
            then="请刷新后核对再审核",
        )
    for entry in locked:
        before = _snap(entry)
        entry.status = Status.VERIFIED
        entry.reviewed_by = actor
        entry.reviewed_at = now
        entry.return_reason = ""
        entry.version += 1
        entry.save(
            update_fields=["status", "reviewed_by", "reviewed_at", "return_reason", "version", "updated_at"]
        )
        audit.record(
            actor=actor,
            action="ledger.verify",
            obj=entry,
            before=before,
            after=_snap(entry),
            unit_path=entry.village.path,
        )
    rollup.add_entries(locked)
    return locked


@transaction.atomic
def entry_return(
    *,
    actor: User,
    entries: Sequence[Entry],
    reason: str,
    expected_versions: Mapping[int, int] | None = None,
) -> list[Entry]:
    """Send submitted rows back to the village with a reason (required), all or none;
    ``expected_versions`` as for :func:`entry_verify`."""
    _refuse_control(reason, "退回原因")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("退回必须填写原因", field="reason")
    if len(reason) > 200:
        raise ServiceError("退回原因不能超过 200 字", field="reason")
    if not entries:
        raise ServiceError("请至少选择一条记录")
    locked = list(
        Entry.objects.select_for_update(of=("self",))
        .select_related("village", "reverses")
        .filter(pk__in=[e.pk for e in entries])
        .order_by("pk")
    )
    if len(locked) != len({e.pk for e in entries}):
        raise ServiceError("所选记录有的已不存在，请刷新后重试")
    now = timezone.now()
    for entry in locked:
        _review_guard(actor, entry)
        _check_version(
            entry,
            (expected_versions or {}).get(entry.pk),
            doing="所选记录都没有退回",
            then="请刷新后核对再退回",
        )
    for entry in locked:
        before = _snap(entry)
        entry.status = Status.RETURNED
        entry.return_reason = reason
        entry.reviewed_by = actor
        entry.reviewed_at = now
        entry.version += 1
        entry.save(
            update_fields=["status", "return_reason", "reviewed_by", "reviewed_at", "version", "updated_at"]
        )
        audit.record(
            actor=actor,
            action="ledger.return",
            obj=entry,
            before=before,
            after=_snap(entry),
            unit_path=entry.village.path,
            note=reason,
        )
    return locked


def _refuse_control(reason: str | None, label: str) -> None:
    """A reason with a control character (NUL …) is refused naming it: PostgreSQL would refuse a NUL with a 500."""
    problem = text_problem(reason)
    if problem is not None:
        raise ServiceError(f"{label}：{problem}", field="reason")


@transaction.atomic
def entry_reverse(*, actor: User, entry: Entry, reason: str) -> Entry:
    """Correct a verified row by a reversing row of the opposite amount on the same date.

    The reversal is submitted for verification by someone else — one person can neither enter and
    verify a reversal, so no one alone takes income off a village. The original row is never touched.
    A returned reversal can be deleted by the village, after which the original can be reversed again.
    """
    # Lock the original so two reversals at the same moment queue up instead of colliding.
    entry = Entry.objects.select_for_update().select_related("village", "category", "path").get(pk=entry.pk)
    village = entry.village
    if not (allowed(actor, ENTER, village.path) or allowed(actor, VERIFY, village.path)):
        raise PermissionDeniedError("您没有冲销该村台账的权限")
    _refuse_control(reason, "冲销原因")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("冲销必须填写原因", field="reason")
    if entry.status != Status.VERIFIED:
        raise ServiceError("只有已审核的记录需要冲销；未审核的记录可直接修改或退回", code="state")
    if entry.reverses_id is not None:
        raise ServiceError("冲销记录本身不能再冲销", code="state")
    if Entry.objects.filter(reverses=entry).exists():
        raise ServiceError("该记录已经冲销过", code="state")
    now = timezone.now()
    reversal = Entry.objects.create(
        village=village,
        date=entry.date,
        amount=-entry.amount,
        category=entry.category,
        path=entry.path,
        summary=f"冲销：{entry.summary}（原因：{reason}）"[:200],
        counterparty=entry.counterparty,
        status=Status.SUBMITTED,
        submitted_at=now,
        reverses=entry,
        entered_by=actor,
        source=entry.source,
        spread=entry.spread,
    )
    _recognise(reversal, [(r.year, r.date, -r.amount) for r in entry.recognitions.order_by("year")])
    audit.record(
        actor=actor,
        action="ledger.reverse",
        obj=reversal,
        after=_snap(reversal),
        unit_path=village.path,
        note=reason,
    )
    return reversal


def evidence_type(head: bytes) -> str | None:
    """The content type of an evidence file from its first 16 bytes, or None if it is not a PDF or a photo."""
    return sniff(head)


def _read_head(upload: UploadedFile) -> bytes:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return head


@transaction.atomic
def evidence_add(*, actor: User, entry: Entry, files: Iterable[UploadedFile]) -> list[Evidence]:
    """Attach receipts or photos (PDF, JPEG, PNG, GIF, WebP, HEIC) to a row that can still be edited."""
    entry = _lock(entry)
    _require(actor, ENTER, entry.village, "您没有为该村台账上传凭证的权限")
    if entry.status not in EDITABLE_STATUSES:
        raise ServiceError("凭证只能在提交前补充", code="state")
    uploads = list(files)
    for upload in uploads:  # every file is checked before any is written: no orphans on disk
        name = (upload.name or "凭证")[:200]
        if upload.size and upload.size > settings.EVIDENCE_MAX_BYTES:
            raise ServiceError(f"文件“{name}”超过 10 MB", field="evidence")
        if evidence_type(_read_head(upload)) is None:
            raise ServiceError(
                f"文件“{name}”不是 PDF 或照片（JPEG、PNG、GIF、WebP、HEIC），不能作为凭证", field="evidence"
            )
    added = []
    for upload in uploads:
        name = (upload.name or "凭证")[:200]
        ev = Evidence(entry=entry, original_name=name, uploaded_by=actor)
        ev.file.save(upload.name or "evidence", upload, save=True)
        audit.record(
            actor=actor,
            action="evidence.add",
            obj=ev,
            after={"entry": entry.pk, "name": ev.original_name},
            unit_path=entry.village.path,
        )
        added.append(ev)
    return added


# ---------------------------------------------------------------------------------------------- import

IMPORT = Action.IMPORT


@dataclass
class ImportOutcome:
    """What an import did (or, in a dry run, would do)."""

    batch: ImportBatch | None
    imported: int
    duplicates: int
    skipped: int
    per_village: dict[str, tuple[int, Decimal]]  # village name → (rows, sum) of the rows imported

    @property
    def total(self) -> Decimal:
        return sum((s for _, s in self.per_village.values()), Decimal("0.00"))


def entries_import(
    *,
    actor: User,
    rows: Sequence[Any],
    file_name: str,
    sha256: str,
    skipped: int = 0,
    verified: bool = False,
    dry_run: bool = False,
) -> ImportOutcome:
    """Import parsed ledger rows all or none. Rows already in the ledger (same village, date, amount,
    category and summary) are skipped, counted as often as they already occur.

    Imported rows are submitted, to be verified by someone other than the importer. ``verified`` imports
    them verified at once — only a township admin migrating the ledger of a closed past year (every row
    dated before the current year), which the change record says: no one alone puts income on this
    year's table."""
    with transaction.atomic():
        villages = {r.village.pk: r.village for r in rows}
        # Two imports of the same file at the same moment queue up here instead of both inserting.
        list(
            OrgUnit.objects.select_for_update().filter(pk__in=list(villages)).order_by("pk").values_list("pk")
        )
        for village in villages.values():
            if not (allowed(actor, ENTER, village.path) or allowed(actor, IMPORT, village.path)):
                raise PermissionDeniedError(f"您没有向{village.name}导入台账的权限")
            if verified and not (
                allowed(actor, IMPORT, village.path) and allowed(actor, VERIFY, village.path)
            ):
                raise PermissionDeniedError("只有镇党建办可以按“已审核”导入历史台账")
        if verified:
            current = today().year
            late = next((r for r in rows if r.date.year >= current), None)
            if late is not None:
                raise ServiceError(
                    f"第 {late.row} 行：收入日期 {late.date:%Y-%m-%d} 属于 {late.date.year} 年。"
                    f"按“已审核”导入只用于迁移已经结束的往年台账（{current} 年以前）；"
                    f"{current} 年的台账请按待审核导入，由他人审核",
                    field="verified",
                )
        latest = today()  # once, not once a row: 100,000 rows spent 0.5 s asking the time zone
        for r in rows:
            if r.amount < 0 and not verified:
                raise ServiceError(
                    f"第 {r.row} 行：金额为负数；负数（红字冲销）只能在按已审核迁移历史台账时导入",
                    field="amount",
                )
            if r.date > latest:
                raise ServiceError(f"第 {r.row} 行：收入日期 {r.date:%Y-%m-%d} 晚于今天", field="date")
        dates = [r.date for r in rows]
        existing: dict[tuple[Any, ...], int] = defaultdict(int)
        if rows:
            for key in Entry.objects.filter(
                village_id__in=list(villages), date__gte=min(dates), date__lte=max(dates)
            ).values_list("village_id", "date", "amount", "category_id", "summary"):
                existing[key] += 1
        fresh = []
        duplicates = 0
        for r in rows:
            key = (r.village.pk, r.date, r.amount, r.category.pk, r.summary)
            if existing.get(key, 0) > 0:
                existing[key] -= 1
                duplicates += 1
            else:
                fresh.append(r)
        per_village: dict[str, tuple[int, Decimal]] = {}
        for r in fresh:
            count, total = per_village.get(r.village.name, (0, Decimal("0.00")))
            per_village[r.village.name] = (count + 1, total + r.amount)
        outcome = ImportOutcome(None, len(fresh), duplicates, skipped, per_village)
        if dry_run:
            return outcome
        now = timezone.now()
        batch = ImportBatch.objects.create(
            kind=ImportBatch.Kind.LEDGER,
            file_name=file_name[:255],
            sha256=sha256,
            actor=actor if getattr(actor, "pk", None) else None,
            rows_imported=len(fresh),
            rows_duplicate=duplicates,
            rows_skipped=skipped,
            as_verified=verified,
        )
        status = Status.VERIFIED if verified else Status.SUBMITTED
        plain = [r for r in fresh if not getattr(r, "shares", ())]
        _insert_imported(plain, actor=actor, status=status, now=now, batch=batch, verified=verified)
        spread = _insert_spread(
            [r for r in fresh if getattr(r, "shares", ())],
            actor=actor,
            now=now,
            batch=batch,
            verified=verified,
        )
        if verified:
            rollup.add((r.village.pk, r.category.pk, r.date, to_fen(r.amount)) for r in plain)
            rollup.add_entries(spread)
        audit.record(
            actor=actor,
            action="ledger.import",
            obj=batch,
            after={
                "file": file_name,
                "sha256": sha256,
                "imported": len(fresh),
                "duplicates": duplicates,
                "skipped": skipped,
                "verified": verified,
                "villages": {name: [n, f"{s:.2f}"] for name, (n, s) in sorted(per_village.items())},
            },
            unit_path=_common_path([v.path for v in villages.values()]),
            note=f"按已审核导入（迁移 {'、'.join(str(y) for y in sorted({d.year for d in dates}))} 年历史台账）"
            if verified
            else "导入后待审核，须由他人审核",
        )
        outcome.batch = batch
        return outcome


_IMPORT_COLUMNS = (
    "village",
    "date",
    "amount",
    "category",
    "path",
    "summary",
    "counterparty",
    "status",
    "entered_by",
    "created_at",
    "updated_at",
    "submitted_at",
    "reviewed_by",
    "reviewed_at",
    "return_reason",
    "import_batch",
    "version",
)


def _insert_imported(
    rows: Sequence[Any],
    *,
    actor: User,
    status: str,
    now: datetime.datetime,
    batch: ImportBatch,
    verified: bool,
) -> None:
    """Insert imported rows in one go: ``COPY … FROM STDIN`` on PostgreSQL, one prepared INSERT run over
    all of them (``executemany``) on SQLite.

    ``bulk_create`` spends most of a 100,000-row import preparing each value through the ORM (and on
    SQLite splits it into 58-row statements); here each row becomes one tuple of already-converted
    values. The database's own checks, foreign keys and triggers still apply (PostgreSQL fires row
    triggers for COPY as for INSERT); the caller's transaction makes it all or nothing."""
    connection = transaction.get_connection()
    ops = connection.ops
    meta = Entry._meta
    names = [cast(Field, meta.get_field(name)).column for name in _IMPORT_COLUMNS]
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(name) for name in names)
    stamp = ops.adapt_datetimefield_value(now)
    reviewer = actor.pk if verified else None
    reviewed = stamp if verified else None
    entered_by, batch_id = actor.pk, batch.pk
    ids: dict[int, Any] = {}  # a row's village, category and path are shared objects: their pk, once

    def pk(obj: Any) -> Any:
        try:
            return ids[id(obj)]
        except KeyError:
            ids[id(obj)] = obj.pk
            return obj.pk

    adapt_date = ops.adapt_datefield_value
    values = (
        (
            pk(r.village),
            adapt_date(r.date),
            to_fen(r.amount),
            pk(r.category),
            pk(r.path),
            r.summary,
            r.counterparty,
            status,
            entered_by,
            stamp,
            stamp,
            stamp,
            reviewer,
            reviewed,
            "",
            batch_id,
            1,
        )
        for r in rows
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy_rows(cursor, meta.db_table, names, values)
            return
        placeholders = ", ".join(["%s"] * len(_IMPORT_COLUMNS))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
        chunk: list[tuple[Any, ...]] = []
        for row in values:
            chunk.append(row)
            if len(chunk) == 5000:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def _insert_spread(
    rows: Sequence[Any], *, actor: User, now: datetime.datetime, batch: ImportBatch, verified: bool
) -> list[Entry]:
    """Insert imported lump sums spread over their years (a row with ``shares``, as the ledger's export
    writes them), one by one with their yearly shares: a share is added while the row is still submitted
    (a verified row's shares are frozen), then the row is marked verified if the import is."""
    made = []
    for r in rows:
        lines = _recognition_lines(r.date, r.amount, dict(r.shares))
        entry = Entry.objects.create(
            village=r.village,
            date=r.date,
            amount=r.amount,
            category=r.category,
            path=r.path,
            summary=r.summary,
            counterparty=r.counterparty,
            status=Status.SUBMITTED,
            submitted_at=now,
            entered_by=actor,
            import_batch=batch,
            spread=bool(lines),
        )
        _recognise(entry, lines)
        if verified:
            Entry.objects.filter(pk=entry.pk).update(
                status=Status.VERIFIED, reviewed_by=actor, reviewed_at=now
            )
            entry.status = Status.VERIFIED
        made.append(entry)
    return made


def _copy_rows(cursor: Any, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL ``COPY … FROM STDIN`` in binary (psycopg 3), row by row as the values come, each value
    sent as its column's own type (read from the catalogue: nothing to keep in step with the model).
    A refused row (a check, a foreign key, a length, a trigger) raises Django's ``IntegrityError`` or
    ``DataError``, as an INSERT would."""
    quote = cursor.db.ops.quote_name
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s)",
        [quote(table), columns],
    )
    oids = dict(cursor.fetchall())
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
    with cursor.db.wrap_database_errors, cursor.copy(sql) as copy:
        copy.set_types([oids[c] for c in columns])
        for row in rows:
            copy.write_row(row)


def _common_path(paths: list[str]) -> str:
    """The deepest unit path above all of ``paths`` (for scoping the change record)."""
    return os.path.commonpath(paths).rstrip("/") + "/" if paths else ""
