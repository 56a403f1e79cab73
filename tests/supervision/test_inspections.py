"""一月一督查, 整改 and 约谈: the services (who may do what, the state machine, evidence), overdue on the
working calendar, the selectors the "my work" page will use, and the bulletin's annex."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from qiangcun.core.audit import ChangeRecord
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.supervision import documents, selectors, services
from qiangcun.supervision.models import Rectification, RectificationEvent, RectificationEvidence
from qiangcun.supervision.services import FindingInput
from qiangcun.supervision.weeks import parse_week

pytestmark = pytest.mark.usefixtures("fast_hashing")

D = datetime.date
APRIL_20 = datetime.date(2020, 4, 20)
PDF = b"%PDF-1.4 rectified"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture(autouse=True)
def _inspect_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TODAY = D(2020, 12, 31)


def visit(personas, tree, *, by="instructor", day=APRIL_20, deadline=None, required="整改后的照片", **kw):
    """A visit of 孙庄村 opening one item owned by its clerk."""
    inspection = services.inspection_record(
        actor=personas[by],
        village=tree.sunzhuang,
        visited_on=day,
        met="村书记、报账员",
        findings=[
            FindingInput(
                text="台账凭证不全",
                owner=personas["village_clerk"],
                deadline=deadline,
                required_evidence=required,
            ),
            "村务公开栏未更新",
        ],
        at=at(day, 16),
        **kw,
    )
    return inspection, Rectification.objects.get(finding__inspection=inspection)


def pdf(name="整改.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- recording a visit ------------------------------------------------------------------------------------


def test_a_visit_records_findings_and_opens_items_with_a_working_day_deadline(tree, personas):
    inspection, item = visit(personas, tree, score=86, photos=[SimpleUploadedFile("a.png", PNG)])
    assert [f.text for f in inspection.findings.all()] == ["台账凭证不全", "村务公开栏未更新"]
    assert inspection.score == 86 and inspection.photos.count() == 1
    assert inspection.photos.get().file.name.startswith(f"inspection/{tree.sunzhuang.code}/{inspection.pk}/")
    # 10 working days after Monday 20 April 2020: Sunday 26 April is a 调休 working day, 1–5 May rest.
    assert item.deadline == D(2020, 5, 6)
    assert item.status == "open" and item.owner == personas["village_clerk"]
    assert list(item.events.values_list("kind", "from_status", "to_status")) == [("open", "", "open")]
    assert ChangeRecord.objects.filter(action="inspection.record", object_pk=str(inspection.pk)).exists()
    assert ChangeRecord.objects.filter(action="rectification.open", object_pk=str(item.pk)).exists()


@pytest.mark.parametrize(
    "who",
    ["village_clerk", "village_secretary", "leader", "other_clerk", "auditor", "system_admin", "no_role"],
)
def test_only_inspectors_record_visits(tree, personas, who):
    with pytest.raises(PermissionDeniedError):
        visit(personas, tree, by=who)
    assert not Rectification.objects.exists()


def test_an_inspector_of_another_district_cannot_visit(tree, personas):
    from qiangcun.accounts.models import Role
    from tests.conftest import _user

    far = _user("far-district", Role.DISTRICT_SECRETARY, tree.district3)
    with pytest.raises(PermissionDeniedError):
        services.inspection_record(actor=far, village=tree.sunzhuang, visited_on=D(2020, 4, 20), met="书记")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"visited_on": D(2021, 1, 4)}, "visited_on"),
        ({"met": "  "}, "met"),
        ({"photos": [SimpleUploadedFile("x.png", b"not a picture")]}, "photos"),
        ({"photos": [SimpleUploadedFile("x.pdf", PDF)]}, "photos"),  # a visit's photos are pictures
    ],
)
def test_bad_visits_are_refused_and_nothing_saved(tree, personas, kw, field):
    args = {
        "actor": personas["instructor"],
        "village": tree.sunzhuang,
        "visited_on": D(2020, 4, 20),
        "met": "书记",
    }
    with pytest.raises(ServiceError) as refused:
        services.inspection_record(**(args | kw))
    assert refused.value.field == field
    assert not ChangeRecord.objects.filter(action="inspection.record").exists()


def test_the_owner_must_hold_a_role_on_the_village(tree, personas):
    with pytest.raises(ServiceError) as refused:
        services.inspection_record(
            actor=personas["instructor"],
            village=tree.sunzhuang,
            visited_on=D(2020, 4, 20),
            met="书记",
            findings=[FindingInput(text="问题", owner=personas["other_clerk"])],
        )
    assert refused.value.field == "owner"
    assert not Rectification.objects.exists()


# --- the state machine ------------------------------------------------------------------------------------


def test_the_item_walks_to_closure_and_every_step_is_in_its_history(tree, personas):
    _, item = visit(personas, tree)
    clerk, inspector = personas["village_clerk"], personas["instructor"]
    services.rectification_start(actor=clerk, item=item, at=at(D(2020, 4, 21)))
    services.rectification_submit(
        actor=clerk, item=item, files=[pdf()], account="已补齐凭证", at=at(D(2020, 4, 27))
    )
    services.rectification_reopen(actor=inspector, item=item, reason="照片看不清", at=at(D(2020, 4, 28)))
    item.refresh_from_db()
    assert item.status == "rectifying" and item.submitted_by is None
    services.rectification_submit(actor=clerk, item=item, files=[pdf("清晰.pdf")], at=at(D(2020, 4, 29)))
    services.rectification_close(actor=inspector, item=item, note="已核实", at=at(D(2020, 4, 30)))
    item.refresh_from_db()
    assert item.status == "closed" and item.closed_by == inspector and item.closed_at == at(D(2020, 4, 30))
    history = list(item.events.values_list("kind", "from_status", "to_status", "actor__username", "note"))
    assert history == [
        ("open", "", "open", "instructor", ""),
        ("start", "open", "rectifying", "clerk", ""),
        ("submit", "rectifying", "submitted", "clerk", "已补齐凭证"),
        ("reopen", "submitted", "rectifying", "instructor", "照片看不清"),
        ("submit", "rectifying", "submitted", "clerk", ""),
        ("close", "submitted", "closed", "instructor", "已核实"),
    ]
    files = RectificationEvidence.objects.filter(item=item).order_by("id")
    assert [f.original_name for f in files] == ["整改.pdf", "清晰.pdf"]
    assert files[0].file.name.startswith(f"rectification/{tree.sunzhuang.code}/{item.pk}/")
    actions = set(
        ChangeRecord.objects.filter(object_pk=str(item.pk), model="supervision.rectification").values_list(
            "action", flat=True
        )
    )
    assert actions == {
        "rectification.open",
        "rectification.start",
        "rectification.submit",
        "rectification.reopen",
        "rectification.close",
    }


def test_submission_without_the_required_evidence_is_refused(tree, personas):
    _, item = visit(personas, tree)
    with pytest.raises(ServiceError) as refused:
        services.rectification_submit(actor=personas["village_clerk"], item=item, account="  ")
    assert refused.value.field == "evidence" and "整改后的照片" in refused.value.message
    item.refresh_from_db()
    assert item.status == "open" and item.events.count() == 1
    # A written account alone is evidence enough; so is a file alone.
    services.rectification_submit(actor=personas["village_clerk"], item=item, account="已公示，见公开栏")
    assert Rectification.objects.get(pk=item.pk).status == "submitted"


def test_an_item_asking_no_evidence_may_be_submitted_bare(tree, personas):
    _, item = visit(personas, tree, required="")
    services.rectification_submit(actor=personas["village_clerk"], item=item)
    assert Rectification.objects.get(pk=item.pk).status == "submitted"


def test_a_file_that_is_no_pdf_or_photo_is_refused(tree, personas):
    _, item = visit(personas, tree)
    bad = SimpleUploadedFile("整改.pdf", b"MZ\x90\x00 an exe", content_type="application/pdf")
    with pytest.raises(ServiceError) as refused:
        services.rectification_submit(actor=personas["village_clerk"], item=item, files=[bad])
    assert refused.value.field == "evidence"
    assert not RectificationEvidence.objects.exists()


def test_the_owner_never_closes_their_own_item(tree, personas):
    """The instructor holds a role on the village, so may own an item — and then may not close it."""
    inspection = services.inspection_record(
        actor=personas["district_secretary"],
        village=tree.sunzhuang,
        visited_on=D(2020, 4, 20),
        met="书记",
        findings=[FindingInput(text="合作社账目不清", owner=personas["instructor"], required_evidence="")],
    )
    item = Rectification.objects.get(finding__inspection=inspection)
    services.rectification_submit(actor=personas["instructor"], item=item)
    with pytest.raises(PermissionDeniedError):
        services.rectification_close(actor=personas["instructor"], item=item)
    with pytest.raises(PermissionDeniedError):
        services.rectification_reopen(actor=personas["instructor"], item=item, reason="自己退回")
    assert Rectification.objects.get(pk=item.pk).status == "submitted"
    services.rectification_close(actor=personas["district_secretary"], item=item)
    assert Rectification.objects.get(pk=item.pk).status == "closed"


@pytest.mark.parametrize("who", ["village_clerk", "village_secretary", "leader", "other_clerk"])
def test_no_one_without_inspect_closes_or_reopens(tree, personas, who):
    _, item = visit(personas, tree)
    services.rectification_submit(actor=personas["village_clerk"], item=item, files=[pdf()])
    with pytest.raises(PermissionDeniedError):
        services.rectification_close(actor=personas[who], item=item)
    with pytest.raises(PermissionDeniedError):
        services.rectification_reopen(actor=personas[who], item=item, reason="不行")
    assert Rectification.objects.get(pk=item.pk).status == "submitted"


def test_state_machine_refusals(tree, personas):
    _, item = visit(personas, tree)
    inspector, clerk = personas["instructor"], personas["village_clerk"]
    with pytest.raises(ServiceError, match="提交整改情况后才能销号") as refused:
        services.rectification_close(actor=inspector, item=item)  # close from open
    assert refused.value.code == "state"
    with pytest.raises(ServiceError, match="只有待销号的事项可以退回"):
        services.rectification_reopen(actor=inspector, item=item, reason="x")
    services.rectification_submit(actor=clerk, item=item, files=[pdf()])
    with pytest.raises(ServiceError) as refused:
        services.rectification_reopen(actor=inspector, item=item, reason="  ")  # reopen without a reason
    assert refused.value.field == "reason"
    with pytest.raises(ServiceError, match="不能重复提交"):
        services.rectification_submit(actor=clerk, item=item, files=[pdf()])
    with pytest.raises(ServiceError, match="不能再“开始整改”"):
        services.rectification_start(actor=clerk, item=item)
    assert Rectification.objects.get(pk=item.pk).status == "submitted"
    assert item.events.count() == 2


def test_a_closed_item_is_never_changed(tree, personas):
    _, item = visit(personas, tree)
    inspector, clerk = personas["instructor"], personas["village_clerk"]
    services.rectification_submit(actor=clerk, item=item, files=[pdf()])
    services.rectification_close(actor=inspector, item=item)
    before = list(Rectification.objects.filter(pk=item.pk).values())
    attempts = [
        lambda: services.rectification_update(actor=inspector, item=item, deadline=D(2020, 6, 1)),
        lambda: services.rectification_update(actor=personas["township_admin"], item=item, title="改"),
        lambda: services.rectification_reopen(actor=inspector, item=item, reason="再看看"),
        lambda: services.rectification_close(actor=personas["township_admin"], item=item),
        lambda: services.rectification_submit(actor=clerk, item=item, files=[pdf()]),
        lambda: services.rectification_start(actor=clerk, item=item),
    ]
    for attempt in attempts:
        with pytest.raises(ServiceError, match="已销号") as refused:
            attempt()
        assert refused.value.code == "state"
    assert list(Rectification.objects.filter(pk=item.pk).values()) == before
    assert item.events.count() == 3


def test_an_edit_is_in_the_history(tree, personas):
    _, item = visit(personas, tree)
    services.rectification_update(
        actor=personas["station_head"],
        item=item,
        deadline=D(2020, 5, 15),
        owner=personas["village_secretary"],
    )
    item.refresh_from_db()
    assert item.deadline == D(2020, 5, 15) and item.owner == personas["village_secretary"]
    event = item.events.get(kind=RectificationEvent.Kind.UPDATE)
    assert "2020-05-06 改为 2020-05-15" in event.note and event.from_status == event.to_status == "open"
    with pytest.raises(PermissionDeniedError):
        services.rectification_update(actor=personas["village_clerk"], item=item, deadline=D(2020, 6, 1))


def test_back_dated_steps_keep_their_order(tree, personas):
    _, item = visit(personas, tree)  # opened 2020-04-20 16:00
    with pytest.raises(ServiceError, match="早于上一步"):
        services.rectification_start(actor=personas["village_clerk"], item=item, at=at(D(2020, 4, 19)))
    with pytest.raises(ServiceError, match="晚于现在"):
        services.rectification_start(actor=personas["village_clerk"], item=item, at=at(D(2021, 3, 1)))


# --- overdue on the working calendar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "as_of", "days"),
    [
        (D(2020, 4, 25), D(2020, 4, 26), 0),  # a Saturday deadline moves to Sunday 26 April, a 调休 workday
        (D(2020, 4, 25), D(2020, 4, 27), 1),
        (D(2020, 5, 2), D(2020, 5, 6), 0),  # inside the May Day holiday (1–5 May): met on 6 May
        (D(2020, 5, 2), D(2020, 5, 7), 1),
        (D(2020, 5, 2), D(2020, 5, 9), 3),  # Saturday 9 May is a 调休 working day: it counts
        (D(2020, 5, 2), D(2020, 5, 10), 3),  # Sunday 10 May rests
        (D(2020, 5, 16), D(2020, 5, 18), 0),  # an ordinary Saturday: met on Monday
        (D(2020, 5, 16), D(2020, 5, 19), 1),
        (D(2020, 4, 30), D(2020, 5, 5), 0),  # overdue since 1 May, but no working day has passed yet
    ],
)
def test_overdue_counts_working_days(tree, personas, deadline, as_of, days):
    _, item = visit(personas, tree, deadline=deadline)
    (found,) = selectors.rectifications(personas["township_admin"], as_of=as_of)
    assert found.overdue_days == days
    listed = selectors.rectifications_overdue(tree.township, as_of)
    assert [(d.item.pk, d.overdue_days) for d in listed] == ([(item.pk, days)] if days else [])
    assert [
        r.pk for r in selectors.rectifications(personas["township_admin"], overdue=True, as_of=as_of)
    ] == ([item.pk] if days else [])


def test_an_item_closed_after_the_day_still_counts_as_overdue_on_it(tree, personas):
    _, item = visit(personas, tree, deadline=D(2020, 4, 30))
    services.rectification_submit(
        actor=personas["village_clerk"], item=item, files=[pdf()], at=at(D(2020, 5, 11))
    )
    services.rectification_close(actor=personas["instructor"], item=item, at=at(D(2020, 5, 12)))
    assert [d.overdue_days for d in selectors.rectifications_overdue(tree.township, D(2020, 5, 11))] == [5]
    assert selectors.rectifications_overdue(tree.township, D(2020, 5, 12)) == []
    assert selectors.rectifications_overdue(tree.township, D(2020, 4, 19)) == []  # not yet opened


# --- the lists for "my work" ------------------------------------------------------------------------------


def test_due_and_overdue_reach_the_owner_the_district_and_the_township_only(tree, personas):
    _, item = visit(personas, tree, deadline=D(2020, 4, 30))
    day = D(2020, 5, 8)  # 3 working days overdue (6, 7, 8 May)
    for who in ("village_clerk", "district_secretary", "station_head", "township_admin", "instructor"):
        (due,) = selectors.rectifications_overdue_for(personas[who], as_of=day)
        assert (due.item.pk, due.overdue_days) == (item.pk, 3), who
        assert due.why == ("owner" if who == "village_clerk" else "watch")
    for who in ("other_clerk", "leader", "village_secretary", "auditor"):
        assert selectors.rectifications_overdue_for(personas[who], as_of=day) == [], who
    assert [d.why for d in selectors.rectifications_due(personas["village_clerk"], as_of=day)] == ["owner"]
    assert [d.why for d in selectors.rectifications_due(personas["district_secretary"], as_of=day)] == [
        "watch"
    ]
    # Before the deadline only the owner has it waiting; once submitted, the inspectors have it to close.
    assert selectors.rectifications_due(personas["district_secretary"], as_of=D(2020, 4, 22)) == []
    services.rectification_submit(
        actor=personas["village_clerk"], item=item, files=[pdf()], at=at(D(2020, 4, 22))
    )
    assert selectors.rectifications_due(personas["village_clerk"], as_of=D(2020, 4, 23)) == []
    assert [d.why for d in selectors.rectifications_due(personas["station_head"], as_of=D(2020, 4, 23))] == [
        "close"
    ]


def test_lists_follow_scope(tree, personas):
    visit(personas, tree)
    services.inspection_record(
        actor=personas["township_admin"],
        village=tree.bianxiyang,
        visited_on=D(2020, 4, 21),
        met="书记",
        findings=[FindingInput(text="编席杨村的问题", owner=personas["other_clerk"])],
    )

    def titles(who):
        return sorted(r.title for r in selectors.rectifications(personas[who]))

    assert titles("township_admin") == ["台账凭证不全", "编席杨村的问题"]
    assert titles("leader") == ["台账凭证不全", "编席杨村的问题"]
    assert titles("village_clerk") == ["台账凭证不全"]
    assert titles("station_head") == ["台账凭证不全"]
    assert titles("other_clerk") == ["编席杨村的问题"]
    assert titles("auditor") == []


# --- interviews -------------------------------------------------------------------------------------------


def test_interviews_and_their_follow_up(tree, personas):
    interview = services.interview_record(
        actor=personas["district_secretary"],
        village=tree.sunzhuang,
        held_on=D(2020, 4, 24),
        interviewee="张三",
        post="村党支部书记",
        reason="连续两周红色预警",
        agreed="一周内拿出增收措施",
        at=at(D(2020, 4, 24)),
    )
    assert interview.follow_up_on == D(2020, 5, 11)  # 10 working days, over the May Day holiday
    assert selectors.interviews_follow_up_due(personas["district_secretary"], as_of=D(2020, 4, 27)) == []
    (due,) = selectors.interviews_follow_up_due(personas["station_head"], as_of=D(2020, 5, 13))
    assert due.overdue_days == 2
    assert list(selectors.interviews(personas["village_clerk"])) == []  # interviews stay with inspectors
    with pytest.raises(PermissionDeniedError):
        services.interview_follow_up(actor=personas["village_clerk"], interview=interview, note="x")
    services.interview_follow_up(
        actor=personas["instructor"], interview=interview, note="已落实", at=at(D(2020, 5, 12))
    )
    assert selectors.interviews_follow_up_due(personas["station_head"], as_of=D(2020, 5, 13)) == []
    with pytest.raises(ServiceError, match="已经记录过"):
        services.interview_follow_up(actor=personas["instructor"], interview=interview, note="再次")
    assert ChangeRecord.objects.filter(action="interview.follow_up").count() == 1
    with pytest.raises(PermissionDeniedError):
        services.interview_record(
            actor=personas["village_secretary"],
            village=tree.sunzhuang,
            held_on=D(2020, 4, 24),
            interviewee="李四",
            post="委员",
            reason="r",
            agreed="a",
        )


# --- the bulletin's annex ---------------------------------------------------------------------------------


def test_the_bulletin_lists_overdue_items_at_issue_and_keeps_them_frozen(tree, personas):
    from qiangcun.reports.official import to_html

    _, item = visit(personas, tree, deadline=D(2020, 4, 30))
    admin = personas["township_admin"]
    bulletin, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W19"))
    section = bulletin.snapshot["overdue"][0]
    assert [s["key"] for s in bulletin.snapshot["overdue"]] == ["rectifications", "measures"]
    # Week 19 ends on Sunday 10 May: overdue since the 30 April deadline by 6, 7, 8 and 9 (调休) May.
    assert section["rows"] == [["孙庄村", "台账凭证不全", "clerk", "2020-04-30", "待整改", 4]]
    html = to_html(documents.document(bulletin.snapshot, bulletin.summary))
    assert "附件：逾期事项" in html and "台账凭证不全" in html
    # Closed afterwards: the issued bulletin still says what was true at its week's end...
    services.rectification_submit(
        actor=personas["village_clerk"], item=item, files=[pdf()], at=at(D(2020, 5, 11))
    )
    services.rectification_close(actor=personas["instructor"], item=item, at=at(D(2020, 5, 12)))
    bulletin.refresh_from_db()
    assert bulletin.snapshot["overdue"][0]["rows"][0][1] == "台账凭证不全"
    docx, pdf_bytes = services.bulletin_files(bulletin=bulletin)
    assert docx.startswith(b"PK") and pdf_bytes.startswith(b"%PDF")
    # ...and the next week's bulletin no longer lists it.
    later, _ = services.bulletin_issue(actor=admin, township=tree.township, week=parse_week("2020-W20"))
    assert later.snapshot["overdue"][0]["rows"] == []
    assert "无逾期未销号的整改事项" in to_html(documents.document(later.snapshot, later.summary))


def test_a_bulletin_from_before_the_annex_renders_without_it(tree, personas):
    from qiangcun.reports.official import to_html

    bulletin, _ = services.bulletin_issue(
        actor=personas["township_admin"], township=tree.township, week=parse_week("2020-W11")
    )
    old = {k: v for k, v in bulletin.snapshot.items() if k != "overdue"}
    html = to_html(documents.document(old, bulletin.summary))
    assert "附件" not in html and "三色预警" in html
