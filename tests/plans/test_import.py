"""一村一策 import: the long sheet and the one-sheet-per-village layouts, every refusal named by row,
column and reason, all or nothing, scope, re-import without duplicates, hostile files."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from qiangcun.accounts.models import User
from qiangcun.imports.models import ImportJob
from qiangcun.imports.services import run_import
from qiangcun.plans.importing import parse_deadline
from qiangcun.plans.models import Measure, MeasureStatus, Plan, PlanPath, Resource

pytestmark = pytest.mark.usefixtures("fast_hashing")

LONG_HEADER = ["村名", "增收路子", "预计收入（元）", "措施", "责任人", "完成时限", "预计增收（元）"]


@pytest.fixture
def people(personas) -> dict[str, User]:
    """Owners with the names a township writes: 张伟 (孙庄村's secretary), 李红梅 (第一管区's secretary,
    so she may own measures of 孙庄村 and 刘道村), 王建国 (the admin); 赵敏 twice (an instructor and the
    station head) to be ambiguous."""
    names = {
        "village_secretary": "张伟",
        "district_secretary": "李红梅",
        "township_admin": "王建国",
        "instructor": "赵敏",
        "station_head": "赵敏",
    }
    for persona, name in names.items():
        user = personas[persona]
        user.display_name = name
        user.save(update_fields=["display_name"])
    return personas


@pytest.fixture
def home(settings, tmp_path):
    settings.HOME = tmp_path
    return tmp_path


def book(
    tmp_path: Path, sheets: dict[str, list[list[Any]]], *, name: str = "一村一策.xlsx", merges=None
) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for sheet, ref in merges or []:
            if sheet == title:
                ws.merge_cells(ref)
    path = tmp_path / name
    wb.save(path)
    return path


def run(user: User, path: Path, *, dry_run: bool = False, year: str = "2020") -> dict[str, Any]:
    job = ImportJob.objects.create(user=user, kind="plans", file_name=path.name, options={"year": year})
    return run_import(job, path, dry_run=dry_run)


def errors(result: dict[str, Any]) -> list[tuple[int, str, str]]:
    assert not result["ok"], result
    return [(e["row"], e["column"], e["reason"]) for e in result.get("errors", [])]


LONG = [
    ["相衙镇2020年一村一策汇总表"],
    ["填报单位：相衙镇党建办", None, None, None, None, None, "单位：万元"],
    [
        "村名",
        "增收路子",
        "预计收入",
        "措施",
        "责任人",
        "完成时限",
        "预计增收",
        "闲置资产",
        "土地（亩）",
        "优势",
        "短板",
        "方案概述",
    ],
    [
        "孙庄村",
        "领办实体",
        6,
        "扩大合作社蔬菜种植规模",
        "张伟",
        "6月底",
        3,
        "旧小学校舍 5 间",
        120,
        "临近县城；交通便利",
        "缺少冷库",
        "合作社带动",
    ],
    [None, None, None, "对接超市签订蔬菜订单", "李红梅", "2020-09-30", 3, None, None, None, None, None],
    [None, "光伏", 1.2, "屋顶光伏并网", "王建国", "年底前", 1.2, None, None, None, None, None],
    [
        "刘道",
        "现代农业",
        4,
        "冬瓜大棚扩建 20 个",
        "李红梅",
        datetime.date(2020, 11, 30),
        4,
        None,
        None,
        None,
        None,
        None,
    ],
    ["合计", None, 11.2, None, None, None, 11.2],
    ["制表人：", None, None, "审核人："],
]


def test_long_sheet_in_wan_with_titles_merges_and_totals(tree, people, home, tmp_path):
    admin = people["township_admin"]
    path = book(tmp_path, {"汇总": LONG}, merges=[("汇总", "B4:B5"), ("汇总", "C4:C5")])
    check = run(admin, path, dry_run=True)
    assert check["ok"], check
    assert check["summary"] == (
        "将导入 2 个村 2020 年的一村一策：增收路子 3 条，预计收入合计 11.20万元，资源清单 5 条；"
        "措施新增 4 项、更新 0 项、不变 0 项"
    )
    assert Plan.objects.count() == 0 and Measure.objects.count() == 0, "a check writes nothing"
    done = run(admin, path)
    assert done["ok"] and done["summary"].startswith("已导入 2 个村")
    sun = Plan.objects.get(village=tree.sunzhuang, year=2020)
    assert sun.summary == "合作社带动"
    assert {p.path.name: p.expected for p in sun.paths.all()} == {
        "合作社": Decimal("60000.00"),
        "光伏发电": Decimal("12000.00"),
    }
    assert [(r.kind, r.name, r.area_mu) for r in sun.resources.all()] == [
        ("asset", "旧小学校舍 5 间", None),
        ("land", "土地", Decimal("120.00")),
        ("advantage", "临近县城", None),
        ("advantage", "交通便利", None),
        ("weakness", "缺少冷库", None),
    ]
    measures = {m.title: m for m in sun.measures.select_related("owner", "path")}
    assert measures["扩大合作社蔬菜种植规模"].owner.display_name == "张伟"
    assert measures["扩大合作社蔬菜种植规模"].deadline == datetime.date(2020, 6, 30)
    assert measures["扩大合作社蔬菜种植规模"].expected == Decimal("30000.00")
    assert measures["对接超市签订蔬菜订单"].path.name == "合作社", "the merged path covers the row"
    assert measures["屋顶光伏并网"].deadline == datetime.date(2020, 12, 31)
    liu = Plan.objects.get(village=tree.liudao, year=2020)
    assert [(p.path.name, p.expected) for p in liu.paths.all()] == [("现代农业", Decimal("40000.00"))]
    assert liu.measures.get().deadline == datetime.date(2020, 11, 30)
    assert not liu.resources.exists()


def test_reimport_updates_by_title_and_never_duplicates(tree, people, home, tmp_path):
    admin = people["township_admin"]
    path = book(tmp_path, {"汇总": LONG})
    assert run(admin, path)["ok"]
    again = run(admin, path)
    assert again["ok"] and "措施新增 0 项、更新 0 项、不变 4 项" in again["summary"]
    assert Measure.objects.count() == 4
    changed = [list(r) for r in LONG]
    changed[6][6] = 5  # 冬瓜大棚: 4万 → 5万
    third = run(admin, book(tmp_path, {"汇总": changed}, name="改.xlsx"))
    assert "措施新增 0 项、更新 1 项、不变 3 项" in third["summary"]
    assert Measure.objects.get(title="冬瓜大棚扩建 20 个").expected == Decimal("50000.00")
    assert Measure.objects.count() == 4
    # a finished measure is not changed by an import
    m = Measure.objects.get(title="冬瓜大棚扩建 20 个")
    Measure.objects.filter(pk=m.pk).update(status=MeasureStatus.DONE, done_on=datetime.date(2020, 5, 1))
    changed[6][6] = 6
    refused = run(admin, book(tmp_path, {"汇总": changed}, name="再改.xlsx"))
    assert (7, "D", "该措施已完成，导入不能修改它；如确需改动，请先在措施页面重新打开") in errors(refused)
    assert Measure.objects.get(pk=m.pk).expected == Decimal("50000.00")


VILLAGE_SHEET = [
    ["孙庄村2020年一村一策"],
    ["村名：", "孙庄村"],
    ["方案概述：发展合作社蔬菜，盘活闲置校舍"],
    ["一、资源清单"],
    ["类型", "内容", "面积（亩）", "备注"],
    ["闲置资产", "旧小学校舍", None, "5 间"],
    ["土地资源", "机动地", 35.5, None],
    ["短板问题", "缺少冷库", None, None],
    [],
    ["二、增收方案（路子、预计收入）"],
    ["增收路子", "预计收入（元）", "做法"],
    ["合作社", "60,000.00", "党支部领办"],
    ["提供服务", 8000, "农机作业"],
    ["合计", 68000],
    [],
    ["三、措施（措施、责任人、时限、预计增收）"],
    ["措施", "增收路子", "责任人", "完成时限", "预计增收（元）"],
    ["扩大蔬菜种植", "合作社", "张伟", "2020年6月30日", 30000],
    ["成立农机服务队", "有偿服务", "赵敏（station）", "三季度", "8000"],
    ["整理村务档案", None, "张伟", "上半年", None],
]

KV_SHEET = [
    ["一村一策"],
    ["一、资源清单"],
    ["闲置资产", "老村委大院"],
    ["优势：冬瓜种植有基础"],
    ["二、增收方案"],
    ["增收路子", "预计收入"],
    ["现代农业", 45000],
    ["三、措施"],
    ["措施", "责任人", "完成时限", "预计增收"],
    ["冬瓜大棚扩建", "李红梅", "10月底", 45000],
]


def test_one_sheet_per_village(tree, people, home, tmp_path):
    path = book(tmp_path, {"Sheet1": VILLAGE_SHEET, "刘道": KV_SHEET, "填表说明": [["说明"]]})
    result = run(people["township_admin"], path)
    assert result["ok"], result
    sun = Plan.objects.get(village=tree.sunzhuang)
    assert sun.summary == "发展合作社蔬菜，盘活闲置校舍"
    assert [(r.kind, r.name, r.area_mu, r.note) for r in sun.resources.all()] == [
        ("asset", "旧小学校舍", None, "5 间"),
        ("land", "机动地", Decimal("35.50"), ""),
        ("weakness", "缺少冷库", None, ""),
    ]
    assert {p.path.name: (p.expected, p.note) for p in sun.paths.all()} == {
        "合作社": (Decimal("60000.00"), "党支部领办"),
        "有偿服务": (Decimal("8000.00"), "农机作业"),
    }
    service = Measure.objects.get(title="成立农机服务队")
    assert service.owner.username == "station" and service.deadline == datetime.date(2020, 9, 30)
    archive = Measure.objects.get(title="整理村务档案")
    assert archive.path is None and archive.expected == Decimal("0.00")
    assert archive.deadline == datetime.date(2020, 6, 30)
    liu = Plan.objects.get(village=tree.liudao)
    assert [(r.kind, r.name) for r in liu.resources.all()] == [
        ("asset", "老村委大院"),
        ("advantage", "冬瓜种植有基础"),
    ]
    assert liu.measures.get().deadline == datetime.date(2020, 10, 31)


def test_village_sheet_without_a_village_is_named(tree, people, home, tmp_path):
    rows = [r for r in VILLAGE_SHEET if not (r and r[0] == "村名：")]
    rows[0] = ["一村一策"]
    result = run(people["township_admin"], book(tmp_path, {"Sheet1": rows}))
    assert any("没有写是哪个村" in reason for _, _, reason in errors(result))


def _long(*rows: list[Any]) -> list[list[Any]]:
    return [LONG_HEADER, ["孙庄村", "合作社", 60000, "扩大蔬菜种植", "张伟", "2020-06-30", 30000], *rows]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["王家村", "合作社", 1, "x", "张伟", "6月底", 1], "A", "没有名为“王家村”的村"),
        (["刘道村", "炒股", 1, "x", "李红梅", "6月底", 1], "B", "增收路子“炒股”不认识"),
        (["刘道村", "合作社", -5, "x", "李红梅", "6月底", 1], "C", "预计收入不能为负数"),
        (["刘道村", "合作社", "1e309", "x", "李红梅", "6月底", 1], "C", "不能用科学计数法"),
        (["刘道村", "合作社", 1e15, "x", "李红梅", "6月底", 1], "C", "金额超出范围"),
        (
            ["刘道村", "合作社", 1, "x", "刘备", "6月底", 1],
            "E",
            "“刘备”不是该村、所在管区、网格站或镇有职务的人员",
        ),
        (
            ["孙庄村", "合作社", None, "y", "赵敏", "6月底", 1],
            "E",
            "有 2 人叫“赵敏”（账号 station、instructor）",
        ),
        (["刘道村", "合作社", 1, "x", "张伟", "6月底", 1], "E", "“张伟”不是该村"),  # 孙庄村's secretary
        (["刘道村", "合作社", 1, "x", "李红梅、王建国", "6月底", 1], "E", "只能写一个人"),
        (["刘道村", "合作社", 1, "x", None, "6月底", 1], "E", "责任人不能为空"),
        (["刘道村", "合作社", 1, "x", "李红梅", "长期", 1], "F", "不是日期"),
        (["刘道村", "合作社", 1, "x", "李红梅", "2019-12-31", 1], "F", "不在 2020 年内"),
        (["刘道村", "合作社", 1, "x", "李红梅", "13月底", 1], "F", "月份 13 不存在"),
        (["刘道村", "合作社", 1, "x", "李红梅", None, 1], "F", "完成时限不能为空"),
        (["刘道村", "合作社", 1, "x", "李红梅", "6月底", "约五千"], "G", "金额“约五千”"),
        (["刘道村", "合作社", 1, "x", "李红梅", "6月底", 0.001], "G", "超过两位小数"),
        (
            ["刘道村", "合作社", 1, "x_x0000_y", "李红梅", "6月底", 1],
            "D",
            "控制字符",
        ),  # calamine reads _x0000_ as NUL
        (["刘道村", "合作社", 1, None, "李红梅", "6月底", 1], "D", "措施为空"),
        (["孙庄村", "合作社", 70000, "对接超市", "张伟", "6月底", 1], "C", "与第 2 行的 60,000.00 元不一致"),
        (["孙庄村", "合作社", None, "扩大蔬菜种植", "张伟", "6月底", 1], "D", "与第 2 行的措施重复"),
        (["孙庄村", None, 500, "对接超市", "张伟", "6月底", 1], "B", "填了预计收入，却没有写是哪条增收路子"),
    ],
)
def test_every_refusal_names_row_column_and_reason(tree, people, home, tmp_path, row, column, reason):
    result = run(people["township_admin"], book(tmp_path, {"表": _long(row)}))
    found = errors(result)
    assert any(r == 3 and c == column and reason in why for r, c, why in found), found
    assert result["report"], "an error report workbook is offered"
    assert Plan.objects.count() == 0 and Measure.objects.count() == 0


def test_refusals_read_as_sentences_on_the_job_page(tree, people, home, tmp_path, client):
    client.force_login(people["township_admin"])
    path = book(tmp_path, {"表": _long(["刘道村", "炒股", 1, "x", "李红梅", "6月底", 1])})
    with path.open("rb") as fh:
        response = client.post("/import/plans/", {"year": "2020", "file": fh}, follow=True)
    page = response.content.decode()
    assert "发现 1 处错误，一条都没有导入" in page
    assert "“表” 第 3 行" in page and "增收路子（B）" in page and "增收路子“炒股”不认识" in page


def test_an_error_on_the_last_row_leaves_nothing(tree, people, home, tmp_path):
    rows = _long(
        ["刘道村", "现代农业", 40000, "冬瓜大棚", "李红梅", "10月底", 40000],
        ["杨老头村", "现代农业", 30000, "山楂深加工", "王建国", "2022-01-01", 30000],
    )
    found = errors(run(people["township_admin"], book(tmp_path, {"表": rows})))
    assert found == [(4, "F", "完成时限 2022-01-01 不在 2020 年内（最迟次年）")]
    assert Plan.objects.count() == 0 and Measure.objects.count() == 0 and Resource.objects.count() == 0


def test_a_plan_needs_a_path_and_service_errors_roll_everything_back(tree, people, home, tmp_path):
    rows = [
        ["村名", "措施", "责任人", "完成时限"],
        ["孙庄村", "扩大蔬菜种植", "张伟", "6月底"],
    ]
    found = errors(run(people["township_admin"], book(tmp_path, {"表": rows})))
    assert found == [(2, "A", "孙庄村没有增收路子：一村一策至少要有一条增收路子（填“增收路子”和“预计收入”）")]
    # a year without a campaign: plan_save refuses, nothing is kept
    result = run(people["township_admin"], book(tmp_path, {"表": _long()}, name="2021.xlsx"), year="2021")
    assert result == {"ok": False, "refused": "2021 年还没有建立年度任务，请先在“目标”页面建立"}
    assert Plan.objects.count() == 0


def test_a_clerk_imports_for_their_own_village_only(tree, people, home, tmp_path):
    clerk = people["village_clerk"]
    rows = _long(["刘道村", "现代农业", 40000, "冬瓜大棚", "李红梅", "10月底", 40000])
    found = errors(run(clerk, book(tmp_path, {"表": rows})))
    assert found == [(3, "A", "您没有编制刘道村一村一策的权限（只能导入您负责的村）")]
    assert Plan.objects.count() == 0
    assert run(clerk, book(tmp_path, {"表": _long()}, name="own.xlsx"))["ok"]
    assert Plan.objects.get().village == tree.sunzhuang
    # a village outside the township is not found at all; people without PLAN cannot start a plans job
    other = people["other_clerk"]
    found = errors(run(other, book(tmp_path, {"表": _long()}, name="other.xlsx")))
    assert found == [(2, "A", "您没有编制孙庄村一村一策的权限（只能导入您负责的村）")]
    from qiangcun.imports.services import allowed_kinds

    assert "plans" in allowed_kinds(clerk) and "plans" not in allowed_kinds(people["station_head"])


def test_hostile_files_are_refused_cleanly(tree, people, home, tmp_path):
    admin = people["township_admin"]
    old = tmp_path / "plans.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "旧版 .xls" in run(admin, old)["refused"]
    fake = tmp_path / "plans.xlsx"
    fake.write_bytes(b"village,measure\n")
    assert "不是有效的 .xlsx" in run(admin, fake)["refused"]
    # formulas are never evaluated: a formula cell is read as the value Excel saved with it (none
    # here), so a formula measure is an empty measure
    rows = _long(
        ["刘道村", "现代农业", "=1+1", '=HYPERLINK("http://x")', "李红梅", "10月底", "=A1*1000"],
    )
    found = errors(run(admin, book(tmp_path, {"表": rows}, name="f.xlsx")))
    assert found == [(3, "D", "措施为空：填了责任人或时限，却没有写措施内容")]
    assert Plan.objects.count() == 0
    # nothing in the file at all
    empty = book(tmp_path, {"空": [["一村一策"], ["随便写点什么"]]}, name="empty.xlsx")
    assert "没有找到一村一策" in run(admin, empty)["refused"]


def test_template_documents_both_layouts_and_imports_when_filled(tree, people, home, tmp_path, client):
    from openpyxl import load_workbook

    client.force_login(people["township_admin"])
    response = client.get("/import/template/plans.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["填表说明", "一村一策（按行填）", "按村填（一村一页）"]
    notes = " ".join(str(c.value) for c in wb["填表说明"]["A"] if c.value)
    assert "一、资源清单" in notes and "6月底" in notes and "领办实体" in notes
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(response.content)
    assert "没有找到一村一策" in run(people["township_admin"], blank)["refused"]
    wb["一村一策（按行填）"].append(["孙庄", "合作社", 60000, "扩大蔬菜种植", "张伟", "6月底", 30000])
    village = wb["按村填（一村一页）"]
    village["B2"] = "刘道村"
    village["A7"], village["B7"] = "优势", "冬瓜"
    village["A17"], village["B17"] = "现代农业", 45000
    for column, value in zip("ABCDE", ["冬瓜大棚", "现代农业", "李红梅", "10月底", 45000], strict=True):
        village[f"{column}27"] = value
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    result = run(people["township_admin"], filled)
    assert result["ok"], result
    assert Plan.objects.count() == 2 and Measure.objects.count() == 2


def test_import_page_check_then_confirm(tree, people, home, tmp_path, client):
    client.force_login(people["village_clerk"])
    assert "一村一策" in client.get("/import/").content.decode()
    path = book(tmp_path, {"表": _long()})
    with path.open("rb") as fh:
        response = client.post("/import/plans/", {"year": "2020", "file": fh}, follow=True)
    page = response.content.decode()
    assert "将导入 1 个村 2020 年的一村一策" in page and "孙庄村" in page
    assert Plan.objects.count() == 0
    job = ImportJob.objects.get()
    page = client.post(f"/import/jobs/{job.pk}/confirm/", follow=True).content.decode()
    assert "已导入 1 个村 2020 年的一村一策" in page
    assert Measure.objects.count() == 1 and PlanPath.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6月底", datetime.date(2020, 6, 30)),
        ("6月底前", datetime.date(2020, 6, 30)),
        ("2月", datetime.date(2020, 2, 29)),
        ("2021年3月", datetime.date(2021, 3, 31)),
        ("年底前", datetime.date(2020, 12, 31)),
        ("2020年底", datetime.date(2020, 12, 31)),
        ("上半年", datetime.date(2020, 6, 30)),
        ("第二季度", datetime.date(2020, 6, 30)),
        ("三季度末", datetime.date(2020, 9, 30)),
        ("5月中旬", datetime.date(2020, 5, 20)),
        ("2020.8", datetime.date(2020, 8, 31)),
        ("2020年8月15日前", datetime.date(2020, 8, 15)),
        (datetime.datetime(2020, 7, 1, 0, 0), datetime.date(2020, 7, 1)),
        (44012, datetime.date(2020, 6, 30)),
    ],
)
def test_deadlines_as_townships_write_them(text, expected):
    assert parse_deadline(text, year=2020) == expected


def test_sixty_seven_villages_import_quickly(tree, people, home, tmp_path):
    """A township's whole list: 67 villages × 5 measures. Measured, and bounded loosely."""
    import time

    from qiangcun.orgs.models import Level
    from qiangcun.orgs.services import unit_create

    names = [f"测试{i:02d}村" for i in range(63)]
    for i, name in enumerate(names):
        unit_create(
            actor=None, level=Level.VILLAGE, name=name, code=f"37142210530{i:02d}", parent=tree.district1
        )
    villages = [v.name for v in tree.villages] + names
    rows: list[list[Any]] = [LONG_HEADER]
    for v in villages:
        for k in range(5):
            rows.append(
                [
                    v if k == 0 else None,
                    "合作社",
                    50000 if k == 0 else None,
                    f"措施{k}",
                    "王建国",
                    f"{k + 6}月底",
                    10000,
                ]
            )
    path = book(tmp_path, {"表": rows})
    start = time.perf_counter()
    check = run(people["township_admin"], path, dry_run=True)
    checked = time.perf_counter() - start
    start = time.perf_counter()
    done = run(people["township_admin"], path)
    imported = time.perf_counter() - start
    assert check["ok"] and done["ok"], done
    assert Plan.objects.count() == 67 and Measure.objects.count() == 335
    print(f"67 villages, 335 measures: check {checked:.2f} s, import {imported:.2f} s")
    assert imported < 60


def test_error_report_marks_the_sheet_the_error_is_on(tree, people, home, tmp_path):
    from openpyxl import load_workbook

    from qiangcun.core.excel import REPORT_HEADER
    from qiangcun.imports.services import report_path

    bad = [list(r) for r in KV_SHEET]
    bad[9] = ["冬瓜大棚扩建", "刘备", "10月底", 45000]
    path = book(tmp_path, {"孙庄村": VILLAGE_SHEET, "刘道": bad})
    job = ImportJob.objects.create(user=people["township_admin"], kind="plans", file_name=path.name)
    result = run_import(job, path, dry_run=True)
    assert [(e["sheet"], e["row"], e["column"]) for e in result["errors"]] == [("刘道", 10, "B")]
    wb = load_workbook(report_path(job))
    ws = wb["刘道"]
    assert REPORT_HEADER in [c.value for c in ws[2]]
    assert "“责任人”列：“刘备”不是该村" in next(
        c.value for c in ws[10] if c.value and "刘备" in str(c.value) and "列" in str(c.value)
    )
    assert ws["B10"].fill.fgColor.rgb.endswith("FFCDD2")
    assert REPORT_HEADER not in [c.value for row in wb["孙庄村"].iter_rows() for c in row]


def test_the_command_line_import_checks_then_imports(tree, people, home, tmp_path):
    """``qiangcun import-plans FILE``: a refused file writes nothing and exits 1 with the row; a good
    one prints what it did; --dry-run writes nothing."""
    import io

    from django.core.management import call_command

    def cli(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import-plans", *args, stdout=out, stderr=err)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()

    bad = book(tmp_path, {"Sheet1": _long(["王家村", "合作社", 1, "x", "张伟", "6月底", 1])}, name="bad.xlsx")
    code, _, err = cli(str(bad), "--year", "2020", "--as", "admin")
    assert code == 1 and "没有名为“王家村”的村" in err and not Plan.objects.exists()
    good = book(tmp_path, {"Sheet1": _long()}, name="good.xlsx")
    code, out, _ = cli(str(good), "--year", "2020", "--as", "admin", "--dry-run")
    assert code == 0 and "将导入 1 个村" in out and "没有写入" in out and not Plan.objects.exists()
    code, out, _ = cli(str(good), "--year", "2020", "--as", "admin")
    assert code == 0 and "已导入 1 个村 2020 年" in out and "措施新增 1 项" in out
    assert Measure.objects.get().title == "扩大蔬菜种植"
