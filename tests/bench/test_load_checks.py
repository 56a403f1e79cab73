"""The load bench's own checking (bench/load.py): a write acknowledged to a user and not in the database,
in it twice or with another amount fails the run; "database is locked" and 5xx answers in the server's
log are found. Plain data, no server, no Django."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


def write(key: str, **fields: Any) -> dict[str, Any]:
    base = {
        "key": key,
        "via": "form",
        "id": None,
        "village": "371422105201",
        "date": "2020-03-18",
        "amount_fen": 1_234_567,
        "category": "经营收入",
        "path": "现代农业",
        "status": "submitted",
        "entered_by": "load-clerk-000",
    }
    return {**base, **fields}


def row(w: dict[str, Any], row_id: int, **fields: Any) -> dict[str, Any]:
    """The database's row for write ``w``, as phase_verify reads it."""
    summary = f"3月特色种植销售收入（压测 {w['key']}）"
    found = {k: w[k] for k in ("village", "date", "amount_fen", "category", "path", "status", "entered_by")}
    return {**found, "id": row_id, "summary": summary, **fields}


def test_every_write_present(load: ModuleType) -> None:
    acked = [write("rab12cd-0"), write("rab12cd-1", via="api", id=8, status="draft")]
    report = load.check_writes(acked, [row(acked[0], 7), row(acked[1], 8)])
    assert report["ok"] and report["present"] == 2 and report["unacknowledged"] == []


def test_a_missing_write_fails(load: ModuleType) -> None:
    acked = [write("rab12cd-0"), write("rab12cd-1")]
    report = load.check_writes(acked, [row(acked[0], 7)])
    assert not report["ok"]
    assert [w["key"] for w in report["missing"]] == ["rab12cd-1"] and report["present"] == 1


def test_another_amount_or_id_fails(load: ModuleType) -> None:
    acked = [write("rab12cd-0"), write("rab12cd-1", via="api", id=8)]
    rows = [row(acked[0], 7, amount_fen=1_234_560), row(acked[1], 9)]
    report = load.check_writes(acked, rows)
    assert not report["ok"] and report["present"] == 0
    wrong = {m["write"]["key"]: m["wrong"] for m in report["mismatched"]}
    assert wrong == {"rab12cd-0": {"amount_fen": (1_234_567, 1_234_560)}, "rab12cd-1": {"id": (8, 9)}}


def test_a_write_saved_twice_fails(load: ModuleType) -> None:
    acked = [write("rab12cd-0")]
    report = load.check_writes(acked, [row(acked[0], 7), row(acked[0], 8)])
    assert not report["ok"] and report["duplicated"] == [{"write": acked[0], "rows": [7, 8]}]


def test_rows_nobody_was_told_about_are_listed_not_failed(load: ModuleType) -> None:
    acked = [write("rab12cd-0")]
    lost = write("rab12cd-5")  # saved, but its answer never reached the user (a timeout)
    report = load.check_writes(acked, [row(acked[0], 7), row(lost, 9), {"id": 1, "summary": "3月承包费"}])
    assert report["ok"] and report["unacknowledged"] == ["rab12cd-5"]


def test_server_log_scan(load: ModuleType) -> None:
    log = [
        '127.0.0.1 - - [04/Dec/2026:10:18:32 +0800] "GET /progress/ HTTP/1.1" 200 78929 "-" "python-requests"',
        '127.0.0.1 - - [04/Dec/2026:10:18:32 +0800] "POST /ledger/new/?village=1 HTTP/1.1" 500 145 "-" "x"',
        "Internal Server Error: /ledger/new/",
        "Traceback (most recent call last):",
        "django.db.utils.OperationalError: database is locked",
        "[2026-12-04 10:18:48 +0800] [16791] [CRITICAL] WORKER TIMEOUT (pid:16793)",
    ]
    found = load.scan_log(log)
    assert found["statuses"] == {"200": 1, "500": 1} and found["5xx"] == 1
    assert (
        found["database_is_locked"] == 1 and found["tracebacks"] == 1 and len(found["worker_timeouts"]) == 1
    )
    clean = load.scan_log(log[:1])
    assert clean["5xx"] == 0 and clean["database_is_locked"] == 0


def test_percentiles_nearest_rank(load: ModuleType) -> None:
    values = [float(v) for v in range(1, 101)]
    assert [load.percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    samples = [(0.5, "a", 10.0, True), (2.0, "a", 30.0, False), (3.0, "b", 20.0, True)]
    s = load.summarize(samples, since=1.0)
    assert s["requests"] == 2 and s["failures"] == 1 and s["kinds"]["a"]["p95"] == 30.0
