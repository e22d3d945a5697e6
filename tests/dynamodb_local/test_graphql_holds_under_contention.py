"""Through GraphQL, many shoppers at once hold exactly what REST holds: the mutation is the
same hold service, so the same conditional writes decide, on a real DynamoDB engine."""

from __future__ import annotations

import functools

import pytest

from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.process_map import map_in_processes
from tests.dynamodb_local.test_holds_under_contention import (
    DC,
    SKU,
    assert_ledger_clean,
    ats,
    configure,
    on_hand,
    sequential_capacity,
)

pytestmark = pytest.mark.dynamodb_local

CREATE = """mutation ($input: CreateFulfilmentOptionInput, $executionMode: ExecutionMode) {
  createFulfilmentOption(input: $input, executionMode: $executionMode) { id status
    plans { edges { node { fulfilments { locationRef items { productRef availableQuantity } } } } } } }"""


@functools.cache
def worker_api() -> LocalApi:
    return LocalApi()


def shopper(ref: str) -> dict:
    variables = {
        "input": {
            "ref": ref,
            "type": "HD",
            "retailerId": 1,
            "products": [{"productRef": SKU, "requestedQuantity": 1}],
            "attributes": [{"name": "channel", "type": "STRING", "value": "ECOMMERCE"}],
        },
        "executionMode": "AWAIT_ORCHESTRATION",
    }
    response = worker_api().post("/graphql", {"query": CREATE, "variables": variables})
    assert response.status == 200, response.body
    return response.json()


def test_250_graphql_shoppers_on_50_units_at_a_10_percent_buffer_hold_exactly_49(local_api):
    configure(local_api, stock=50, buffer=10)
    assert ats(local_api) == 45

    answers = map_in_processes(shopper, [f"gql-cart-{i:03d}" for i in range(250)], processes=12)

    assert [a for a in answers if "errors" in a] == []
    statuses = [a["data"]["createFulfilmentOption"]["status"] for a in answers]
    assert statuses.count("ACTIVE") == sequential_capacity(50, percentage=10) == 49
    assert statuses.count("NO_OPTIONS") == 250 - 49
    held = [
        a["data"]["createFulfilmentOption"]
        for a in answers
        if a["data"]["createFulfilmentOption"]["status"] == "ACTIVE"
    ]
    assert all(h["plans"]["edges"][0]["node"]["fulfilments"][0]["locationRef"] == DC for h in held)
    assert on_hand(local_api) == 1
    assert ats(local_api) == 0
    assert_ledger_clean()
