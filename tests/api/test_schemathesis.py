"""Schemathesis against /api/v1/openapi.json, in-process through the WSGI app: every operation, with a
township admin's token and with a village clerk's token, must never answer 5xx and must answer what the
document says (status declared, body matching its schema).

The schema is read from the running app (the docs need a signed-in session), so it is the document a
caller sees, not one rebuilt from the code. Bounded: ``MAX_EXAMPLES`` per operation, no deadline.

The operations are driven with hypothesis' ``@given`` over each operation's strategy rather than with
``schemathesis.pytest.from_fixture``: that lazy loader (schemathesis 4.32.5) sets ``node._nodeid``, which
pytest 9 no longer has. Valid requests, invalid ones (schemathesis' negative mode) and requests on real
rows (ids of existing entries, the clerk's village and another) are all sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qiangcun.accounts.services import token_create
from qiangcun.ledger.models import Entry
from qiangcun.wsgi import application

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _api_settings(fast_hashing, settings) -> None:
    settings.TODAY = datetime.date(2020, 12, 31)  # the tests' campaign year is open for entry


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The real WSGI handler closes "old" connections at each request's start and end; inside the test's
    transaction that closes it (PostgreSQL). Django's own test client turns this off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(client, personas, make_entry, tree) -> Any:
    """The document as the app serves it to a signed-in user, with rows of every state to find."""
    for village in (tree.sunzhuang, tree.bianxiyang):  # one of the clerk's villages, one outside
        for status in ("draft", "submitted", "verified", "verified"):
            make_entry(village, status=status)
    client.force_login(personas["leader"])
    cookie = (
        f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    )

    def signed_in(environ: dict[str, Any], start_response: Any) -> Any:
        # The werkzeug client schemathesis loads with keeps its own (empty) cookie jar and drops a Cookie
        # header: hand the session to the app here, for the document only.
        return application({**environ, "HTTP_COOKIE": cookie}, start_response)

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", signed_in)
    loaded.app = application  # the operations themselves go in with a bearer token, no session
    return loaded


def _bearer(user: Any) -> dict[str, str]:
    _, raw = token_create(actor=user, user=user, name="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def admin_bearer(personas) -> dict[str, str]:
    return _bearer(personas["township_admin"])


@pytest.fixture
def clerk_bearer(personas) -> dict[str, str]:
    return _bearer(personas["village_clerk"])


BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported with its example as is
)


def _runner(strategy: Any, headers: dict[str, str], sent: dict[str, int], label: str) -> Any:
    @BOUNDED
    @given(case=strategy)
    def run(case: Any) -> None:
        sent[label] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


def _on_row(pair: tuple[Any, int]) -> Any:
    case, pk = pair
    case.path_parameters = {**(case.path_parameters or {}), "pk": pk}
    return case


def _fuzz(schema: Any, headers: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Every operation, valid and invalid requests (schemathesis' positive and negative modes).

    Returns the number of requests sent per operation and the failures, one line each."""
    pks = list(Entry.objects.values_list("pk", flat=True))
    sent: dict[str, int] = {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        sent[label] = 0
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        if operation.path_parameters or operation.query or operation.body:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        if "pk" in {p.name for p in operation.path_parameters}:  # real rows too, not only made-up ids
            strategies.append(st.tuples(strategies[0], st.sampled_from(pks)).map(_on_row))

        try:
            _runner(st.one_of(strategies), headers, sent, label)()
        except Exception as exc:  # each operation's failure is reported, the walk goes on
            failures.append(f"{label}: {exc}")
    return sent, failures


def test_as_township_admin(api_schema, admin_bearer):
    sent, failures = _fuzz(api_schema, admin_bearer)
    print(f"township admin: {sum(sent.values())} requests", sent)
    assert len(sent) >= 10, sent
    assert not failures, "\n\n".join(failures)


def test_as_village_clerk(api_schema, clerk_bearer):
    sent, failures = _fuzz(api_schema, clerk_bearer)
    print(f"village clerk: {sum(sent.values())} requests", sent)
    assert len(sent) >= 10, sent
    assert not failures, "\n\n".join(failures)
