"""What the walk as users and attackers found in 督查 and 整改, each kept fixed: the annex prints each item's
state at the week's end; an inspector cannot hand a submitted item to its submitter and close it; a finding
handed over later is not born overdue; a step a moment late is told the state, not 403; a former owner is no
longer asked; a refused visit leaves no photo behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qiangcun.accounts.models import RoleGrant
from qiangcun.core.errors import ServiceError
from qiangcun.supervision import selectors, services
from qiangcun.supervision.models import Inspection, Rectification
from qiangcun.supervision.weeks import parse_week
from tests.conftest import PASSWORD

from .test_inspections import APRIL_20, PNG, D, at, pdf, visit

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TODAY = D(2020, 12, 31)


def _annex(bulletin) -> list[list]:
    return next(s for s in bulletin.snapshot["overdue"] if s["key"] == "rectifications")["rows"]


def test_the_annex_prints_the_state_at_the_weeks_end(tree, personas):
    clerk, admin = personas["village_clerk"], personas["township_admin"]
    _, item = visit(personas, tree, deadline=D(2020, 4, 30))
    services.rectification_start(actor=clerk, item=item, at=at(D(2020, 5, 6)))
    services.rectification_submit(actor=clerk, item=item, files=[pdf()], at=at(D(2020, 5, 8)))
    services.rectification_close(actor=personas["instructor"], item=item, at=at(D(2020, 5, 12)))
    # Issued afterwards, week 19 (ends Sunday 10 May): the item stood 待销号 since 8 May — not 已销号.
    bulletin, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W19"))
    assert _annex(bulletin) == [
        ["孙庄村", "台账凭证不全", "clerk", "2020-04-30", "待销号（5月8日已提交）", 4]
    ]
    # Week 18 (ends 3 May): not yet overdue (30 April → met on 6 May after the holiday).
    earlier, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W18"))
    assert _annex(earlier) == []


def test_a_submitted_item_keeps_its_owner(tree, personas):
    """An instructor who owned an item cannot hand it to the submitter and then close it."""
    instructor, clerk = personas["instructor"], personas["village_clerk"]
    inspection = services.inspection_record(
        actor=personas["district_secretary"],
        village=tree.sunzhuang,
        visited_on=APRIL_20,
        met="村书记",
        findings=[services.FindingInput(text="台账凭证不全", owner=instructor)],
        at=at(APRIL_20, 16),
    )
    item = Rectification.objects.get(finding__inspection=inspection)
    services.rectification_submit(actor=clerk, item=item, account="已补齐", at=at(D(2020, 4, 22)))
    with pytest.raises(ServiceError, match="待销号的事项不能更换责任人"):
        services.rectification_update(actor=instructor, item=item, owner=clerk, at=at(D(2020, 4, 23)))
    item.refresh_from_db()
    assert item.owner_id == instructor.pk and item.status == "submitted"


def test_a_finding_handed_over_later_counts_from_the_handover(tree, personas):
    inspection = services.inspection_record(
        actor=personas["instructor"],
        village=tree.sunzhuang,
        visited_on=D(2020, 3, 2),
        met="村书记",
        findings=["村务公开栏未更新"],
        at=at(D(2020, 3, 2), 16),
    )
    finding = inspection.findings.get()
    item = services.rectification_open(
        actor=personas["instructor"], finding=finding, owner=personas["village_clerk"], at=at(D(2020, 3, 23))
    )
    # 10 working days from Monday 23 March (清明 rest 4–6 April), not from the visit three weeks before.
    assert item.deadline == D(2020, 4, 7)
    assert selectors.rectifications_overdue(tree.township, D(2020, 3, 24)) == []


def test_a_step_a_moment_late_is_told_the_state(tree, personas):
    _, item = visit(personas, tree)
    services.rectification_submit(
        actor=personas["village_clerk"], item=item, files=[pdf()], at=at(D(2020, 4, 22))
    )
    services.rectification_reopen(
        actor=personas["instructor"], item=item, reason="材料不全", at=at(D(2020, 4, 23))
    )
    client = Client()
    assert client.login(username="district", password=PASSWORD)  # a second inspector, an old tab
    answer = client.post(f"/rectifications/{item.pk}/close/", {}, follow=True)
    assert answer.status_code == 200 and "整改中" in answer.content.decode()
    item.refresh_from_db()
    assert item.status == "rectifying"
    # Someone with no part in it is still refused outright.
    other = Client()
    assert other.login(username="leader", password=PASSWORD)
    assert other.post(f"/rectifications/{item.pk}/close/", {}).status_code == 403


def test_a_former_owner_is_no_longer_asked(tree, personas):
    _, item = visit(personas, tree, deadline=D(2020, 4, 30))
    clerk = personas["village_clerk"]
    assert [d.item for d in selectors.rectifications_due(clerk, as_of=D(2020, 5, 20))] == [item]
    RoleGrant.objects.filter(user=clerk).delete()
    clerk.forget_scope()
    assert selectors.rectifications_due(clerk, as_of=D(2020, 5, 20)) == []
    assert selectors.rectifications_overdue_for(clerk, as_of=D(2020, 5, 20)) == []


def test_a_refused_visit_leaves_no_photo(tree, personas, settings):
    with pytest.raises(ServiceError, match="不能早于督查日期"):
        services.inspection_record(
            actor=personas["instructor"],
            village=tree.sunzhuang,
            visited_on=APRIL_20,
            met="村书记",
            findings=[
                services.FindingInput(text="x", owner=personas["village_clerk"], deadline=D(2020, 4, 1))
            ],
            photos=[SimpleUploadedFile("a.png", PNG)],
            at=at(APRIL_20, 16),
        )
    assert not Inspection.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
