"""`qiangcun import-ledger`: exit 0 when imported (or nothing new), 1 with an error report when the
file has errors (nothing imported); dry run writes nothing; --verified is recorded in the audit log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.excel import REPORT_HEADER
from qiangcun.ledger.models import Entry, Status
from tests.excel.corpus import build_corpus

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def cases(tmp_path):
    return {c.name: (tmp_path / c.filename, c) for c in build_corpus(tmp_path)}


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import-ledger", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_import_dry_run_then_real_then_again(cases, tree, personas):
    path, case = cases["amount_forms"]
    code, out, _ = run(str(path), "--dry-run", "--as", "admin")
    assert code == 0 and f"将导入 {case.rows} 条" in out and "没有写入" in out
    assert Entry.objects.count() == 0
    code, out, _ = run(str(path), "--as", "admin")
    assert code == 0 and f"已导入 {case.rows} 条" in out
    assert Entry.objects.filter(status=Status.SUBMITTED).count() == case.rows
    code, out, _ = run(str(path), "--as", "admin")
    assert code == 0 and "已导入 0 条" in out and f"跳过 {case.rows} 条" in out
    assert Entry.objects.count() == case.rows


def test_import_as_verified_is_recorded(cases, tree, personas):
    path, case = cases["clean_template"]
    code, _, _ = run(str(path), "--verified")  # the only township admin imports by default
    assert code == 0
    assert (
        Entry.objects.filter(status=Status.VERIFIED, reviewed_by=personas["township_admin"]).count()
        == case.rows
    )
    record = ChangeRecord.objects.get(action="ledger.import")
    assert record.after["verified"] is True and record.after["imported"] == case.rows
    assert "已审核" in record.note


def test_only_a_township_admin_imports_as_verified(cases, tree, personas):
    from django.core.management.base import CommandError

    from qiangcun.accounts.models import Role
    from qiangcun.accounts.services import grant_create, user_create

    clerk = user_create(actor=None, username="all-villages-clerk", password=None)
    grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=tree.township)
    path, case = cases["clean_template"]
    with pytest.raises(CommandError, match="镇党建办"):
        run(str(path), "--verified", "--as", "all-villages-clerk")
    assert Entry.objects.count() == 0
    code, _, _ = run(str(path), "--as", "all-villages-clerk")  # as submitted rows: allowed
    assert code == 0 and Entry.objects.filter(status=Status.SUBMITTED).count() == case.rows


def test_rows_outside_the_importers_scope_are_errors(cases, tree, personas):
    path, _ = cases["clean_template"]
    code, _, err = run(str(path), "--as", "clerk")  # the clerk of 孙庄村 only
    assert code == 1 and "不在您的管辖范围内" in err
    assert Entry.objects.count() == 0


def test_errors_exit_1_with_a_report_and_nothing_imported(cases, tree, personas, settings, tmp_path):
    settings.HOME = tmp_path / "home"
    settings.HOME.mkdir()
    path, case = cases["several_bad_rows"]
    code, _, err = run(str(path), "--as", "admin")
    assert code == 1
    assert Entry.objects.count() == 0
    for row, header, _keyword in case.errors:
        assert f"第 {row} 行“{header}”列" in err
    report = Path(err.strip().splitlines()[-1].split("：", 1)[1])
    ws = load_workbook(report)[load_workbook(report).sheetnames[0]]
    headers = [c.value for row in ws.iter_rows(max_row=10) for c in row]
    assert REPORT_HEADER in headers
    column = next(c.column for row in ws.iter_rows(max_row=10) for c in row if c.value == REPORT_HEADER)
    flagged = {
        c.row for c in ws[ws.cell(row=1, column=column).column_letter] if c.value and c.value != REPORT_HEADER
    }
    assert flagged == {row for row, _, _ in case.errors}


def test_hostile_file_is_refused_by_the_cli(cases, tree, personas):
    from django.core.management.base import CommandError

    path, case = cases["zip_bomb"]
    with pytest.raises(CommandError, match=case.refusal):
        run(str(path), "--as", "admin")


def test_progress_is_reported_against_the_total(cases, tree, personas):
    from qiangcun.imports.lookups import progress_bar
    from qiangcun.ledger.importing.ledger import parse_ledger_file

    path, case = cases["large_2000"]
    calls: list[tuple[int, int]] = []
    parse_ledger_file(
        path, name=path.name, year=2020, villages=tree.villages, progress=lambda r, t: calls.append((r, t))
    )
    assert calls and all(t >= case.rows and 0 < r <= t for r, t in calls)
    assert [r for r, _ in calls] == sorted(r for r, _ in calls)
    assert progress_bar(50, 100, width=10) == "[#####-----]  50%  50 / 100 行"
    assert progress_bar(0, 0, width=4) == "[----]   0%  0 / 0 行"


def test_a_data_row_mentioning_heji_is_imported_not_skipped(tree, personas, tmp_path):
    """Review finding: "2019年土地承包费合计补缴" is a summary, not a total row — it must count."""
    from openpyxl import Workbook

    wb = Workbook()
    for row in (
        ["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"],
        ["孙庄村", "2020-03-01", 8000, "发包及上交收入", "土地流转", "2019年土地承包费合计补缴"],
        ["刘道村", "2020-03-02", 500, "经营收入", "现代农业", "冬瓜"],
        ["合计", None, 8500],
        [None, None, 8500, None, None, "本页合计"],
    ):
        wb.active.append(row)
    path = tmp_path / "heji.xlsx"
    wb.save(path)
    code, out, _ = run(str(path), "--as", "admin")
    assert code == 0 and "已导入 2 条" in out and "跳过 2 行" in out
    assert Entry.objects.filter(summary="2019年土地承包费合计补缴").count() == 1
