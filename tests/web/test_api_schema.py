"""The OpenAPI document describes every answer the API gives: each success and error shape typed, money
and fractions as strings; the ledger list pages with ninja's limit/offset paging, bounded."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from qiangcun.accounts.services import token_create
from qiangcun.api import targets as api_targets
from qiangcun.ledger.models import Entry, Status

from .conftest import api_entry

MONEY = {"amount", "target", "income"}
FRACTIONS = {"completion", "gap", "time_progress"}
CHINESE = re.compile("[一-龥]")
Schema = dict[str, Any]


@pytest.fixture
def openapi(client, personas) -> Schema:
    client.force_login(personas["leader"])
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def _resolve(doc: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def _typed(doc: Schema, schema: Schema, where: str) -> Iterator[tuple[str, Schema]]:
    """Walk a response schema; fail on anything untyped; yield (where, schema) for every property."""
    schema = _resolve(doc, schema)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for i, branch in enumerate(branches):
            yield from _typed(doc, branch, f"{where}|{i}")
        return
    kind = schema.get("type")
    assert kind or "enum" in schema, f"{where}: no type in {schema}"
    if kind == "array":
        assert schema.get("items"), f"{where}: an array of anything"
        yield from _typed(doc, schema["items"], f"{where}[]")
    elif kind == "object":
        properties = schema.get("properties") or {}
        values = schema.get("additionalProperties")
        if not properties and isinstance(values, dict) and values:  # a typed map: {"土地流转": 34, …}
            yield from _typed(doc, values, f"{where}{{}}")
            return
        assert properties, f"{where}: an object without properties ({schema})"
        for name, prop in properties.items():
            yield f"{where}.{name}", _resolve(doc, prop)
            yield from _typed(doc, prop, f"{where}.{name}")


def _operations(doc: Schema) -> Iterator[tuple[str, Schema]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_success_shape(openapi):
    """Every 200/201 has a typed JSON schema: no `{}`, no bare object, no array of anything."""
    operations = dict(_operations(openapi))
    assert len(operations) >= 8
    for name, operation in operations.items():
        successes = {code: r for code, r in operation["responses"].items() if code in ("200", "201")}
        assert successes, f"{name}: no success response"
        for code, response in successes.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            assert schema, f"{name} {code}: no schema"
            resolved = _resolve(openapi, schema)
            if resolved.get("type") == "array":  # a plain list (of units)
                resolved = _resolve(openapi, resolved["items"])
            assert resolved.get("type") == "object", f"{name} {code}: {resolved}"
            assert resolved.get("properties"), f"{name} {code}: {resolved}"
            assert list(_typed(openapi, schema, f"{name} {code}"))


def test_money_and_fractions_are_documented_as_strings_never_numbers(openapi):
    seen: set[str] = set()
    for name, operation in _operations(openapi):
        for code, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if not schema:
                continue
            for where, prop in _typed(openapi, schema, f"{name} {code}"):
                assert prop.get("type") != "number", f"{where} is a JSON number"
                leaf = where.rsplit(".", 1)[-1]
                if leaf in MONEY:
                    assert prop.get("type") == "string", where
                    assert re.fullmatch(prop["pattern"], "12000.00")
                    assert not re.fullmatch(prop["pattern"], "12000.5")
                    seen.add(leaf)
                if leaf in FRACTIONS:
                    assert prop.get("type") == "string", where
                    assert re.fullmatch(prop["pattern"], "0.2951")
                    seen.add(leaf)
    assert seen == MONEY | FRACTIONS  # the walk reached every kind of figure


def test_every_operation_documents_its_error_bodies(openapi):
    for name, operation in _operations(openapi):
        responses = operation["responses"]
        assert "401" in responses, f"{name}: the 401 of a missing login is not documented"
        for code, response in responses.items():
            if not code.startswith("4"):
                continue
            schema = _resolve(openapi, response["content"]["application/json"]["schema"])
            assert schema["properties"]["detail"]["type"] == "string", f"{name} {code}"
        assert _resolve(openapi, responses["401"]["content"]["application/json"]["schema"])["required"] == [
            "detail"
        ]
    ledger_create = openapi["paths"]["/api/v1/ledger"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "422"} <= set(ledger_create)
    assert set(
        _resolve(openapi, ledger_create["400"]["content"]["application/json"]["schema"])["properties"]
    ) == {
        "detail",
        "field",
    }
    assert set(
        _resolve(openapi, ledger_create["422"]["content"]["application/json"]["schema"])["properties"]
    ) == {
        "detail",
        "errors",
    }


def _documented(openapi: Schema, path: str, method: str, status: int) -> Schema:
    response = openapi["paths"][path][method]["responses"][str(status)]
    return _resolve(openapi, response["content"]["application/json"]["schema"])


def _conforms(openapi: Schema, schema: Schema, body: Any) -> None:
    schema = _resolve(openapi, schema)
    if "anyOf" in schema:
        if body is None and {"type": "null"} in schema["anyOf"]:
            return
        schema = _resolve(openapi, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if schema.get("type") == "object":
        assert isinstance(body, dict)
        assert set(schema.get("required", [])) <= set(body) <= set(schema["properties"]), (body, schema)
        for key, value in body.items():
            _conforms(openapi, schema["properties"][key], value)
    elif schema.get("type") == "array":
        assert isinstance(body, list)
        for value in body:
            _conforms(openapi, schema["items"], value)
    elif schema.get("type") == "string":
        assert isinstance(body, str)
        if "pattern" in schema:
            assert re.search(schema["pattern"], body), (body, schema["pattern"])
        if "enum" in schema:
            assert body in schema["enum"]
    elif schema.get("type") == "integer":
        assert isinstance(body, int) and not isinstance(body, bool)
    elif "enum" in schema:
        assert body in schema["enum"]


def test_real_answers_have_the_documented_shapes(client, personas, april, openapi):
    """Each answer, success and error, against the schema the document gives for its status."""
    t = april
    client.force_login(personas["village_clerk"])

    def check(method: str, url: str, path: str, status: int, body: Any = None) -> Any:
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, body or {}, content_type="application/json")
        assert response.status_code == status, response.content
        _conforms(openapi, _documented(openapi, path, method, status), response.json())
        return response.json()

    entry = check("post", "/api/v1/ledger", "/api/v1/ledger", 201, api_entry(t.sunzhuang))
    check("get", f"/api/v1/ledger/{entry['id']}", "/api/v1/ledger/{pk}", 200)
    check("get", "/api/v1/ledger?limit=2", "/api/v1/ledger", 200)
    check("post", f"/api/v1/ledger/{entry['id']}/submit", "/api/v1/ledger/{pk}/submit", 200)
    check("get", "/api/v1/progress?year=2020&as_of=2020-04-17", "/api/v1/progress", 200)
    check("get", "/api/v1/units", "/api/v1/units", 200)
    # The error bodies, one of each.
    check("post", "/api/v1/ledger", "/api/v1/ledger", 400, api_entry(t.sunzhuang, amount="12.345"))
    check("post", "/api/v1/ledger", "/api/v1/ledger", 422, api_entry(t.sunzhuang, amount=12))
    not_json = client.post("/api/v1/ledger", b"\x00", content_type="application/json")
    assert not_json.status_code == 400
    _conforms(openapi, _documented(openapi, "/api/v1/ledger", "post", 400), not_json.json())
    check("post", "/api/v1/ledger", "/api/v1/ledger", 403, api_entry(t.bianxiyang))
    check("post", "/api/v1/ledger", "/api/v1/ledger", 404, {**api_entry(t.sunzhuang), "village": "0" * 12})
    check("post", f"/api/v1/ledger/{entry['id']}/verify", "/api/v1/ledger/{pk}/verify", 403)
    check("get", "/api/v1/ledger?status=nonsense", "/api/v1/ledger", 400)
    check("get", "/api/v1/ledger?limit=501", "/api/v1/ledger", 422)
    check("get", "/api/v1/progress?as_of=2021-01-01&year=2020", "/api/v1/progress", 400)
    check("get", "/api/v1/progress?unit=000000000000", "/api/v1/progress", 404)
    client.logout()
    check("get", "/api/v1/units", "/api/v1/units", 401)
    _, token = token_create(actor=personas["village_clerk"], user=personas["village_clerk"])
    bad = client.get("/api/v1/ledger", HTTP_AUTHORIZATION=f"Bearer {token}x")
    assert bad.status_code == 401
    _conforms(openapi, _documented(openapi, "/api/v1/ledger", "get", 401), bad.json())


# --- paging ---------------------------------------------------------------------------------------------


@pytest.fixture
def five(client, personas, tree, make_entry) -> list[Entry]:
    rows = [make_entry(tree.sunzhuang, date=datetime.date(2020, 3, day)) for day in range(1, 6)]
    client.force_login(personas["village_clerk"])
    return rows


def test_ledger_list_is_ninjas_limit_offset_envelope(client, five, openapi):
    body = client.get("/api/v1/ledger").json()
    assert set(body) == {"items", "count"}
    assert body["count"] == 5 and len(body["items"]) == 5
    names = {p["name"] for p in openapi["paths"]["/api/v1/ledger"]["get"]["parameters"]}
    assert {"limit", "offset"} <= names
    limit = next(p for p in openapi["paths"]["/api/v1/ledger"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (
        1,
        500,
        100,
    )


@pytest.mark.parametrize("offset", ["5", "6", "1000", str(2**63), "1" + "0" * 30])
def test_an_offset_past_the_end_is_an_empty_page(client, five, offset):
    response = client.get(f"/api/v1/ledger?limit=2&offset={offset}")
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 5}


def test_the_last_partial_page(client, five):
    body = client.get("/api/v1/ledger?limit=2&offset=4").json()
    assert (len(body["items"]), body["count"]) == (1, 5)
    assert body["items"][0]["id"] == five[0].pk  # the oldest row is last


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("limit=501", "limit", "不能大于 500"),
        ("limit=100000", "limit", "不能大于 500"),
        ("limit=0", "limit", "不能小于 1"),
        ("limit=-3", "limit", "不能小于 1"),
        ("offset=-1", "offset", "不能小于 0"),
        ("offset=abc", "offset", "必须是整数"),
        ("offset=" + "9" * 5000, "offset", "数字太大"),
    ],
)
def test_page_bounds_are_422_in_chinese(client, five, query, field, reason):
    response = client.get(f"/api/v1/ledger?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [{"field": field, "reason": reason}]
    assert CHINESE.search(body["detail"])


def test_a_full_page_is_at_most_500_rows(client, personas, tree, category, path):
    clerk = personas["village_clerk"]
    Entry.objects.bulk_create(
        Entry(
            village=tree.sunzhuang,
            date=datetime.date(2020, 3, 1),
            amount=Decimal("1.00"),
            category=category,
            path=path,
            summary=f"第{i}笔",
            status=Status.DRAFT,
            entered_by=clerk,
        )
        for i in range(501)
    )
    client.force_login(clerk)
    body = client.get("/api/v1/ledger?limit=500").json()
    assert (len(body["items"]), body["count"]) == (500, 501)
    rest = client.get("/api/v1/ledger?limit=500&offset=500").json()
    assert len(rest["items"]) == 1
    assert {i["id"] for i in body["items"]} | {rest["items"][0]["id"]} == set(
        Entry.objects.values_list("id", flat=True)
    )


def test_a_key_the_progress_schema_does_not_know_is_an_error_not_a_loss(client, personas, tree, monkeypatch):
    """The command line prints progress_document's dict as it is; the API must never drop a key of it."""
    original = api_targets.progress_document
    monkeypatch.setattr(api_targets, "progress_document", lambda p: {**original(p), "extra": 1})
    client.force_login(personas["township_admin"])
    with pytest.raises(pydantic.ValidationError):
        client.get("/api/v1/progress?year=2020&as_of=2020-04-17")
