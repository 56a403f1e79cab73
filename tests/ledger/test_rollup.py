"""The monthly roll-up (``MonthIncome``) always equals the ledger: after verify, return, reverse, import
and on rebuild — and the progress table read through it equals the ledger summed row by row."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiangcun.accounts.models import Role
from qiangcun.core.errors import ServiceError
from qiangcun.core.models import ChangeRecord
from qiangcun.core.money import from_fen, to_fen
from qiangcun.ledger import rollup
from qiangcun.ledger.importing.ledger import ParsedRow
from qiangcun.ledger.models import Entry, MonthIncome, Status, YearIncome
from qiangcun.ledger.services import entries_import, entry_return, entry_reverse, entry_verify
from qiangcun.targets.selectors import progress
from tests.conftest import _user

ARTICLE_DAY = datetime.date(2020, 4, 17)


@pytest.fixture
def second_admin(tree, personas):
    """A second township admin: verifies what the first entered (no one verifies their own rows)."""
    return _user("admin2", Role.TOWNSHIP_ADMIN, tree.township)


def lines() -> dict[tuple[int, int, datetime.date], tuple[Decimal, int]]:
    return {
        (v, c, m): (amount, n)
        for v, c, m, amount, n in MonthIncome.objects.values_list(
            "village_id", "category_id", "month", "amount", "rows"
        )
    }


def from_the_ledger() -> dict[tuple[int, int, datetime.date], tuple[Decimal, int]]:
    """The roll-up computed here, in Python, row by row: no SQL grouping shared with the code under test."""
    sums: dict[tuple[int, int, datetime.date], list] = defaultdict(lambda: [Decimal("0.00"), 0])
    for v, c, day, amount, status in Entry.objects.values_list(
        "village_id", "category_id", "date", "amount", "status"
    ):
        if status == Status.VERIFIED:
            line = sums[(v, c, day.replace(day=1))]
            line[0] += amount
            line[1] += 1
    return {key: (amount, n) for key, (amount, n) in sums.items()}


def year_lines() -> dict[tuple[int, int, int], tuple[Decimal, int]]:
    return {
        (v, c, y): (amount, n)
        for v, c, y, amount, n in YearIncome.objects.values_list(
            "village_id", "category_id", "year", "amount", "rows"
        )
    }


def years_from_the_ledger() -> dict[tuple[int, int, int], tuple[Decimal, int]]:
    """The yearly lines computed here from the monthly ones computed here."""
    sums: dict[tuple[int, int, int], list] = defaultdict(lambda: [Decimal("0.00"), 0])
    for (v, c, month), (amount, n) in from_the_ledger().items():
        line = sums[(v, c, month.year)]
        line[0] += amount
        line[1] += n
    return {key: (amount, n) for key, (amount, n) in sums.items()}


def test_verifying_adds_to_the_month_in_the_same_transaction(tree, personas, make_entry, category):
    a = make_entry(tree.sunzhuang, "1200.50", datetime.date(2020, 3, 1), status="verified")
    make_entry(tree.sunzhuang, "99.49", datetime.date(2020, 3, 31), status="verified")
    make_entry(tree.sunzhuang, "7.00", datetime.date(2020, 4, 1), status="verified")
    make_entry(tree.sunzhuang, "5000.00", datetime.date(2020, 3, 2), status="submitted")  # not yet
    make_entry(tree.liudao, "0.01", datetime.date(2020, 3, 5), status="draft")
    assert lines() == {
        (tree.sunzhuang.pk, category.pk, datetime.date(2020, 3, 1)): (Decimal("1299.99"), 2),
        (tree.sunzhuang.pk, category.pk, datetime.date(2020, 4, 1)): (Decimal("7.00"), 1),
    }
    assert lines() == from_the_ledger() and rollup.check() == []
    assert year_lines() == {(tree.sunzhuang.pk, category.pk, 2020): (Decimal("1306.99"), 3)}
    assert a.status == Status.VERIFIED


def test_a_verify_that_fails_adds_nothing(tree, personas, make_entry):
    """All or none: a batch with one row the reviewer may not verify leaves the roll-up as it was."""
    ok = make_entry(tree.sunzhuang, "100.00", status="submitted")
    draft = make_entry(tree.liudao, "200.00", status="draft")  # not submitted: refused
    with pytest.raises(ServiceError):
        entry_verify(actor=personas["township_admin"], entries=[ok, draft])
    assert MonthIncome.objects.count() == 0
    entry_verify(actor=personas["township_admin"], entries=[ok])
    assert rollup.check() == [] and MonthIncome.objects.get().amount == Decimal("100.00")


def test_returning_changes_nothing_and_a_verified_reversal_takes_it_off(tree, personas, make_entry, category):
    admin = personas["township_admin"]
    original = make_entry(tree.sunzhuang, "3000.00", datetime.date(2020, 2, 10), status="verified")
    returned = make_entry(tree.sunzhuang, "450.00", datetime.date(2020, 2, 11), status="submitted")
    entry_return(actor=admin, entries=[returned], reason="金额不对")
    assert lines() == {(tree.sunzhuang.pk, category.pk, datetime.date(2020, 2, 1)): (Decimal("3000.00"), 1)}
    reversal = entry_reverse(actor=personas["village_clerk"], entry=original, reason="重复录入")
    assert lines() == from_the_ledger()  # submitted: not yet off
    entry_verify(actor=admin, entries=[reversal])
    assert lines() == {(tree.sunzhuang.pk, category.pk, datetime.date(2020, 2, 1)): (Decimal("0.00"), 2)}
    assert rollup.check() == []
    p = progress(user=admin, unit=tree.township, year=2020, as_of=datetime.date(2020, 12, 31))
    assert {r.code: r.income for r in p.villages}[tree.sunzhuang.code] == Decimal("0.00")


def _parsed(tree, category, path, *amounts: str, date=datetime.date(2020, 3, 1)):
    return [
        ParsedRow(
            row=n,
            village=tree.villages[n % 4],
            date=date + datetime.timedelta(days=n * 11),
            amount=Decimal(amount),
            category=category,
            path=path,
            summary=f"导入第 {n} 行",
            counterparty="",
        )
        for n, amount in enumerate(amounts, start=2)
    ]


def test_a_verified_import_adds_every_row_and_a_submitted_one_none_until_verified(
    tree, personas, category, subsidy, path, settings, second_admin
):
    settings.TODAY = datetime.date(2021, 1, 10)  # 2020 is closed: a verified import may migrate it
    admin = personas["township_admin"]
    rows = _parsed(tree, category, path, "12000.00", "-2000.00", "0.01", "99999.99", "123.45", "8.10")
    rows += _parsed(tree, subsidy, path, "500.00", date=datetime.date(2020, 6, 30))
    entries_import(actor=admin, rows=rows, file_name="2020.xlsx", sha256="a" * 64, verified=True)
    assert rollup.check() == [] and lines() == from_the_ledger()
    assert year_lines() == years_from_the_ledger() and len(year_lines()) == 5
    assert sum(n for _a, n in lines().values()) == 7
    assert sum((a for a, _n in lines().values()), Decimal(0)) == sum((r.amount for r in rows), Decimal(0))

    before = lines()
    pending = _parsed(tree, category, path, "777.77", "1.00", date=datetime.date(2020, 11, 2))
    outcome = entries_import(actor=admin, rows=pending, file_name="补录.xlsx", sha256="b" * 64)
    assert lines() == before  # submitted rows count once someone else verifies them
    imported = list(Entry.objects.filter(import_batch=outcome.batch))
    entry_verify(actor=second_admin, entries=imported)
    assert rollup.check() == [] and lines() == from_the_ledger()


def test_a_dry_run_import_adds_nothing(tree, personas, category, path, settings):
    settings.TODAY = datetime.date(2021, 1, 10)
    rows = _parsed(tree, category, path, "100.00")
    entries_import(
        actor=personas["township_admin"],
        rows=rows,
        file_name="x.xlsx",
        sha256="c" * 64,
        verified=True,
        dry_run=True,
    )
    assert MonthIncome.objects.count() == 0


def test_check_names_each_difference_and_rebuild_repairs_it(tree, personas, make_entry, category, capsys):
    make_entry(tree.sunzhuang, "1000.00", datetime.date(2020, 3, 1), status="verified")
    make_entry(tree.liudao, "250.00", datetime.date(2020, 5, 1), status="verified")
    # Tamper with the roll-up behind the services' back: one line wrong by a fen, one missing.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_monthincome SET amount = amount + 1 WHERE village_id = %s", [tree.sunzhuang.pk]
        )
        cursor.execute("DELETE FROM ledger_monthincome WHERE village_id = %s", [tree.liudao.pk])
        cursor.execute("UPDATE ledger_yearincome SET rows = rows + 1 WHERE village_id = %s", [tree.liudao.pk])
    differences = rollup.check()
    assert [(d.period, d.village_id, d.month, d.ledger_fen, d.rollup_fen) for d in differences] == [
        ("month", tree.sunzhuang.pk, datetime.date(2020, 3, 1), 100000, 100001),
        ("month", tree.liudao.pk, datetime.date(2020, 5, 1), 25000, 0),
        ("year", tree.liudao.pk, datetime.date(2020, 1, 1), 25000, 25000),
    ]
    assert "2020 年全年：台账 1 条 250.00 元，汇总 2 条 250.00 元" in str(differences[2])
    with pytest.raises(CommandError, match="3 处不一致"):
        call_command("rollup", "--check")
    assert "1000.00 元，汇总 1 条 1000.01 元" in capsys.readouterr().out

    call_command("rollup", "--rebuild")
    assert rollup.check() == [] and lines() == from_the_ledger() and year_lines() == years_from_the_ledger()
    call_command("rollup", "--check")
    assert "一致" in capsys.readouterr().out
    assert ChangeRecord.objects.filter(action="ledger.rollup_rebuild").count() == 1


def test_the_migration_fills_the_roll_up_of_rows_already_verified(tree, personas, make_entry):
    """An installation that upgrades has verified rows before the table exists: the migration adds them."""
    from importlib import import_module

    from django.apps import apps

    make_entry(tree.sunzhuang, "321.09", datetime.date(2020, 7, 7), status="verified")
    make_entry(tree.liudao, "1.23", datetime.date(2020, 7, 8), status="verified")
    expected = lines()
    MonthIncome.objects.all().delete()
    migration = import_module("qiangcun.ledger.migrations.0007_month_income")
    migration.fill(apps, SimpleNamespace(connection=connection))
    assert lines() == expected == from_the_ledger()
    expected_years = year_lines()
    YearIncome.objects.all().delete()
    import_module("qiangcun.ledger.migrations.0008_year_income").fill(
        apps, SimpleNamespace(connection=connection)
    )
    assert year_lines() == expected_years == years_from_the_ledger()


@pytest.mark.parametrize(
    ("as_of", "now", "then"),
    [
        (datetime.date(2020, 9, 15), "1060.00", "1000.00"),  # late in the year: from the year's lines back
        (datetime.date(2020, 9, 20), "1121.00", "1060.00"),
        (datetime.date(2020, 11, 5), "1183.00", "1121.00"),
        (datetime.date(2020, 11, 30), "1183.00", "1183.00"),
        (datetime.date(2020, 12, 31), "1183.00", "1183.00"),
        (datetime.date(2020, 6, 30), "1000.00", "1000.00"),  # early: from the months forward
        (datetime.date(2020, 1, 3), "0.00", "0.00"),
    ],
)
def test_income_on_any_day_is_the_ledger_up_to_it(tree, personas, make_entry, as_of, now, then):
    """Rows before the day, in its month after it, and in later months: only those up to the day count,
    and seven days before only those up to then — on both ways of reading the roll-up."""
    for amount, day in [
        ("1000.00", datetime.date(2020, 3, 1)),
        ("60.00", datetime.date(2020, 9, 10)),
        ("61.00", datetime.date(2020, 9, 20)),
        ("62.00", datetime.date(2020, 11, 2)),
        ("5.00", datetime.date(2021, 1, 1)),  # the next year
    ]:
        make_entry(tree.sunzhuang, amount, day, status="verified")
    p = progress(user=personas["township_admin"], unit=tree.township, year=2020, as_of=as_of)
    row = next(r for r in p.villages if r.code == tree.sunzhuang.code)
    assert (row.income, row.income_before) == (Decimal(now), Decimal(then))


STATUSES = [Status.VERIFIED, Status.VERIFIED, Status.SUBMITTED, Status.RETURNED, Status.DRAFT]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),  # village
            st.integers(1, 5_000_000),  # fen
            st.dates(datetime.date(2019, 12, 1), datetime.date(2021, 1, 31)),
            st.sampled_from(STATUSES),
            st.booleans(),  # a counted category
            st.integers(0, 2),  # which verify call (several batches)
        ),
        max_size=30,
    ),
    as_of=st.dates(datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)),
    reverse_first=st.booleans(),
)
def test_progress_through_the_roll_up_equals_the_ledger_row_by_row(
    tree, personas, category, subsidy, path, rows, as_of, reverse_first, second_admin
):
    """Rows reach the verified state only through the services (verify in several batches, a return, a
    reversal); then the roll-up equals the ledger and every village's income and income seven days
    before — what the progress table shows and ranks by — equals the ledger summed row by row."""
    admin, clerk = personas["township_admin"], personas["village_clerk"]
    now = timezone.now()
    with transaction.atomic():
        made = Entry.objects.bulk_create(
            Entry(
                village=tree.villages[v],
                date=day,
                amount=from_fen(fen),
                category=category if counts else subsidy,
                path=path,
                summary="随机",
                status=Status.SUBMITTED if status != Status.DRAFT else Status.DRAFT,
                submitted_at=now,
                entered_by=clerk,
            )
            for v, fen, day, status, counts, _batch in rows
        )
        batches: dict[int, list[Entry]] = defaultdict(list)
        returned = []
        for entry, (_v, _f, _d, status, _c, batch) in zip(made, rows, strict=True):
            if status == Status.VERIFIED:
                batches[batch].append(entry)
            elif status == Status.RETURNED:
                returned.append(entry)
        for batch in sorted(batches):
            entry_verify(actor=admin, entries=batches[batch])
        if returned:
            entry_return(actor=admin, entries=returned, reason="退回")
        verified = [e for b in sorted(batches) for e in batches[b]]
        if verified and reverse_first:
            reversal = entry_reverse(actor=admin, entry=verified[0], reason="冲销")
            entry_verify(actor=second_admin, entries=[reversal])
        assert rollup.check() == [] and lines() == from_the_ledger()
        assert year_lines() == years_from_the_ledger()

        p = progress(user=admin, unit=tree.township, year=2020, as_of=as_of)
        before = as_of - datetime.timedelta(days=7)
        counts = set(tree.campaign.counted_categories.values_list("pk", flat=True))
        want: dict[str, list[int]] = {v.code: [0, 0] for v in tree.villages}
        for code, day, amount, status, cat in Entry.objects.values_list(
            "village__code", "date", "amount", "status", "category_id"
        ):
            if status == Status.VERIFIED and cat in counts and day.year == 2020 and day <= as_of:
                want[code][0] += to_fen(amount)
                if day <= before:
                    want[code][1] += to_fen(amount)
        got = {r.code: [to_fen(r.income), to_fen(r.income_before)] for r in p.villages}
        assert got == {code: want[code] for code in got}
        transaction.set_rollback(True)
