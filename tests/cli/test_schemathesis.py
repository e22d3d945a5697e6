"""Hostile input: schemathesis drives every operation of docs/openapi.json
against ``holdfast dev`` over real HTTP.

For each generated request (schema-valid and schema-violating bodies, path and query values,
from the examples, coverage and fuzzing phases) the answer must be:

- never a 5xx;
- every 4xx in the error shape of docs/behaviour.md §9, with the code its status implies and, for a 422, each
  detail naming a field;
- a refused (4xx) request writes nothing: the handlers make no successful DynamoDB write.

Every schema-violating request must be refused (4xx), and every 2xx body must match the
document; a deterministic walk through every operation checks the success answers too.

``holdfast dev`` has no authorizer (the JWT authorizer is API Gateway's), so this exercises
the handlers, not the authorizer: the document's security requirements are dropped. The fast
run (in ``make test``) tries about 820 inputs; ``HOLDFAST_LONG=1`` about 3,400. The figures are
printed at the end of the module (``-s`` or the terminal summary).

Found and fixed when this was written: a non-UTF-8 JSON body was a 500 on every body route;
``holdfast dev`` answered unknown methods 501; the 201 of the two creating routes was not
in the document.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from holdfast_cli.local.dev_server import serve
from holdfast_cli.seed import CHANNELS, EXAMPLE_POSITION, LOCATIONS, MAIN_DC, PRODUCT, TIMERS
from tests.cli.http_client import call
from tests.cli.write_counter import counting_writes

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
LONG = os.environ.get("HOLDFAST_LONG") == "1"
MAX_EXAMPLES = 150 if LONG else 10

CODES_BY_STATUS = {
    400: {"BAD_REQUEST"},
    404: {"NOT_FOUND"},
    409: {"OUT_OF_STOCK", "CONFLICT"},
    411: {"LENGTH_REQUIRED"},
    413: {"PAYLOAD_TOO_LARGE"},
    415: {"UNSUPPORTED_MEDIA_TYPE"},
    422: {"INVALID_INPUT"},
}


def without_the_authorizer(document: dict) -> dict:
    """The document minus its security requirements: ``holdfast dev`` calls the handlers
    directly, as the tests do, and checks no token (API Gateway's JWT authorizer does, in a
    deployed stack), so a request without ``Authorization`` is not "negative" here."""
    document.pop("security", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            for status in ("401", "403"):
                operation.get("responses", {}).pop(status, None)
    return document


schema = schemathesis.openapi.from_dict(
    without_the_authorizer(json.loads(OPENAPI.read_text())),
    config=schemathesis.Config.from_dict(
        {
            # The fast run draws the same inputs every time (CI stays reproducible); the long
            # run draws new ones, to keep finding what the fixed set cannot.
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "deterministic": not LONG,
            },
            "phases": {"stateful": {"enabled": False}},
            # A body over the limit is refused before it is read: 413 is a rejection too.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [
                        400,
                        401,
                        403,
                        404,
                        405,
                        406,
                        409,
                        413,
                        415,
                        422,
                        428,
                        429,
                    ]
                }
            },
        }
    ),
)

#: What the run saw, reported at the end of the module.
tally: Counter[str] = Counter()
operations_fuzzed: set[str] = set()


@pytest.fixture(scope="module")
def dev_server():
    """``holdfast dev --engine moto`` (seeded), without the sweeper so nothing writes but
    the requests."""
    with serve(engine="moto", port=0, stream=False, schedules=False, log=None) as server:
        yield server


@pytest.fixture(scope="module")
def writes(dev_server):
    with counting_writes() as counter:
        yield counter


@pytest.fixture(scope="module", autouse=True)
def report_figures(request):
    yield
    if tally:
        tally["operations fuzzed"] = len(operations_fuzzed)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        line = "hostile input: " + json.dumps(dict(sorted(tally.items())))
        if reporter is not None:
            reporter.write_line(line)


def error_in_the_spec_shape(ctx, response, case) -> None:
    """docs/behaviour.md §9: every 4xx is ``{"error": {"code", "message", "details": [...],
    "correlationId"}}`` with the id echoed in the ``x-correlation-id`` header; the code fits the
    status; a 422 names the field of each problem."""
    if not 400 <= response.status_code < 500:
        return None
    body = json.loads(response.content)
    if (
        case.path == "/graphql" and case.method.upper() == "POST"
    ):  # other methods: no route, the 404 below
        return graphql_error_shape(response.status_code, body)
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the error shape: {body!r}"
    error = body["error"]
    echoed = correlation_header(response.headers)
    if echoed is None:  # holdfast dev's own 404 for a path no route has (API Gateway's, deployed)
        assert set(error) == {"code", "message", "details"}, f"error keys: {sorted(error)}"
    else:
        assert set(error) == {"code", "message", "details", "correlationId"}, sorted(error)
        assert error["correlationId"] == echoed
    assert error["code"] in CODES_BY_STATUS.get(response.status_code, set()), (
        f"{response.status_code} with code {error['code']!r}"
    )
    assert isinstance(error["message"], str) and error["message"], "empty message"
    assert isinstance(error["details"], list), "details is not a list"
    assert all(isinstance(detail, dict) for detail in error["details"])
    if response.status_code == 422:
        assert error["details"], "a 422 with no details"
        for detail in error["details"]:
            assert isinstance(detail.get("field"), str) and detail["field"], f"no field: {detail}"
            assert isinstance(detail.get("message"), str) and detail["message"]
    return None


def correlation_header(headers: Any) -> str | None:
    value = {name.lower(): value for name, value in headers.items()}.get("x-correlation-id")
    return value[0] if isinstance(value, list) else value


def graphql_error_shape(status: int, body: object) -> None:
    """``POST /graphql`` refuses a body that is no GraphQL request in GraphQL's own shape
    (docs/graphql.md): ``{"errors": [{"message", "extensions": {"code"}}]}``."""
    assert isinstance(body, dict) and set(body) == {"errors"}, (
        f"not the GraphQL error shape: {body!r}"
    )
    (error,) = body["errors"]
    assert isinstance(error["message"], str) and error["message"], "empty message"
    codes = CODES_BY_STATUS.get(status, set()) | ({"INVALID_INPUT"} if status == 400 else set())
    assert error["extensions"]["code"] in codes, (
        f"{status} with code {error['extensions']['code']!r}"
    )


CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    response_schema_conformance,
    error_in_the_spec_shape,
]


@schema.parametrize()
def test_hostile_input_gets_no_5xx_the_error_shape_and_no_write_when_refused(
    case, dev_server, writes
):
    writes_before = writes.count
    response = case.call(base_url=dev_server.url, timeout=30)
    written = writes.count - writes_before
    tally["inputs"] += 1
    tally[f"inputs, {case.meta.phase.name.value}"] += 1
    tally[f"inputs, {case.meta.generation.mode.value}"] += 1
    tally[f"status {response.status_code // 100}xx"] += 1
    operations_fuzzed.add(case.operation.label)
    case.validate_response(response, checks=CHECKS)
    tally["responses checked"] += 1
    if 400 <= response.status_code < 500:
        assert written == 0, (
            f"{case.method} {case.formatted_path} was refused with {response.status_code} "
            f"but made {written} DynamoDB write(s)"
        )
        tally["refused, nothing written"] += 1
    else:
        tally["writes by accepted requests"] += written


def test_the_write_counter_sees_the_handlers_writes(dev_server, writes):
    """Guards the check above: an accepted configuration change is counted."""
    before = writes.count
    status, _ = call(f"{dev_server.url}/products/FUZZ_GUARD", "PUT", b'{"category": "GUARD"}')

    assert status == 200
    assert writes.count > before


CART = {
    "ref": "cart-conforms",
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": PRODUCT, "quantity": 1}],
}
ORDER = {**CART, "ref": "ORD-conforms", "fulfilmentOptionRef": CART["ref"]}
FEED = {
    "entities": [
        {
            "productRef": PRODUCT,
            "locationRef": MAIN_DC,
            "type": "DELTA",
            "quantity": 2,
            "sourceRef": "RCPT-conforms",
        }
    ]
}
#: A retailer's day through every operation, so each success answer is checked too (random
#: inputs rarely name the seed's channel or refs). (method, path, path parameters, query, body)
HAPPY_PATH = [
    ("GET", "/virtual-positions", {}, {"channel": "ECOMMERCE", "productRef": PRODUCT}, None),
    ("POST", "/fulfilment-options", {}, None, CART),
    ("POST", "/fulfilment-options", {}, None, CART),  # the same request again: 200
    ("GET", "/fulfilment-options/{ref}", {"ref": CART["ref"]}, None, None),
    ("POST", "/fulfilment-options/{ref}/extend", {"ref": CART["ref"]}, None, None),
    ("POST", "/orders", {}, None, ORDER),
    ("POST", "/orders", {}, None, ORDER),
    ("GET", "/orders/{ref}", {"ref": ORDER["ref"]}, None, None),
    ("POST", "/orders/{ref}/ship", {"ref": ORDER["ref"]}, None, None),
    ("POST", "/orders/{ref}/return", {"ref": ORDER["ref"]}, None, None),
    ("POST", "/fulfilment-options", {}, None, {**CART, "ref": "cart-conforms-2"}),
    ("DELETE", "/fulfilment-options/{ref}", {"ref": "cart-conforms-2"}, None, None),
    ("POST", "/orders", {}, None, {**ORDER, "ref": "ORD-conforms-2", "fulfilmentOptionRef": None}),
    ("POST", "/orders/{ref}/cancel", {"ref": "ORD-conforms-2"}, None, None),
    ("POST", "/inventory/batch", {}, None, FEED),
    ("GET", "/inventory-positions/{ref}", {"ref": EXAMPLE_POSITION}, None, None),
    ("PUT", "/channels/{name}", {"name": "ECOMMERCE"}, None, CHANNELS["ECOMMERCE"]),
    ("GET", "/channels/{name}", {"name": "ECOMMERCE"}, None, None),
    ("PUT", "/locations/{ref}", {"ref": MAIN_DC}, None, LOCATIONS[MAIN_DC]),
    ("GET", "/locations/{ref}", {"ref": MAIN_DC}, None, None),
    ("PUT", "/products/{ref}", {"ref": PRODUCT}, None, {"category": "SNEAKERS"}),
    ("GET", "/products/{ref}", {"ref": PRODUCT}, None, None),
    ("PUT", "/timers", {}, None, TIMERS),
    ("GET", "/timers", {}, None, None),
    ("GET", "/signals", {}, {"productRef": PRODUCT, "limit": 10}, None),
    ("GET", "/reports/funnel", {}, None, None),
    (
        "POST",
        "/graphql",
        {},
        None,
        {
            "query": '{ virtualPositions(productRef: "%s", catalogue: {ref: "ECOMMERCE"}) '
            "{ edges { node { groupRef quantity } } } }" % PRODUCT
        },
    ),
    ("GET", "/reports/channels", {}, {"deliveryType": "HD"}, None),
    ("GET", "/reports/locations", {}, {"productRef": PRODUCT}, None),
    ("GET", "/reports/affinity", {}, {"minCount": 1}, None),
    ("GET", "/reports/timing", {}, {"timeZone": "Europe/Paris", "bucketSeconds": 30}, None),
    ("GET", "/reports/restocking", {}, {"threshold": 0}, None),
]


def test_every_operation_answers_success_as_documented(dev_server):
    """Status and body of each success answer conform to docs/openapi.json."""
    operations = set()
    for method, path, parameters, query, body in HAPPY_PATH:
        arguments = {"path_parameters": parameters, "query": query}
        case = schema[path][method].Case(**arguments, **({} if body is None else {"body": body}))
        response = case.call(base_url=dev_server.url, timeout=30)

        assert 200 <= response.status_code < 300, (method, path, response.text)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )
        operations.add(f"{method} {path}")
    tally["success answers checked against the document"] += len(HAPPY_PATH)
    documented = {result.ok().label for result in schema.get_all_operations()}
    assert documented - operations == set(), "add a step to HAPPY_PATH for each new operation"
