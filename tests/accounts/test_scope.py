"""Roles, scope paths and the org tree: nobody reads or writes outside the units granted to them."""

from __future__ import annotations

import pytest

from qiangcun.accounts.models import ROLE_ACTIONS, Action, Role
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import ServiceError
from qiangcun.core.scope import allowed, path_q, scope_paths
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.selectors import ancestors, units_visible, villages_under, widest_units
from qiangcun.orgs.services import unit_create

pytestmark = pytest.mark.usefixtures("fast_hashing")

#: What each persona may do, written out by hand from DOMAIN.md's table of roles (三权分立: the system
#: admin and the auditor read no ledger; only the township admin manages targets; only villages enter).
EXPECTED = {
    "township_admin": {"view", "verify", "manage_targets", "import", "publish", "plan", "inspect", "assets"},
    "leader": {"view"},
    "station_head": {"view", "verify", "inspect"},
    "district_secretary": {"view", "verify", "inspect"},
    "instructor": {"view", "inspect"},
    "village_secretary": {"view", "enter", "plan", "assets"},
    "village_clerk": {"view", "enter", "plan", "assets"},
    "other_clerk": {"view", "enter", "plan", "assets"},
    "system_admin": {"manage_users", "grant_roles"},
    "auditor": {"audit"},
    "no_role": set(),
    "anonymous": set(),
}


def test_role_actions_table():
    assert set(ROLE_ACTIONS) == set(Role.values)
    for actions in ROLE_ACTIONS.values():
        assert actions <= set(Action.values)


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_each_persona_may_do_exactly_its_actions(tree, personas, persona):
    user = personas[persona]
    granted = {action for action in Action.values if scope_paths(user, action)}
    assert granted == EXPECTED[persona]


def test_scope_paths_are_the_granted_subtrees(tree, personas):
    assert personas["station_head"].scope_paths("view") == (tree.station1.path,)
    assert personas["village_clerk"].scope_paths("enter") == (tree.sunzhuang.path,)
    assert personas["township_admin"].scope_paths("verify") == (tree.township.path,)
    assert personas["auditor"].scope_paths("view") == ()


def test_allowed_follows_the_tree(tree, personas):
    head = personas["station_head"]
    for unit in (tree.station1, tree.district1, tree.district2, tree.sunzhuang, tree.liudao, tree.yanglaotou):
        assert allowed(head, "verify", unit.path)
    for unit in (tree.township, tree.county, tree.station2, tree.district3, tree.bianxiyang):
        assert not allowed(head, "verify", unit.path)
    assert not allowed(head, "enter", tree.sunzhuang.path)
    assert not allowed(None, "view", tree.sunzhuang.path)


def test_path_prefix_is_not_fooled_by_similar_codes(tree, personas):
    """/…/T-S1/ must not reach a sibling whose code starts with T-S1 (the trailing slash matters)."""
    sibling = unit_create(
        actor=None, level=Level.STATION, name="十一号网格站", code="T-S11", parent=tree.township
    )
    assert sibling.path.startswith(tree.station1.path.rstrip("/"))
    assert not allowed(personas["station_head"], "view", sibling.path)
    assert sibling not in units_visible(user=personas["station_head"])


def test_inactive_users_have_no_scope(tree, personas):
    clerk = personas["village_clerk"]
    clerk.is_active = False
    assert scope_paths(clerk, "view") == ()
    assert clerk.scope_paths("enter") == ()
    assert not clerk.can("view", tree.sunzhuang)


def test_new_grants_take_effect(tree, personas):
    clerk = personas["village_clerk"]
    assert not clerk.can("enter", tree.liudao)
    grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=tree.liudao)
    assert clerk.can("enter", tree.liudao)
    assert set(clerk.scope_paths("enter")) == {tree.sunzhuang.path, tree.liudao.path}
    with pytest.raises(ServiceError):
        grant_create(actor=None, user=clerk, role="superuser", unit=tree.liudao)


def test_path_q_with_no_paths_matches_nothing(tree):
    assert OrgUnit.objects.filter(path_q("path", ())).count() == 0
    assert OrgUnit.objects.filter(path_q("path", (tree.district1.path,))).count() == 3


def test_restrict(tree, personas):
    def codes(user, action="view"):
        return {u.code for u in units_visible(user=user, action=action)}

    assert codes(personas["station_head"]) == {
        "T-S1",
        "T-D1",
        "T-D2",
        tree.sunzhuang.code,
        tree.liudao.code,
        tree.yanglaotou.code,
    }
    assert codes(personas["village_clerk"]) == {tree.sunzhuang.code}
    assert codes(personas["auditor"]) == set()
    assert codes(None) == set()
    assert codes(personas["leader"]) == set(
        OrgUnit.objects.under(tree.township).values_list("code", flat=True)
    )


def test_tree_selectors(tree, personas):
    assert ancestors(tree.sunzhuang) == [tree.county, tree.township, tree.station1, tree.district1]
    assert ancestors(tree.county) == []
    assert set(villages_under(tree.station1)) == {tree.sunzhuang, tree.liudao, tree.yanglaotou}
    assert set(villages_under(tree.sunzhuang)) == {tree.sunzhuang}
    assert widest_units(personas["station_head"]) == [tree.station1]
    assert widest_units(personas["auditor"]) == []
    grant_create(actor=None, user=personas["village_clerk"], role=Role.VILLAGE_CLERK, unit=tree.bianxiyang)
    assert widest_units(personas["village_clerk"]) == [tree.sunzhuang, tree.bianxiyang]


def test_unit_create_builds_paths_and_records(tree):
    assert tree.sunzhuang.path == "/371422000000/371422105000/T-S1/T-D1/371422105201/"
    assert tree.sunzhuang.depth == 5
    assert [t.name for t in tree.yanglaotou.tags.all()] == ["省级重点贫困村"]
    rec = ChangeRecord.objects.get(action="orgunit.create", object_pk=str(tree.sunzhuang.pk))
    assert rec.after["name"] == "孙庄村" and rec.unit_path == tree.sunzhuang.path


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(level=Level.VILLAGE, name="错层村", code="X1", parent="station1"), "level"),
        (dict(level=Level.STATION, name="孤站", code="X2", parent=None), "parent"),
        (dict(level=Level.VILLAGE, name="  ", code="X3", parent="district1"), "name"),
        (dict(level=Level.VILLAGE, name="斜杠村", code="X/4", parent="district1"), "code"),
        (dict(level=Level.VILLAGE, name="重码村", code="T-D1", parent="district1"), "code"),
        (dict(level=Level.VILLAGE, name="孙庄村", code="X5", parent="district1"), "name"),
    ],
)
def test_unit_create_refusals(tree, kwargs, field):
    parent = kwargs.pop("parent")
    count = OrgUnit.objects.count()
    with pytest.raises(ServiceError) as info:
        unit_create(actor=None, parent=getattr(tree, parent) if parent else None, **kwargs)
    assert info.value.field == field
    assert OrgUnit.objects.count() == count


def test_user_create_refuses_duplicates(db):
    user_create(actor=None, username="a", password=None)
    with pytest.raises(ServiceError):
        user_create(actor=None, username=" a ", password=None)
    with pytest.raises(ServiceError):
        user_create(actor=None, username="  ", password=None)


def test_codes_differing_only_in_case_cannot_share_a_scope(tree, personas):
    """Review finding: SQLite's LIKE ignores case, so "casev1" would sit inside "CASEV1"'s scope."""
    from qiangcun.core.errors import ServiceError
    from qiangcun.orgs.models import Level
    from qiangcun.orgs.services import unit_create

    first = unit_create(actor=None, level=Level.VILLAGE, name="甲村", code="casev1", parent=tree.district1)
    assert first.code == "CASEV1" and first.path.endswith("/CASEV1/")
    with pytest.raises(ServiceError, match="已被使用"):
        unit_create(actor=None, level=Level.VILLAGE, name="乙村", code="CaseV1", parent=tree.district1)
