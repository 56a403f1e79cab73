"""The demo's registers and 清产核资 rounds (demo/assets.py), built on the roster's 67 villages with their tags:
every village has a register, the 11 光伏发电 villages a PV station, the township idle 亩, no land leased
or contracted out (the contracts app makes its own), and exactly the 2 villages tagged 清产核资 a round —
one signed with a 盘盈 and a 盘亏 line, one still open."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from qiangcun.accounts.models import Role
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.assets.models import Asset, RoundLine, VerificationRound
from qiangcun.assets.selectors import idle_area_mu, idle_assets
from qiangcun.demo.assets import ROSTER, build_assets
from qiangcun.orgs.models import Level
from qiangcun.orgs.services import unit_create

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def roster_township(db):
    data = json.loads(ROSTER.read_text(encoding="utf-8"))
    county = unit_create(actor=None, level=Level.COUNTY, name="宁津县", code="371422000000")
    township = unit_create(
        actor=None, level=Level.TOWNSHIP, name="相衙镇", code="371422105000", parent=county
    )
    facts = {v["name"]: v for v in data["villages"]}
    villages, clerks, verifiers = {}, {}, {}
    number = 0
    for s_index, s in enumerate(data["stations"], start=1):
        station = unit_create(
            actor=None, level=Level.STATION, name=s["name"], code=f"S{s_index}", parent=township
        )
        head = user_create(actor=None, username=f"station-{s_index}", password=None, display_name="站长")
        grant_create(actor=None, user=head, role=Role.STATION_HEAD, unit=station)
        for d_index, d in enumerate(s["districts"], start=1):
            district = unit_create(
                actor=None, level=Level.DISTRICT, name=d["name"], code=f"S{s_index}D{d_index}", parent=station
            )
            for name in d["villages"]:
                number += 1
                village = unit_create(
                    actor=None,
                    level=Level.VILLAGE,
                    name=name,
                    code=f"371422105{200 + number:03d}",
                    parent=district,
                    tags=facts[name]["tags"],
                )
                clerk = user_create(
                    actor=None, username=f"clerk-{number}", password=None, display_name="报账员"
                )
                grant_create(actor=None, user=clerk, role=Role.VILLAGE_CLERK, unit=village)
                villages[name], clerks[name], verifiers[name] = village, clerk, head
    admin = user_create(actor=None, username="admin", password=None, display_name="镇党建办")
    grant_create(actor=None, user=admin, role=Role.TOWNSHIP_ADMIN, unit=township)
    return township, admin, facts, villages, clerks, verifiers


def test_demo_registers_and_rounds(roster_township):
    township, admin, facts, villages, clerks, verifiers = roster_township
    build_assets(
        villages=villages, clerks=clerks, verifiers=verifiers, rng=random.Random("2020-assets")
    )  # as builder.py calls it

    assert len(villages) == 67
    assert set(Asset.objects.values_list("village__name", flat=True)) == set(villages)
    pv = set(Asset.objects.filter(item_type="pv").values_list("village__name", flat=True))
    assert pv == {n for n, f in facts.items() if "光伏发电" in f["paths"]} and len(pv) == 11
    assert not Asset.objects.filter(status__in=["leased", "contracted"]).exists()
    # the figures README.md gives
    assert Asset.objects.count() == 351 and Asset.objects.exclude(status="disposed").count() == 350
    assert idle_area_mu(admin, township) == Decimal("450.30")
    assert idle_assets(admin, township).filter(kind="resource").values("village").distinct().count() == 36

    tagged = {n for n, f in facts.items() if "清产核资" in f["tags"]}
    assert len(tagged) == 2
    rounds = list(VerificationRound.objects.select_related("village"))
    assert {r.village.name for r in rounds} == tagged
    signed = [r for r in rounds if r.status == "signed"]
    still = [r for r in rounds if r.status == "open"]
    assert len(signed) == 1 and len(still) == 1
    results = set(RoundLine.objects.filter(round=signed[0]).values_list("result", flat=True))
    assert {"surplus", "loss"} <= results
    assert signed[0].signed_by == verifiers[signed[0].village.name]
    assert signed[0].base_date.year == 2020 and signed[0].signed_at.year == 2020
    # the 盘盈 pond entered the register when the round was signed
    assert Asset.objects.filter(village=signed[0].village, name="村北废旧坑塘", status="idle").exists()
    assert still[0].lines.filter(counted=False).exists() and still[0].lines.filter(counted=True).exists()
