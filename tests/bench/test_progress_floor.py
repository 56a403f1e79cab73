"""bench/progress.py's floor — one hand-written SQL aggregate over the ledger — returns the progress table's
figures, so the ratios in bench/RESULTS.md compare like with like; and the selector's income, read through the
monthly roll-up, equals that aggregate over the ledger for townships and a county."""

from __future__ import annotations

import datetime
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from django.db import connection

from qiangcun.ledger.models import MonthIncome

BENCH = Path(__file__).resolve().parents[2] / "bench" / "progress.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_progress", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_progress"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ledger(tree, personas, make_entry, subsidy):
    for n, (village, amount, day) in enumerate(
        [
            (tree.sunzhuang, "12000.00", datetime.date(2020, 1, 31)),
            (tree.sunzhuang, "0.01", datetime.date(2020, 4, 10)),  # the day seven days before
            (tree.sunzhuang, "999.99", datetime.date(2020, 4, 11)),  # after it
            (tree.liudao, "3456.78", datetime.date(2020, 3, 31)),  # a month the roll-up holds
            (tree.liudao, "100.00", datetime.date(2020, 4, 17)),  # the day itself
            (tree.liudao, "5.00", datetime.date(2020, 4, 18)),  # after the day: not counted
            (tree.bianxiyang, "777.00", datetime.date(2019, 12, 31)),  # last year: not counted
            (tree.bianxiyang, "60.00", datetime.date(2020, 9, 10)),  # before a late as-of day
            (tree.bianxiyang, "61.00", datetime.date(2020, 9, 20)),  # after it, in its month
            (tree.bianxiyang, "62.00", datetime.date(2020, 11, 2)),  # months after it
        ]
    ):
        make_entry(village, amount, day, status="verified")
        if n == 0:
            make_entry(village, "500.00", day, status="verified", cat=subsidy)  # not a counted category
    # Lump sums spread over their years: only each year's share counts (one on 1 January 2020, one on the day).
    from qiangcun.ledger.models import Category, DevelopmentPath, Source
    from qiangcun.ledger.services import entry_create, entry_submit, entry_verify
    from qiangcun.ledger.spread import split_by_year
    from tests.conftest import _clerk_for

    for village, amount, day, start in [
        (tree.liudao, "5000.00", datetime.date(2019, 12, 20), datetime.date(2019, 1, 1)),
        (tree.bianxiyang, "5000.00", datetime.date(2020, 4, 12), datetime.date(2020, 1, 1)),
    ]:
        clerk = _clerk_for(village)
        row = entry_create(
            actor=clerk,
            village=village,
            date=day,
            amount=Decimal(amount),
            category=Category.objects.get(name="经营收入"),
            path=DevelopmentPath.objects.get(name="土地流转"),
            summary="五年租金",
            source=Source.CONTRACT,
            shares=split_by_year(Decimal(amount), start, datetime.date(start.year + 4, 12, 31)),
        )
        entry_verify(actor=personas["township_admin"], entries=[entry_submit(actor=clerk, entry=row)])


@pytest.mark.parametrize("level", ["township", "county"])
@pytest.mark.parametrize(
    "as_of",
    [
        datetime.date(2020, 4, 17),
        datetime.date(2020, 4, 3),
        datetime.date(2020, 1, 5),
        datetime.date(2020, 9, 15),  # from the year's lines backwards
        datetime.date(2020, 12, 31),
    ],
)
def test_the_floor_returns_the_tables_figures(bench, tree, personas, ledger, level, as_of):
    unit = getattr(tree, level)
    user = bench.viewer(unit)
    assert bench.same_figures(unit, user, 2020, as_of) == 4
    figures = bench.floor(unit, 2020, as_of)
    # The ledger-only contender counts the same, spread shares included.
    from qiangcun.core.money import to_fen

    alone = bench.ledger_only_income(unit, 2020, as_of, as_of - datetime.timedelta(days=7))
    assert {v: (to_fen(i), to_fen(b)) for v, (i, b) in alone.items() if i or b} == {
        v: f[1:] for v, f in figures.items() if f[1] or f[2]
    }
    if as_of == datetime.date(2020, 4, 17):
        assert figures[tree.sunzhuang.pk][1:] == (1300000, 1200001)
        # + 1,000.00: the 2020 share of a five-year rent received in December 2019, counted from 1 January
        assert figures[tree.liudao.pk][1:] == (455678, 445678)
        # the 2020 share of a five-year rent received on 12 April (after the 10th, a week before)
        assert figures[tree.bianxiyang.pk][1:] == (100000, 0)
    if as_of == datetime.date(2020, 9, 15):
        # 60.00 on 10 September (after the 8th) and the 1,000.00 share of 12 April
        assert figures[tree.bianxiyang.pk][1:] == (106000, 100000)


def test_a_floor_that_disagrees_stops_the_run(bench, tree, personas, ledger):
    with connection.cursor() as cursor:  # the roll-up off by a fen: the selector no longer agrees
        cursor.execute(
            "UPDATE ledger_monthincome SET amount = amount + 1 WHERE village_id = %s", [tree.sunzhuang.pk]
        )
    assert MonthIncome.objects.filter(village=tree.sunzhuang).exists()
    with pytest.raises(SystemExit, match="disagree"):
        bench.same_figures(tree.township, bench.viewer(tree.township), 2020, datetime.date(2020, 4, 17))
