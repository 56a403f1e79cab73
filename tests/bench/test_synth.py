"""bench/synth.py on a tiny county (2 townships, 20 villages, one year): the bulk-made tree is what the
service would have made, the generated counted total is what the progress table shows, the same seed
makes the same rows."""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.db import transaction

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.ledger.models import Entry
from qiangcun.orgs.models import CHILD_LEVEL, Level, OrgUnit
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import Campaign, VillageTarget
from qiangcun.targets.selectors import progress

BENCH = Path(__file__).resolve().parents[2] / "bench" / "synth.py"
YEAR = 2020
AS_OF = datetime.date(2020, 4, 17)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module
    spec.loader.exec_module(module)
    return module


def tiny(synth: ModuleType, seed: int = 7, prefix: str = "99") -> Any:
    return synth.build_county(
        seed=seed, townships=2, villages=20, years=(2019, YEAR), rows_per_month=4, prefix=prefix, digest=True
    )


def ledger_hash(root: OrgUnit) -> str:
    """The rows as stored, people by username, in id order."""
    rows = (
        Entry.objects.filter(village__path__startswith=root.path)
        .order_by("id")
        .values_list(
            "village__code",
            "date",
            "amount",
            "category__line",
            "path__name",
            "summary",
            "counterparty",
            "status",
            "reverses__village__code",
            "reverses__date",
            "entered_by__username",
            "reviewed_by__username",
            "created_at",
            "submitted_at",
            "reviewed_at",
        )
    )
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def test_tree_is_what_the_service_makes(synth: ModuleType) -> None:
    summary = tiny(synth)
    root = OrgUnit.objects.get(code=summary.root_codes[0])
    units = list(OrgUnit.objects.under(root).select_related("parent"))
    by_code = {u.code: u for u in units}
    assert len(units) == summary.counts["units"] == 1 + 2 + 2 * 5 + 2 * 10 + 20
    assert summary.counts["villages"] == sum(u.level == Level.VILLAGE for u in units) == 20
    depth_level = ["county", "township", "station", "district", "village"]
    for unit in units:
        codes = unit.ancestor_codes()
        assert codes[-1] == unit.code == unit.code.strip().upper()
        assert unit.level == depth_level[len(codes) - 1]
        for ancestor_code, level in zip(codes, depth_level, strict=False):
            assert by_code[ancestor_code].level == level  # every ancestor exists, at its level
        if unit.parent is None:
            assert unit is root or unit.pk == root.pk
        else:
            assert CHILD_LEVEL[Level(unit.parent.level)] == unit.level
            assert unit.parent.code == codes[-2]

    # A village the service makes next to a bulk-made one stores the same things in the same shape.
    bulk = next(u for u in units if u.level == Level.VILLAGE)
    made = unit_create(
        actor=None, level=Level.VILLAGE, name="服务村", code=bulk.code[:-3] + "999", parent=bulk.parent
    )
    made.refresh_from_db()
    bulk.refresh_from_db()
    fields = ("level", "parent_id", "illustrative")
    assert {f: getattr(made, f) for f in fields} == {f: getattr(bulk, f) for f in fields}
    assert made.path.removesuffix(made.code + "/") == bulk.path.removesuffix(bulk.code + "/")
    assert list(made.tags.all()) == list(bulk.tags.all()) == []
    # Ids and the sequence: the next unit the service makes follows the bulk-made ones.
    assert made.pk > max(u.pk for u in units)

    # People and years: an admin per root and township, a clerk per village, a campaign per township-year.
    township = OrgUnit.objects.get(code=summary.township_codes[0])
    admin = User.objects.get(username=summary.township_admins[0])
    assert RoleGrant.objects.filter(user=admin, role=Role.TOWNSHIP_ADMIN, unit=township).exists()
    assert RoleGrant.objects.filter(role=Role.VILLAGE_CLERK, unit__path__startswith=root.path).count() == 20
    campaigns = Campaign.objects.filter(township__path__startswith=root.path)
    assert campaigns.count() == 4
    assert {c.line for c in campaigns.get(township=township, year=YEAR).counted_categories.all()} == set(
        synth.COUNTED_LINES
    )
    targets = VillageTarget.objects.filter(campaign__in=campaigns)
    assert targets.count() == 40
    assert all(30_000 <= t.amount <= 120_000 for t in targets)


def test_counted_total_is_what_progress_shows(synth: ModuleType) -> None:
    summary = tiny(synth)
    root = OrgUnit.objects.get(code=summary.root_codes[0])
    rows = Entry.objects.filter(village__path__startswith=root.path)
    assert rows.count() == summary.counts["entries"]
    assert rows.filter(status="verified").count() == summary.counts["entries_verified"]
    assert summary.counts["entries_submitted"] > 0 and summary.counts["entries_draft"] > 0
    assert not rows.filter(date__gt=AS_OF).exists()
    assert rows.filter(date__year=2019, date__month=12).exists()  # earlier years whole
    assert all(Decimal("1.00") <= abs(e.amount) <= Decimal("50000.00") for e in rows)
    reversals = rows.filter(reverses__isnull=False).select_related("reverses")
    assert reversals.count() == summary.counts["entries_reversals"] > 0
    for reversal in reversals:
        original = reversal.reverses
        assert reversal.status == original.status == "verified"
        assert reversal.amount == -original.amount and reversal.date == original.date
    for entry in rows.filter(status="verified"):
        assert entry.reviewed_by_id is not None and entry.reviewed_by_id != entry.entered_by_id

    county_admin = User.objects.get(username=summary.root_admins[0])
    for year, as_of in ((2019, datetime.date(2019, 12, 31)), (YEAR, AS_OF)):
        shown = progress(user=county_admin, unit=root, year=year, as_of=as_of).totals
        assert shown.villages == 20
        assert shown.income == summary.counted_yuan(year) > 0
        by_township = sum(
            progress(
                user=User.objects.get(username=name),
                unit=OrgUnit.objects.get(code=code),
                year=year,
                as_of=as_of,
            ).totals.income
            for code, name in zip(summary.township_codes, summary.township_admins, strict=True)
        )
        assert by_township == shown.income
        assert json.loads(json.dumps(summary.as_dict()))["counted_yuan"][str(year)] == f"{shown.income:.2f}"


def test_same_seed_same_rows(synth: ModuleType) -> None:
    class Undo(Exception):
        pass

    seen = []
    for seed in (7, 7, 8):
        try:
            with transaction.atomic():
                summary = tiny(synth, seed=seed)
                seen.append((summary.digest, ledger_hash(OrgUnit.objects.get(code=summary.root_codes[0]))))
                raise Undo
        except Undo:
            pass
    assert seen[0] == seen[1]
    assert seen[2][0] != seen[0][0] and seen[2][1] != seen[0][1]
