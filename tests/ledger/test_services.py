"""Ledger writes: the life of a row (draft → submitted → verified / returned), scope, the freeze and
reversals, and the change record written in the same transaction."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum

from qiangcun.accounts.models import Role
from qiangcun.accounts.services import grant_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.ledger import services
from qiangcun.ledger.models import Entry, Status
from qiangcun.ledger.selectors import entries_for_review, entries_visible
from qiangcun.ledger.services import (
    entry_create,
    entry_delete,
    entry_return,
    entry_reverse,
    entry_submit,
    entry_update,
    entry_verify,
)
from qiangcun.targets.selectors import counted

pytestmark = pytest.mark.usefixtures("fast_hashing")

MARCH = datetime.date(2020, 3, 1)


@pytest.fixture
def clerk(personas):
    return personas["village_clerk"]


@pytest.fixture
def head(personas):
    return personas["station_head"]


@pytest.fixture
def admin(personas):
    return personas["township_admin"]


@pytest.fixture
def create(tree, clerk, category, path):
    """``entry_create`` by the 孙庄村 clerk with sensible defaults."""

    def make(**overrides):
        kwargs = dict(
            actor=clerk,
            village=tree.sunzhuang,
            date=MARCH,
            amount=Decimal("1200.50"),
            category=category,
            path=path,
            summary="  冬瓜销售收入  ",
            counterparty=" 冬瓜收购商 ",
        )
        kwargs.update(overrides)
        return entry_create(**kwargs)

    return make


def _update_kwargs(entry, **overrides):
    kwargs = dict(
        date=entry.date,
        amount=entry.amount,
        category=entry.category,
        path=entry.path,
        summary=entry.summary,
        counterparty=entry.counterparty,
    )
    kwargs.update(overrides)
    return kwargs


def _db_row(entry):
    """Every column of the row, straight from the database."""
    return Entry.objects.filter(pk=entry.pk).values().get()


def _records(entry, action=None):
    qs = ChangeRecord.objects.filter(model="ledger.entry", object_pk=str(entry.pk))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("id"))


# ---------------------------------------------------------------- the life of a row


def test_create_makes_a_draft_and_records_it(tree, clerk, create, category, path):
    entry = create()
    row = _db_row(entry)
    assert row["status"] == Status.DRAFT
    assert row["amount"] == Decimal("1200.50")
    assert row["summary"] == "冬瓜销售收入"  # trimmed
    assert row["counterparty"] == "冬瓜收购商"
    assert row["entered_by_id"] == clerk.pk
    assert row["village_id"] == tree.sunzhuang.pk
    assert row["submitted_at"] is None and row["reviewed_by_id"] is None

    (rec,) = _records(entry)
    assert rec.action == "ledger.create"
    assert rec.actor_id == clerk.pk
    assert rec.before is None
    assert rec.after["amount"] == "1200.50"
    assert rec.after["status"] == "draft"
    assert rec.after["village"] == tree.sunzhuang.pk
    assert rec.after["category"] == category.pk and rec.after["path"] == path.pk
    assert rec.after["date"] == "2020-03-01"
    assert rec.unit_path == tree.sunzhuang.path


def test_create_with_submit_goes_straight_to_review(create):
    entry = create(submit=True)
    row = _db_row(entry)
    assert row["status"] == Status.SUBMITTED
    assert row["submitted_at"] is not None


def test_submit_verify(create, clerk, head):
    entry = create()
    entry = entry_submit(actor=clerk, entry=entry)
    assert _db_row(entry)["status"] == Status.SUBMITTED
    (rec,) = _records(entry, "ledger.submit")
    assert rec.actor_id == clerk.pk
    assert rec.before["status"] == "draft" and rec.after["status"] == "submitted"

    (verified,) = entry_verify(actor=head, entries=[entry])
    row = _db_row(entry)
    assert row["status"] == Status.VERIFIED
    assert row["reviewed_by_id"] == head.pk
    assert row["reviewed_at"] is not None
    assert verified.status == Status.VERIFIED
    (rec,) = _records(entry, "ledger.verify")
    assert rec.actor_id == head.pk
    assert rec.before["status"] == "submitted" and rec.after["status"] == "verified"
    assert counted(Entry.objects.filter(pk=entry.pk), 2020).exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_return_requires_a_reason_and_changes_nothing_without_one(create, clerk, head, reason):
    entry = entry_submit(actor=clerk, entry=create())
    before = _db_row(entry)
    records = ChangeRecord.objects.count()
    with pytest.raises(ServiceError) as info:
        entry_return(actor=head, entries=[entry], reason=reason)
    assert info.value.field == "reason"
    assert "原因" in info.value.message
    assert _db_row(entry) == before
    assert ChangeRecord.objects.count() == records


def test_return_then_edit_and_resubmit_then_verify(create, clerk, head, path):
    entry = entry_submit(actor=clerk, entry=create())
    entry_return(actor=head, entries=[entry], reason="  缺少收入凭证 ")
    row = _db_row(entry)
    assert row["status"] == Status.RETURNED
    assert row["return_reason"] == "缺少收入凭证"
    (rec,) = _records(entry, "ledger.return")
    assert rec.actor_id == head.pk and rec.note == "缺少收入凭证"
    assert rec.before["status"] == "submitted" and rec.after["status"] == "returned"
    assert not counted(Entry.objects.filter(pk=entry.pk), 2020).exists()

    entry = entry_update(actor=clerk, entry=entry, **_update_kwargs(entry, amount=Decimal("1250.00")))
    assert _db_row(entry)["amount"] == Decimal("1250.00")
    assert _db_row(entry)["status"] == Status.RETURNED  # editing does not resubmit
    entry_submit(actor=clerk, entry=entry)
    assert _db_row(entry)["status"] == Status.SUBMITTED
    entry_verify(actor=head, entries=[entry])
    row = _db_row(entry)
    assert row["status"] == Status.VERIFIED
    assert row["return_reason"] == ""
    assert [r.action for r in _records(entry)] == [
        "ledger.create",
        "ledger.submit",
        "ledger.return",
        "ledger.update",
        "ledger.submit",
        "ledger.verify",
    ]


def test_update_draft_records_before_and_after(create, clerk, subsidy):
    entry = create()
    entry_update(
        actor=clerk,
        entry=entry,
        **_update_kwargs(entry, amount=Decimal("99.99"), category=subsidy, summary="补助", counterparty=""),
    )
    row = _db_row(entry)
    assert row["amount"] == Decimal("99.99") and row["category_id"] == subsidy.pk and row["summary"] == "补助"
    (rec,) = _records(entry, "ledger.update")
    assert rec.actor_id == clerk.pk
    assert rec.before["amount"] == "1200.50" and rec.after["amount"] == "99.99"
    assert rec.before["category"] != rec.after["category"] == subsidy.pk


def test_submitted_rows_cannot_be_edited_or_deleted(create, clerk):
    entry = entry_submit(actor=clerk, entry=create())
    before = _db_row(entry)
    with pytest.raises(ServiceError):
        entry_update(actor=clerk, entry=entry, **_update_kwargs(entry, amount=Decimal("1.00")))
    with pytest.raises(ServiceError):
        entry_delete(actor=clerk, entry=entry)
    with pytest.raises(ServiceError):
        entry_submit(actor=clerk, entry=entry)
    assert _db_row(entry) == before


def test_returned_rows_cannot_be_deleted(create, clerk, head):
    entry = entry_submit(actor=clerk, entry=create())
    entry_return(actor=head, entries=[entry], reason="日期有误")
    with pytest.raises(ServiceError):
        entry_delete(actor=clerk, entry=entry)
    assert Entry.objects.filter(pk=entry.pk).exists()


def test_delete_draft(create, clerk):
    entry = create()
    pk = entry.pk
    entry_delete(actor=clerk, entry=entry)
    assert not Entry.objects.filter(pk=pk).exists()
    (rec,) = ChangeRecord.objects.filter(model="ledger.entry", object_pk=str(pk), action="ledger.delete")
    assert rec.actor_id == clerk.pk
    assert rec.before["amount"] == "1200.50" and rec.after is None


def test_only_submitted_rows_can_be_verified_or_returned(create, head):
    draft = create()
    with pytest.raises(ServiceError):
        entry_verify(actor=head, entries=[draft])
    with pytest.raises(ServiceError):
        entry_return(actor=head, entries=[draft], reason="缺少收入凭证")
    assert _db_row(draft)["status"] == Status.DRAFT
    with pytest.raises(ServiceError):
        entry_verify(actor=head, entries=[])


# ---------------------------------------------------------------- amounts and dates


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("0"),
        Decimal("0.00"),
        Decimal("-5.00"),
        Decimal("12.345"),
        Decimal("NaN"),
        Decimal("1000000000.01"),
    ],
)
def test_bad_amounts_are_refused(create, amount):
    records = ChangeRecord.objects.count()
    with pytest.raises(ServiceError) as info:
        create(amount=amount)
    assert info.value.field == "amount"
    assert Entry.objects.count() == 0
    assert ChangeRecord.objects.count() == records


@pytest.mark.parametrize("amount", [1200, 1200.5, "1200.50"])
def test_amounts_must_be_decimal(create, amount):
    with pytest.raises(ServiceError):
        create(amount=amount)
    assert Entry.objects.count() == 0


def test_bad_amount_on_update_is_refused(create, clerk):
    entry = create()
    for amount in (Decimal("0"), Decimal("-1"), Decimal("0.001")):
        with pytest.raises(ServiceError):
            entry_update(actor=clerk, entry=entry, **_update_kwargs(entry, amount=amount))
    assert _db_row(entry)["amount"] == Decimal("1200.50")


def test_future_dates_are_refused(settings, create):
    settings.TODAY = datetime.date(2020, 4, 17)
    with pytest.raises(ServiceError) as info:
        create(date=datetime.date(2020, 4, 18))
    assert info.value.field == "date"
    assert Entry.objects.count() == 0
    entry = create(date=datetime.date(2020, 4, 17))  # today itself is fine
    assert entry.date == datetime.date(2020, 4, 17)


def test_blank_summary_is_refused(create):
    with pytest.raises(ServiceError) as info:
        create(summary="   ")
    assert info.value.field == "summary"


def test_rows_belong_to_villages_only(tree, clerk, create):
    grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=tree.district1)
    with pytest.raises(ServiceError) as info:
        create(village=tree.district1)
    assert info.value.field == "village"
    assert Entry.objects.count() == 0


# ---------------------------------------------------------------- scope


def test_clerk_cannot_write_in_another_village(tree, personas, create, category, path):
    other = personas["other_clerk"]  # 编席杨村
    with pytest.raises(PermissionDeniedError):
        create(actor=other)
    assert Entry.objects.count() == 0

    entry = create()
    before = _db_row(entry)
    with pytest.raises(PermissionDeniedError):
        entry_update(actor=other, entry=entry, **_update_kwargs(entry, amount=Decimal("1.00")))
    with pytest.raises(PermissionDeniedError):
        entry_submit(actor=other, entry=entry)
    with pytest.raises(PermissionDeniedError):
        entry_delete(actor=other, entry=entry)
    assert _db_row(entry) == before
    assert [r.action for r in _records(entry)] == ["ledger.create"]


@pytest.mark.parametrize(
    "role", ["station_head", "township_admin", "leader", "auditor", "system_admin", "no_role"]
)
def test_non_village_roles_cannot_enter_rows(personas, create, role):
    with pytest.raises(PermissionDeniedError):
        create(actor=personas[role])
    assert Entry.objects.count() == 0


def test_anonymous_and_inactive_cannot_enter(personas, create, clerk):
    with pytest.raises(PermissionDeniedError):
        create(actor=None)
    clerk.is_active = False
    clerk.save()
    with pytest.raises(PermissionDeniedError):
        create(actor=clerk)
    assert Entry.objects.count() == 0


def test_station_head_cannot_verify_or_return_outside_the_station(tree, personas, head, make_entry):
    outside = make_entry(tree.bianxiyang, status="submitted")  # 二号网格站
    with pytest.raises(PermissionDeniedError):
        entry_verify(actor=head, entries=[outside])
    with pytest.raises(PermissionDeniedError):
        entry_return(actor=head, entries=[outside], reason="缺少收入凭证")
    assert _db_row(outside)["status"] == Status.SUBMITTED
    inside = make_entry(tree.yanglaotou, status="submitted")  # 一号网格站, another district
    entry_verify(actor=head, entries=[inside])
    assert _db_row(inside)["status"] == Status.VERIFIED


@pytest.mark.parametrize("role", ["village_clerk", "village_secretary", "leader", "instructor", "auditor"])
def test_roles_without_verify_cannot_verify(personas, make_entry, tree, role):
    entry = make_entry(tree.sunzhuang, status="submitted")
    with pytest.raises(PermissionDeniedError):
        entry_verify(actor=personas[role], entries=[entry])
    assert _db_row(entry)["status"] == Status.SUBMITTED


def test_nobody_verifies_their_own_row(tree, head, category, path):
    grant_create(actor=None, user=head, role=Role.VILLAGE_CLERK, unit=tree.sunzhuang)
    entry = entry_create(
        actor=head,
        village=tree.sunzhuang,
        date=MARCH,
        amount=Decimal("500.00"),
        category=category,
        path=path,
        summary="自录",
        submit=True,
    )
    with pytest.raises(PermissionDeniedError, match="自己"):
        entry_verify(actor=head, entries=[entry])
    assert _db_row(entry)["status"] == Status.SUBMITTED


def test_verify_many_is_all_or_none(tree, head, make_entry):
    good = [make_entry(v, status="submitted") for v in (tree.sunzhuang, tree.liudao, tree.yanglaotou)]
    outside = make_entry(tree.bianxiyang, status="submitted")
    draft = make_entry(tree.liudao, status="draft")
    records = ChangeRecord.objects.count()
    for bad in (outside, draft):
        with pytest.raises(ServiceError):
            entry_verify(actor=head, entries=[*good, bad])
        with pytest.raises(ServiceError):
            entry_return(actor=head, entries=[bad, *good], reason="缺少收入凭证")
    assert Entry.objects.filter(status=Status.VERIFIED).count() == 0
    assert Entry.objects.filter(status=Status.RETURNED).count() == 0
    assert ChangeRecord.objects.count() == records
    verified = entry_verify(actor=head, entries=good)
    assert sorted(e.pk for e in verified) == sorted(e.pk for e in good)
    assert Entry.objects.filter(status=Status.VERIFIED).count() == 3


def test_verify_refuses_rows_that_vanished(make_entry, tree, head):
    entry = make_entry(tree.sunzhuang, status="submitted")
    ghost = Entry(pk=entry.pk + 1000)
    with pytest.raises(ServiceError):
        entry_verify(actor=head, entries=[entry, ghost])
    assert _db_row(entry)["status"] == Status.SUBMITTED


def test_selectors_are_scoped(tree, personas, make_entry):
    own = make_entry(tree.sunzhuang, status="submitted")
    near = make_entry(tree.yanglaotou, status="submitted")
    far = make_entry(tree.bianxiyang, status="submitted")
    make_entry(tree.liudao, status="draft")
    assert set(entries_visible(user=personas["village_clerk"])) == {own}
    assert set(entries_visible(user=personas["other_clerk"])) == {far}
    assert set(entries_visible(user=personas["auditor"])) == set()
    assert set(entries_visible(user=None)) == set()
    assert set(entries_for_review(user=personas["station_head"])) == {own, near}
    assert set(entries_for_review(user=personas["district_secretary"])) == {own}
    assert set(entries_for_review(user=personas["township_admin"])) == {own, near, far}
    assert set(entries_for_review(user=personas["village_clerk"])) == set()


# ---------------------------------------------------------------- the freeze


@pytest.fixture
def verified(tree, make_entry):
    return make_entry(tree.sunzhuang, amount="8888.88", status="verified")


def test_services_refuse_to_touch_a_verified_row(verified, clerk, head, admin):
    before = _db_row(verified)
    records = ChangeRecord.objects.count()
    attempts = [
        lambda: entry_update(actor=clerk, entry=verified, **_update_kwargs(verified, amount=Decimal("1.00"))),
        lambda: entry_submit(actor=clerk, entry=verified),
        lambda: entry_delete(actor=clerk, entry=verified),
        lambda: entry_return(actor=head, entries=[verified], reason="金额与凭证不符"),
        lambda: entry_verify(actor=head, entries=[verified]),
        lambda: entry_verify(actor=admin, entries=[verified]),
    ]
    for attempt in attempts:
        with pytest.raises(ServiceError):
            attempt()
    assert _db_row(verified) == before
    assert ChangeRecord.objects.count() == records


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Decimal("1.00")},
        {"status": Status.DRAFT},
        {"summary": "改过的摘要"},
        {"date": datetime.date(2020, 1, 1)},
    ],
)
def test_database_refuses_update_of_a_verified_row(verified, change):
    before = _db_row(verified)
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=verified.pk).update(**change)
    assert _db_row(verified) == before


def test_database_refuses_delete_of_a_verified_row(verified):
    before = _db_row(verified)
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=verified.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.all().delete()
    assert _db_row(verified) == before


def test_database_refuses_raw_sql_and_save_on_a_verified_row(verified):
    before = _db_row(verified)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_entry SET amount = 1 WHERE id = %s", [verified.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_entry WHERE id = %s", [verified.pk])
    obj = Entry.objects.get(pk=verified.pk)
    obj.amount = Decimal("1.00")
    with pytest.raises(DatabaseError), transaction.atomic():
        obj.save()
    assert _db_row(verified) == before


def test_the_freeze_spares_rows_not_yet_verified(tree, make_entry):
    """The triggers must not get in the way of the normal life of a row."""
    draft = make_entry(tree.sunzhuang, status="draft")
    Entry.objects.filter(pk=draft.pk).update(amount=Decimal("2.00"))
    assert _db_row(draft)["amount"] == Decimal("2.00")
    Entry.objects.filter(pk=draft.pk).delete()
    assert not Entry.objects.filter(pk=draft.pk).exists()


# ---------------------------------------------------------------- reversals


def _counted_sum(*entries):
    rows = Entry.objects.filter(pk__in=[e.pk for e in entries])
    return counted(rows, 2020).aggregate(s=Sum("amount"))["s"]


def test_reversal_needs_a_second_person_and_nets_to_zero(verified, head, admin):
    """Review finding: a station head could enter and verify a reversal alone. Now nobody can."""
    before = _db_row(verified)
    reversal = entry_reverse(actor=head, entry=verified, reason="金额录错")
    row = _db_row(reversal)
    assert row["amount"] == -verified.amount == Decimal("-8888.88")
    assert row["reverses_id"] == verified.pk
    assert row["status"] == Status.SUBMITTED and row["reviewed_by_id"] is None
    assert row["entered_by_id"] == head.pk
    assert row["date"] == verified.date
    assert row["village_id"] == verified.village_id
    assert row["category_id"] == verified.category_id and row["path_id"] == verified.path_id
    assert "金额录错" in row["summary"]
    assert _counted_sum(verified, reversal) == verified.amount  # not counted before a second person verifies
    with pytest.raises(PermissionDeniedError, match="自己录入"):
        entry_verify(actor=head, entries=[reversal])
    entry_verify(actor=admin, entries=[reversal])
    assert _db_row(verified) == before  # the original is never touched
    assert _counted_sum(verified, reversal) == Decimal("0.00")
    (rec,) = _records(reversal, "ledger.reverse")
    assert rec.actor_id == head.pk and rec.note == "金额录错"
    assert rec.after["amount"] == "-8888.88" and rec.after["reverses"] == verified.pk
    # The reversal is frozen too.
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=reversal.pk).update(amount=Decimal("-1.00"))


def test_a_returned_reversal_can_be_withdrawn_and_redone(verified, head, clerk, admin):
    """Review finding: a returned reversal used to block any correction of the original for good."""
    reversal = entry_reverse(actor=head, entry=verified, reason="金额录错")
    entry_return(actor=admin, entries=[reversal], reason="请写明正确金额")
    with pytest.raises(ServiceError, match="冲销过"):
        entry_reverse(actor=clerk, entry=verified, reason="再冲")
    entry_delete(actor=head, entry=reversal)  # its author withdraws it
    assert not Entry.objects.filter(pk=reversal.pk).exists()
    again = entry_reverse(actor=clerk, entry=verified, reason="金额录错，应为 888.88")
    entry_verify(actor=head, entries=[again])
    assert _counted_sum(verified, again) == Decimal("0.00")


def test_reversal_by_a_clerk_waits_for_verification(verified, clerk, head):
    reversal = entry_reverse(actor=clerk, entry=verified, reason="重复入账")
    row = _db_row(reversal)
    assert row["status"] == Status.SUBMITTED
    assert row["reviewed_by_id"] is None
    assert row["entered_by_id"] == clerk.pk
    assert _counted_sum(verified, reversal) == verified.amount  # not counted until verified
    entry_verify(actor=head, entries=[reversal])
    assert _counted_sum(verified, reversal) == Decimal("0.00")


def test_returned_reversal_cannot_be_edited_into_income(verified, clerk, head):
    reversal = entry_reverse(actor=clerk, entry=verified, reason="重复入账")
    entry_return(actor=head, entries=[reversal], reason="请补充说明")
    with pytest.raises(ServiceError):
        entry_update(actor=clerk, entry=reversal, **_update_kwargs(reversal, amount=Decimal("8888.88")))
    assert _db_row(reversal)["amount"] == Decimal("-8888.88")


def test_reversal_of_own_row_is_not_self_verified(tree, head, category, path, admin):
    """Whoever entered the original does not verify its reversal either."""
    grant_create(actor=None, user=head, role=Role.VILLAGE_CLERK, unit=tree.sunzhuang)
    original = entry_create(
        actor=head,
        village=tree.sunzhuang,
        date=MARCH,
        amount=Decimal("300.00"),
        category=category,
        path=path,
        summary="自录",
        submit=True,
    )
    entry_verify(actor=admin, entries=[original])
    reversal = entry_reverse(actor=head, entry=original, reason="录错")
    assert _db_row(reversal)["status"] == Status.SUBMITTED
    entry_verify(actor=admin, entries=[reversal])
    assert _counted_sum(original, reversal) == Decimal("0.00")


def test_reversal_refusals(verified, head, clerk, personas, make_entry, tree):
    reversal = entry_reverse(actor=head, entry=verified, reason="金额录错")
    count = Entry.objects.count()
    with pytest.raises(ServiceError, match="冲销过"):
        entry_reverse(actor=head, entry=verified, reason="再冲一次")
    with pytest.raises(ServiceError):
        entry_reverse(actor=head, entry=reversal, reason="冲销的冲销")
    with pytest.raises(PermissionDeniedError):
        entry_reverse(actor=personas["other_clerk"], entry=verified, reason="别村")
    other = make_entry(tree.sunzhuang, status="verified")
    for reason in ("", "   "):
        with pytest.raises(ServiceError):
            entry_reverse(actor=head, entry=other, reason=reason)
    for status in ("draft", "submitted"):
        with pytest.raises(ServiceError):
            entry_reverse(actor=head, entry=make_entry(tree.sunzhuang, status=status), reason="未审核")
    for role in ("leader", "auditor", "instructor"):
        with pytest.raises(PermissionDeniedError):
            entry_reverse(actor=personas[role], entry=other, reason="无权")
    assert Entry.objects.count() == count + 3  # only the rows made in this test
    assert not Entry.objects.filter(reverses=other).exists()


# ---------------------------------------------------------------- the change record is part of the write


@pytest.fixture
def broken_audit(monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services.audit, "record", fail)


def test_no_write_without_its_change_record(tree, create, clerk, head, make_entry, verified, request):
    draft = create()
    submitted = make_entry(tree.sunzhuang, status="submitted")
    entries = Entry.objects.count()
    snapshot = {e.pk: _db_row(e) for e in (draft, submitted, verified)}
    request.getfixturevalue("broken_audit")
    attempts = [
        lambda: create(),
        lambda: entry_update(actor=clerk, entry=draft, **_update_kwargs(draft, amount=Decimal("5.00"))),
        lambda: entry_submit(actor=clerk, entry=draft),
        lambda: entry_delete(actor=clerk, entry=draft),
        lambda: entry_verify(actor=head, entries=[submitted]),
        lambda: entry_return(actor=head, entries=[submitted], reason="缺少收入凭证"),
        lambda: entry_reverse(actor=head, entry=verified, reason="金额录错"),
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError):
            attempt()
    assert Entry.objects.count() == entries
    assert {pk: Entry.objects.filter(pk=pk).values().get() for pk in snapshot} == snapshot


def test_every_service_write_leaves_one_record_with_its_actor(tree, create, clerk, head):
    last = ChangeRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
    a = create()
    entry_update(actor=clerk, entry=a, **_update_kwargs(a, amount=Decimal("10.00")))
    entry_submit(actor=clerk, entry=a)
    entry_return(actor=head, entries=[a], reason="日期有误")
    entry_submit(actor=clerk, entry=a)
    entry_verify(actor=head, entries=[a])
    entry_reverse(actor=head, entry=a, reason="录错")
    b = create()
    entry_delete(actor=clerk, entry=b)
    new = list(ChangeRecord.objects.filter(pk__gt=last).order_by("id"))
    assert [(r.action, r.actor_id) for r in new] == [
        ("ledger.create", clerk.pk),
        ("ledger.update", clerk.pk),
        ("ledger.submit", clerk.pk),
        ("ledger.return", head.pk),
        ("ledger.submit", clerk.pk),
        ("ledger.verify", head.pk),
        ("ledger.reverse", head.pk),
        ("ledger.create", clerk.pk),
        ("ledger.delete", clerk.pk),
    ]
    assert all(r.unit_path == tree.sunzhuang.path for r in new)
    for r in new:
        if r.action in ("ledger.update", "ledger.submit", "ledger.return", "ledger.verify"):
            assert r.before is not None and r.after is not None and r.before != r.after


# ---------------------------------------------------------------- evidence files


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("收据.html", b"<html><script>alert(1)</script></html>"),
        ("收据.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("收据.png", b"<script>alert(1)</script>"),  # the name lies; the bytes decide
        ("收据.xlsx", b"PK\x03\x04" + b"\x00" * 20),
    ],
)
def test_evidence_must_be_a_pdf_or_a_photo(settings, tmp_path, create, clerk, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qiangcun.ledger.models import Evidence

    settings.MEDIA_ROOT = tmp_path
    entry = create()
    records = ChangeRecord.objects.count()
    with pytest.raises(ServiceError) as caught:
        services.evidence_add(actor=clerk, entry=entry, files=[SimpleUploadedFile(name, content)])
    assert name in caught.value.message and "不是 PDF 或照片" in caught.value.message
    assert caught.value.field == "evidence"
    assert not Evidence.objects.exists()
    assert ChangeRecord.objects.count() == records
    assert not any(tmp_path.rglob("*.*"))


@pytest.mark.parametrize(
    ("name", "content", "kind"), [("收据.png", PNG, "image/png"), ("合同.pdf", PDF, "application/pdf")]
)
def test_pdf_and_photos_are_accepted_and_recognised(settings, tmp_path, create, clerk, name, content, kind):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    entry = create()
    [evidence] = services.evidence_add(actor=clerk, entry=entry, files=[SimpleUploadedFile(name, content)])
    assert evidence.original_name == name
    with evidence.file.open("rb") as fh:
        assert services.evidence_type(fh.read(16)) == kind


def test_migrate_puts_the_freeze_back(make_entry, tree):
    """Review finding: a migration that rebuilds ledger_entry on SQLite drops its triggers; every
    migrate (post_migrate) installs them again."""
    from django.core.management.sql import emit_post_migrate_signal

    from qiangcun.ledger import freeze

    entry = make_entry(tree.sunzhuang, status="verified")
    freeze.uninstall(connection)
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(summary="改")
    entry.refresh_from_db()
    assert entry.summary != "改"


def test_one_bad_file_among_several_writes_none(settings, tmp_path, create, clerk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qiangcun.ledger.models import Evidence

    settings.MEDIA_ROOT = tmp_path
    entry = create()
    files = [SimpleUploadedFile("收据.png", PNG), SimpleUploadedFile("收据.html", b"<html></html>")]
    with pytest.raises(ServiceError, match=r"收据\.html"):
        services.evidence_add(actor=clerk, entry=entry, files=files)
    assert not Evidence.objects.exists()
    assert not any(tmp_path.rglob("*.*")), "the good file was not written either"
