"""``holdfast dev`` serves ``POST /graphql``: a real GraphQL client library (gql) sends the
storefront documents of docs/graphql.md over HTTP to the seeded example retailer (MAIN_DC 45
on hand after the seed's cart and order, STORE_SYDNEY 6; ECOMMERCE keeps 10 % back)."""

from __future__ import annotations

import json

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport

from holdfast_cli.local.dev_server import serve
from holdfast_cli.seed import MAIN_DC, PRODUCT, STORE_SYDNEY

MAPPING = {"defaultChannel": "ECOMMERCE", "catalogueChannels": {"GP_RETAILER_HD:1": "ECOMMERCE"}}

ATS = """query ($productRefs: [String!], $locationRefs: [String!]) {
  base: virtualPositions(catalogue: {ref: "GP_RETAILER_HD:1"}, productRef: $productRefs, type: "BASE", groupRef: $locationRefs) {
    edges { node { groupRef quantity } } }
  ats: virtualPositions(catalogue: {ref: "GP_RETAILER_HD:1"}, productRef: $productRefs, type: "AGGREGATE") {
    edges { node { quantity } } }
}"""

PER_STORE = """mutation ($store1: CreateFulfilmentOptionInput, $store2: CreateFulfilmentOptionInput,
                       $executionMode: ExecutionMode, $withPlans: Boolean!) {
  createFulfilmentOptions_CC: createFulfilmentOption(input: $store1, executionMode: $executionMode) {
    id status plans @include(if: $withPlans) { edges { node { ref status eta type splitCount
      fulfilments { fulfilmentType locationRef items { productRef availableQuantity requestedQuantity } } } } } }
  createFulfilmentOptions_HD: createFulfilmentOption(input: $store2, executionMode: $executionMode) {
    id status plans @include(if: $withPlans) { edges { node { splitCount } } } }
}"""


@pytest.fixture(scope="module")
def client():
    saved = pytest.MonkeyPatch()
    saved.setenv("GRAPHQL_MAPPING", json.dumps(MAPPING))
    server = serve(engine="moto", port=0, stream=False)
    try:
        transport = RequestsHTTPTransport(url=f"{server.url}/graphql", timeout=20, retries=0)
        with Client(transport=transport, fetch_schema_from_transport=False) as session:
            yield session
    finally:
        server.shutdown()
        saved.undo()


def ask(client, document: str, **variables):
    return client.execute(GraphQLRequest(document, variable_values=variables))


def test_the_seeded_availability_reads_as_fluents_virtual_positions(client) -> None:
    answer = ask(client, ATS, productRefs=PRODUCT, locationRefs=[MAIN_DC, STORE_SYDNEY])
    assert [edge["node"] for edge in answer["base"]["edges"]] == [
        {"groupRef": MAIN_DC, "quantity": 40},
        {"groupRef": STORE_SYDNEY, "quantity": 5},
    ]
    assert answer["ats"]["edges"][0]["node"]["quantity"] == 45


def test_a_storefronts_per_store_document_holds_at_each_store(client) -> None:
    def store(ref: str, order_type: str, location: str, quantity: int):
        products = {
            "productRef": PRODUCT,
            "requestedQuantity": quantity,
            "catalogueRef": "DEFAULT:MASTER:1",
        }  # one object
        return {
            "ref": ref,
            "type": "DEFAULT",
            "retailerId": 1,
            "orderType": order_type,
            "locationRef": location,
            "products": products,
            "attributes": [{"name": "source", "type": "STRING", "value": "checkout"}],
        }

    answer = ask(
        client,
        PER_STORE,
        store1=store("gql-cc", "CC", STORE_SYDNEY, 2),
        store2=store("gql-hd", "HD", MAIN_DC, 3),
        executionMode="AWAIT_ORCHESTRATION",
        withPlans=True,
    )
    cc, hd = answer["createFulfilmentOptions_CC"], answer["createFulfilmentOptions_HD"]
    assert (cc["status"], hd["status"]) == ("ACTIVE", "ACTIVE")
    (plan,) = [edge["node"] for edge in cc["plans"]["edges"]]
    assert plan["fulfilments"] == [
        {
            "fulfilmentType": "CC",
            "locationRef": STORE_SYDNEY,
            "items": [{"productRef": PRODUCT, "availableQuantity": 2, "requestedQuantity": 2}],
        }
    ]
    after = ask(client, ATS, productRefs=[PRODUCT], locationRefs=[MAIN_DC, STORE_SYDNEY])
    assert [edge["node"]["quantity"] for edge in after["base"]["edges"]] == [37, 3]

    without_plans = ask(
        client,
        PER_STORE,
        store1=store("gql-cc", "CC", STORE_SYDNEY, 2),
        store2=store("gql-hd", "HD", MAIN_DC, 3),
        executionMode="AWAIT_ORCHESTRATION",
        withPlans=False,
    )
    assert without_plans["createFulfilmentOptions_CC"] == {
        "id": cc["id"],
        "status": "ACTIVE",
    }  # the same hold again


def test_refused_input_reaches_the_client_as_a_graphql_error_with_holdfasts_code(client) -> None:
    bad = {
        "ref": "gql-bad",
        "type": "HD",
        "retailerId": 1,
        "products": [{"productRef": PRODUCT, "requestedQuantity": -1}],
    }
    with pytest.raises(TransportQueryError) as raised:
        ask(
            client,
            "mutation ($input: CreateFulfilmentOptionInput) { createFulfilmentOption(input: $input) { id } }",
            input=bad,
        )
    (error,) = raised.value.errors
    assert error["extensions"]["code"] == "INVALID_INPUT" and error["path"] == [
        "createFulfilmentOption"
    ]
    assert error["message"].startswith("input.products.0.requestedQuantity")
