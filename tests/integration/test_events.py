"""The sample events in ``events/`` are what API Gateway (HTTP API, payload 2.0), the
DynamoDB stream and the scheduler send: one per route and per trigger in template.yaml, and
each one succeeds against its function's real handler, as
``sam local invoke <LogicalId> -e events/<function_dir>/<verb>-<thing>.json`` would run it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from holdfast.runtime import get_runtime
from holdfast_cli.local.api import LambdaContext, LocalApi
from holdfast_cli.local.template import (
    PROJECT_ROOT,
    FunctionSpec,
    HttpRoute,
    functions,
    http_routes,
    load_handler,
    load_template,
)

EVENTS_DIR = PROJECT_ROOT / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*/*.json"))
"""Events live under their function's folder; events/env.json is `sam local`'s --env-vars."""
ACCOUNT_ID = "123456789012"
SKU, DC = "ACME_SNEAKER_BLK_US9", "MAIN_DC"
CART, ORDER = "cart-abc123-20240315", "ORD-1000"
SCHEDULES = {"Schedule", "ScheduleV2"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def name_of(path: Path) -> str:
    return str(path.relative_to(EVENTS_DIR))


def trigger_of(event: dict[str, Any]) -> str:
    """The template event type that sends this payload."""
    if "routeKey" in event:
        return "HttpApi"
    sources = {record.get("eventSource") for record in event.get("Records", [])}
    if sources == {"aws:dynamodb"}:
        return "DynamoDB"
    if sources == {"aws:sqs"}:
        return "SQS"
    assert not sources, f"unknown event source {sources}"
    return "Schedule"


def route_of(event: dict[str, Any]) -> HttpRoute:
    matches = [route for route in http_routes() if route.route_key == event["routeKey"]]
    assert len(matches) == 1, f"no template route has routeKey {event['routeKey']!r}"
    return matches[0]


def triggers(spec: FunctionSpec) -> set[str]:
    return {"Schedule" if kind in SCHEDULES else kind for kind in spec.event_types()}


def function_of(path: Path, event: dict[str, Any]) -> FunctionSpec:
    """HTTP events by route; other events by their function's directory and trigger type."""
    trigger = trigger_of(event)
    if trigger == "HttpApi":
        return functions()[route_of(event).function]
    candidates = [
        spec
        for spec in functions().values()
        if spec.code_uri.name == path.parent.name and trigger in triggers(spec)
    ]
    assert len(candidates) == 1, (
        f"{name_of(path)}: {len(candidates)} functions take {trigger} events"
    )
    return candidates[0]


# -- coverage and naming --------------------------------------------------------------------------


def test_every_http_route_has_an_event() -> None:
    covered = {load(path).get("routeKey") for path in EVENT_FILES}
    missing = sorted(route.route_key for route in http_routes() if route.route_key not in covered)
    assert missing == []


def test_every_other_trigger_has_an_event() -> None:
    covered = {(function_of(path, load(path)).name, trigger_of(load(path))) for path in EVENT_FILES}
    wanted = {
        (spec.name, trigger)
        for spec in functions().values()
        for trigger in triggers(spec) - {"HttpApi"}
    }
    assert sorted(wanted - covered) == []


@pytest.mark.parametrize("path", EVENT_FILES, ids=name_of)
def test_event_lives_under_its_function_and_is_named_verb_thing(path: Path) -> None:
    event = load(path)
    spec = function_of(path, event)
    assert path.parent.parent == EVENTS_DIR
    assert path.parent.name == spec.code_uri.name
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+\.json", path.name)
    if trigger_of(event) == "HttpApi":
        assert path.name.startswith(f"{event['requestContext']['http']['method'].lower()}-")


@pytest.mark.parametrize("path", EVENT_FILES, ids=name_of)
def test_event_uses_placeholder_account_ids_only(path: Path) -> None:
    assert set(re.findall(r"(?<!\d)\d{12}(?!\d)", path.read_text(encoding="utf-8"))) <= {ACCOUNT_ID}


# -- shape ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [p for p in EVENT_FILES if trigger_of(load(p)) == "HttpApi"], ids=name_of
)
def test_http_event_is_a_valid_payload_v2_event(path: Path) -> None:
    event = load(path)
    route = route_of(event)
    context = event["requestContext"]
    http = context["http"]

    assert event["version"] == "2.0"
    assert event["isBase64Encoded"] is False
    assert context["routeKey"] == event["routeKey"] == f"{http['method']} {route.path}"
    assert http["method"] == route.method
    assert http["path"] == event["rawPath"]
    assert context["accountId"] == ACCOUNT_ID
    stage = context["stage"]
    path_in_stage = (
        event["rawPath"] if stage == "$default" else event["rawPath"].removeprefix(f"/{stage}")
    )
    assert route.match(http["method"], path_in_stage) == (event.get("pathParameters") or {})

    repeated: dict[str, list[str]] = {}
    for name, value in parse_qsl(event["rawQueryString"], keep_blank_values=True):
        repeated.setdefault(name, []).append(value)
    assert event.get("queryStringParameters", {}) == {k: ",".join(v) for k, v in repeated.items()}

    assert all(name == name.lower() for name in event["headers"])
    if "body" in event:
        assert isinstance(event["body"], str)
        json.loads(event["body"])
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))


def matches_filter(pattern: Any, value: Any) -> bool:
    """Lambda event filtering, for the patterns the template uses (exact values, nested)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches_filter(p, value[k]) for k, p in pattern.items()
        )
    return value in pattern


@pytest.mark.parametrize(
    "path", [p for p in EVENT_FILES if trigger_of(load(p)) == "DynamoDB"], ids=name_of
)
def test_stream_event_passes_the_template_filter_and_parses(path: Path) -> None:
    event = load(path)
    spec = function_of(path, event)
    [stream] = [e for e in spec.events.values() if e["Type"] == "DynamoDB"]
    patterns = [
        json.loads(f["Pattern"])
        for f in stream["Properties"].get("FilterCriteria", {}).get("Filters", [])
    ]
    table = load_template()["Resources"]["InventoryTable"]["Properties"]
    for record in event["Records"]:
        DynamoDBStreamRecordModel.model_validate(record)
        assert (
            record["dynamodb"]["StreamViewType"] == table["StreamSpecification"]["StreamViewType"]
        )
        assert set(record["dynamodb"]["Keys"]) == {k["AttributeName"] for k in table["KeySchema"]}
        assert not patterns or any(matches_filter(p, record) for p in patterns)


# -- invocation -----------------------------------------------------------------------------------


def create_hold(api: LocalApi, ref: str = CART) -> None:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": 2}],
    }
    response = api.post("/fulfilment-options", body)
    assert response.status == 201 and response.json()["status"] == "ACTIVE", response.body


def confirm_order(api: LocalApi) -> None:
    create_hold(api)
    body = {
        "ref": ORDER,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": CART,
        "lines": [{"productRef": SKU, "quantity": 2}],
    }
    assert api.post("/orders", body).status == 201


def ship_order(api: LocalApi) -> None:
    confirm_order(api)
    assert api.post(f"/orders/{ORDER}/ship").status == 200


def expire_hold(api: LocalApi, clock) -> None:
    create_hold(api)
    clock.advance(minutes=16)


# What must exist before each event can succeed, beyond the configured channel, location,
# product and stock every event gets.
PREREQUISITES: dict[str, Callable[..., None]] = {
    "fulfilment_options/get-fulfilment-option.json": create_hold,
    "fulfilment_options/delete-fulfilment-option.json": create_hold,
    "fulfilment_options/post-fulfilment-option-extend.json": create_hold,
    "orders/post-order.json": create_hold,
    "orders/get-order.json": confirm_order,
    "orders/post-order-ship.json": confirm_order,
    "orders/post-order-cancel.json": confirm_order,
    "orders/post-order-return.json": ship_order,
    "hold_expiry/expire-hold-timer.json": expire_hold,
    "hold_expiry/sweep-overdue-holds.json": expire_hold,
}


@pytest.fixture
def seeded(api: LocalApi, clock) -> LocalApi:
    """Every ref the events name exists: channel, location, product and stock."""
    assert (
        api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 10}}).status
        == 200
    )
    location = {
        "type": "DC",
        "deliveryTypes": ["HD", "CC"],
        "channels": ["ECOMMERCE"],
        "priority": 1,
    }
    assert api.put(f"/locations/{DC}", location).status == 200
    assert api.put(f"/products/{SKU}", {"category": "SNEAKERS"}).status == 200
    receipt = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "DELTA",
        "quantity": 50,
        "sourceRef": "ASN-1",
        "asOf": "2024-03-15T06:00:00Z",
    }
    assert api.post("/inventory/batch", {"entities": [receipt]}).status == 200
    return api


@pytest.mark.parametrize("path", EVENT_FILES, ids=name_of)
def test_event_succeeds_against_its_function(seeded: LocalApi, clock, path: Path) -> None:
    prepare = PREREQUISITES.get(name_of(path))
    if prepare is expire_hold:
        prepare(seeded, clock)
    elif prepare is not None:
        prepare(seeded)
    event = load(path)
    spec = function_of(path, event)

    result = load_handler(spec.name)(event, LambdaContext(spec.name))

    trigger = trigger_of(event)
    if trigger == "HttpApi":
        assert 200 <= result["statusCode"] < 300, result.get("body")
        if event["routeKey"] == "POST /inventory/batch":
            assert {r["status"] for r in json.loads(result["body"])["results"]} == {"APPLIED"}
        if event["routeKey"] == "POST /graphql":  # GraphQL answers its errors with a 200
            assert "errors" not in json.loads(result["body"]), result["body"]
    elif trigger == "DynamoDB":
        assert result == {"batchItemFailures": []}
    if (
        prepare is expire_hold
    ):  # released, not only shown EXPIRED by the view (which reads expiresAt)
        assert get_runtime().table.get_cart(CART).status == "EXPIRED"
        position = seeded.get(f"/inventory-positions/{SKU}:{DC}:DEFAULT").json()
        assert position["onHand"] == 50
        assert {q["status"] for q in position["quantities"] if q["type"] == "SOFT_RESERVE"} == {
            "INACTIVE"
        }
