"""Helpers for the page and API tests: fast hashing, evidence files in a temporary folder, form data."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from qiangcun.accounts.models import User
from qiangcun.ledger import services as ledger_services
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from qiangcun.orgs.models import OrgUnit


@pytest.fixture(autouse=True)
def _web_settings(fast_hashing, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The tests' campaign is 2020: stand on its last day, so that 2020 is the year open for entry (the
    # entry form and the API refuse dates after today and years already closed).
    settings.TODAY = datetime.date(2020, 12, 31)


def entry_form(village: OrgUnit, amount: str = "2345.67", **extra: Any) -> dict[str, Any]:
    """POST data of the entry form, as a browser sends it."""
    data: dict[str, Any] = {
        "village": village.code,
        "date": "2020-03-05",
        "amount": amount,
        "category": Category.objects.get(name="经营收入").pk,
        "path": DevelopmentPath.objects.get(name="现代农业").pk,
        "summary": "三月土地流转承包费",
        "counterparty": "宁津县某合作社",
        "once": uuid.uuid4().hex,  # the form's one-time token, fresh for every form
    }
    data.update(extra)
    return data


def edit_form(entry: Entry, amount: str = "2345.67", **extra: Any) -> dict[str, Any]:
    """POST data of the edit form of ``entry`` as loaded now (with the row's current ``version``)."""
    version = Entry.objects.values_list("version", flat=True).get(pk=entry.pk)
    return entry_form(entry.village, amount, version=version, **extra)


def api_entry(village: OrgUnit, amount: Any = "12345.60", **extra: Any) -> dict[str, Any]:
    """JSON body of POST /api/v1/ledger."""
    data: dict[str, Any] = {
        "village": village.code,
        "date": "2020-03-05",
        "amount": amount,
        "category": "经营收入",
        "path": "现代农业",
        "summary": "三月土地流转承包费",
        "counterparty": "宁津县某合作社",
    }
    data.update(extra)
    return data


def entry_state(pk: int) -> tuple[Any, ...]:
    """Everything a write could change about an entry: its row (or its absence) and its reversal."""
    row = tuple(
        Entry.objects.filter(pk=pk).values_list(
            "status", "amount", "date", "summary", "counterparty", "return_reason", "reviewed_by_id"
        )
    )
    return row, Entry.objects.filter(reverses_id=pk).count()


def clerk_of(village: OrgUnit) -> User:
    """The clerk ``make_entry`` uses for ``village`` (made on first use)."""
    return User.objects.get(username=f"clerk-{village.code}")


@pytest.fixture
def make_evidence(make_entry):
    def make(village: OrgUnit) -> Any:
        entry = make_entry(village, date=datetime.date(2020, 3, 2))
        upload = SimpleUploadedFile("收据.pdf", b"%PDF-1.4 test receipt", content_type="application/pdf")
        (evidence,) = ledger_services.evidence_add(actor=clerk_of(village), entry=entry, files=[upload])
        return evidence

    return make


@pytest.fixture
def april(tree, make_entry, subsidy):
    """Figures on 2020-04-17 (108/366 = 0.2951 of the year), checked by hand:

    刘道村 30000 / 30000 = 1.0000, 孙庄村 50000 / 100000 = 0.5000 (all of it in the last week),
    杨老头村 12000 / 30000 = 0.4000, 编席杨村 7500 / 30000 = 0.2500 (behind by 4.51 points: yellow).
    Not counted: a row after the as-of date, a submitted row, a subsidy."""
    d = datetime.date
    make_entry(tree.liudao, "30000.00", d(2020, 4, 1), "verified")
    make_entry(tree.sunzhuang, "50000.00", d(2020, 4, 15), "verified")
    make_entry(tree.sunzhuang, "7000.00", d(2020, 4, 18), "verified")
    make_entry(tree.yanglaotou, "12000.00", d(2020, 3, 1), "verified")
    make_entry(tree.yanglaotou, "8000.00", d(2020, 4, 2), "submitted")
    make_entry(tree.bianxiyang, "7500.00", d(2020, 2, 1), "verified")
    make_entry(tree.bianxiyang, "5000.00", d(2020, 2, 2), "verified", cat=subsidy)
    return tree


def targets_grid(campaign: Any, amounts: dict[int, str] | None = None, **settings: Any) -> dict[str, Any]:
    """What the targets page posts: the year's settings (the counted categories ticked as they are) and
    the formset of every village's target (village id → amount typed; villages not named keep theirs)."""
    from qiangcun.targets.models import VillageTarget

    ticked = [str(pk) for pk in campaign.counted_categories.values_list("pk", flat=True)]
    data: dict[str, Any] = {
        "baseline": "30000.00",
        "top_tier": "100000.00",
        "band_margin": "10",
        "goal": "1",
        "categories": ticked,
        **settings,
    }
    targets = list(VillageTarget.objects.filter(campaign=campaign).order_by("village__path"))
    data |= {"t-TOTAL_FORMS": str(len(targets)), "t-INITIAL_FORMS": str(len(targets))}
    for i, target in enumerate(targets):
        data[f"t-{i}-village"] = str(target.village_id)
        data[f"t-{i}-amount"] = (amounts or {}).get(target.village_id, f"{target.amount:.2f}")
    return data
