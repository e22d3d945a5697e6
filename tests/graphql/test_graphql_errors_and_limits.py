"""Refused GraphQL requests: each gets a clear error in the standard ``errors`` array with
Holdfast's code in ``extensions.code``, and writes nothing — not even the mutations of the
same document that came before the refused one."""

from __future__ import annotations

import json

import pytest

from holdfast.graphql.limits import MAX_ALIASES, MAX_DEPTH, MAX_MUTATIONS
from tests.graphql.storefront import (
    CREATE,
    SKU,
    arrange,
    data,
    errors,
    fo_input,
    graphql,
    invoke_with_scopes,
)


def item_count(client) -> int:
    return client.scan(TableName="holdfast-test", Select="COUNT")["Count"]


@pytest.fixture
def shop(api, moto_table):
    """The retailer's configuration (no stock: nothing here may get as far as holding), and a
    check that a refused request wrote nothing."""
    arrange(api, counts={})
    before = item_count(moto_table)
    yield api
    assert item_count(moto_table) == before, "a refused request wrote to the table"


def only_error(response) -> dict:
    """The one error, its correlation id checked and set aside (every error carries it)."""
    (error,) = errors(response)
    assert error["extensions"].pop("correlationId")
    return error


def test_a_malformed_document_is_a_syntax_error_with_its_location(shop) -> None:
    error = only_error(graphql(shop, "mutation { createFulfilmentOption(input: {ref: ) { id } }"))
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"].startswith("Syntax Error") and error["locations"] == [
        {"line": 1, "column": 48}
    ]


def test_an_unknown_field_or_argument_is_named(shop) -> None:
    (field,) = errors(graphql(shop, '{ fulfilmentOption(ref: "x") { id } }'))
    assert "Cannot query field 'fulfilmentOption' on type 'Query'" in field["message"]
    assert field["extensions"]["code"] == "INVALID_INPUT" and field["locations"]
    argument = only_error(
        graphql(shop, CREATE.replace("executionMode: $executionMode", "mode: $executionMode"))
    )
    assert "Unknown argument 'mode'" in argument["message"]


def test_a_variable_of_the_wrong_type_refuses_the_whole_document(shop) -> None:
    wrong = fo_input("cart-1", products=[{"productRef": SKU, "requestedQuantity": "two"}])
    error = only_error(graphql(shop, CREATE, {"input": wrong}))
    assert (
        "requestedQuantity" in error["message"] and error["extensions"]["code"] == "INVALID_INPUT"
    )
    mismatched = """mutation ($input: String) { createFulfilmentOption(input: $input) { id } }"""
    assert (
        "Variable '$input' of type 'String' used in position expecting type 'CreateFulfilmentOptionInput'"
        in (only_error(graphql(shop, mismatched))["message"])
    )


def test_refused_input_in_the_third_mutation_writes_none_of_the_three(shop) -> None:
    document = """mutation ($a: CreateFulfilmentOptionInput, $b: CreateFulfilmentOptionInput, $c: CreateFulfilmentOptionInput) {
      a: createFulfilmentOption(input: $a) { id } b: createFulfilmentOption(input: $b) { id }
      c: createFulfilmentOption(input: $c) { id } }"""
    bad = fo_input("cart-3", products=[{"productRef": SKU, "requestedQuantity": 0}])
    answer = graphql(shop, document, {"a": fo_input("cart-1"), "b": fo_input("cart-2"), "c": bad})
    error = only_error(answer)
    assert error["path"] == ["c"] and error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["details"][0]["field"] == "input.products.0.requestedQuantity"
    assert answer.json()["data"] is None


def test_an_unknown_channel_or_status_later_in_the_document_writes_nothing_before_it(
    api, moto_table
) -> None:
    arrange(api)
    held = data(graphql(api, CREATE, {"input": fo_input("cart-0")}))["createFulfilmentOption"]["id"]
    items = item_count(moto_table)
    document = """mutation ($a: CreateFulfilmentOptionInput, $b: CreateFulfilmentOptionInput, $id: ID!, $status: String) {
      a: createFulfilmentOption(input: $a) { id }
      b: createFulfilmentOption(input: $b) { id }
      u: updateFulfilmentOption(input: {id: $id, status: $status}) { status } }"""
    unknown_channel = fo_input(
        "cart-2", attributes=[{"name": "channel", "type": "STRING", "value": "NOWHERE"}]
    )
    error = only_error(
        graphql(
            api,
            document,
            {"a": fo_input("cart-1"), "b": unknown_channel, "id": held, "status": "CANCELLED"},
        )
    )
    assert (error["path"], error["extensions"]["code"]) == (["b"], "NOT_FOUND")
    error = only_error(
        graphql(
            api,
            document,
            {"a": fo_input("cart-1"), "b": fo_input("cart-2"), "id": held, "status": "PICKED"},
        )
    )
    assert (error["path"], error["extensions"]["code"]) == (["u"], "INVALID_INPUT")
    assert item_count(moto_table) == items
    assert api.get("/fulfilment-options/cart-0").json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("problem", "fields", "message"),
    [
        ("retailer", {"retailerId": 2}, "input.retailerId: this deployment serves retailer 1"),
        ("ref", {"ref": "has space"}, "input.ref: must be 1-128 characters"),
        ("no products", {"products": []}, "input.products: List should have at least 1 item"),
        ("CC without a store", {"orderType": "CC"}, "input.locationRef: required for CC"),
        (
            "attribute type",
            {"attributes": [{"name": "allowSplit", "type": "BOOLEAN", "value": "yes"}]},
            "input.attributes.allowSplit: value must be true or false",
        ),
    ],
)
def test_bad_input_is_refused_with_the_field_it_names(shop, problem, fields, message) -> None:
    error = only_error(graphql(shop, CREATE, {"input": {**fo_input("cart-1"), **fields}}))
    assert error["extensions"]["code"] == "INVALID_INPUT", problem
    assert error["message"].startswith(message), (problem, error["message"])


def test_more_mutations_than_the_limit_are_refused_before_any_runs(shop) -> None:
    fields = " ".join(
        f'm{i}: createFulfilmentOption(input: {{ref: "c{i}", type: "HD", retailerId: 1, '
        f'products: [{{productRef: "{SKU}"}}]}}) {{ id }}'
        for i in range(MAX_MUTATIONS + 1)
    )
    error = only_error(graphql(shop, f"mutation {{ {fields} }}"))
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "mutations"}
    assert f"the limit is {MAX_MUTATIONS} per request" in error["message"]


def test_too_many_aliases_are_refused(shop) -> None:
    fields = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    assert only_error(graphql(shop, f"{{ {fields} }}"))["extensions"] == {
        "code": "LIMIT_EXCEEDED",
        "limit": "aliases",
    }


def test_ten_thousand_aliases_are_refused_by_size_before_parsing(shop) -> None:
    fields = " ".join(f"a{i}: __typename" for i in range(10_000))
    response = shop.post("/graphql", {"query": f"{{ {fields} }}"})
    assert response.status == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    compact = only_error(graphql(shop, "{" + "a:__typename " * 1_500 + "}"))  # under the size limit
    assert compact["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "fields"}
    variables = ",".join(f"$v{i}:Int" for i in range(1_300))  # small, but many tokens
    tokens = only_error(graphql(shop, f"query ({variables}) {{ __typename }}"))
    assert (
        tokens["message"]
        == "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    )


def test_deep_nesting_is_refused(shop) -> None:
    inner = "id"
    for _ in range(MAX_DEPTH):
        inner = f"plans {{ edges {{ node {{ fulfilmentOption {{ {inner} }} }} }} }}"
    error = only_error(graphql(shop, f'{{ fulfilmentOptionById(id: "x") {{ {inner} }} }}'))
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "depth"}


@pytest.mark.parametrize(
    "document",
    [
        "{" + "a{" * 1_500 + "b" + "}" * 1_501,
        "{ virtualPositions(productRef: " + "[" * 1_500 + "]" * 1_500 + ") { edges { cursor } } }",
    ],
    ids=["selections", "list literal"],
)
def test_a_document_nested_past_the_parsers_limit_is_a_syntax_error(shop, document) -> None:
    error = only_error(graphql(shop, document))
    assert error["message"].startswith("Syntax Error: Document is nested too deeply")
    assert error["extensions"]["code"] == "INVALID_INPUT"


def test_fragments_spread_into_fragments_cost_their_size_not_their_expansion(shop) -> None:
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)]
    answer = data(graphql(shop, "{ ...F39 } " + " ".join(fragments)))
    assert answer == {"__typename": "Query"}


def test_huge_strings_are_refused(shop) -> None:
    response = graphql(shop, CREATE, {"input": fo_input("x" * 200_000)})
    assert response.status == 413
    error = only_error(graphql(shop, CREATE, {"input": fo_input("x" * 50_000)}))
    assert error["extensions"]["code"] == "INVALID_INPUT" and error["message"].startswith(
        "input.ref:"
    )
    literal = only_error(
        graphql(
            shop, '{ virtualPositions(productRef: "%s") { edges { cursor } } }' % ("y" * 30_000)
        )
    )
    assert literal["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        (
            '{"query": "{ __typename }", "variables": {"a": ' + "[" * 5_000 + "]" * 5_000 + "}}",
            "application/json",
            400,
        ),
        ('["query"]', "application/json", 400),
        ('{"query": "{ __typename }"}', "text/plain", 415),
    ],
)
def test_a_body_that_is_not_a_graphql_request_is_refused(shop, body, content_type, status) -> None:
    response = shop.request("POST", "/graphql", body=body, headers={"content-type": content_type})
    assert response.status == status
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"variables": {}}, "the body must have a 'query' string holding the GraphQL document"),
        ({"query": "  "}, "the body must have a 'query' string holding the GraphQL document"),
        ({"query": "{ __typename }", "variables": ["x"]}, "'variables' must be a JSON object"),
        ({"query": "{ __typename }", "operationName": 7}, "'operationName' must be a string"),
    ],
)
def test_a_body_that_is_not_a_graphql_request_is_a_400(shop, body, message) -> None:
    response = shop.post("/graphql", body, headers={"x-correlation-id": "bad-body-1"})
    assert response.status == 400
    assert response.json() == {
        "errors": [
            {
                "message": message,
                "extensions": {"code": "INVALID_INPUT", "correlationId": "bad-body-1"},
            }
        ]
    }


def test_queries_need_the_read_scope_and_mutations_the_holds_scope(shop, moto_table) -> None:
    query = {"query": "{ __typename }"}
    mutation = {"query": CREATE, "variables": {"input": fo_input("cart-1")}}
    assert data(invoke_with_scopes(shop, query, ["holdfast/read"])) == {"__typename": "Query"}
    refused = only_error(invoke_with_scopes(shop, query, ["holdfast/holds"]))
    assert refused["extensions"]["code"] == "FORBIDDEN" and "holdfast/read" in refused["message"]
    refused = only_error(invoke_with_scopes(shop, mutation, ["holdfast/read"]))
    assert refused["extensions"]["code"] == "FORBIDDEN" and "holdfast/holds" in refused["message"]


def test_a_mutation_with_the_holds_scope_holds(api, moto_table) -> None:
    arrange(api)
    mutation = {"query": CREATE, "variables": {"input": fo_input("cart-1")}}
    answer = data(invoke_with_scopes(api, mutation, ["holdfast/holds"]))
    assert answer["createFulfilmentOption"]["status"] == "ACTIVE"
    assert json.loads(api.get("/fulfilment-options/cart-1").body)["status"] == "ACTIVE"
