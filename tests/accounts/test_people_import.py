"""Importing a township's people: the reader (any reasonable layout, errors by row and column) and the
service (every account and role in one transaction, all or nothing, every row's refusal reported)."""

from __future__ import annotations

import datetime
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from qiangcun.accounts.importing import (
    PersonRow,
    UnitMatcher,
    parse_people_file,
    read_phone,
    read_role,
    username_from_name,
)
from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.accounts.services import PeopleImportError, grant_create, people_import, user_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.cells import CellError
from qiangcun.core.errors import PermissionDeniedError
from qiangcun.core.excel import WorkbookRefused
from qiangcun.core.scope import Action
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _book(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _units(personas) -> list[OrgUnit]:
    return list(OrgUnit.objects.restrict(personas["system_admin"], Action.MANAGE_USERS))


def _parse(tmp_path, personas, rows, name="人员.xlsx"):
    return parse_people_file(_book(tmp_path / name, rows), name=name, units=_units(personas))


def _where(parsed) -> dict[int, list[tuple[str, str]]]:
    """Row → [(column letter, reason)] of the reader's errors."""
    out: dict[int, list[tuple[str, str]]] = {}
    for e in parsed.errors:
        out.setdefault(e.row, []).append((e.column, e.reason))
    return out


# --- the reader ------------------------------------------------------------------------------------------


def test_a_roster_laid_out_its_own_way_is_read(tree, personas, tmp_path):
    parsed = _parse(
        tmp_path,
        personas,
        [
            ["相衙镇村干部花名册"],
            ["填报单位：相衙镇党委组织办", None, None, None, None, "2020年4月"],
            ["序号", "名字", "联系电话", "登录名", "职务", "所在单位"],
            [1, "张站长", 13800000001, "zhang-s1", "站长", "一号网格站"],
            [2, "孙报账", "138 0000 0002", "sun.clerk", "报账员", "孙庄"],
            [None, None, None, None, None, None],
            [3, "刘书记", "138-0000-0003", "liu.sec", "书记", "刘道村委会"],
            [4, "管区书记甲", "+86 13800000004", "d1.sec", "书记", "第一管区"],
            [5, "党建办干事", None, "tw.admin", "镇党建办", None],
            [6, "杨新人", "", "yang.new", "", 371422105203],  # a unit's code, typed as a number
            ["合计", "6 人"],
            ["制表人：王某", None, None, "审核人：李某"],
        ],
    )
    assert parsed.errors == []
    assert parsed.table is not None and parsed.table.header_row == 3
    got = {r.username: r for r in parsed.rows}
    assert list(got) == ["zhang-s1", "sun.clerk", "liu.sec", "d1.sec", "tw.admin", "yang.new"]
    assert (got["zhang-s1"].role, got["zhang-s1"].unit) == (Role.STATION_HEAD, tree.station1)
    assert got["zhang-s1"].phone == "13800000001"  # a number cell, read exactly (not 1.38E+10)
    assert (got["sun.clerk"].role, got["sun.clerk"].unit, got["sun.clerk"].phone) == (
        Role.VILLAGE_CLERK,
        tree.sunzhuang,
        "13800000002",
    )
    assert (got["liu.sec"].role, got["liu.sec"].unit) == (Role.VILLAGE_SECRETARY, tree.liudao)
    assert (got["d1.sec"].role, got["d1.sec"].unit) == (Role.DISTRICT_SECRETARY, tree.district1)
    assert got["d1.sec"].phone == "13800000004"
    assert (got["tw.admin"].role, got["tw.admin"].unit) == (Role.TOWNSHIP_ADMIN, tree.township)
    assert (got["yang.new"].role, got["yang.new"].unit) == ("", tree.yanglaotou)
    assert [r.row for r in parsed.rows] == [4, 5, 7, 8, 9, 10]
    assert parsed.skipped == 3  # the blank row, 合计 and the signature line


def test_a_roster_with_station_district_and_village_columns_reads_the_column_the_role_needs(
    tree, personas, tmp_path
):
    # A second 孙庄村, under 第三管区: the 管区 column tells the two apart.
    unit_create(actor=None, level=Level.VILLAGE, name="孙庄村", code="T-V9", parent=tree.district3)
    parsed = _parse(
        tmp_path,
        personas,
        [
            ["网格站", "管区", "村", "姓名", "职务", "手机"],
            ["一号网格站", None, None, "一站长", "网格站长", "13900000001"],
            ["一号网格站", "第一管区", None, "一管区书记", "包区书记", None],
            ["一号网格站", "第一管区", "孙庄", "孙庄会计", "会计", None],
            ["二号网格站", "第三管区", "孙庄村", "另一个孙庄会计", "村报账员", None],
            ["一号网格站", "第一管区", "刘道", "刘道站长兼", "网格站长", None],
        ],
    )
    assert parsed.errors == []
    got = {r.name: r for r in parsed.rows}
    assert (got["一站长"].unit, got["一站长"].unit_field) == (tree.station1, "station")
    assert got["一管区书记"].unit == tree.district1
    assert got["孙庄会计"].unit == tree.sunzhuang
    assert got["另一个孙庄会计"].unit.code == "T-V9"
    assert (got["刘道站长兼"].unit, got["刘道站长兼"].role) == (tree.station1, Role.STATION_HEAD)
    assert all(r.username_made for r in parsed.rows)  # no 账号 column: made from the names


def test_usernames_are_made_from_the_names_pinyin_and_never_clash(tree, personas, tmp_path):
    user_create(actor=None, username="ZhangWei", password=None)  # taken, whatever the case
    parsed = _parse(
        tmp_path,
        personas,
        [
            ["姓名", "账号", "角色", "单位"],
            ["张伟", None, "村报账员", "孙庄村"],
            ["张 伟", "", "村书记", "孙庄村"],
            ["曾国强", None, "村书记", "刘道村"],
            ["吕布", None, None, "刘道村"],
            ["张伟", "zhangwei3", "村报账员", "刘道村"],  # written by hand: the made ones step over it
        ],
    )
    assert parsed.errors == []
    assert [(r.username, r.username_made) for r in parsed.rows] == [
        ("zhangwei2", True),
        ("zhangwei4", True),
        ("zengguoqiang", True),
        ("lvbu", True),
        ("zhangwei3", False),
    ]
    assert username_from_name("单雄信") == "shanxiongxin"
    assert username_from_name("Tom Lee") == "tomlee"


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        (13800000000.0, "13800000000"),
        (13800000000, "13800000000"),
        ("138 0000 0000", "13800000000"),
        ("138-0000-0000", "13800000000"),
        ("１３８００００００００", "13800000000"),
        ("+86 138 0000 0000", "13800000000"),
        (None, ""),
        ("", ""),
    ],
)
def test_phones_are_read_exactly(raw, phone):
    assert read_phone(raw) == phone


@pytest.mark.parametrize("raw", [1.38e10 + 0.5, "1380000000", "2380000000x", datetime.date(2020, 1, 1), True])
def test_phones_that_are_not_phones_are_refused(raw):
    with pytest.raises(CellError, match="手机号"):
        read_phone(raw)


@pytest.mark.parametrize(
    ("raw", "role"),
    [
        ("网格站长", Role.STATION_HEAD),
        ("站长", Role.STATION_HEAD),
        (" 村报账员 ", Role.VILLAGE_CLERK),
        ("报账员", Role.VILLAGE_CLERK),
        ("村支书", Role.VILLAGE_SECRETARY),
        ("支部书记", Role.VILLAGE_SECRETARY),
        ("包区书记", Role.DISTRICT_SECRETARY),
        ("审计管理员", Role.AUDITOR),
        ("village_clerk", Role.VILLAGE_CLERK),
        ("", ""),
        ("无", ""),
    ],
)
def test_roles_by_label_and_synonym(raw, role):
    assert read_role(raw) == role


def test_every_bad_cell_is_named_by_row_and_column(tree, personas, tmp_path):
    user_create(actor=None, username="taken.one", password=None)
    parsed = _parse(
        tmp_path,
        personas,
        [
            ["人员账号"],
            ["姓名", "手机", "账号", "角色", "单位"],
            ["好人", "13800000001", "good.one", "村报账员", "孙庄村"],  # row 3: fine
            ["甲", "12345", "a1", "村报账员", "孙庄村"],  # 4: phone
            ["乙", "13800000002", "a2", "会长", "孙庄村"],  # 5: role unknown
            ["丙", "13800000003", "a3", "村报账员", "王家村"],  # 6: unit unknown
            ["丁", "13800000004", "a4", "网格站长", "孙庄村"],  # 7: role does not fit the unit
            ["戊", "13800000005", "TAKEN.ONE", "村书记", "刘道村"],  # 8: clash with an account
            ["己", "13800000006", "Good.One", "村书记", "刘道村"],  # 9: duplicate of row 3
            [None, "13800000007", "a7", "村书记", "刘道村"],  # 10: no name
            ["庚", "13800000008", "li#si", "村书记", "刘道村"],  # 11: # in the username
            ["辛", None, "a9", "村报账员", None],  # 12: no unit
            [
                "壬",
                datetime.date(2020, 1, 2),
                "a10",
                "书记",
                "一号网格站",
            ],  # 13: phone a date; 书记 on a station
        ],
    )
    where = _where(parsed)
    assert sorted(where) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [c for c, _ in where[4]] == ["B"] and "11 位" in where[4][0][1]
    assert [c for c, _ in where[5]] == ["D"] and "会长" in where[5][0][1]
    assert [c for c, _ in where[6]] == ["E"] and "王家村" in where[6][0][1]
    assert [c for c, _ in where[7]] == ["D"] and "网格站长只能授予在网格站上（孙庄村是行政村）" in where[7][
        0
    ][1]
    assert [c for c, _ in where[8]] == ["C"] and "已被使用" in where[8][0][1]
    assert [c for c, _ in where[9]] == ["C"] and "与第 3 行重复" in where[9][0][1]
    assert [c for c, _ in where[10]] == ["A"] and "姓名不能为空" in where[10][0][1]
    assert [c for c, _ in where[11]] == ["C"] and "只能由字母" in where[11][0][1]
    assert [c for c, _ in where[12]] == ["E"] and "单位不能为空" in where[12][0][1]
    assert sorted(c for c, _ in where[13]) == ["B", "D"]
    assert [r.row for r in parsed.rows] == [3]
    text = str(parsed.errors[0])
    assert text.startswith("第 4 行“手机”列（B）：")


def test_an_ambiguous_unit_is_an_error_naming_both(tree, personas, tmp_path):
    unit_create(actor=None, level=Level.VILLAGE, name="孙庄村", code="T-V9", parent=tree.district3)
    parsed = _parse(tmp_path, personas, [["姓名", "角色", "单位"], ["某人", "村报账员", "孙庄"]])
    ((row, column, reason),) = [(e.row, e.column, e.reason) for e in parsed.errors]
    assert (row, column) == (2, "C")
    assert "第一管区孙庄村" in reason and "第三管区孙庄村" in reason


def test_units_outside_the_admins_township_are_unknown(tree, personas, other_township, tmp_path):
    parsed = _parse(tmp_path, personas, [["姓名", "角色", "单位"], ["某人", "村报账员", "杜集村"]])
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "C")]
    assert "不在您管理的范围内" in parsed.errors[0].reason


def test_a_sheet_without_a_unit_column_is_refused(tree, personas, tmp_path):
    with pytest.raises(WorkbookRefused, match="缺少“单位”列"):
        _parse(tmp_path, personas, [["姓名", "手机", "账号"], ["某人", "13800000000", "x1"]])


# --- the service -----------------------------------------------------------------------------------------


def _rows(tree, n: int) -> list[PersonRow]:
    villages = tree.villages
    return [
        PersonRow(
            row=i + 2,
            name=f"人员{i + 1}",
            phone=f"139{i:08d}",
            username=f"p{i + 1:02d}",
            username_made=False,
            role=Role.VILLAGE_CLERK if i % 3 else "",
            unit=villages[i % len(villages)],
            unit_field="unit",
        )
        for i in range(n)
    ]


def _state():
    return (User.objects.count(), RoleGrant.objects.count(), ChangeRecord.objects.count())


def test_import_makes_every_account_and_role_with_one_time_passwords(tree, personas):
    admin = personas["system_admin"]
    rows = _rows(tree, 6)
    outcome = people_import(actor=admin, rows=rows)
    assert len(outcome.people) == 6 and outcome.grants == 4
    for person, row in zip(outcome.people, rows, strict=True):
        user = User.objects.get(username=row.username)
        assert (user.display_name, user.phone, user.unit) == (row.name, row.phone, row.unit)
        assert user.must_change_password and user.check_password(person.password)
        roles = list(user.grants.values_list("role", "unit"))
        assert roles == ([(row.role, row.unit.pk)] if row.role else [])
    assert outcome.by_level() == [("行政村", 6, 4)]
    records = ChangeRecord.objects.filter(actor=admin)
    assert records.filter(action="user.create").count() == 6
    assert records.filter(action="rolegrant.create").count() == 4


def test_a_dry_run_keeps_nothing_and_says_what_would_happen(tree, personas):
    before = _state()
    outcome = people_import(actor=personas["system_admin"], rows=_rows(tree, 5), dry_run=True)
    assert _state() == before
    assert len(outcome.people) == 5 and outcome.grants == 3
    assert all(p.password == "" for p in outcome.people)


def test_a_bad_last_row_of_thirty_leaves_nothing(tree, personas):
    rows = _rows(tree, 30)
    user_create(actor=None, username="P30", password=None)  # made after the check: row 31 clashes
    before = _state()
    with pytest.raises(PeopleImportError) as caught:
        people_import(actor=personas["system_admin"], rows=rows)
    assert [(e.row, e.reason) for e in caught.value.errors] == [
        (31, "账号 p30 已被使用（不区分大小写），请换一个")
    ]
    assert _state() == before
    assert not User.objects.filter(username__startswith="p0").exists()


def test_the_services_refusals_name_the_row_and_column_of_every_bad_row(tree, personas, tmp_path):
    parsed = _parse(
        tmp_path,
        personas,
        [
            ["姓名", "手机", "账号", "角色", "单位"],
            ["甲", None, "dup", "村报账员", "孙庄村"],
            ["乙", None, "DUP", "村报账员", "刘道村"],
            ["丙", None, "c3", "村报账员", "刘道村"],
        ],
    )
    assert [e.row for e in parsed.errors] == [3]  # the reader sees the duplicate …
    rows = [*parsed.rows, replace(parsed.rows[0], row=3, username="DUP", unit=tree.liudao)]
    rows.append(replace(parsed.rows[1], row=5, username="c5", role=Role.STATION_HEAD))
    assert parsed.table is not None
    with pytest.raises(PeopleImportError) as caught:  # … and so does the service, row by row
        people_import(actor=personas["system_admin"], rows=rows, columns=parsed.table.columns)
    assert [(e.row, e.column, e.header) for e in caught.value.errors] == [(3, "C", "账号"), (5, "E", "单位")]
    assert "网格站长只能授予在网格站上" in caught.value.errors[1].reason
    assert not User.objects.filter(username__in=["dup", "c3", "c5"]).exists()


def test_where_a_security_admin_grants_the_system_admin_gets_every_role_row_refused(tree, personas):
    security = user_create(actor=None, username="security", password=None)
    grant_create(actor=None, user=security, role=Role.SECURITY_ADMIN, unit=tree.township)
    rows = _rows(tree, 6)
    before = _state()
    with pytest.raises(PeopleImportError) as caught:
        people_import(actor=personas["system_admin"], rows=rows)
    assert [e.row for e in caught.value.errors] == [r.row for r in rows if r.role]
    assert all("安全管理员" in e.reason for e in caught.value.errors)
    assert _state() == before


def test_only_a_system_admin_imports_people(tree, personas):
    with pytest.raises(PermissionDeniedError, match="管理账号"):
        people_import(actor=personas["township_admin"], rows=_rows(tree, 1))
    assert not User.objects.filter(username="p01").exists()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(), st.floats(allow_nan=True), st.integers(), st.none(), st.booleans()))
def test_any_cell_reads_as_a_value_or_a_chinese_reason(value):
    for read in (read_phone, read_role):
        try:
            read(value)
        except CellError as exc:
            assert re.search(r"[\u4e00-\u9fff]", str(exc))


def test_any_unit_text_matches_one_unit_or_says_why(tree, personas):
    matcher = UnitMatcher(_units(personas))

    @settings(max_examples=200, deadline=None)
    @given(text=st.text(alphabet="孙庄村刘道一号网格站第管区镇相衙 ", max_size=8))
    def check(text):
        try:
            unit = matcher.match(text)
        except CellError as exc:
            assert "单位" in str(exc) or "没有名为" in str(exc)
        else:
            assert unit in matcher.units

    check()
