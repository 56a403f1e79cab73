"""The API's documents: the progress shape to the character, entries, amounts as strings, tokens, paging."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qiangcun.accounts.services import token_create
from qiangcun.ledger.models import Entry, Status

from .conftest import api_entry

ENTRY_KEYS = {
    "id",
    "village",
    "date",
    "amount",
    "category",
    "path",
    "summary",
    "counterparty",
    "status",
    "version",
}
CHINESE = re.compile("[一-龥]")


def _login(client, user):
    client.force_login(user)
    return client


def test_progress_document_is_exactly_the_documented_shape(client, personas, april):
    t = april
    _login(client, personas["township_admin"])
    response = client.get(f"/api/v1/progress?year=2020&unit={t.township.code}&as_of=2020-04-17")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")

    def village(v, station, district, target, income, completion, gap, band, rank, change):
        return {
            "code": v.code,
            "name": v.name,
            "station": station,
            "district": district,
            "target": target,
            "income": income,
            "completion": completion,
            "gap": gap,
            "band": band,
            "rank": rank,
            "rank_change": change,
        }

    # Seven days earlier (04-10) the order was 刘道 1, 杨老头 2, 编席杨 3, 孙庄 4.
    assert response.json() == {
        "year": 2020,
        "as_of": "2020-04-17",
        "unit": {"code": "371422105000", "name": "相衙镇"},
        "time_progress": "0.2951",
        "totals": {
            "villages": 4,
            "target": "190000.00",
            "income": "99500.00",
            "at_baseline": 2,
            "at_top_tier": 0,
        },
        "villages": [
            village(
                t.liudao, "一号网格站", "第一管区", "30000.00", "30000.00", "1.0000", "0.7049", "green", 1, 0
            ),
            village(
                t.sunzhuang,
                "一号网格站",
                "第一管区",
                "100000.00",
                "50000.00",
                "0.5000",
                "0.2049",
                "green",
                2,
                2,
            ),
            village(
                t.yanglaotou,
                "一号网格站",
                "第二管区",
                "30000.00",
                "12000.00",
                "0.4000",
                "0.1049",
                "green",
                3,
                -1,
            ),
            village(
                t.bianxiyang,
                "二号网格站",
                "第三管区",
                "30000.00",
                "7500.00",
                "0.2500",
                "-0.0451",
                "yellow",
                4,
                -1,
            ),
        ],
    }


def test_progress_body_is_utf8_with_chinese_unescaped(client, personas, april):
    _login(client, personas["township_admin"])
    response = client.get(f"/api/v1/progress?year=2020&unit={april.township.code}&as_of=2020-04-17")
    raw = response.content.decode("utf-8")
    assert '"相衙镇"' in raw
    assert '"杨老头村"' in raw
    assert "\\u" not in raw
    assert "charset=utf-8" in response["Content-Type"].lower()
    # Money is never a JSON number.
    assert re.search(r'"(target|income)":\s*\d', raw) is None
    assert '"income": "12000.00"' in raw


def test_progress_red_when_no_income(client, personas, tree):
    _login(client, personas["township_admin"])
    doc = client.get("/api/v1/progress?year=2020&as_of=2020-04-17").json()
    assert {v["band"] for v in doc["villages"]} == {"red"}
    assert {v["rank"] for v in doc["villages"]} == {1}  # all tied
    assert doc["totals"] == {
        "villages": 4,
        "target": "190000.00",
        "income": "0.00",
        "at_baseline": 0,
        "at_top_tier": 0,
    }


@pytest.mark.parametrize(
    "persona",
    ["township_admin", "leader", "station_head", "district_secretary", "village_clerk", "other_clerk"],
)
def test_progress_unit_defaults_to_the_township(client, personas, tree, persona):
    """The 擂台 is public within the township: every user's default is the whole township."""
    _login(client, personas[persona])
    doc = client.get("/api/v1/progress?year=2020&as_of=2020-04-17").json()
    assert doc["unit"] == {"code": tree.township.code, "name": tree.township.name}
    assert doc["totals"]["villages"] == len(doc["villages"]) == 4


def test_progress_defaults_year_and_as_of_for_a_past_year(client, personas, april):
    _login(client, personas["township_admin"])
    doc = client.get("/api/v1/progress").json()
    assert (doc["year"], doc["as_of"], doc["time_progress"]) == (2020, "2020-12-31", "1.0000")
    sunzhuang = next(v for v in doc["villages"] if v["name"] == "孙庄村")
    assert sunzhuang["income"] == "57000.00"  # the 04-18 row counts by the year's end


def test_progress_as_of_outside_the_year_is_400(client, personas, tree):
    _login(client, personas["township_admin"])
    response = client.get("/api/v1/progress?year=2020&as_of=2021-01-01")
    assert response.status_code == 400
    assert CHINESE.search(response.json()["detail"])


def test_create_returns_a_draft_with_exactly_the_entry_keys(client, personas, tree):
    _login(client, personas["village_clerk"])
    response = client.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == ENTRY_KEYS
    entry = Entry.objects.get()
    assert body == {
        "id": entry.pk,
        "village": tree.sunzhuang.code,
        "date": "2020-03-05",
        "amount": "12345.60",
        "category": "经营收入",
        "path": "现代农业",
        "summary": "三月土地流转承包费",
        "counterparty": "宁津县某合作社",
        "status": "draft",
        "version": 1,
    }
    assert entry.status == Status.DRAFT and entry.entered_by == personas["village_clerk"]
    assert client.get(f"/api/v1/ledger/{entry.pk}").json() == body


def test_submit_verify_raises_progress_income_by_exactly_the_amount(client, personas, april):
    t = april
    url = f"/api/v1/progress?year=2020&unit={t.township.code}&as_of=2020-04-17"
    _login(client, personas["township_admin"])
    before = client.get(url).json()

    _login(client, personas["village_clerk"])
    entry = client.post(
        "/api/v1/ledger", api_entry(t.sunzhuang, amount="1,234.56"), content_type="application/json"
    ).json()
    assert entry["amount"] == "1234.56"
    submitted = client.post(f"/api/v1/ledger/{entry['id']}/submit", {}, content_type="application/json")
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")
    _login(client, personas["township_admin"])
    assert client.get(url).json() == before  # submitted rows do not count

    _login(client, personas["station_head"])
    verified = client.post(f"/api/v1/ledger/{entry['id']}/verify", {}, content_type="application/json")
    assert (verified.status_code, verified.json()["status"]) == (200, "verified")

    _login(client, personas["township_admin"])
    after = client.get(url).json()
    assert after["totals"]["income"] == "100734.56"  # 99500.00 + 1234.56
    row = {v["name"]: v for v in after["villages"]}["孙庄村"]
    assert row["income"] == "51234.56"
    assert row["completion"] == "0.5123"

    # Reversal nets it back to zero.
    _login(client, personas["station_head"])
    reversal = client.post(
        f"/api/v1/ledger/{entry['id']}/reverse", {"reason": "重复录入"}, content_type="application/json"
    )
    assert reversal.status_code == 201
    assert set(reversal.json()) == ENTRY_KEYS
    assert reversal.json()["amount"] == "-1234.56"
    assert reversal.json()["status"] == "submitted"  # a second person verifies it
    _login(client, personas["township_admin"])
    assert client.get(url).json()["totals"]["income"] == "100734.56"
    verified = client.post(
        f"/api/v1/ledger/{reversal.json()['id']}/verify", {}, content_type="application/json"
    )
    assert verified.status_code == 200
    assert client.get(url).json()["totals"] == before["totals"]


def test_clerk_cannot_verify_own_entry(client, personas, tree):
    _login(client, personas["village_clerk"])
    entry = client.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json").json()
    client.post(f"/api/v1/ledger/{entry['id']}/submit", {}, content_type="application/json")
    response = client.post(f"/api/v1/ledger/{entry['id']}/verify", {}, content_type="application/json")
    assert response.status_code == 403
    assert Entry.objects.get(pk=entry["id"]).status == Status.SUBMITTED


@pytest.mark.parametrize("amount", [12000, 12000.5, 1e5, None, True])
def test_amount_as_json_number_is_refused(client, personas, tree, amount):
    _login(client, personas["village_clerk"])
    response = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang, amount=amount), content_type="application/json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "amount"
    assert CHINESE.search(body["detail"])
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    "amount",
    ["1e5", "12.345", "NaN", "Infinity", "1_000", "一万二", "0x10", "", "12,34", "-5.00", "0", "0.00"],
)
def test_bad_amount_string_is_400_with_chinese_detail(client, personas, tree, amount):
    _login(client, personas["village_clerk"])
    response = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang, amount=amount), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == "amount"
    assert CHINESE.search(body["detail"])
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "不存在的类别"), ("path", "不存在的路子"), ("summary", "   "), ("date", "2999-01-01")],
)
def test_bad_fields_are_400_naming_the_field(client, personas, tree, field, value):
    _login(client, personas["village_clerk"])
    response = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang, **{field: value}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert CHINESE.search(response.json()["detail"])
    assert not Entry.objects.exists()


def test_unknown_village_is_404(client, personas, tree):
    _login(client, personas["village_clerk"])
    body = {**api_entry(tree.sunzhuang), "village": "000000000000"}
    assert client.post("/api/v1/ledger", body, content_type="application/json").status_code == 404
    # A station is not a village.
    body = {**api_entry(tree.sunzhuang), "village": tree.station1.code}
    assert client.post("/api/v1/ledger", body, content_type="application/json").status_code == 404
    assert not Entry.objects.exists()


# --- bearer tokens --------------------------------------------------------------------------------------


def test_bearer_token_authenticates_with_the_users_scope(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, status="verified")
    make_entry(tree.bianxiyang, status="verified")
    clerk = personas["village_clerk"]
    _, token = token_create(actor=clerk, user=clerk, name="测试")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = client.get("/api/v1/ledger", **auth)
    assert listed.status_code == 200
    assert [i["village"] for i in listed.json()["items"]] == [tree.sunzhuang.code]
    created = client.post(
        "/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json", **auth
    )
    assert created.status_code == 201
    assert Entry.objects.get(pk=created.json()["id"]).entered_by == clerk
    refused = client.post(
        "/api/v1/ledger", api_entry(tree.bianxiyang), content_type="application/json", **auth
    )
    assert refused.status_code == 403
    doc = client.get("/api/v1/progress?year=2020&as_of=2020-04-17", **auth).json()
    assert doc["unit"]["code"] == tree.township.code


@pytest.mark.parametrize(
    "header",
    ["Bearer qc_not-a-real-token", "Bearer nonsense", "Bearer ", "Token {token}", "Bearer {token}x"],
)
def test_bad_token_is_401(client, personas, tree, header):
    clerk = personas["village_clerk"]
    _, token = token_create(actor=clerk, user=clerk)
    response = client.get("/api/v1/ledger", HTTP_AUTHORIZATION=header.format(token=token))
    assert response.status_code == 401
    assert CHINESE.search(response.json()["detail"])


def test_revoked_token_and_inactive_user_are_401(client, personas, tree):
    clerk = personas["village_clerk"]
    row, token = token_create(actor=clerk, user=clerk)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/units", **auth).status_code == 200
    row.revoked_at = timezone.now()
    row.save()
    assert client.get("/api/v1/units", **auth).status_code == 401
    _, token2 = token_create(actor=clerk, user=clerk)
    clerk.is_active = False
    clerk.save()
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {token2}").status_code == 401


def test_token_is_stored_only_as_a_hash(personas):
    clerk = personas["village_clerk"]
    row, token = token_create(actor=clerk, user=clerk)
    row.refresh_from_db()
    assert token not in {row.key_hash, row.prefix, row.name}
    assert token.startswith(row.prefix)


# --- lists ----------------------------------------------------------------------------------------------


def test_ledger_list_pages(client, personas, tree, make_entry):
    for day in range(1, 6):
        make_entry(tree.sunzhuang, amount=f"{day}00.00", date=datetime.date(2020, 3, day))
    _login(client, personas["village_clerk"])
    first = client.get("/api/v1/ledger?limit=2&offset=0").json()
    assert first["count"] == 5
    assert len(first["items"]) == 2
    assert [i["date"] for i in first["items"]] == ["2020-03-05", "2020-03-04"]  # newest first
    assert all(set(i) == ENTRY_KEYS for i in first["items"])
    second = client.get("/api/v1/ledger?limit=2&offset=2").json()
    last = client.get("/api/v1/ledger?limit=2&offset=4").json()
    assert (second["count"], last["count"]) == (5, 5)
    ids = [i["id"] for page in (first, second, last) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5


def test_ledger_list_filters(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, status="verified")
    make_entry(tree.sunzhuang, status="submitted")
    make_entry(tree.sunzhuang, status="draft", date=datetime.date(2019, 12, 31))
    make_entry(tree.liudao, status="verified")
    _login(client, personas["station_head"])
    assert client.get("/api/v1/ledger").json()["count"] == 4
    assert client.get("/api/v1/ledger?status=verified").json()["count"] == 2
    assert client.get("/api/v1/ledger?year=2020").json()["count"] == 3
    assert client.get(f"/api/v1/ledger?village={tree.sunzhuang.code}&year=2020").json()["count"] == 2
    bad = client.get("/api/v1/ledger?status=nonsense")
    assert bad.status_code == 400
    assert CHINESE.search(bad.json()["detail"])


def test_ledger_list_runs_a_fixed_number_of_queries(client, personas, tree, make_entry):
    _login(client, personas["township_admin"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/ledger").status_code == 200
        return len(ctx.captured_queries)

    make_entry(tree.sunzhuang)
    count()  # warm-up
    few = count()
    for village in tree.villages:
        for _ in range(3):
            make_entry(village)
    assert count() == few


# --- docs -----------------------------------------------------------------------------------------------


def test_docs_are_served_locally_and_list_the_routes(client, personas):
    _login(client, personas["leader"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert re.search(r'(src|href)="https?://', html) is None  # nothing from a CDN
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    paths = set(schema["paths"])
    assert {
        "/api/v1/progress",
        "/api/v1/ledger",
        "/api/v1/ledger/{pk}",
        "/api/v1/ledger/{pk}/submit",
        "/api/v1/ledger/{pk}/verify",
        "/api/v1/ledger/{pk}/return",
        "/api/v1/ledger/{pk}/reverse",
        "/api/v1/units",
    } <= paths


def test_session_posts_need_csrf_but_bearer_tokens_do_not(personas, tree):
    clerk = personas["village_clerk"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clerk)
    refused = browser.post("/api/v1/ledger", api_entry(tree.sunzhuang), content_type="application/json")
    assert refused.status_code == 403
    assert not Entry.objects.exists()
    _, token = token_create(actor=clerk, user=clerk)
    script = Client(enforce_csrf_checks=True)
    created = script.post(
        "/api/v1/ledger",
        api_entry(tree.sunzhuang),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert created.status_code == 201
    assert Entry.objects.count() == 1


@pytest.mark.parametrize("query", ["year=abc", "as_of=2020-13-01", "as_of=yesterday"])
def test_bad_query_parameters_are_422_in_chinese(client, personas, tree, query):
    _login(client, personas["township_admin"])
    response = client.get(f"/api/v1/progress?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == query.split("=")[0]
    assert CHINESE.search(body["detail"])


def test_plans_summary_is_scoped_and_exact(client, tree, personas):
    """``GET /api/v1/plans/summary``: counts only the villages the caller reads; money as strings."""
    from qiangcun.ledger.models import DevelopmentPath
    from qiangcun.plans.services import PathInput, plan_save

    land = DevelopmentPath.objects.get(name="土地流转")
    farm = DevelopmentPath.objects.get(name="现代农业")
    for village, paths in ((tree.sunzhuang, [land, farm]), (tree.bianxiyang, [land])):
        plan_save(
            actor=personas["township_admin"],
            village=village,
            year=2020,
            resources=[],
            paths=[PathInput(path=p, expected=Decimal("10000.10")) for p in paths],
        )
    client.force_login(personas["township_admin"])
    body = client.get("/api/v1/plans/summary?year=2020&as_of=2020-04-17").json()
    assert body["villages"] == 2 and body["villages_in_scope"] == 4
    assert body["villages_by_path"] == {"土地流转": 2, "现代农业": 1}
    assert body["expected"] == "30000.30" and body["measures"] == {"total": 0, "done": 0, "overdue": 0}
    client.force_login(personas["other_clerk"])
    body = client.get("/api/v1/plans/summary?year=2020&as_of=2020-04-17").json()
    assert body["villages"] == 1 and body["villages_by_path"] == {"土地流转": 1}
    assert body["expected"] == "10000.10"
    assert client.get(f"/api/v1/plans/summary?year=2020&unit={tree.township.code}").status_code == 403


def test_plans_summary_refuses_a_date_outside_its_year(client, tree, personas):
    client.force_login(personas["township_admin"])
    answer = client.get("/api/v1/plans/summary?year=2020&as_of=2021-01-05")
    assert answer.status_code == 400 and "不在 2020 年内" in answer.json()["detail"]
    assert client.get("/plans/export.xlsx?year=2020&as_of=2021-02-01").status_code == 400
