"""Hostile input on every route: no value of any parameter gives a 500.

The routes are those of the permission table (``discovered_routes``), each request built as there
(``build``). For each route the walk sends, as the township admin and as a village clerk, every hostile
value in turn in place of:

- each query parameter the route reads — for a page, the keys the view looked up in ``request.GET``
  / ``request.POST`` (recorded while it answers a plain request, and again while it answers each
  hostile one, so a parameter read only on another branch is found too); for the API, the query
  parameters of the ninja operation;
- each path parameter of the URL pattern;
- each field of a form (POST pages) or of a JSON body (API), plus a body of invalid UTF-8 and a
  deeply nested JSON document.

A 4xx answer is fine (a refusal, in Chinese); a 500 is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import get_resolver, resolve
from ninja.operation import PathView

from .test_permissions import Ctx, _nonlocals, _walk, build, discovered_routes

HOSTILE = [
    "99999",
    "-1",
    "0",
    "1e309",
    "NaN",
    "２０２０",
    "9" * 20,  # more than a 64-bit integer holds
    "9" * 5000,
    "\x00",
    "%ff",  # sent raw: a byte that is not UTF-8
    "\ud800",  # a lone surrogate: %ED%A0%80 in a URL, "\\ud800" in JSON
    "' OR 1=1 --",
    "../../etc/passwd",
]

BAD_BODIES = {
    "invalid UTF-8": b'{"summary": "\xff\xfe\xfa", "village": "\xc3("}',
    "nested JSON": b'{"summary": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested arrays": b"[" * 100_000 + b"]" * 100_000,
}

#: The auditor and the system admin too: the audit log and the account pages are theirs alone.
PERSONAS = ["township_admin", "village_clerk", "auditor", "system_admin"]


def _quoted(value: str) -> str:
    if value == "%ff":
        return value
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@contextmanager
def _reads() -> Iterator[set[str]]:
    """The keys looked up in any QueryDict (request.GET, request.POST) while the block runs."""
    seen: set[str] = set()
    originals = {name: getattr(QueryDict, name) for name in ("get", "getlist", "__getitem__", "__contains__")}

    def spy(name: str) -> Any:
        original = originals[name]

        def read(self: QueryDict, key: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(key, str):
                seen.add(key)
            return original(self, key, *args, **kwargs)

        return read

    try:
        for name in originals:
            setattr(QueryDict, name, spy(name))
        yield seen
    finally:
        for name, original in originals.items():
            setattr(QueryDict, name, original)


def _operation(name: str) -> Any:
    """The ninja operation behind an API route name, or None for a page."""
    short = name.split(":")[-1]
    for route_name, _pattern, callback in _walk(get_resolver().url_patterns):
        if route_name != name:
            continue
        path_view = _nonlocals(callback).get("self")
        if isinstance(path_view, PathView):
            for op in path_view.operations:
                if (getattr(op, "url_name", None) or op.view_func.__name__) == short:
                    return op
    return None


def _op_fields(op: Any, source: str) -> list[str]:
    return [
        field for model in op.models if model.__ninja_param_source__ == source for field in model.model_fields
    ]


def _with_path(pattern: str, kwargs: dict[str, Any], name: str, value: str) -> str:
    def fill(match: re.Match[str]) -> str:
        key = match.group(2)
        return _quoted(value) if key == name else quote(str(kwargs[key]), safe="")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, pattern)


def _with_query(url: str, key: str, value: str) -> str:
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != key]
    return parts.path + "?" + "&".join([*kept, f"{key}={_quoted(value)}"])


def _send(client: Client, method: str, url: str, data: Any, as_json: bool) -> Any:
    if method == "GET":
        return client.get(url)
    if isinstance(data, bytes):
        return client.generic("POST", url, data, content_type="application/json")
    if as_json:
        return client.post(url, json.dumps(data or {}), content_type="application/json")
    return client.post(url, data or {})


#: Keys named after a row (the review page's ``v<id>``: the version each row was shown at). Each request of
#: the walk builds a new row, so following them would discover a new key per request, without end; the
#: row's own hostile versions are sent by tests/web/test_draft_lock.py.
ROW_KEY = re.compile(r"^v\d+$")


def _forget_messages(client: Client) -> None:
    """Drop the flash messages a request left for the next page. The walk never opens that page, so
    without this thousands pile up in the cookie and the session, and Django's cookie storage re-encodes
    them all, one fewer at a time, on every response (quadratic per request: the walk then takes hours)."""
    client.cookies.pop("messages", None)
    session = client.session
    if "_messages" in session:
        del session["_messages"]
        session.save()


def _shown(value: str) -> str:
    return repr(value if len(value) < 20 else value[:8] + f"…({len(value)})")


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_hostile_value_gives_500(persona, personas, tree, make_entry, make_evidence):
    client = Client(raise_request_exception=False)
    client.force_login(personas[persona])
    ctx = Ctx(tree, make_entry, make_evidence)
    failures: list[str] = []
    tried = 0
    paths_done: set[tuple[str, str]] = set()  # a route's path parameters are tried with one method

    def check(label: str, method: str, url: str, data: Any, as_json: bool) -> set[str]:
        nonlocal tried
        tried += 1
        with _reads() as seen:
            response = _send(client, method, url, data, as_json)
        if response.streaming:
            b"".join(response.streaming_content)
        _forget_messages(client)
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
        return seen

    for (name, method), pattern in sorted(discovered_routes().items()):
        if name in ("logout", "api:openapi-view", "api:openapi-json"):
            continue  # no parameters; logging out would end the walk's session
        base = build(name, method, ctx)
        op = _operation(name)
        path_kwargs = resolve(urlsplit(base.url).path).kwargs
        if op is not None:
            queue = _op_fields(op, "query")
        else:  # the keys the view reads, with and without the built query string
            queue = sorted(
                k
                for k in check(f"{method} {name} (plain)", method, urlsplit(base.url).path, base.data, False)
                if not ROW_KEY.match(k)
            )
            queue += sorted(
                k
                for k in check(f"{method} {name} (built)", method, base.url, base.data, False) - set(queue)
                if not ROW_KEY.match(k)
            )
        form_fields = set(base.data or {}) if method == "POST" else set()
        done: set[str] = set(form_fields)  # sent as form fields below, not as query parameters
        while queue:
            key = queue.pop(0)
            if key in done:
                continue
            done.add(key)
            for value in HOSTILE:
                req = base if method == "GET" else build(name, method, ctx)
                seen = check(
                    f"{method} {name} ?{key}={_shown(value)}",
                    method,
                    _with_query(req.url, key, value),
                    req.data,
                    req.json,
                )
                if op is None:
                    queue += sorted(k for k in seen - done - set(queue) if not ROW_KEY.match(k))
        for path_name in path_kwargs if (name, pattern) not in paths_done else ():
            for value in HOSTILE:
                req = base if method == "GET" else build(name, method, ctx)
                kwargs = resolve(urlsplit(req.url).path).kwargs
                url = _with_path(pattern, kwargs, path_name, value)
                query = urlsplit(req.url).query
                check(
                    f"{method} {name} <{path_name}>={_shown(value)}",
                    method,
                    url + ("?" + query if query else ""),
                    req.data,
                    req.json,
                )
        paths_done.add((name, pattern))
        if method != "POST":
            continue
        fields = form_fields | (set(_op_fields(op, "body")) if op is not None else set())
        for field in sorted(fields):
            for value in HOSTILE:
                req = build(name, method, ctx)
                data = dict(req.data or {})
                if not req.json and value == "%ff":
                    value = "\ufffd"  # what a browser's invalid bytes become in a form
                if not req.json and value == "\ud800":
                    value = "\ufffd"
                data[field] = value
                check(f"POST {name} {field}={_shown(value)}", method, req.url, data, req.json)
        if base.json:
            for label, body in BAD_BODIES.items():
                req = build(name, method, ctx)
                check(f"POST {name} ({label})", method, req.url, body, True)

    assert tried > 500, f"only {tried} requests: the walk lost its routes"
    assert not failures, f"{persona}: {len(failures)} answers were 500:\n  " + "\n  ".join(failures)
