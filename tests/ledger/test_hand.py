"""The ledger services against the hand: one-time keys, identical rows, open years (issue 6 §4)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from qiangcun.core.errors import ServiceError
from qiangcun.ledger import selectors
from qiangcun.ledger.models import Entry, RequestKey
from qiangcun.ledger.services import (
    DuplicateEntryError,
    Once,
    RepeatedRequest,
    entry_create,
    entry_update,
)

MARCH = datetime.date(2020, 3, 5)


@pytest.fixture(autouse=True)
def _today(settings):
    settings.TODAY = datetime.date(2020, 4, 17)


@pytest.fixture
def clerk(personas):
    return personas["village_clerk"]


@pytest.fixture
def create(tree, clerk, category, path):
    def make(**overrides):
        kwargs = dict(
            actor=clerk,
            village=tree.sunzhuang,
            date=MARCH,
            amount=Decimal("1200.50"),
            category=category,
            path=path,
            summary="冬瓜销售收入",
            counterparty="冬瓜收购商",
        )
        kwargs.update(overrides)
        return entry_create(**kwargs)

    return make


def test_a_key_used_again_with_the_same_content_returns_the_first_row(create, clerk):
    once = Once(kind=RequestKey.Kind.FORM, key="t-1")
    first = create(once=once)
    with pytest.raises(RepeatedRequest) as caught:
        create(once=once, summary="  冬瓜销售收入 ")  # the same once stripped
    assert caught.value.used.entry == first
    assert Entry.objects.count() == 1
    assert RequestKey.objects.get().entry == first


def test_a_key_used_again_with_other_content_is_a_conflict(create):
    once = Once(kind=RequestKey.Kind.API, key="k-1")
    create(once=once)
    with pytest.raises(ServiceError) as caught:
        create(once=once, amount=Decimal("1.00"))
    assert caught.value.code == "conflict" and not isinstance(caught.value, RepeatedRequest)
    assert Entry.objects.count() == 1


def test_a_refused_write_does_not_spend_its_key(create):
    once = Once(kind=RequestKey.Kind.FORM, key="t-2")
    with pytest.raises(ServiceError):
        create(once=once, summary=" ")
    assert not RequestKey.objects.exists()
    assert create(once=once, summary=" 补上摘要 ").summary == "补上摘要"


def test_the_form_and_the_api_keep_separate_keys(create):
    create(once=Once(kind=RequestKey.Kind.FORM, key="same"))
    create(once=Once(kind=RequestKey.Kind.API, key="same"), summary="另一笔")
    assert Entry.objects.count() == 2


def test_an_update_claims_its_key_before_the_state_check(create, clerk, category, path):
    entry = create()
    once = Once(kind=RequestKey.Kind.FORM, key="edit-1")
    kwargs = dict(
        actor=clerk,
        entry=entry,
        date=MARCH,
        amount=Decimal("1300.00"),
        category=category,
        path=path,
        summary="冬瓜销售收入",
        once=once,
    )
    entry_update(**kwargs)
    Entry.objects.filter(pk=entry.pk).update(status="submitted")
    with pytest.raises(RepeatedRequest):
        entry_update(**kwargs)


def test_identical_rows_are_asked_about_only_when_the_caller_asks(create):
    first = create()
    create()  # trusted callers (the demo, fixtures) are not asked
    with pytest.raises(DuplicateEntryError) as caught:
        create(check_duplicate=True)
    assert caught.value.message.startswith("已有相同记录，仍要保存？孙庄村已有 2 条相同记录")
    assert caught.value.alike[0].pk == first.pk
    create(check_duplicate=True, summary="另一笔冬瓜")
    assert Entry.objects.count() == 3


def test_years_refuse_dates_outside_them_with_the_reason(create):
    with pytest.raises(ServiceError) as caught:
        create(date=datetime.date(2019, 12, 31), years=[2020])
    assert caught.value.field == "date"
    assert "属于已经结束的 2019 年度，现只能录入 2020 年的台账" in caught.value.message
    with pytest.raises(ServiceError) as caught:
        create(date=datetime.date(2019, 12, 31), years=[])
    assert "本年度的年度任务还没有建立" in caught.value.message
    assert not Entry.objects.exists()
    assert create(years=[2020]).date == MARCH
    assert create(date=datetime.date(2019, 12, 31), summary="历史").date.year == 2019  # years=None: unchecked


def test_open_years_come_from_the_targets_rule(tree, other_township, settings):
    assert selectors.open_years(tree.sunzhuang) == [2020]
    settings.TODAY = datetime.date(2021, 1, 2)
    assert selectors.open_years(tree.sunzhuang) == []
    assert selectors.open_years(other_township.village) == []


@pytest.mark.django_db(transaction=True)
def test_two_taps_at_the_same_moment_make_one_row(tree, clerk, category, path):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections (the SQLite test database is in memory)")
    once = Once(kind=RequestKey.Kind.FORM, key="tap")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tap() -> None:
        try:
            barrier.wait()
            entry_create(
                actor=clerk,
                village=tree.sunzhuang,
                date=MARCH,
                amount=Decimal("500.00"),
                category=category,
                path=path,
                summary="同时点了两下",
                once=once,
            )
            outcomes.append("created")
        except RepeatedRequest:
            outcomes.append("repeated")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "repeated"]
    assert Entry.objects.filter(summary="同时点了两下").count() == 1
