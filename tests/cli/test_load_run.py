"""The load run (issue #7 item 6), smoke-sized: ``holdfast dev`` in its own process on the
session's DynamoDB Local, 200 requests from 10 concurrent clients, then the ledger. The full
run (``python -m bench.load``, thousands of requests from tens of clients) is ``make load``
and part of ``make test-long``."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stdout

import pytest

from bench.load import Options, main, run_load

pytestmark = pytest.mark.dynamodb_local


@pytest.fixture(scope="module")
def table(dynamodb_local_endpoint, dynamodb_local_client):
    """A table of the run's own on the shared engine (holdfast dev creates it)."""
    name = f"holdfast-load-{uuid.uuid4().hex[:8]}"
    yield name
    dynamodb_local_client.delete_table(TableName=name)


@pytest.fixture(scope="module")
def report(dynamodb_local_endpoint, table) -> dict:
    return run_load(
        Options(
            requests=200,
            clients=10,
            skus=5,
            stock=20,
            endpoint_url=dynamodb_local_endpoint,
            table=table,
        ),
        err=io.StringIO(),
    )


def test_no_request_fails_under_tens_of_concurrent_clients(report):
    assert report["requests"] == 200
    assert report["status_classes"].get("5xx", 0) == 0
    assert report["status_classes"].get("no answer", 0) == 0
    assert report["error_rate"] == 0
    assert report["latency"]["all"]["count"] == 200


def test_after_the_run_no_unit_is_oversold_or_unaccounted_and_the_ledger_agrees(report):
    stock = report["stock"]
    assert stock["oversold_units"] == 0 and stock["negative_on_hand"] == []
    assert stock["unaccounted_units"] == {}
    assert stock["units_ordered"] > 0 and stock["carts"]["converted"] > 0
    assert report["reconcile"]["positions_checked"] >= stock["positions"]
    assert report["reconcile"]["drift"] == []
    assert report["ok"] is True


@pytest.mark.slow
def test_full_load_run_thousands_of_requests_from_tens_of_clients(dynamodb_local_endpoint, table):
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--endpoint-url", dynamodb_local_endpoint, "--table", table, "--json"])
    report = json.loads(out.getvalue())

    assert code == 0, report
    assert report["requests"] == Options.requests and report["clients"] == Options.clients
    assert report["error_rate"] == 0
    assert report["stock"]["oversold_units"] == 0
    assert report["reconcile"]["drift"] == []
