"""一村一策 export: four sheets for the reader's scope, exact money, and a round trip through the import."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from qiangcun.imports.models import ImportJob
from qiangcun.imports.services import run_import
from qiangcun.ledger.models import DevelopmentPath
from qiangcun.plans.exporting import plans_workbook
from qiangcun.plans.models import Measure, MeasureStatus, Plan
from qiangcun.plans.services import PathInput, ResourceInput, measure_create, plan_save

from .test_import import people  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _path(name: str) -> DevelopmentPath:
    return DevelopmentPath.objects.get(name=name)


@pytest.fixture
def plans(tree, people):  # noqa: F811
    admin = people["township_admin"]
    sun = plan_save(
        actor=admin,
        village=tree.sunzhuang,
        year=2020,
        summary="合作社带动，盘活闲置校舍",
        resources=[
            ResourceInput(kind="asset", name="旧小学校舍", note="5 间"),
            ResourceInput(kind="land", name="机动地", area_mu=Decimal("35.50")),
            ResourceInput(kind="advantage", name="=临近县城"),  # text that looks like a formula
            ResourceInput(kind="weakness", name="缺少冷库"),
        ],
        paths=[
            PathInput(path=_path("合作社"), expected=Decimal("60000.10"), note="党支部领办"),
            PathInput(path=_path("光伏发电"), expected=Decimal("12345.67")),
        ],
    )
    liu = plan_save(
        actor=admin,
        village=tree.liudao,
        year=2020,
        resources=[],
        paths=[PathInput(path=_path("现代农业"), expected=Decimal("40000.00"))],
    )
    zhang, li, wang = people["village_secretary"], people["district_secretary"], people["township_admin"]
    made = [
        measure_create(
            actor=admin,
            plan=sun,
            title="扩大合作社蔬菜种植规模",
            owner=zhang,
            deadline=datetime.date(2020, 3, 31),
            expected=Decimal("30000.05"),
            path=_path("合作社"),
        ),
        measure_create(
            actor=admin,
            plan=sun,
            title="屋顶光伏并网",
            owner=people["station_head"],  # one of two 赵敏
            deadline=datetime.date(2020, 12, 31),
            expected=Decimal("0.00"),
            path=_path("光伏发电"),
        ),
        measure_create(
            actor=admin,
            plan=sun,
            title="整理村务档案",
            owner=wang,
            deadline=datetime.date(2020, 6, 30),
            expected=Decimal("0.00"),
        ),
        measure_create(
            actor=admin,
            plan=liu,
            title="冬瓜大棚扩建 20 个",
            owner=li,
            deadline=datetime.date(2021, 3, 31),
            expected=Decimal("40000.00"),
            path=_path("现代农业"),
        ),
    ]
    Measure.objects.filter(pk=made[2].pk).update(status=MeasureStatus.DONE, done_on=datetime.date(2020, 4, 1))
    return sun, liu


def _book(body: bytes):
    return load_workbook(io.BytesIO(body))


def _rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows(min_row=4)]


def test_four_sheets_with_exact_money(tree, people, plans):  # noqa: F811
    admin = people["township_admin"]
    wb = _book(plans_workbook(admin, tree.township, 2020, datetime.date(2020, 4, 17)))
    assert wb.sheetnames == ["一村一策汇总", "措施", "增收路子", "资源清单"]
    summary = wb["一村一策汇总"]
    assert [c.value for c in summary[3]] == [
        "网格站",
        "管区",
        "村",
        "年度目标（元）",
        "增收路子",
        "预计收入（元）",
        "是否达到目标",
        "实际计入收入（元）",
        "措施数",
        "已完成",
        "逾期",
        "方案概述",
    ]
    rows = {r[2]: r for r in _rows(summary)}
    assert set(rows) == {"孙庄村", "刘道村", "杨老头村", "编席杨村", "2 个村已编制"}
    sun = rows["孙庄村"]
    assert sun[:5] == ["一号网格站", "第一管区", "孙庄村", 100000, "光伏发电、合作社"]
    assert Decimal(str(sun[5])) == Decimal("72345.77") and summary["F4"].number_format.startswith("#,##0.00")
    assert sun[6] == "否（差 27,654.23 元）" and sun[8:11] == [3, 1, 1]
    assert rows["刘道村"][6] == "是" and rows["杨老头村"][6] == "未编制"
    measures = _rows(wb["措施"])
    assert measures[0] == [
        "孙庄村",
        "扩大合作社蔬菜种植规模",
        "合作社",
        "张伟",
        datetime.datetime(2020, 3, 31),
        30000.05,
        0,
        "未开始",
        12,  # working days after 31 March up to 17 April (Qingming 4–6 April off)
    ]
    assert measures[1][3] == "王建国" and measures[1][7] == "已完成" and measures[1][8] is None
    assert measures[2][3] == "赵敏（station）", "a shared name carries the account"
    assert measures[-1][:2] == ["合计", "4 项"]
    assert _rows(wb["增收路子"])[1] == ["孙庄村", "合作社", 60000.1, "党支部领办"]
    resources = _rows(wb["资源清单"])
    assert resources[2] == ["孙庄村", "优势", "=临近县城", None, None]
    assert wb["资源清单"]["C6"].data_type == "s", "text stays text, never a formula"
    assert resources[1] == ["孙庄村", "土地资源", "机动地", 35.5, None]


def test_export_keeps_to_the_readers_scope(tree, people, plans, client):  # noqa: F811
    wb = _book(plans_workbook(people["village_clerk"], tree.township, 2020, datetime.date(2020, 4, 17)))
    assert {r[2] for r in _rows(wb["一村一策汇总"])} == {"孙庄村", "1 个村已编制"}
    assert {r[0] for r in _rows(wb["措施"])} == {"孙庄村", "合计"}
    other = _book(plans_workbook(people["other_clerk"], tree.township, 2020, datetime.date(2020, 4, 17)))
    assert [r[0] for r in _rows(other["措施"])] == ["合计"]
    client.force_login(people["village_clerk"])
    response = client.get(f"/plans/export.xlsx?unit={tree.township.code}&year=2020&as_of=2020-04-17")
    assert response.status_code == 200
    assert "一村一策.xlsx" in unquote(response["Content-Disposition"])
    assert {r[2] for r in _rows(_book(response.content)["一村一策汇总"])} == {"孙庄村", "1 个村已编制"}


def _state():
    plans = {}
    for plan in Plan.objects.filter(year=2020).prefetch_related("paths__path", "resources"):
        plans[plan.village.name] = (
            plan.summary,
            sorted((p.path.name, p.expected, p.note) for p in plan.paths.all()),
            [(r.kind, r.name, r.area_mu, r.note) for r in plan.resources.all()],
        )
    measures = sorted(
        (m.plan.village.name, m.title, m.path_id, m.owner_id, m.deadline, m.expected)
        for m in Measure.objects.select_related("plan__village")
    )
    return plans, measures


def _import(user, body: bytes, tmp_path, name: str):
    path = tmp_path / name
    path.write_bytes(body)
    job = ImportJob.objects.create(user=user, kind="plans", file_name=name, options={"year": "2020"})
    return run_import(job, path, dry_run=False)


def test_round_trip_reproduces_plans_and_measures(tree, people, plans, tmp_path, settings):  # noqa: F811
    settings.HOME = tmp_path
    admin = people["township_admin"]
    before = _state()
    body = plans_workbook(admin, tree.township, 2020, datetime.date(2020, 4, 17))
    again = _import(admin, body, tmp_path, "same.xlsx")
    assert again["ok"], again
    assert "措施新增 0 项、更新 0 项、不变 4 项" in again["summary"], "importing the export changes nothing"
    assert _state() == before
    Plan.objects.all().delete()
    assert Measure.objects.count() == 0
    fresh = _import(admin, body, tmp_path, "fresh.xlsx")
    assert fresh["ok"], fresh
    assert "2 个村" in fresh["summary"] and "措施新增 4 项" in fresh["summary"]
    assert _state() == before
