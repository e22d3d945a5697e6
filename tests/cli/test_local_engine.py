"""The one engine lifecycle (holdfast dev, the bench and the fixtures start their engine through
it) leaves the process as it found it, whether it started or failed; and the tools' one HTTP
client speaks to an API the way the in-process API answers."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from holdfast_cli.api_client import ApiClient
from holdfast_cli.local.engine import EngineError, LocalEngine, engine_kind
from holdfast_cli.local.environment import lambda_environment

WATCHED = (
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "FEED_CONCURRENCY",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
)


def snapshot() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WATCHED}


def test_a_moto_engine_points_the_handlers_at_its_table_and_restores_the_environment():
    before = snapshot()
    with LocalEngine("moto", table="t-engine", environment={"POWERTOOLS_LOG_LEVEL": "ERROR"}) as e:
        assert os.environ["TABLE_NAME"] == "t-engine"
        assert "DYNAMODB_ENDPOINT_URL" not in os.environ  # nothing may bypass the mock
        assert os.environ["FEED_CONCURRENCY"] == "1"  # moto's transactions are not thread-safe
        assert os.environ["POWERTOOLS_LOG_LEVEL"] == "ERROR"
        assert e.client().describe_table(TableName="t-engine")["Table"]["TableStatus"] == "ACTIVE"
    assert snapshot() == before


def test_an_engine_that_cannot_be_reached_fails_clearly_and_leaves_the_environment_as_it_was():
    before = snapshot()
    engine = LocalEngine("endpoint", endpoint_url="http://127.0.0.1:9", table="t-unreachable")
    with pytest.raises(EngineError, match=r"cannot reach DynamoDB at http://127\.0\.0\.1:9"):
        engine.start()
    assert snapshot() == before


def test_whatever_was_added_to_an_engine_stops_before_it_even_if_one_step_fails():
    stopped: list[str] = []
    engine = LocalEngine("moto").start()
    engine.on_close(lambda: stopped.append("poller"))
    engine.on_close(lambda: 1 / 0)
    engine.on_close(lambda: stopped.append("scheduler"))
    with pytest.raises(ZeroDivisionError):
        engine.close()
    assert stopped == ["scheduler", "poller"]
    assert os.environ.get("FEED_CONCURRENCY") is None


@pytest.mark.parametrize(
    ("engine", "endpoint_url", "message"),
    [
        ("moto", "http://127.0.0.1:8000", "either engine or endpoint_url"),
        ("sqlite", None, "engine must be one of"),
        ("endpoint", None, "engine must be one of"),
    ],
)
def test_an_engine_named_wrongly_is_refused_before_anything_starts(engine, endpoint_url, message):
    with pytest.raises(ValueError, match=message):
        engine_kind(engine, endpoint_url)


def test_the_lambda_environment_carries_the_templates_globals():
    values = lambda_environment("t", "http://127.0.0.1:8000")
    assert values["POWERTOOLS_SERVICE_NAME"] == "holdfast"
    assert values["POWERTOOLS_METRICS_NAMESPACE"] == "Holdfast"
    assert values["DYNAMODB_ENDPOINT_URL"] == "http://127.0.0.1:8000"
    assert "FEED_CONCURRENCY" not in values


@pytest.fixture
def echo_server() -> Iterator[str]:
    """Answers every request with what it received; 404 for /missing."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        do_POST = do_GET

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.dumps(
                {
                    "path": self.path,
                    "body": self.rfile.read(length).decode(),
                    "authorization": self.headers.get("authorization"),
                }
            ).encode()
            self.send_response(404 if self.path.endswith("/missing") else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dev"
    finally:
        server.shutdown()
        server.server_close()


def test_the_http_client_keeps_the_stage_path_encodes_the_query_and_sends_the_token(echo_server):
    with ApiClient(echo_server, token="t0k") as api:
        answer = api.request("POST", "/reports/funnel", query={"from": "a b"}, json_body={"x": 1})
        missing = api.request("GET", "/missing")
    assert answer.status == 200
    assert answer.json() == {
        "path": "/dev/reports/funnel?from=a+b",
        "body": '{"x": 1}',
        "authorization": "Bearer t0k",
    }
    assert missing.status == 404  # an HTTP error is an answer, not an exception


def test_the_http_client_raises_when_no_answer_comes():
    with pytest.raises(OSError), ApiClient("http://127.0.0.1:9", timeout=2) as api:
        api.request("GET", "/timers")
