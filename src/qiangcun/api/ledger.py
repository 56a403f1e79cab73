from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status as Reply

from qiangcun.core.cells import CellError, parse_amount_cell
from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.ledger import services
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, RequestKey, Status
from qiangcun.ledger.selectors import entries_visible, open_years
from qiangcun.orgs.models import Level, OrgUnit

router = Router(tags=["台账"])


class EntryIn(Schema):
    village: str
    date: datetime.date
    amount: str = Field(
        description="金额（元），与导入同一读法：12000.00、１２０００、1.2万、壹万贰仟元、￥2,400"
    )
    category: str
    path: str
    summary: str
    counterparty: str = ""
    confirm_duplicate: bool = Field(
        False, description="已有相同记录（村、日期、金额、类别、摘要都相同）时，确认仍要保存"
    )


class ReasonIn(Schema):
    reason: str = ""


def entry_out(e: Entry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "village": e.village.code,
        "date": e.date.isoformat(),
        "amount": f"{e.amount:.2f}",
        "category": e.category.name,
        "path": e.path.name,
        "summary": e.summary,
        "counterparty": e.counterparty,
        "status": e.status,
    }


def _get(request: HttpRequest, pk: int) -> Entry:
    entry = entries_visible(user=request.user).filter(pk=pk).first()
    if entry is None:
        raise NotFoundError()
    return entry


@router.get("/ledger", summary="台账列表")
def ledger_list(
    request: HttpRequest,
    village: str | None = None,
    year: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    rows = entries_visible(user=request.user)
    if village:
        rows = rows.filter(village__code=village)
    if year:
        rows = rows.filter(date__year=year)
    if status:
        if status not in Status.values:
            raise ServiceError(f"status 只能是 {'/'.join(Status.values)}", field="status")
        rows = rows.filter(status=status)
    limit = max(1, min(limit, 1000))
    offset = max(0, offset)
    rows = rows.order_by("-date", "-id")
    return {"count": rows.count(), "items": [entry_out(e) for e in rows[offset : offset + limit]]}


@router.get("/ledger/{int:pk}", summary="一条台账")
def ledger_get(request: HttpRequest, pk: int) -> dict[str, Any]:
    return entry_out(_get(request, pk))


#: What an ``Idempotency-Key`` may be: 1–128 visible ASCII characters (a UUID is the usual choice).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")


@router.post(
    "/ledger",
    response={201: dict, 409: dict},
    summary="录入一条台账（草稿）",
    description=(
        "带 `Idempotency-Key` 请求头时，同一用户 24 小时内用同一个键、同样的内容再次请求，返回第一次的应答，"
        "不会新增记录；同一个键换了内容则返回 409。已有相同记录时返回 409，"
        '确需保存请在请求中加上 `"confirm_duplicate": true`。'
    ),
)
def ledger_create(request: HttpRequest, payload: EntryIn) -> Reply[dict[str, Any]]:
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


@router.post("/ledger/{int:pk}/submit", summary="提交审核")
def ledger_submit(request: HttpRequest, pk: int) -> dict[str, Any]:
    return entry_out(services.entry_submit(actor=request.user, entry=_get(request, pk)))


@router.post("/ledger/{int:pk}/verify", summary="审核通过")
def ledger_verify(request: HttpRequest, pk: int) -> dict[str, Any]:
    return entry_out(services.entry_verify(actor=request.user, entries=[_get(request, pk)])[0])


@router.post("/ledger/{int:pk}/return", summary="退回（须填原因）")
def ledger_return(request: HttpRequest, pk: int, payload: ReasonIn) -> dict[str, Any]:
    return entry_out(
        services.entry_return(actor=request.user, entries=[_get(request, pk)], reason=payload.reason)[0]
    )


@router.post("/ledger/{int:pk}/reverse", response={201: dict}, summary="冲销已审核的记录（须填原因）")
def ledger_reverse(request: HttpRequest, pk: int, payload: ReasonIn) -> Reply[dict[str, Any]]:
    with transaction.atomic():
        reversal = services.entry_reverse(actor=request.user, entry=_get(request, pk), reason=payload.reason)
    return Reply(201, entry_out(reversal))
