from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status as Reply

from qiangcun.core.errors import NotFoundError, ServiceError
from qiangcun.core.money import AmountError, parse_amount
from qiangcun.core.params import MAX_YEAR, MIN_YEAR, text_param
from qiangcun.core.text import CleanStr
from qiangcun.ledger import services
from qiangcun.ledger.models import Category, DevelopmentPath, Entry, Status
from qiangcun.ledger.selectors import entries_visible
from qiangcun.orgs.models import Level, OrgUnit

router = Router(tags=["台账"])


class EntryIn(Schema):
    village: CleanStr
    date: datetime.date
    amount: CleanStr
    category: CleanStr
    path: CleanStr
    summary: CleanStr
    counterparty: CleanStr = ""


class ReasonIn(Schema):
    reason: CleanStr = ""


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
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR),  # type: ignore[assignment]
    status: str | None = None,
    limit: int = Query(100, ge=1, le=100_000),  # type: ignore[assignment]
    offset: int = Query(0, ge=0, le=100_000_000),  # type: ignore[assignment]
) -> dict[str, Any]:
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
    limit = max(1, min(limit, 1000))
    offset = max(0, offset)
    rows = rows.order_by("-date", "-id")
    return {"count": rows.count(), "items": [entry_out(e) for e in rows[offset : offset + limit]]}


@router.get("/ledger/{int:pk}", summary="一条台账")
def ledger_get(request: HttpRequest, pk: int) -> dict[str, Any]:
    return entry_out(_get(request, pk))


@router.post("/ledger", response={201: dict}, summary="录入一条台账（草稿）")
def ledger_create(request: HttpRequest, payload: EntryIn) -> Reply[dict[str, Any]]:
    village = OrgUnit.objects.filter(code=payload.village, level=Level.VILLAGE).first()
    if village is None:
        raise NotFoundError(f"没有代码为 {payload.village} 的行政村")
    try:
        amount = parse_amount(payload.amount)
    except AmountError as exc:
        raise ServiceError(str(exc), field="amount") from exc
    category = Category.objects.filter(name=payload.category).first()
    if category is None:
        raise ServiceError(f"没有名为“{payload.category}”的收入类别", field="category")
    path = DevelopmentPath.objects.filter(name=payload.path).first()
    if path is None:
        raise ServiceError(f"没有名为“{payload.path}”的增收路子", field="path")
    entry = services.entry_create(
        actor=request.user,
        village=village,
        date=payload.date,
        amount=amount,
        category=category,
        path=path,
        summary=payload.summary,
        counterparty=payload.counterparty,
    )
    return Reply(201, entry_out(entry))


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
