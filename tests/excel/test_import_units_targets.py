"""`import-units` and `import-targets`: all or nothing, errors by row, idempotent, 万元 targets."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.targets.models import VillageTarget

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _book(path, rows, title="相衙镇组织结构"):
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _run(name, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()


def test_units_import_creates_the_tree_and_is_idempotent(tree, personas, tmp_path, settings):
    settings.HOME = tmp_path
    path = _book(
        tmp_path / "units.xlsx",
        [
            ["网格站", "管区", "村名", "标签"],
            ["三号网格站", "第四管区", "王庄村", "软弱涣散村、计划使用强村贷"],
            ["三号网格站", "第四管区", "李庄村", ""],
            ["一号网格站", "第一管区", "孙庄村", "清产核资"],  # already there: kept, tag added
        ],
    )
    code, out, _ = _run("import-units", str(path), "--dry-run")
    assert code == 0 and "将新建 网格站 1 个，管区 1 个，行政村 2 个" in out
    assert not OrgUnit.objects.filter(name="王庄村").exists()
    code, out, _ = _run("import-units", str(path))
    assert code == 0 and "已新建 网格站 1 个，管区 1 个，行政村 2 个" in out
    wang = OrgUnit.objects.get(name="王庄村")
    assert (
        wang.level == Level.VILLAGE
        and wang.parent.name == "第四管区"
        and wang.parent.parent.name == "三号网格站"
    )
    assert wang.path.startswith(tree.township.path)
    assert set(wang.tags.values_list("name", flat=True)) == {"软弱涣散村", "计划使用强村贷"}
    assert "清产核资" in set(tree.sunzhuang.tags.values_list("name", flat=True))
    count = OrgUnit.objects.count()
    code, out, _ = _run("import-units", str(path))
    assert code == 0 and "已新建 网格站 0 个，管区 0 个，行政村 0 个" in out
    assert OrgUnit.objects.count() == count


def test_units_import_refuses_bad_rows_whole(tree, personas, tmp_path, settings):
    settings.HOME = tmp_path
    path = _book(
        tmp_path / "units.xlsx",
        [
            ["网格站", "管区", "村名", "代码"],
            ["三号网格站", "第四管区", "王庄村", "371422105299"],
            ["三号网格站", "", "李庄村", ""],
            ["三号网格站", "第四管区", "王庄村", ""],
            ["二号网格站", "第五管区", "孙庄村", ""],  # 孙庄村 is in 第一管区
        ],
    )
    count = OrgUnit.objects.count()
    code, _, err = _run("import-units", str(path))
    assert code == 1
    assert "第 4 行“管区”列（B）：管区不能为空" in err
    assert "第 5 行“村名”列（C）：村名“王庄村”与第 3 行重复" in err
    assert OrgUnit.objects.count() == count
    path = _book(tmp_path / "units2.xlsx", [["网格站", "管区", "村名"], ["二号网格站", "第五管区", "孙庄村"]])
    code, _, err = _run("import-units", str(path))
    assert code == 1 and "孙庄村”已在第一管区" in err
    assert OrgUnit.objects.count() == count


def test_targets_import_in_wan_and_below_baseline(tree, personas, tmp_path, settings):
    settings.HOME = tmp_path
    good = _book(
        tmp_path / "targets.xlsx",
        [["单位：万元"], ["村名", "年度目标"], ["刘道", 10], ["杨老头村", "3.5"], ["合计", 13.5]],
        title="2020年目标",
    )
    code, out, _ = _run("import-targets", str(good), "--year", "2020")
    assert code == 0, out
    amounts = dict(
        VillageTarget.objects.filter(campaign=tree.campaign).values_list("village__name", "amount")
    )
    assert amounts["刘道村"] == Decimal("100000.00") and amounts["杨老头村"] == Decimal("35000.00")
    bad = _book(tmp_path / "bad.xlsx", [["村名", "目标（元）"], ["刘道村", 20000], ["王家村", 50000]])
    code, _, err = _run("import-targets", str(bad), "--year", "2020")
    assert code == 1
    assert "第 3 行“目标（元）”列（B）：目标 20,000.00 元低于基础线 30,000.00 元" in err
    assert "第 4 行“村名”列（A）" in err and "王家村" in err
    assert VillageTarget.objects.get(campaign=tree.campaign, village=tree.liudao).amount == Decimal(
        "100000.00"
    )
