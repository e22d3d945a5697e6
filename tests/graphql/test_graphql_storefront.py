"""Storefront documents as Fluent storefronts send them (docs/graphql.md), through the HTTP
event → the GraphQL handler → the hold and inventory services → DynamoDB (moto): the answers
are the REST routes' answers in Fluent's shape."""

from __future__ import annotations

from holdfast.graphql.mapping import opaque_id
from tests.graphql.storefront import (
    CREATE,
    DC,
    FO_SELECTION,
    SKU,
    SOCKS,
    STORE,
    STORE_2,
    arrange,
    data,
    errors,
    fo_input,
    graphql,
)

ATS = """query ($productRefs: [String!], $locationRefs: [String!], $catalogue: VirtualCatalogueKey) {
  base: virtualPositions(catalogue: $catalogue, productRef: $productRefs, type: "BASE", groupRef: $locationRefs) {
    edges { node { ref productRef groupRef quantity } } }
  ats: virtualPositions(catalogue: $catalogue, productRef: $productRefs, type: "AGGREGATE") {
    edges { node { productRef quantity } } }
}"""


def ats(api, product: str = SKU) -> int:
    answer = data(graphql(api, ATS, {"productRefs": [product], "catalogue": {"ref": "ECOMMERCE"}}))
    return answer["ats"]["edges"][0]["node"]["quantity"]


def rest_ats(api, product: str = SKU) -> list[tuple[str, str | None, int]]:
    items = api.get(
        "/virtual-positions", query={"channel": "ECOMMERCE", "productRef": product}
    ).json()["items"]
    return [(item["type"], item["locationRef"], item["quantity"]) for item in items]


def test_virtual_positions_answer_the_rest_routes_ats_after_the_channels_buffer(api) -> None:
    arrange(api, buffer={"type": "PERCENTAGE", "value": 10})
    answer = data(
        graphql(api, ATS, {"productRefs": SKU, "catalogue": {"ref": "ECOMMERCE"}})
    )  # a single value: list coercion

    base = [(n["node"]["groupRef"], n["node"]["quantity"]) for n in answer["base"]["edges"]]
    assert base == [(loc, q) for kind, loc, q in rest_ats(api) if kind == "BASE"]
    assert base == [(DC, 9), (STORE, 2), (STORE_2, 0)]  # 10 % of 10, 3 and 1 kept back, rounded up
    assert answer["ats"]["edges"][0]["node"]["quantity"] == 11
    assert answer["base"]["edges"][0]["node"]["ref"] == f"{SKU}:{DC}:ECOMMERCE"


def test_aliased_options_per_store_in_one_document_hold_at_each_store(api) -> None:
    arrange(api)
    document = f"""mutation ($store1: CreateFulfilmentOptionInput, $store2: CreateFulfilmentOptionInput,
                             $executionMode: ExecutionMode) {{
      store1: createFulfilmentOption(input: $store1, executionMode: $executionMode) {{ {FO_SELECTION} }}
      store2: createFulfilmentOption(input: $store2, executionMode: $executionMode) {{ {FO_SELECTION} }}
    }}"""
    source = [{"name": "source", "type": "STRING", "value": "pdp"}]
    variables = {
        "store1": fo_input(
            "pdp-sydney", type="DEFAULT", orderType="CC", locationRef=STORE, attributes=source
        ),
        "store2": fo_input(
            "pdp-melbourne", type="DEFAULT", orderType="CC", locationRef=STORE_2, attributes=source
        ),
        "executionMode": "AWAIT_ORCHESTRATION",
    }
    answer = data(graphql(api, document, variables))

    for alias, store in (("store1", STORE), ("store2", STORE_2)):
        option = answer[alias]
        assert option["status"] == "ACTIVE"
        (plan,) = [edge["node"] for edge in option["plans"]["edges"]]
        assert plan["status"] == "ACTIVE" and plan["splitCount"] == 1
        assert plan["fulfilments"] == [
            {
                "fulfilmentType": "CC",
                "locationRef": store,
                "items": [{"productRef": SKU, "availableQuantity": 1, "requestedQuantity": 1}],
            }
        ]
    assert [q for kind, loc, q in rest_ats(api) if kind == "BASE"] == [10, 2, 0]


def test_a_product_given_as_one_object_is_a_list_of_one(api) -> None:
    arrange(api)
    document = """mutation { createFulfilmentOption(input: {ref: "cart-1", type: "HD", retailerId: 1,
      products: {productRef: "ACME_SOCKS_WHT", requestedQuantity: 2, catalogueRef: "DEFAULT:MASTER:1"}}) {
      status products { productRef requestedQuantity } } }"""
    answer = data(graphql(api, document))["createFulfilmentOption"]
    assert answer == {
        "status": "ACTIVE",
        "products": [{"productRef": SOCKS, "requestedQuantity": 2}],
    }
    assert ats(api, SOCKS) == 3


def test_the_same_ref_again_is_the_same_hold_and_a_different_cart_under_it_is_a_conflict(
    api,
) -> None:
    arrange(api)
    first = data(graphql(api, CREATE, {"input": fo_input("cart-1")}))["createFulfilmentOption"]
    again = data(graphql(api, CREATE, {"input": fo_input("cart-1")}))["createFulfilmentOption"]
    assert again == first
    assert ats(api) == 13
    (error,) = errors(
        graphql(
            api,
            CREATE,
            {"input": fo_input("cart-1", products=[{"productRef": SKU, "requestedQuantity": 2}])},
        )
    )
    assert error["extensions"]["code"] == "CONFLICT" and error["path"] == ["createFulfilmentOption"]
    assert ats(api) == 13


def test_a_cart_the_channel_cannot_cover_is_refused_with_no_plans_and_its_shortfall(api) -> None:
    arrange(api)
    document = """mutation ($input: CreateFulfilmentOptionInput) { createFulfilmentOption(input: $input) {
      status plans { edges { node { ref } } } attributes { name value } } }"""
    answer = data(
        graphql(
            api,
            document,
            {"input": fo_input("big", products=[{"productRef": SOCKS, "requestedQuantity": 6}])},
        )
    )
    option = answer["createFulfilmentOption"]
    assert option["status"] == "NO_OPTIONS" and option["plans"]["edges"] == []
    shortfall = {a["name"]: a["value"] for a in option["attributes"]}["shortfall"]
    assert shortfall == [{"productRef": SOCKS, "requested": 6, "available": 5}]
    assert ats(api, SOCKS) == 5


def test_a_cancelled_status_releases_the_hold_and_other_statuses_are_refused(api) -> None:
    arrange(api)
    option = data(
        graphql(
            api,
            CREATE,
            {"input": fo_input("cart-1", products=[{"productRef": SKU, "requestedQuantity": 4}])},
        )
    )
    option_id = option["createFulfilmentOption"]["id"]
    assert ats(api) == 10
    update = """mutation ($input: UpdateFulfilmentOptionInput) { updateFulfilmentOption(input: $input) { id status } }"""

    (refused,) = errors(graphql(api, update, {"input": {"id": option_id, "status": "PICKED"}}))
    assert refused["extensions"]["code"] == "INVALID_INPUT" and "CANCELLED" in refused["message"]
    assert ats(api) == 10
    answer = data(graphql(api, update, {"input": {"id": option_id, "status": "CANCELLED"}}))[
        "updateFulfilmentOption"
    ]
    assert answer == {"id": option_id, "status": "CANCELLED"}
    assert ats(api) == 14
    assert (
        data(graphql(api, update, {"input": {"id": option_id, "status": "CANCELLED"}}))[
            "updateFulfilmentOption"
        ]["status"]
        == "CANCELLED"
    )


def test_a_converted_option_cannot_be_cancelled(api) -> None:
    arrange(api)
    option_id = data(graphql(api, CREATE, {"input": fo_input("cart-1")}))["createFulfilmentOption"][
        "id"
    ]
    order = {
        "ref": "ORD-1",
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": "cart-1",
        "lines": [{"productRef": SKU, "quantity": 1}],
    }
    assert api.post("/orders", order).status == 201
    update = 'mutation ($id: ID!) { updateFulfilmentOption(input: {id: $id, status: "CANCELLED"}) { status } }'
    (error,) = errors(graphql(api, update, {"id": option_id}))
    assert error["extensions"]["code"] == "CONFLICT"


def test_an_option_is_read_by_id_with_include_and_its_plans_paged(api) -> None:
    arrange(api)
    option_id = data(graphql(api, CREATE, {"input": fo_input("cart-1")}))["createFulfilmentOption"][
        "id"
    ]
    document = """query ($id: ID!, $withPlans: Boolean!, $withProducts: Boolean!, $after: String) {
      fulfilmentOptionById(id: $id) { ref status
        products @include(if: $withProducts) { productRef }
        plans(first: 1, after: $after) @include(if: $withPlans) {
          edges { cursor node { ref status fulfilments { locationRef } } } pageInfo { hasNextPage hasPreviousPage } } } }"""
    first = data(
        graphql(api, document, {"id": option_id, "withPlans": True, "withProducts": False})
    )["fulfilmentOptionById"]
    assert first["ref"] == "cart-1" and "products" not in first
    assert [e["node"]["fulfilments"][0]["locationRef"] for e in first["plans"]["edges"]] == [DC]
    assert first["plans"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    cursor = first["plans"]["edges"][0]["cursor"]
    second = data(
        graphql(
            api,
            document,
            {"id": option_id, "withPlans": True, "withProducts": True, "after": cursor},
        )
    )
    page = second["fulfilmentOptionById"]["plans"]
    assert [e["node"]["status"] for e in page["edges"]] == ["ALTERNATIVE"]
    assert page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    assert second["fulfilmentOptionById"]["products"] == [{"productRef": SKU}]
    by_id = "query ($id: ID!) { fulfilmentOptionById(id: $id) { ref } }"
    assert data(graphql(api, by_id, {"id": opaque_id("FulfilmentOption", "cart-2")})) == {
        "fulfilmentOptionById": None
    }
    (malformed,) = errors(graphql(api, by_id, {"id": "not-an-id"}))
    assert malformed["extensions"]["code"] == "INVALID_INPUT" and malformed["path"] == [
        "fulfilmentOptionById"
    ]


def test_options_are_listed_by_ref_and_filtered_by_status(api) -> None:
    arrange(api)
    for ref in ("cart-1", "cart-2"):
        data(graphql(api, CREATE, {"input": fo_input(ref)}))
    cancel = (
        'mutation { updateFulfilmentOption(input: {id: "%s", status: "CANCELLED"}) { status } }'
    )
    option_id = data(graphql(api, '{ fulfilmentOptions(ref: "cart-2") { edges { node { id } } } }'))
    data(graphql(api, cancel % option_id["fulfilmentOptions"]["edges"][0]["node"]["id"]))
    document = """query ($refs: [String], $status: [String]) { fulfilmentOptions(ref: $refs, status: $status) {
      edges { node { ref status } } } }"""
    answer = data(
        graphql(api, document, {"refs": ["cart-1", "cart-2", "cart-3"], "status": ["ACTIVE"]})
    )
    assert [e["node"] for e in answer["fulfilmentOptions"]["edges"]] == [
        {"ref": "cart-1", "status": "ACTIVE"}
    ]


def test_inventory_positions_show_the_ledger_with_the_holds_soft_reserve(api) -> None:
    arrange(api)
    data(
        graphql(
            api,
            CREATE,
            {"input": fo_input("cart-1", products=[{"productRef": SKU, "requestedQuantity": 2}])},
        )
    )
    document = """query ($catalogue: InventoryCatalogueKey!) {
      one: inventoryPosition(catalogue: $catalogue, ref: "ACME_SNEAKER_BLK_US9:MAIN_DC:DEFAULT") {
        ref productRef locationRef onHand catalogue { ref }
        quantities(type: ["SOFT_RESERVE"]) { edges { node { ref type status quantity position { ref } } } } }
      many: inventoryPositions(catalogue: $catalogue, productRef: ["ACME_SNEAKER_BLK_US9"]) {
        edges { node { locationRef onHand } } }
    }"""
    answer = data(graphql(api, document, {"catalogue": {"ref": "DEFAULT:1"}}))
    one = answer["one"]
    assert (one["onHand"], one["catalogue"]["ref"]) == (8, "DEFAULT:1")
    (hold,) = [edge["node"] for edge in one["quantities"]["edges"]]
    assert (hold["type"], hold["status"], hold["quantity"], hold["position"]["ref"]) == (
        "SOFT_RESERVE",
        "ACTIVE",
        -2,
        one["ref"],
    )
    assert [e["node"] for e in answer["many"]["edges"]] == [
        {"locationRef": DC, "onHand": 8},
        {"locationRef": STORE, "onHand": 3},
        {"locationRef": STORE_2, "onHand": 1},
    ]
    rest = api.get(f"/inventory-positions/{SKU}:{DC}").json()
    assert rest["onHand"] == one["onHand"]

    quantities = data(
        graphql(
            api,
            "query ($refs: [String!]) { inventoryQuantities(ref: $refs) { edges { node { ref quantity } } } }",
            {"refs": [hold["ref"], f"{SKU}:{DC}:DEFAULT:LAST_ON_HAND"]},
        )
    )
    assert sorted(e["node"]["quantity"] for e in quantities["inventoryQuantities"]["edges"]) == [
        -2,
        10,
    ]


def test_virtual_positions_page_with_first_and_after(api) -> None:
    arrange(api)
    document = """query ($after: String) { virtualPositions(catalogue: {ref: "ECOMMERCE"}, productRef: "ACME_SNEAKER_BLK_US9",
      first: 2, after: $after) { edges { cursor node { groupRef type } } pageInfo { hasNextPage } } }"""
    first = data(graphql(api, document))["virtualPositions"]
    assert [e["node"]["groupRef"] for e in first["edges"]] == [DC, STORE] and first["pageInfo"][
        "hasNextPage"
    ]
    second = data(graphql(api, document, {"after": first["edges"][-1]["cursor"]}))[
        "virtualPositions"
    ]
    assert [e["node"]["type"] for e in second["edges"]] == ["BASE", "AGGREGATE"]
    assert not second["pageInfo"]["hasNextPage"]
    single = data(
        graphql(
            api,
            '{ virtualPosition(catalogue: {ref: "ECOMMERCE"}, ref: "ACME_SNEAKER_BLK_US9:*") { type quantity } }',
        )
    )
    assert single["virtualPosition"] == {"type": "AGGREGATE", "quantity": 14}
