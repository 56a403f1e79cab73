"""bench/progress.py's floor — one hand-written SQL aggregate over the ledger — returns the progress table's
figures, so the ratios in bench/RESULTS.md compare like with like; and the selector's income, read through the
monthly roll-up, equals that aggregate over the ledger for townships and a county."""

from __future__ import annotations

import datetime
import importlib.util
import sys
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
def ledger(tree, make_entry, subsidy):
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
    if as_of == datetime.date(2020, 4, 17):
        assert figures[tree.sunzhuang.pk][1:] == (1300000, 1200001)
        assert figures[tree.liudao.pk][1:] == (355678, 345678)
        assert figures[tree.bianxiyang.pk][1:] == (0, 0)
    if as_of == datetime.date(2020, 9, 15):
        assert figures[tree.bianxiyang.pk][1:] == (6000, 0)  # 10 September is after the 8th


def test_a_floor_that_disagrees_stops_the_run(bench, tree, personas, ledger):
    with connection.cursor() as cursor:  # the roll-up off by a fen: the selector no longer agrees
        cursor.execute(
            "UPDATE ledger_monthincome SET amount = amount + 1 WHERE village_id = %s", [tree.sunzhuang.pk]
        )
    assert MonthIncome.objects.filter(village=tree.sunzhuang).exists()
    with pytest.raises(SystemExit, match="disagree"):
        bench.same_figures(tree.township, bench.viewer(tree.township), 2020, datetime.date(2020, 4, 17))
