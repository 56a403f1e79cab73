"""The importer against the corpus (``corpus.py``): good workbooks import with exact sums, bad and
hostile ones are refused with the right row, column and reason and leave the database unchanged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.excel import WorkbookRefused
from qiangcun.ledger.importing.ledger import parse_ledger_file
from qiangcun.ledger.models import Entry, ImportBatch, Status
from qiangcun.ledger.services import entries_import
from tests.excel.corpus import FORMULA_TEXTS, Case, build_corpus

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, Case]]:
    directory = tmp_path_factory.mktemp("corpus")
    return directory, {case.name: case for case in build_corpus(directory)}


def _cases(kind: str) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cases = build_corpus(Path(tmp))
    if kind == "good":
        return [c.name for c in cases if c.ok]
    if kind == "bad":
        return [c.name for c in cases if not c.ok and c.errors]
    return [c.name for c in cases if not c.ok and c.refusal]


def _state() -> tuple[int, int, int]:
    return Entry.objects.count(), ImportBatch.objects.count(), ChangeRecord.objects.count()


@pytest.mark.parametrize("name", _cases("good"))
def test_good_workbooks_import_with_exact_sums(name, corpus, tree, personas):
    directory, cases = corpus
    case = cases[name]
    admin = personas["township_admin"]
    parsed = parse_ledger_file(
        directory / case.filename, name=case.filename, year=2020, villages=tree.villages
    )
    assert parsed.errors == [], [str(e) for e in parsed.errors]
    outcome = entries_import(
        actor=admin, rows=parsed.rows, file_name=case.filename, sha256=parsed.sha256, skipped=parsed.skipped
    )
    assert outcome.imported == case.rows
    rows = Entry.objects.filter(import_batch=outcome.batch)
    assert rows.count() == case.rows
    assert all(e.status == Status.SUBMITTED for e in rows)
    sums: dict[str, Decimal] = {}
    for e in rows.select_related("village"):
        sums[e.village.name] = sums.get(e.village.name, Decimal("0.00")) + e.amount
    assert {k: f"{v:.2f}" for k, v in sums.items()} == case.sums
    if name == "formula_like_text":
        assert set(FORMULA_TEXTS) <= set(rows.values_list("summary", flat=True))
    # Importing the same file again imports nothing and says how many were already there.
    again = entries_import(
        actor=admin, rows=parsed.rows, file_name=case.filename, sha256=parsed.sha256, skipped=parsed.skipped
    )
    assert (again.imported, again.duplicates) == (0, case.rows)
    assert Entry.objects.filter(import_batch=again.batch).count() == 0


@pytest.mark.parametrize("name", _cases("bad"))
def test_bad_rows_are_named_and_nothing_is_imported(name, corpus, tree, personas):
    directory, cases = corpus
    case = cases[name]
    before = _state()
    parsed = parse_ledger_file(
        directory / case.filename, name=case.filename, year=2020, villages=tree.villages
    )
    got = sorted((e.row, e.header) for e in parsed.errors)
    assert got == sorted((row, header) for row, header, _ in case.errors), [str(e) for e in parsed.errors]
    for row, header, keyword in case.errors:
        reasons = [e.reason for e in parsed.errors if (e.row, e.header) == (row, header)]
        assert any(keyword in r for r in reasons), (row, header, keyword, reasons)
    assert _state() == before


@pytest.mark.parametrize("name", _cases("refused"))
def test_hostile_and_malformed_files_are_refused(name, corpus, tree, personas):
    directory, cases = corpus
    case = cases[name]
    before = _state()
    with pytest.raises(WorkbookRefused) as caught:
        parse_ledger_file(directory / case.filename, name=case.filename, year=2020, villages=tree.villages)
    assert case.refusal in str(caught.value), str(caught.value)
    assert _state() == before
