"""Each GraphQL operation makes exactly the DynamoDB calls of its REST twin, warm: the same
services, nothing read or written on the side (bench's ``graphql_fo_create_overhead`` times
the hold; this counts every operation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from holdfast.graphql.mapping import opaque_id
from holdfast.runtime import reset_runtime
from tests.graphql.storefront import CREATE, DC, SKU, arrange, data, fo_input, graphql


@pytest.fixture
def calls(api):
    """The DynamoDB operations made while recording, in order."""
    made: list[str] = []
    recording = [False]

    def record(model: Any, **_: Any) -> None:
        if recording[0]:
            made.append(model.name)

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    session.events.register("before-parameter-build.dynamodb", record)
    reset_runtime()  # the runtime's client is created from the session, with the hook

    def during(action: Callable[[], Any]) -> list[str]:
        made.clear()
        recording[0] = True
        try:
            action()
        finally:
            recording[0] = False
        return list(made)

    try:
        yield during
    finally:
        session.events.unregister("before-parameter-build.dynamodb", record)


def cart(ref: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": 1}],
    }


def test_every_graphql_operation_makes_its_rest_twins_dynamodb_calls(api, calls) -> None:
    arrange(api)
    api.post("/fulfilment-options", cart("warm-rest"))  # warm: configuration and products cached
    data(graphql(api, CREATE, {"input": fo_input("warm-graphql")}))

    def ok(response) -> None:
        assert response.status in (200, 201), response.body
        assert "errors" not in (response.json() or {}), response.body

    vp = (
        '{ virtualPositions(catalogue: {ref: "ECOMMERCE"}, productRef: "%s") { edges { node { quantity } } } }'
        % SKU
    )
    ip = '{ inventoryPosition(catalogue: {ref: "DEFAULT:1"}, ref: "%s:%s:DEFAULT") { onHand } }' % (
        SKU,
        DC,
    )
    by_id = "query ($id: ID!) { fulfilmentOptionById(id: $id) { status } }"
    cancel = 'mutation ($id: ID!) { updateFulfilmentOption(input: {id: $id, status: "CANCELLED"}) { status } }'
    twins = {
        "hold": (
            lambda: ok(api.post("/fulfilment-options", cart("rest-1"))),
            lambda: ok(graphql(api, CREATE, {"input": fo_input("gql-1")})),
        ),
        "hold again (a replay)": (
            lambda: ok(api.post("/fulfilment-options", cart("rest-1"))),
            lambda: ok(graphql(api, CREATE, {"input": fo_input("gql-1")})),
        ),
        "read an option": (
            lambda: ok(api.get("/fulfilment-options/rest-1")),
            lambda: ok(graphql(api, by_id, {"id": opaque_id("FulfilmentOption", "gql-1")})),
        ),
        "cancel": (
            lambda: ok(api.delete("/fulfilment-options/rest-1")),
            lambda: ok(graphql(api, cancel, {"id": opaque_id("FulfilmentOption", "gql-1")})),
        ),
        "virtual positions": (
            lambda: ok(
                api.get("/virtual-positions", query={"channel": "ECOMMERCE", "productRef": SKU})
            ),
            lambda: ok(graphql(api, vp)),
        ),
        "inventory position": (
            lambda: ok(api.get(f"/inventory-positions/{SKU}:{DC}:DEFAULT")),
            lambda: ok(graphql(api, ip)),
        ),
    }
    for name, (rest, graphql_twin) in twins.items():
        rest_calls = calls(rest)
        assert rest_calls, name
        assert calls(graphql_twin) == rest_calls, name
