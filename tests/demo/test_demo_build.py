"""Building the demo: once on an empty database, and never twice."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from qiangcun.accounts.models import RoleGrant, User
from qiangcun.core.audit import ChangeRecord
from qiangcun.demo import builder
from qiangcun.ledger.models import Entry
from qiangcun.orgs.models import OrgUnit
from qiangcun.targets.models import Campaign, VillageTarget

MODELS = [Entry, OrgUnit, User, RoleGrant, ChangeRecord, Campaign, VillageTarget]


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_build_once_then_never_again(db):
    assert OrgUnit.objects.count() == 0
    out = StringIO()
    assert builder.build(stdout=out) is True
    built = _counts()
    assert all(built.values()), built
    assert "相衙镇" in out.getvalue() and "67 个行政村" in out.getvalue()
    last_record = ChangeRecord.objects.order_by("-id").first()
    last_entry = Entry.objects.order_by("-id").first()

    assert builder.build() is False
    assert _counts() == built
    assert ChangeRecord.objects.order_by("-id").first() == last_record
    assert Entry.objects.order_by("-id").first() == last_entry

    out = StringIO()
    call_command("builddemo", stdout=out)
    assert "已存在" in out.getvalue()
    assert _counts() == built
