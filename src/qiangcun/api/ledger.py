from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status as Reply
from pydantic import ConfigDict, field_validator

from qiangcun.accounts.http import AuthedRequest
from qiangcun.api.schemas import Money, replies
from qiangcun.core.cells import CellError, parse_amount_cell
from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.params import MAX_YEAR, MIN_YEAR, text_param
from qiangcun.core.text import CleanStr
from qiangcun.ledger import services
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, EntryQuerySet, RequestKey, Status
from qiangcun.ledger.selectors import entries_visible, open_years
from qiangcun.orgs.models import Level, OrgUnit

router = Router(tags=["台账"])

#: The most rows one page of the ledger list gives.
MAX_PAGE = 500


class EntryIn(Schema):
    village: CleanStr
    date: datetime.date
    amount: CleanStr = Field(
        description="金额（元），与导入同一读法：12000.00、１２０００、1.2万、壹万贰仟元、￥2,400"
    )
    category: CleanStr
    path: CleanStr
    summary: CleanStr
    counterparty: CleanStr = ""
    confirm_duplicate: bool = Field(
        False, description="已有相同记录（村、日期、金额、类别、摘要都相同）时，确认仍要保存"
    )


class ReasonIn(Schema):
    reason: CleanStr = ""


class EntryOut(Schema):
    """一条台账。"""

    # Built from an Entry (the paged list) or from entry_out's dict (the other answers).

    id: int
    village: str = Field(description="行政村代码")
    date: datetime.date
    amount: Money = Field(description="金额（元），两位小数的字符串；冲销为负数")
    category: str = Field(description="收入类别名称")
    path: str = Field(description="增收路子名称")
    summary: str
    counterparty: str
    status: Status = Field(description="draft 草稿 / submitted 待审核 / verified 已审核 / returned 已退回")
    version: int = Field(
        description="版本号，每次修改、提交、审核、退回加 1；提交、审核、退回时可带上 ?version= 所见的版本，"
        "记录已被他人改动则返回 409，什么也不做"
    )

    @field_validator("village", mode="before")
    @classmethod
    def _village_code(cls, value: object) -> object:
        return value.code if isinstance(value, OrgUnit) else value

    @field_validator("category", "path", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        return value.name if isinstance(value, Category | DevelopmentPath) else value

    @field_validator("amount", mode="before")
    @classmethod
    def _yuan(cls, value: object) -> object:
        return f"{value:.2f}" if isinstance(value, Decimal) else value


class LedgerPage(LimitOffsetPagination):
    """ninja's limit/offset paging ({items, count}) with a bounded page; an offset past the end is an
    empty page (it never reaches the database, however large)."""

    class Input(Schema):
        model_config = ConfigDict(title="LedgerPageIn")

        limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"每页条数，1—{MAX_PAGE}")
        offset: int = Field(0, ge=0, description="跳过的条数；超过总数时返回空页")

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        count = queryset.count()
        offset, limit = pagination.offset, pagination.limit
        items = queryset[offset : offset + limit] if offset < count else queryset.none()
        return {"items": items, "count": count}


def entry_out(e: Entry) -> dict[str, Any]:
    """The JSON of one row (as the API answers it)."""
    return EntryOut.model_validate(e).model_dump(mode="json")


#: ``?version=`` on submit, verify and return: the version the client last read.
VERSION_QUERY = Query(
    None,
    ge=1,
    description="所见的版本号（GET 返回的 version）。记录此后已被他人改动则返回 409，什么也不做；"
    "不带则不作此检查（可能处理了您没有看到的新内容）",
)


def _stale(exc: services.StaleEntryError) -> Reply[dict[str, Any]]:
    return Reply(409, {"detail": exc.message, "field": "version"})


def _get(request: AuthedRequest, pk: int) -> Entry:
    entry = entries_visible(user=request.user).filter(pk=pk).first()
    if entry is None:
        raise NotFoundError()
    return entry


@router.get("/ledger", response=replies({200: list[EntryOut]}, 400, 401, 422), summary="台账列表")
@paginate(LedgerPage)
def ledger_list(
    request: AuthedRequest,
    village: str | None = None,
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR),  # type: ignore[assignment]
    status: str | None = None,
) -> EntryQuerySet:
    rows = entries_visible(user=request.user)
    village = text_param(village, field="village", label="村代码", max_length=24)
    if village:
        rows = rows.filter(village__code=village)
    if year:
        rows = rows.filter(date__year=year)
    if status:
        if status not in Status.values:
            raise ServiceError(f"status 只能是 {'/'.join(Status.values)}", field="status")
        rows = rows.filter(status=status)
    return rows.order_by("-date", "-id")


@router.get("/ledger/{int:pk}", response=replies({200: EntryOut}, 401, 404), summary="一条台账")
def ledger_get(request: AuthedRequest, pk: int) -> dict[str, Any]:
    return entry_out(_get(request, pk))


#: What an ``Idempotency-Key`` may be: 1–128 visible ASCII characters (a UUID is the usual choice).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")


@router.post(
    "/ledger",
    response=replies({201: EntryOut}, 400, 401, 403, 404, 409, 422),
    summary="录入一条台账（草稿）",
    description=(
        "带 `Idempotency-Key` 请求头时，同一用户 24 小时内用同一个键、同样的内容再次请求，返回第一次的应答，"
        "不会新增记录；同一个键换了内容则返回 409。已有相同记录时返回 409，"
        '确需保存请在请求中加上 `"confirm_duplicate": true`。'
    ),
)
def ledger_create(request: AuthedRequest, payload: EntryIn) -> Reply[dict[str, Any]]:
    once = None
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise ServiceError(
                "Idempotency-Key 应为 1–128 个可见的英文字符（如一个 UUID）", field="Idempotency-Key"
            )
        once = services.Once(kind=RequestKey.Kind.API, key=key)
    village = OrgUnit.objects.filter(code=payload.village, level=Level.VILLAGE).first()
    if village is None:
        raise NotFoundError(f"没有代码为 {payload.village} 的行政村")
    try:
        amount = parse_amount_cell(payload.amount)
    except CellError as exc:
        raise ServiceError(str(exc), field="amount") from exc
    category = Category.objects.filter(name=payload.category).first()
    if category is None:
        raise ServiceError(f"没有名为“{payload.category}”的收入类别", field="category")
    path = DevelopmentPath.objects.filter(name=payload.path).first()
    if path is None:
        raise ServiceError(f"没有名为“{payload.path}”的增收路子", field="path")
    try:
        with transaction.atomic():
            entry = services.entry_create(
                actor=request.user,
                village=village,
                date=payload.date,
                amount=amount,
                category=category,
                path=path,
                summary=payload.summary,
                counterparty=payload.counterparty,
                once=once,
                check_duplicate=not payload.confirm_duplicate,
                years=open_years(village),
            )
            answer = entry_out(entry)
            if once is not None:
                services.request_key_answer(actor=request.user, once=once, status=201, answer=answer)
    except services.RepeatedRequest as exc:
        used = exc.used
        if used.answer is None or used.status is None:  # pragma: no cover - every API key keeps its answer
            raise
        return Reply(used.status, used.answer)
    except services.DuplicateEntryError as exc:
        return Reply(
            409,
            {
                "detail": f'{exc.message}。确需保存请在请求中加上 "confirm_duplicate": true',
                "field": None,
                "duplicates": [e.pk for e in exc.alike],
            },
        )
    except ServiceError as exc:
        if exc.code != "conflict":
            raise
        return Reply(409, {"detail": exc.message, "field": "Idempotency-Key"})
    return Reply(201, answer)


@router.post(
    "/ledger/{int:pk}/submit",
    response=replies({200: EntryOut}, 400, 401, 403, 404, 409, 422),
    summary="提交审核",
)
def ledger_submit(
    request: AuthedRequest,
    pk: int,
    version: int | None = VERSION_QUERY,  # type: ignore[assignment]
) -> Reply[dict[str, Any]]:
    try:
        entry = services.entry_submit(actor=request.user, entry=_get(request, pk), expected_version=version)
    except services.StaleEntryError as exc:
        return _stale(exc)
    return Reply(200, entry_out(entry))


@router.post(
    "/ledger/{int:pk}/verify",
    response=replies({200: EntryOut}, 400, 401, 403, 404, 409, 422),
    summary="审核通过",
)
def ledger_verify(
    request: AuthedRequest,
    pk: int,
    version: int | None = VERSION_QUERY,  # type: ignore[assignment]
) -> Reply[dict[str, Any]]:
    try:
        done = services.entry_verify(
            actor=request.user,
            entries=[_get(request, pk)],
            expected_versions={pk: version} if version else None,
        )
    except services.StaleEntryError as exc:
        return _stale(exc)
    return Reply(200, entry_out(done[0]))


@router.post(
    "/ledger/{int:pk}/return",
    response=replies({200: EntryOut}, 400, 401, 403, 404, 409, 422),
    summary="退回（须填原因）",
)
def ledger_return(
    request: AuthedRequest,
    pk: int,
    payload: ReasonIn,
    version: int | None = VERSION_QUERY,  # type: ignore[assignment]
) -> Reply[dict[str, Any]]:
    try:
        done = services.entry_return(
            actor=request.user,
            entries=[_get(request, pk)],
            reason=payload.reason,
            expected_versions={pk: version} if version else None,
        )
    except services.StaleEntryError as exc:
        return _stale(exc)
    return Reply(200, entry_out(done[0]))


@router.post(
    "/ledger/{int:pk}/reverse",
    response=replies({201: EntryOut}, 400, 401, 403, 404, 422),
    summary="冲销已审核的记录（须填原因）",
)
def ledger_reverse(request: AuthedRequest, pk: int, payload: ReasonIn) -> Reply[dict[str, Any]]:
    with transaction.atomic():
        reversal = services.entry_reverse(actor=request.user, entry=_get(request, pk), reason=payload.reason)
    return Reply(201, entry_out(reversal))
