"""一村一策 services: permissions, validation, audit, follow-through and overdue on the working calendar."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from qiangcun.ledger.models import DevelopmentPath
from qiangcun.ledger.services import entry_reverse, entry_verify
from qiangcun.plans import selectors, services
from qiangcun.plans.models import Measure, MeasureEntry, Plan, PlanPath, ResourceKind

pytestmark = pytest.mark.usefixtures("fast_hashing")

LAND = "土地流转"
FARM = "现代农业"


def _path(name: str) -> DevelopmentPath:
    return DevelopmentPath.objects.get(name=name)


def _plan(actor, village, *, year=2020, land="20000.00", farm="90000.00"):
    return services.plan_save(
        actor=actor,
        village=village,
        year=year,
        summary="盘活闲置土地，发展特色种植",
        resources=[
            services.ResourceInput(kind=ResourceKind.LAND, name="集体机动地", area_mu=Decimal("35.5")),
            services.ResourceInput(kind=ResourceKind.WEAKNESS, name="收入来源单一"),
        ],
        paths=[
            services.PathInput(path=_path(LAND), expected=Decimal(land)),
            services.PathInput(path=_path(FARM), expected=Decimal(farm)),
        ],
    )


def test_plan_save_writes_the_list_and_the_paths_and_records_it(tree, personas):
    clerk = personas["village_clerk"]
    plan = _plan(clerk, tree.sunzhuang)
    assert [(r.kind, r.name, r.area_mu) for r in plan.resources.all()] == [
        ("land", "集体机动地", Decimal("35.50")),
        ("weakness", "收入来源单一", None),
    ]
    assert sorted(PlanPath.objects.filter(plan=plan).values_list("path__name", "expected")) == sorted(
        [(FARM, Decimal("90000.00")), (LAND, Decimal("20000.00"))]
    )
    record = ChangeRecord.objects.get(action="plan.save")
    assert record.actor_id == clerk.pk and record.before is None
    assert record.after["paths"][0]["expected"] in ("20000.00", "90000.00")
    # Saving again replaces the list and paths, the change is recorded with its before.
    services.plan_save(
        actor=clerk,
        village=tree.sunzhuang,
        year=2020,
        resources=[],
        paths=[services.PathInput(path=_path(LAND), expected=Decimal("1.00"))],
    )
    assert Plan.objects.count() == 1
    assert list(PlanPath.objects.values_list("path__name", "expected")) == [(LAND, Decimal("1.00"))]
    again = ChangeRecord.objects.filter(action="plan.save").order_by("-pk").first()
    assert len(again.before["paths"]) == 2 and len(again.after["paths"]) == 1


@pytest.mark.parametrize(
    "persona,allowed",
    [
        ("village_clerk", True),
        ("village_secretary", True),
        ("township_admin", True),
        ("other_clerk", False),
        ("station_head", False),
        ("district_secretary", False),
        ("instructor", False),
        ("leader", False),
        ("system_admin", False),
    ],
)
def test_who_may_plan(tree, personas, persona, allowed):
    if allowed:
        assert _plan(personas[persona], tree.sunzhuang).pk
    else:
        with pytest.raises(PermissionDeniedError):
            _plan(personas[persona], tree.sunzhuang)
        assert not Plan.objects.exists()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"paths": []}, "至少选择一条"),
        ({"year": 2021}, "2021 年度尚未开启"),
        ({"expected": Decimal("-1.00")}, "不能为负数"),
        ({"expected": Decimal("1.001")}, "两位小数"),
        ({"expected": Decimal("NaN")}, "不是金额"),
        ({"twice": True}, "与前面重复"),
        ({"area": Decimal("0")}, "面积应为大于 0"),
        ({"name": "a\x00b"}, "资源清单第 1 条"),
        ({"kind": "gold"}, "类型应为"),
    ],
)
def test_plan_refusals_save_nothing(tree, personas, change, message):
    land = _path(LAND)
    paths = [services.PathInput(path=land, expected=change.get("expected", Decimal("100.00")))]
    if change.get("twice"):
        paths.append(services.PathInput(path=land, expected=Decimal("5.00")))
    if "paths" in change:
        paths = change["paths"]
    resource = services.ResourceInput(
        kind=change.get("kind", "land"), name=change.get("name", "机动地"), area_mu=change.get("area")
    )
    with pytest.raises(ServiceError) as caught:
        services.plan_save(
            actor=personas["township_admin"],
            village=tree.sunzhuang,
            year=change.get("year", 2020),
            resources=[resource],
            paths=paths,
        )
    assert message in caught.value.message
    assert not Plan.objects.exists() and not ChangeRecord.objects.filter(action="plan.save").exists()


def test_plans_only_for_villages(tree, personas):
    with pytest.raises(ServiceError, match="行政村"):
        services.plan_save(
            actor=personas["township_admin"],
            village=tree.district1,
            year=2020,
            resources=[],
            paths=[services.PathInput(path=_path(LAND), expected=Decimal("1.00"))],
        )


def _measure(plan, actor, owner, **kw):
    return services.measure_create(
        actor=actor,
        plan=plan,
        title=kw.get("title", "公开发包机动地"),
        owner=owner,
        deadline=kw.get("deadline", datetime.date(2020, 4, 30)),
        expected=kw.get("expected", Decimal("20000.00")),
        path=_path(LAND),
    )


def test_measure_owner_must_hold_a_role_over_the_village(tree, personas):
    clerk = personas["village_clerk"]
    plan = _plan(clerk, tree.sunzhuang)
    for owner in ("village_clerk", "district_secretary", "station_head", "township_admin", "instructor"):
        assert _measure(plan, clerk, personas[owner]).owner == personas[owner]
    for outsider in ("other_clerk", "system_admin", "auditor", "no_role"):
        with pytest.raises(ServiceError, match="责任人"):
            _measure(plan, clerk, personas[outsider])
    assert Measure.objects.count() == 5


def test_measure_status_path_and_reasons(tree, personas):
    clerk, district = personas["village_clerk"], personas["district_secretary"]
    plan = _plan(clerk, tree.sunzhuang)
    m = _measure(plan, clerk, district)
    # The owner moves it on (a district secretary, who has no PLAN right).
    services.measure_status_set(actor=district, measure=m, status="active", on=datetime.date(2020, 3, 1))
    services.measure_note_add(actor=district, measure=m, date=datetime.date(2020, 3, 5), text="已对接承包户")
    with pytest.raises(ServiceError, match="原因"):
        services.measure_status_set(actor=district, measure=m, status="dropped")
    services.measure_status_set(actor=district, measure=m, status="done", on=datetime.date(2020, 4, 2))
    m.refresh_from_db()
    assert (m.status, m.done_on) == ("done", datetime.date(2020, 4, 2))
    # A finished measure is not edited; reopening needs PLAN and a reason.
    with pytest.raises(ServiceError, match="不能再修改"):
        services.measure_update(
            actor=clerk, measure=m, title="x", owner=clerk, deadline=m.deadline, expected=Decimal("1.00")
        )
    with pytest.raises(PermissionDeniedError):
        services.measure_status_set(actor=district, measure=m, status="active", note="返工")
    with pytest.raises(ServiceError, match="原因"):
        services.measure_status_set(actor=clerk, measure=m, status="active")
    services.measure_status_set(actor=clerk, measure=m, status="active", note="承包户违约，重新发包")
    m.refresh_from_db()
    assert (m.status, m.done_on) == ("active", None)
    assert ChangeRecord.objects.filter(action="plan.measure_status").count() == 3
    # Someone neither owner nor planner: refused.
    with pytest.raises(PermissionDeniedError):
        services.measure_note_add(
            actor=personas["other_clerk"], measure=m, date=datetime.date(2020, 3, 5), text="x"
        )


def test_overdue_follows_the_working_calendar(tree, personas):
    clerk = personas["village_clerk"]
    plan = _plan(clerk, tree.sunzhuang)
    # Due Friday 1 May 2020 (May Day holiday 1–5 May): met on Wednesday 6 May; Saturday 9 May is a
    # make-up working day (调休), so on 9 May it is 3 working days overdue (6 → 7, 8, 9).
    m = _measure(plan, clerk, clerk, deadline=datetime.date(2020, 5, 1))
    on = {
        datetime.date(2020, 5, 5): 0,
        datetime.date(2020, 5, 6): 0,
        datetime.date(2020, 5, 7): 1,
        datetime.date(2020, 5, 9): 3,
        datetime.date(2020, 5, 10): 3,
        datetime.date(2020, 5, 11): 4,
    }
    for day, days in on.items():
        got = selectors.measures_overdue(clerk, as_of=day)
        assert [(x.pk, d) for x, d in got] == ([(m.pk, days)] if days else []), day
    services.measure_status_set(actor=clerk, measure=m, status="done", on=datetime.date(2020, 5, 8))
    assert selectors.measures_overdue(clerk, as_of=datetime.date(2020, 5, 11)) == []


def test_measure_links_and_actual_income(tree, personas, make_entry):
    clerk, head = personas["village_clerk"], personas["station_head"]
    plan = _plan(clerk, tree.sunzhuang)
    m = _measure(plan, clerk, clerk)
    verified = make_entry(tree.sunzhuang, amount="1200.50", status="verified")
    pending = make_entry(tree.sunzhuang, amount="300.00", status="submitted")
    reversed_row = make_entry(tree.sunzhuang, amount="999.99", status="verified")
    other_village = make_entry(tree.liudao, amount="5.00", status="verified")
    last_year = make_entry(tree.sunzhuang, amount="7.00", date=datetime.date(2019, 12, 30))
    assert services.measure_link(actor=clerk, measure=m, entries=[verified, pending, reversed_row]) == 3
    reversal = entry_reverse(actor=head, entry=reversed_row, reason="录错")
    entry_verify(actor=personas["township_admin"], entries=[reversal])
    # counted: verified and not reversed; the pending row counts once verified.
    assert selectors.measure_actuals([m]) == {m.pk: Decimal("1200.50")}
    entry_verify(actor=head, entries=[pending])
    assert selectors.measure_actuals([m]) == {m.pk: Decimal("1500.50")}
    assert selectors.measure_actuals([m], datetime.date(2020, 2, 1)) == {}
    for bad, message in (
        ([other_village], "不是孙庄村的记录"),
        ([last_year], "不在 2020 年"),
        ([verified], "已关联到措施"),
        ([reversal], "冲销记录"),
        ([], "请选择"),
    ):
        with pytest.raises(ServiceError, match=message):
            services.measure_link(actor=clerk, measure=m, entries=bad)
    with pytest.raises(PermissionDeniedError):
        services.measure_link(actor=personas["other_clerk"], measure=m, entries=[other_village])
    services.measure_unlink(actor=clerk, measure=m, entry=verified)
    assert MeasureEntry.objects.count() == 2
    assert selectors.measure_actuals([m]) == {m.pk: Decimal("300.00")}


def test_plan_table_counts_and_flags(tree, personas, make_entry):
    admin = personas["township_admin"]
    _plan(admin, tree.sunzhuang, land="20000.00", farm="70000.00")  # 90,000 < target 100,000: short
    services.plan_save(
        actor=admin,
        village=tree.liudao,
        year=2020,
        resources=[],
        paths=[services.PathInput(path=_path(FARM), expected=Decimal("40000.00"))],
    )
    make_entry(tree.sunzhuang, amount="1000.01", status="verified")
    table = selectors.plan_table(admin, tree.township, 2020, datetime.date(2020, 4, 17))
    rows = {r.village.name: r for r in table.rows}
    assert rows["孙庄村"].short and rows["孙庄村"].shortfall == Decimal("10000.00")
    assert not rows["刘道村"].short  # no target set: nothing to compare
    assert rows["杨老头村"].plan is None
    assert dict(table.paths) == {LAND: 1, FARM: 2}
    assert (table.planned, table.expected, table.actual) == (2, Decimal("130000.00"), Decimal("1000.01"))
    summary = selectors.plans_summary(table)
    assert summary["villages_by_path"] == {LAND: 1, FARM: 2}
    assert summary["expected"] == "130000.00" and summary["actual"] == "1000.01"
    # Scope: a station head of station 1 sees its three villages, the other clerk only their own.
    head_rows = selectors.plan_table(personas["station_head"], tree.station1, 2020).rows
    assert sorted(r.village.name for r in head_rows) == ["刘道村", "孙庄村", "杨老头村"]
    other = personas["other_clerk"]
    assert [r.village.name for r in selectors.plan_table(other, tree.bianxiyang, 2020).rows] == ["编席杨村"]
    assert [r.village.name for r in selectors.plan_table(other, tree.township, 2020).rows] == ["编席杨村"]
    with pytest.raises(NotFoundError):
        selectors.plan_table(other, tree.station1, 2020)


def test_the_table_adds_up_exactly_the_rows_it_shows(tree, personas, make_entry):
    """Actual income is every row's, planned or not; a filter's table adds up only its rows; as-of
    figures use the state on that day (a measure finished later is not done yet, and overdue)."""
    admin = personas["township_admin"]
    plan = _plan(admin, tree.sunzhuang, land="20000.00", farm="70000.00")  # short of 100,000
    make_entry(tree.sunzhuang, amount="17000.00", status="verified")
    make_entry(tree.yanglaotou, amount="4000.00", status="verified")  # no plan
    m = _measure(plan, admin, personas["village_clerk"], deadline=datetime.date(2020, 4, 10))
    services.measure_status_set(actor=admin, measure=m, status="done", on=datetime.date(2020, 6, 1))
    table = selectors.plan_table(admin, tree.township, 2020, datetime.date(2020, 4, 17))
    assert table.actual == sum(r.actual for r in table.rows) == Decimal("21000.00")
    assert (table.done, table.overdue) == (0, 1)  # on 17 April it was neither done nor on time
    later = selectors.plan_table(admin, tree.township, 2020, datetime.date(2020, 6, 30))
    assert (later.done, later.overdue) == (1, 0)
    short = table.only([r for r in table.rows if r.short])
    assert [r.village.name for r in short.rows] == ["孙庄村"]
    assert (short.target, short.expected, short.actual) == (
        Decimal("100000.00"),
        Decimal("90000.00"),
        Decimal("17000.00"),
    )
    assert dict(short.paths) == {LAND: 1, FARM: 1}
    with pytest.raises(ServiceError, match="不在 2020 年内"):
        selectors.plan_table(admin, tree.township, 2020, datetime.date(2021, 1, 5))


def test_a_village_sees_its_measures_whoever_owns_them(tree, personas, settings):
    settings.TODAY = datetime.date(2020, 4, 17)
    admin = personas["township_admin"]
    plan = _plan(admin, tree.sunzhuang)
    m = _measure(plan, admin, personas["district_secretary"], deadline=datetime.date(2020, 4, 20))
    clerk = personas["village_clerk"]
    assert selectors.measures_due(clerk, as_of=datetime.date(2020, 4, 17)) == []
    assert selectors.measures_due(clerk, as_of=datetime.date(2020, 4, 17), village_wide=True) == [(m, 0)]
    assert (
        selectors.measures_due(personas["other_clerk"], as_of=datetime.date(2020, 4, 17), village_wide=True)
        == []
    )


def test_progress_dates_belong_to_the_plan_year(tree, personas):
    clerk = personas["village_clerk"]
    m = _measure(_plan(clerk, tree.sunzhuang), clerk, clerk)
    with pytest.raises(ServiceError, match="早于 2020 年"):
        services.measure_note_add(actor=clerk, measure=m, date=datetime.date(2000, 1, 1), text="x")
    with pytest.raises(ServiceError, match="早于 2020 年"):
        services.measure_status_set(actor=clerk, measure=m, status="done", on=datetime.date(2000, 1, 1))
