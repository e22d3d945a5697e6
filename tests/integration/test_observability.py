"""One id finds a request everywhere: the correlation id (the caller's ``x-correlation-id``, else
API Gateway's request id) is in every error body, the response header, the log lines and the
trace; stream and schedule events correlate by their event id. Every function counts its cold
start once, and traces when the stack's ``Tracing`` parameter is on (README, docs/deploy.md).
"""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.metrics.provider import cold_start

from holdfast import observability
from holdfast.runtime import reset_runtime
from holdfast_cli.local.api import LocalApi, http_event
from holdfast_cli.local.template import http_routes
from tests.cloudformation import render
from tests.faults import Faults
from tests.stream_records import timer_deleted_by_ttl

ID = "checkout-7f3a:retry/2"
CART = {
    "ref": "cart-1",
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": "SKU1", "quantity": 1}],
}
ERRORS = [
    ("GET", "/fulfilment-options/nobody", None, {}, 404),
    ("POST", "/fulfilment-options", {**CART, "lines": []}, {}, 422),
    ("GET", "/orders/bad%20ref", None, {}, 422),
    ("POST", "/inventory/batch", None, {"content-type": "text/plain"}, 415),
    ("GET", "/signals?from=yesterday", None, {}, 422),
]


@contextmanager
def captured_logs():
    """Whatever the shared Powertools logger writes, at INFO and above."""
    handler = observability.logger.registered_handler
    stream = io.StringIO()
    old_stream = handler.setStream(stream)
    level = observability.logger.log_level
    observability.logger.setLevel("INFO")
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        observability.logger.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), ERRORS)
def test_every_error_body_carries_the_callers_correlation_id_and_echoes_it(
    api: LocalApi, method, path, body, headers, status
):
    headers = {**headers, "X-Correlation-Id": ID}
    if body is not None:
        response = api.request(method, path, json_body=body, headers=headers)
    else:
        response = api.request(
            method, path, body="text" if headers.get("content-type") else None, headers=headers
        )

    assert response.status == status
    assert response.json()["error"]["correlationId"] == ID
    assert response.headers["x-correlation-id"] == ID


def invoke_with_request_id(api: LocalApi, path: str, headers: dict[str, str]) -> dict[str, Any]:
    route = next(r for r in http_routes() if r.match("GET", path) is not None)
    event = http_event(route, "GET", path, route.match("GET", path), headers=headers)
    event["requestContext"]["requestId"] = "apigw-request-1"
    return api.invoke(route.function, event)


@pytest.mark.parametrize(
    "headers", [{}, {"x-correlation-id": "has spaces"}, {"x-correlation-id": "x" * 129}]
)
def test_without_a_usable_header_the_correlation_id_is_api_gateways_request_id(api, headers):
    result = invoke_with_request_id(api, "/fulfilment-options/nobody", headers)

    assert result["statusCode"] == 404
    assert json.loads(result["body"])["error"]["correlationId"] == "apigw-request-1"
    assert result["headers"]["x-correlation-id"] == "apigw-request-1"


def test_a_successful_answer_echoes_the_correlation_id_too(api: LocalApi):
    response = api.get("/timers", headers={"x-correlation-id": ID})

    assert response.status == 200
    assert response.headers["x-correlation-id"] == ID


@pytest.fixture
def faults(moto_table):
    yield Faults()
    boto3.setup_default_session()
    reset_runtime()


def test_the_log_lines_of_a_request_carry_its_correlation_id(api: LocalApi, faults):
    faults.cancel("GetItem", "ProvisionedThroughputExceededException", times=1000)
    with captured_logs() as stream:
        response = api.get("/fulfilment-options/cart-1", headers={"x-correlation-id": ID})

    assert response.status == 503
    assert response.json()["error"]["correlationId"] == ID
    throttled = [line for line in log_lines(stream) if line["message"] == "DynamoDB throttled"]
    assert throttled and all(line["correlation_id"] == ID for line in throttled)
    assert throttled[0]["function_name"] == "FulfilmentOptionsFunction"


def test_a_stream_record_correlates_its_log_lines_by_its_event_id(api: LocalApi):
    with captured_logs() as stream:
        api.invoke("HoldExpiryFunction", {"Records": [timer_deleted_by_ttl("cart-9")]})

    expired = [line for line in log_lines(stream) if line["message"] == "timer expired"]
    assert [line["correlation_id"] for line in expired] == ["evt-cart-9"]


def test_a_scheduled_sweep_correlates_by_the_schedule_events_id(api: LocalApi):
    with captured_logs() as stream:
        api.invoke("HoldSweeperFunction", {"id": "schedule-event-1", "detail": {}})

    sweep = [line for line in log_lines(stream) if line["message"] == "sweep"]
    assert [line["correlation_id"] for line in sweep] == ["schedule-event-1"]


def cold_start_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [line for line in lines if "ColdStart" in line]


def test_the_cold_start_metric_is_counted_once_per_cold_start(api: LocalApi, capsys):
    cold_start.is_cold_start = True  # a fresh execution environment
    capsys.readouterr()
    for _ in range(3):
        assert api.get("/timers").status == 200
    counted = cold_start_lines(capsys.readouterr().out)

    assert len(counted) == 1
    assert counted[0]["function_name"] == "ConfigurationFunction"
    assert counted[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Holdfast"


class FakeXRay:
    """Enough of the X-Ray recorder for Powertools Tracer: records subsegments and annotations."""

    def __init__(self) -> None:
        self.subsegments: list[str] = []
        self.annotations: dict[str, Any] = {}
        self.metadata: list[str] = []

    @contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any):
        self.subsegments.append(name or "")
        yield self

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, *_: Any, **__: Any) -> None:
        self.metadata.append(key)

    def add_exception(self, *_: Any, **__: Any) -> None:
        pass


@pytest.fixture
def traced(monkeypatch):
    """Tracing on, as in a deployed function with the default ``Tracing``, X-Ray faked."""
    recorder = FakeXRay()
    tracer = Tracer(provider=recorder, disabled=False, auto_patch=False)  # type: ignore[arg-type]
    monkeypatch.setattr(observability.tracer, "tracer", tracer)
    yield recorder
    Tracer._config = Tracer._default_config.copy()


def test_a_traced_request_is_one_subsegment_annotated_with_its_correlation_id(api, traced):
    assert api.get("/timers", headers={"x-correlation-id": ID}).status == 200

    assert traced.subsegments == ["## lambda_handler"]
    assert traced.annotations["correlation_id"] == ID
    assert traced.annotations["ColdStart"] in (True, False)
    assert traced.metadata == []  # answers hold carts and orders: not copied into traces


def test_tracing_is_on_by_default_and_off_skips_the_tracer_in_the_code(api):
    for value, mode, disabled in (
        ("enabled", "Active", "false"),
        ("disabled", "PassThrough", "true"),
    ):
        function = render({"Tracing": value})["Globals"]["Function"]

        assert function["Tracing"] == mode
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == disabled
        variables = {"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": disabled}
        assert observability.tracing_enabled(variables) is (value == "enabled")


def test_a_graphql_answer_echoes_the_correlation_id(api: LocalApi):
    response = api.post("/graphql", {"query": "{ __typename }"}, headers={"x-correlation-id": ID})

    assert response.status == 200
    assert response.headers["x-correlation-id"] == ID


def test_every_graphql_error_carries_the_correlation_id(api: LocalApi):
    refused = api.post("/graphql", {"query": "{ nope }"}, headers={"x-correlation-id": ID})
    unparsable = api.post("/graphql", {"query": "{"}, headers={"x-correlation-id": ID})
    no_query = api.post("/graphql", {"variables": {}}, headers={"x-correlation-id": ID})

    for response in (refused, unparsable, no_query):
        errors = response.json()["errors"]
        assert errors and all(e["extensions"]["correlationId"] == ID for e in errors)
        assert response.headers["x-correlation-id"] == ID
