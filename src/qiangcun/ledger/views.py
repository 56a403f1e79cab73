"""Ledger pages: entry (phone first), edit, submit, reverse, the verification queue, evidence files."""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiangcun.accounts.http import AuthedRequest
from qiangcun.accounts.security import reauth_required
from qiangcun.core.cells import CellError, is_blank, parse_amount_cell
from qiangcun.core.clock import today
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.money import fmt_wan, in_words
from qiangcun.core.params import text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.ledger import services
from qiangcun.ledger.forms import EntryForm, ReturnForm, ReverseForm, new_token
from qiangcun.ledger.models import Entry, Evidence, RequestKey, Status
from qiangcun.ledger.selectors import (
    entries_awaiting_others,
    entries_for_review,
    entries_visible,
    likely_duplicates,
    open_years,
)
from qiangcun.orgs.models import Level, OrgUnit

#: The verification queue shows this many rows at a time (oldest first); the rest follow once these are done.
REVIEW_PAGE = 300


def _enter_villages(user: Any) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(user, Action.ENTER).filter(level=Level.VILLAGE).order_by("path"))


def _village_url(entry: Entry) -> str:
    return reverse("village", args=[entry.village.code]) + f"?year={entry.date.year}"


def _form_error(form: Any, default: str) -> str:
    """The first error of a one-field form (a reason box) with the field's label, else ``default``."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        message = errors[0] if errors else default
        return message if message == default else f"{field.label if field else name}：{message}"
    return default


def _apply_service_error(form: EntryForm, exc: ServiceError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _with_fresh_token(form: EntryForm) -> None:
    """Give a bound form a new one-time token (its own was missing or already spent on other content)."""
    data = cast(QueryDict, form.data).copy()
    data["once"] = new_token()
    form.data = data


def _once(form: EntryForm) -> services.Once | None:
    """The form's one-time token; a form without one (a page from before the token) gets one and an error."""
    token = form.cleaned_data.get("once") or ""
    if not token:
        _with_fresh_token(form)
        form.add_error(None, "页面已过期，请核对后再点一次保存")
        return None
    return services.Once(kind=RequestKey.Kind.FORM, key=token)


def _version(form: EntryForm) -> bool:
    """An edit form carries the version it was loaded from; one without (a page from before the field)
    is refused like a stale one, so that it cannot overwrite someone else's change unseen."""
    if form.cleaned_data.get("version"):
        return True
    form.add_error(None, "页面已过期，您的修改没有保存。请刷新后重新填写")
    return False


def _repeated(request: AuthedRequest, exc: services.RepeatedRequest, fallback: str) -> HttpResponse:
    """A second POST of a form already saved: show the row the first one made, say so, save nothing."""
    entry = exc.used.entry
    if entry is None:  # the draft it made has since been deleted
        messages.info(request, "这张表单已经保存过一次（那条草稿后来已删除），没有重复保存")
        return redirect(fallback)
    messages.info(
        request,
        f"这条记录刚才已经保存过，没有重复保存：{entry.village.name} {entry.date:%Y-%m-%d} "
        f"{entry.amount:,.2f} 元（{entry.get_status_display()}）",
    )
    return redirect(_village_url(entry) + f"#e{entry.pk}")


def _entry_page(request: AuthedRequest, form: EntryForm, **context: Any) -> HttpResponse:
    asked = any(services.DUPLICATE_QUESTION in e for e in form.non_field_errors())
    return render(
        request,
        "ledger/entry_form.html",
        {"form": form, "ask_duplicate": asked, "echo": _echo(form["amount"].value()), **context},
    )


@require(Action.ENTER)
@require_http_methods(["GET", "POST"])
def entry_new(request: AuthedRequest) -> HttpResponse:
    villages = _enter_villages(request.user)
    asked = request.POST.get("village") or request.GET.get("village")
    code = text_param(asked, field="village", label="村代码") or (villages[0].code if villages else "")
    village = next((v for v in villages if v.code == code), None)
    if village is None:
        raise Http404("该村不在您的录入范围内")
    form = EntryForm(
        request.POST or None, request.FILES or None, initial={"date": today(), "once": new_token()}
    )
    if request.method == "POST" and form.is_valid() and (once := _once(form)):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                entry = services.entry_create(
                    actor=request.user,
                    village=village,
                    date=data["date"],
                    amount=data["amount"],
                    category=data["category"],
                    path=data["path"],
                    summary=data["summary"],
                    counterparty=data["counterparty"],
                    submit="submit" in request.POST,
                    once=once,
                    check_duplicate=not data["confirm_duplicate"],
                    years=open_years(village),
                )
                if data["evidence"]:
                    services.evidence_add(actor=request.user, entry=entry, files=data["evidence"])
        except services.RepeatedRequest as exc:
            return _repeated(request, exc, reverse("entry_new") + f"?village={village.code}")
        except ServiceError as exc:
            if exc.code == "conflict":
                _with_fresh_token(form)
            _apply_service_error(form, exc)
        else:
            verb = "已提交审核" if entry.status == "submitted" else "已存为草稿"
            messages.success(
                request,
                f"{verb}：{village.name} {entry.date:%Y-%m-%d} {entry.amount:,.2f} 元"
                f"（{fmt_wan(entry.amount)}元）",
            )
            if "another" in request.POST:
                return redirect(reverse("entry_new") + f"?village={village.code}")
            return redirect(_village_url(entry))
    return _entry_page(request, form, village=village, villages=villages)


def _own_entry(request: AuthedRequest, pk: int, action: str = Action.VIEW) -> Entry:
    """The entry if it lies in the user's scope for ``action``; otherwise 404 (never reveal it exists)."""
    return get_object_or_404(entries_visible(user=request.user, action=action), pk=pk)


@require(Action.ENTER)
@require_http_methods(["GET", "POST"])
def entry_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    entry = _own_entry(request, pk, Action.ENTER)
    initial = {
        "date": entry.date,
        "amount": f"{entry.amount:.2f}",
        "category": entry.category,
        "path": entry.path,
        "summary": entry.summary,
        "counterparty": entry.counterparty,
        "once": new_token(),
        "version": entry.version,
    }
    form = EntryForm(request.POST or None, request.FILES or None, initial=initial)
    # A repeated POST goes to the service even when the row is no longer editable: the first POST may
    # have submitted it, and the repeat is answered with that row, not with an error.
    if request.method == "POST" and form.is_valid() and (once := _once(form)) and _version(form):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                entry = services.entry_update(
                    actor=request.user,
                    entry=entry,
                    date=data["date"],
                    amount=data["amount"],
                    category=data["category"],
                    path=data["path"],
                    summary=data["summary"],
                    counterparty=data["counterparty"],
                    once=once,
                    check_duplicate=not data["confirm_duplicate"],
                    years=open_years(entry.village),
                    expected_version=data["version"],
                )
                if data["evidence"]:
                    services.evidence_add(actor=request.user, entry=entry, files=data["evidence"])
                if "submit" in request.POST:
                    entry = services.entry_submit(actor=request.user, entry=entry)
        except services.RepeatedRequest as exc:
            return _repeated(request, exc, _village_url(entry))
        except ServiceError as exc:
            if exc.code == "frozen":
                messages.error(request, exc.message)
                return redirect(_village_url(entry))
            if exc.code == "conflict":
                _with_fresh_token(form)
            _apply_service_error(form, exc)
        else:
            messages.success(
                request,
                f"已保存{'并提交审核' if entry.status == 'submitted' else ''}："
                f"{entry.village.name} {entry.amount:,.2f} 元",
            )
            return redirect(_village_url(entry))
    elif not entry.is_editable:
        messages.error(request, f"该记录{entry.get_status_display()}，不能修改")
        return redirect(_village_url(entry))
    return _entry_page(request, form, village=entry.village, villages=[entry.village], entry=entry)


def _echo(raw: object) -> dict[str, str]:
    """What the amount echo shows for ``raw``: capital numerals and 万元, or the reader's error."""
    text = str(raw or "")
    if is_blank(text):
        return {}
    if len(text) > 64:
        return {"error": "金额太长，请填写如 12000.00 的金额"}
    try:
        value = parse_amount_cell(text)
    except CellError as exc:
        return {"error": str(exc)}
    return {"words": in_words(value), "wan": f"{fmt_wan(value)}元"}


@require(Action.ENTER)
@require_GET
def amount_echo(request: AuthedRequest) -> HttpResponse:
    """The entry form's amount as the server reads it: ``壹万贰仟元整 / 1.20万元`` (htmx, as it is typed)."""
    return render(request, "ledger/partials/amount_echo.html", {"echo": _echo(request.GET.get("amount"))})


@require(Action.ENTER)
@require_POST
def entry_submit(request: AuthedRequest, pk: int) -> HttpResponse:
    entry = _own_entry(request, pk, Action.ENTER)
    try:
        services.entry_submit(actor=request.user, entry=entry)
        messages.success(request, f"已提交审核：{entry.village.name} {entry.amount:,.2f} 元")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(_village_url(entry))


@require()
@require_POST
def entry_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    """Delete a draft, or withdraw a returned reversal (its author may, even without entry rights)."""
    entry = _own_entry(request, pk)
    url = _village_url(entry)
    what = "撤回冲销" if entry.reverses_id else "删除草稿"
    try:
        services.entry_delete(actor=request.user, entry=entry)
        messages.success(request, f"已{what}：{entry.summary} {entry.amount:,.2f} 元")
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(url)


@require()
@require_POST
def entry_reverse(request: AuthedRequest, pk: int) -> HttpResponse:
    entry = _own_entry(request, pk)
    form = ReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error(form, "冲销必须填写原因"))
        return redirect(_village_url(entry))
    try:
        reversal = services.entry_reverse(actor=request.user, entry=entry, reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        if exc.code == "forbidden":
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        state = (
            "冲销待审核" if reversal.status == Status.SUBMITTED else f"冲销{reversal.get_status_display()}"
        )
        messages.success(
            request,
            f"{state}：{entry.village.name} {entry.date:%Y-%m-%d} {reversal.amount:,.2f} 元，"
            "须由他人审核通过后才从收入中扣除",
        )
    return redirect(_village_url(entry))


def _verifying_many(request: HttpRequest) -> bool:
    return request.POST.get("action") == "verify" and len(request.POST.getlist("ids")) > 1


def _shown_versions(request: HttpRequest, ids: list[int]) -> dict[int, int]:
    """The version of each chosen row as the review page showed it (hidden ``v<id>``): a row changed since
    — returned, corrected and submitted again by someone else — is not verified unseen. A row without one
    (a page from before the field) is not checked."""
    shown = {}
    for pk in ids:
        raw = request.POST.get(f"v{pk}", "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 10:
            shown[pk] = int(raw)
    return shown


@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@require(Action.VERIFY)
@require_http_methods(["GET", "POST"])
@reauth_required(when=_verifying_many)
def review(request: AuthedRequest) -> HttpResponse:
    queue = entries_for_review(user=request.user)
    if request.method == "POST":
        ids = [int(x) for x in request.POST.getlist("ids") if x.isascii() and x.isdigit() and len(x) <= 18]
        chosen = list(queue.filter(pk__in=ids))
        shown = _shown_versions(request, ids)
        action = request.POST.get("action")
        if not ids:
            messages.error(request, "请先勾选要审核或退回的记录")
        elif len(chosen) != len(set(ids)):
            messages.error(request, "所选记录有的已被处理或不在您的审核范围内，请刷新后重试")
        elif action == "verify":
            try:
                done = services.entry_verify(actor=request.user, entries=chosen, expected_versions=shown)
                total = sum((e.amount for e in done), Decimal(0))
                messages.success(request, f"已审核 {len(done)} 条，合计 {fmt_wan(total)}元")
            except ServiceError as exc:
                messages.error(request, exc.message)
        elif action == "return":
            form = ReturnForm(request.POST)
            if not form.is_valid():
                messages.error(request, _form_error(form, "退回必须填写原因") + "，未做任何改动")
            else:
                try:
                    done = services.entry_return(
                        actor=request.user,
                        entries=chosen,
                        reason=form.cleaned_data["reason"],
                        expected_versions=shown,
                    )
                    messages.success(request, f"已退回 {len(done)} 条：{form.cleaned_data['reason']}")
                except ServiceError as exc:
                    messages.error(request, exc.message)
        else:
            messages.error(request, "未知操作")
        return redirect("review")
    summary = queue.aggregate(count=Count("id"), total=Sum("amount"))
    rows = list(
        queue.select_related("contract_payment").prefetch_related("evidence", "recognitions")[:REVIEW_PAGE]
    )
    groups = [(village, list(items)) for village, items in groupby(rows, key=lambda e: e.village)]
    duplicates = likely_duplicates(rows)
    return render(
        request,
        "ledger/review.html",
        {
            "groups": groups,
            "count": summary["count"],
            "shown": len(rows),
            "total": summary["total"] or Decimal("0.00"),
            "reasons": services.COMMON_RETURN_REASONS,
            "own_count": entries_awaiting_others(user=request.user).count(),
            "duplicates": duplicates,
        },
    )


@require(Action.VIEW)
def evidence_file(request: AuthedRequest, pk: int) -> FileResponse:
    evidence = get_object_or_404(Evidence.objects.select_related("entry__village"), pk=pk)
    if not request.user.can(Action.VIEW, evidence.entry.village):
        raise Http404
    handle = evidence.file.open("rb")
    content_type = services.evidence_type(handle.read(16))
    handle.seek(0)
    # Only a recognised PDF or photo is shown inline, with its own type; anything else downloads.
    response = FileResponse(
        handle,
        as_attachment=content_type is None,
        filename=evidence.original_name,
        content_type=content_type or "application/octet-stream",
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response
