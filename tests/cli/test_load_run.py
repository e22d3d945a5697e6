"""The load run, smoke-sized: ``holdfast dev`` in its own process on the
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


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_load_run_draws_its_progress_on_a_terminal_and_nothing_when_piped(monkeypatch) -> None:
    from bench.load_run import LoadRun

    monkeypatch.setenv("TERM", "xterm")
    run = LoadRun(Options(requests=10, clients=3), "http://127.0.0.1:9")
    for _ in range(6):
        assert run.take_ticket()
    terminal, piped = _Terminal(), io.StringIO()

    run._progress(terminal, final=False)
    assert "6/10 requests from 3 clients" in terminal.getvalue()

    while run.take_ticket():  # every ticket used: the clients start and stop at once
        pass
    assert run.fire(piped) == ([], pytest.approx(0, abs=5))
    run.fire(terminal)

    assert piped.getvalue() == ""
    assert terminal.getvalue().rstrip().endswith("10/10 requests from 3 clients")


def test_the_bench_progress_is_plain_when_piped_and_styled_on_a_terminal(monkeypatch) -> None:
    from bench.cli import Progress

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    piped, terminal = io.StringIO(), _Terminal()

    Progress(piped)("overhead: 80 pairs [done]")
    Progress(terminal)("overhead: 80 pairs [done]")

    assert piped.getvalue().startswith("[bench ") and piped.getvalue().endswith(
        "overhead: 80 pairs [done]\n"
    )
    assert "overhead: 80 pairs [done]" in terminal.getvalue()
