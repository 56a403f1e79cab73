from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from qiangcun.contracts.services import ContractInput, contract_create
from tests.conftest import _clerk_for


@pytest.fixture
def clerk(tree):
    return _clerk_for(tree.sunzhuang)


@pytest.fixture
def make_contract(tree, clerk):
    def make(**overrides):
        data = dict(
            code="XZ-2020-001",
            title="村东耕地流转",
            kind="transfer",
            party_kind="person",
            party_name="张三",
            start=datetime.date(2020, 1, 1),
            end=datetime.date(2022, 12, 31),
            price_mode="per_mu_year",
            price=Decimal("800.00"),
            area_mu=Decimal("25.50"),
            land_class="耕地",
            schedule="annual",
            method="tender",
        )
        village = overrides.pop("village", tree.sunzhuang)
        actor = overrides.pop("actor", clerk)
        data.update(overrides)
        return contract_create(actor=actor, village=village, data=ContractInput(**data))

    return make
