"""The plan form and the measure form refuse what a person (or a crafted request) sends wrong, saying which
row and why, and save nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from qiangcun.ledger.models import DevelopmentPath
from qiangcun.plans.models import Measure, Plan, Resource
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _form(land_pk: int, **extra):
    data = {
        "summary": "",
        "r_kind": ["land"],
        "r_name": ["村东机动地"],
        "r_area": ["35.5"],
        "r_note": [""],
        f"p_{land_pk}": "on",
        f"p_{land_pk}_expected": "120,000.00",
    }
    data.update(extra)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"r_area": ["１２"]}, "资源清单第 1 行：面积“１２”不是数字"),
        ({"r_area": ["1e5"]}, "不是数字"),
        ({"r_area": ["1_000"]}, "不是数字"),
        ({"r_kind": []}, "表单不完整"),
        ({"EXPECTED": "12.345"}, "两位小数"),
    ],
)
def test_the_plan_form_refuses_and_saves_nothing(tree, personas, change, message):
    land = DevelopmentPath.objects.get(name="土地流转")
    data = _form(land.pk, **{k: v for k, v in change.items() if k != "EXPECTED"})
    if "EXPECTED" in change:
        data[f"p_{land.pk}_expected"] = change["EXPECTED"]
    page = _client(personas["village_clerk"]).post(f"/plans/{tree.sunzhuang.code}/2020/edit/", data)
    assert page.status_code == 200 and message in page.content.decode()
    assert not Plan.objects.exists() and not Resource.objects.exists()


def test_the_plan_form_saves_and_the_measure_form_refuses_an_unknown_path(tree, personas):
    land = DevelopmentPath.objects.get(name="土地流转")
    clerk = _client(personas["village_clerk"])
    answer = clerk.post(f"/plans/{tree.sunzhuang.code}/2020/edit/", _form(land.pk))
    assert answer.status_code == 302
    assert list(Resource.objects.values_list("name", "area_mu")) == [("村东机动地", Decimal("35.50"))]
    page = clerk.post(
        f"/plans/{tree.sunzhuang.code}/2020/measures/new/",
        {
            "title": "公开发包",
            "owner": str(personas["village_clerk"].pk),
            "deadline": "2020-06-30",
            "expected": "1000",
            "path": "999999",
        },
    )
    assert "增收路子不存在" in page.content.decode() and not Measure.objects.exists()
