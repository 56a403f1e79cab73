"""Round trip: export the demo's org structure, targets and verified ledger, import them into an empty
township, and the progress tables match to the fen, village by village."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.demo import builder
from qiangcun.ledger.models import Entry, Status
from qiangcun.orgs.models import Level, OrgUnit
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import Campaign
from qiangcun.targets.selectors import progress
from qiangcun.targets.services import campaign_create

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _download(client, url: str, path) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    path.write_bytes(response.content)


def _table(user, unit, as_of):
    p = progress(user=user, unit=unit, year=2020, as_of=as_of)
    rows = {
        r.name: (
            r.station,
            r.district,
            r.target,
            r.income,
            r.completion,
            r.gap,
            r.band,
            r.rank,
            r.rank_change,
        )
        for r in p.villages
    }
    t = p.totals
    return rows, (t.villages, t.target, t.income, t.at_baseline, t.at_top_tier)


def _drop_codes(path) -> None:
    """The new township's villages get codes of their own: the exported ones are taken."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.active
    column = next(c.column for c in ws[3] if c.value == "代码")
    ws.delete_cols(column)
    wb.save(path)


def test_export_then_import_into_an_empty_township_gives_the_same_progress(db, client, tmp_path, settings):
    settings.HOME = tmp_path
    builder.build()
    source = OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)
    admin = User.objects.get(username="demo-admin")
    client.force_login(admin)
    units, targets, ledger = tmp_path / "units.xlsx", tmp_path / "targets.xlsx", tmp_path / "ledger.xlsx"
    _download(client, "/units/export.xlsx", units)
    _download(client, "/targets/2020/export.xlsx", targets)
    _download(client, "/ledger/export.xlsx?year=2020&status=verified", ledger)
    _drop_codes(units)

    county = OrgUnit.objects.get(level=Level.COUNTY)
    empty = unit_create(actor=None, level=Level.TOWNSHIP, name="新镇", code="371422999000", parent=county)
    other = user_create(actor=None, username="new-admin", password=None)
    grant_create(actor=None, user=other, role=Role.TOWNSHIP_ADMIN, unit=empty)
    old = Campaign.objects.get(township=source, year=2020)
    campaign_create(
        actor=other,
        township=empty,
        year=2020,
        baseline=old.baseline,
        top_tier=old.top_tier,
        goal_top_tier_villages=old.goal_top_tier_villages,
    )

    out = io.StringIO()
    call_command("import-units", str(units), "--as", "new-admin", "--township", empty.code, stdout=out)
    assert "行政村 67 个" in out.getvalue()
    call_command("import-targets", str(targets), "--year", "2020", "--as", "new-admin", stdout=out)
    call_command(
        "import-ledger", str(ledger), "--verified", "--as", "new-admin", "--year", "2020", stdout=out
    )
    verified = Entry.objects.filter(
        village__path__startswith=source.path, status=Status.VERIFIED, date__year=2020
    )
    imported = Entry.objects.filter(village__path__startswith=empty.path)
    assert imported.count() == verified.count()
    assert sum((e.amount for e in imported), Decimal(0)) == sum((e.amount for e in verified), Decimal(0))

    for as_of in (datetime.date(2020, 4, 17), datetime.date(2020, 12, 31)):
        assert _table(other, empty, as_of) == _table(admin, source, as_of)
