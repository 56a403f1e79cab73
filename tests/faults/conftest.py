"""Fault tests run real servers (``qiangcun serve``) and read their database from the test process through
one more Django alias (tests/live.py ``database``), on the backend the suite runs on: SQLite by default,
PostgreSQL with DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections


def on_postgres() -> bool:
    return connections.settings["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    """Database access for a test that reads a server's database, not pytest-django's test database."""
    with django_db_blocker.unblock():
        yield
