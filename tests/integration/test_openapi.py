"""docs/openapi.json is the API as deployed: generated from the functions' resolvers and the
template, committed, and checked here so it cannot drift from either."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from holdfast_cli.local.template import http_routes, load_template
from holdfast_cli.openapi import OPENAPI_PATH, build_document, render, template_routes

REQUEST_BODIES = {
    "POST /inventory/batch": "InventoryBatchRequest",
    "PUT /channels/{name}": "ChannelConfig",
    "PUT /locations/{ref}": "LocationConfig",
    "PUT /products/{ref}": "ProductConfig",
    "PUT /timers": "TimerConfig",
    "POST /fulfilment-options": "FulfilmentOptionRequest",
    "POST /orders": "OrderRequest",
    "POST /graphql": "GraphqlRequest",
}


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return build_document()


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_committed_document_is_what_the_generator_produces(generated) -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(generated), (
        "docs/openapi.json is stale: run `uv run python -m holdfast_cli.openapi > docs/openapi.json`"
    )


def test_it_is_one_openapi_3_1_document_named_holdfast(committed) -> None:
    assert committed["openapi"] == "3.1.0"
    assert committed["info"]["title"] == "Holdfast"
    assert any(server["url"] == "http://127.0.0.1:3000" for server in committed["servers"])


def test_every_template_route_is_documented_and_nothing_else(committed) -> None:
    assert sorted(route for route, _ in operations(committed)) == sorted(
        route.route_key for route in http_routes()
    )


def test_every_request_body_has_its_schema(committed) -> None:
    schemas = committed["components"]["schemas"]
    bodies = {
        route: operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for route, operation in operations(committed)
        if "requestBody" in operation
    }
    assert bodies == {
        route: f"#/components/schemas/{name}" for route, name in REQUEST_BODIES.items()
    }
    for name in REQUEST_BODIES.values():
        assert schemas[name]["type"] == "object"
        assert schemas[name]["properties"]


def test_every_reference_resolves(committed) -> None:
    def resolves(ref: str) -> bool:
        if not ref.startswith("#/components/"):
            return False
        kind, _, name = ref.removeprefix("#/components/").partition("/")
        return name in committed["components"].get(kind, {})

    assert sorted(ref for ref in refs(committed) if not resolves(ref)) == []


def test_every_route_takes_and_answers_the_correlation_id(committed) -> None:
    parameter = committed["components"]["parameters"]["CorrelationId"]
    assert (parameter["name"], parameter["in"]) == ("x-correlation-id", "header")
    for path, operations in committed["paths"].items():
        for method, operation in operations.items():
            assert {"$ref": "#/components/parameters/CorrelationId"} in operation["parameters"]
            for status, response in operation["responses"].items():
                echoed = "x-correlation-id" in response.get("headers", {})
                # API Gateway answers 401/403 itself, before the function sets the header.
                assert echoed == (status not in ("401", "403")), (method, path, status)


def test_every_operation_needs_the_jwt_with_the_scope_the_template_gives_its_route(
    committed,
) -> None:
    routes = template_routes(load_template())
    schemes = committed["components"]["securitySchemes"]
    for route, operation in operations(committed):
        _, authorizer, scopes = routes[route]
        assert authorizer is not None, route
        assert operation["security"] == [{authorizer: scopes}], route
        assert schemes[authorizer]["scheme"] == "bearer"


def test_errors_are_documented_in_the_shape_the_resolver_answers(committed) -> None:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for route, operation in operations(committed):
        if route == "POST /graphql":  # GraphQL errors: 200 with an errors array (docs/graphql.md)
            continue
        for status in ("422", "default"):
            assert (
                operation["responses"][status]["content"]["application/json"]["schema"] == error
            ), (route, status)
    assert "HTTPValidationError" not in committed["components"]["schemas"]


def test_every_operation_has_a_summary_a_description_a_tag_and_a_stable_camel_case_id(
    committed,
) -> None:
    tags = {tag["name"] for tag in committed["tags"]}
    ids = [operation["operationId"] for _, operation in operations(committed)]
    assert len(ids) == len(set(ids))
    for route, operation in operations(committed):
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", operation["operationId"]), route
        assert operation["summary"] and operation["summary"] != route, route
        assert len(operation["description"]) > len(operation["summary"]), route
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, route
    by_route = dict(operations(committed))
    assert by_route["POST /fulfilment-options"]["operationId"] == "createFulfilmentOption"
    assert by_route["GET /virtual-positions"]["operationId"] == "getVirtualPositions"


def test_every_request_body_carries_the_readme_example(committed) -> None:
    for route in REQUEST_BODIES:
        content = dict(operations(committed))[route]["requestBody"]["content"]["application/json"]
        assert content["examples"]["readme"]["value"], route


def test_every_documented_error_status_answers_the_error_shape(committed) -> None:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for route, operation in operations(committed):
        statuses = [
            s
            for s in operation["responses"]
            if s.startswith(("4", "5")) and s not in ("401", "403")
        ]
        # GraphQL answers refused input and "not now" in the response's errors array (200).
        expected = {"400", "413", "415"} if route == "POST /graphql" else {"422", "503"}
        assert expected <= set(statuses), route
        # GraphQL answers a body that is no GraphQL request in GraphQL's own errors shape.
        shape = (
            {"$ref": "#/components/schemas/GraphqlResponse"} if route == "POST /graphql" else error
        )
        for status in statuses:
            assert (
                operation["responses"][status]["content"]["application/json"]["schema"] == shape
            ), (
                route,
                status,
            )
