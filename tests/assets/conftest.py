"""Helpers for the register's tests: an asset of 孙庄村 entered by its clerk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from qiangcun.assets import services
from qiangcun.assets.models import Asset


def data(**kw: Any) -> services.AssetData:
    base: dict[str, Any] = {
        "code": "ZY-001",
        "name": "村东机动地",
        "kind": "resource",
        "land_class": "arable",
        "area_mu": Decimal("35.50"),
        "value": Decimal("120000.00"),
        "location": "村东",
        "boundaries": "东至渠，西至路",
        "status": "idle",
    }
    base.update(kw)
    return services.AssetData(**base)


@pytest.fixture
def make_asset(personas, tree):
    def make(village=None, actor=None, **kw: Any) -> Asset:
        return services.asset_create(
            actor=actor or personas["village_clerk"], village=village or tree.sunzhuang, data=data(**kw)
        )

    return make
