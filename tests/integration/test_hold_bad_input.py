"""Bad input to the fulfilment-option and order routes is refused with the docs/behaviour.md §9 error
shape, names the field, and writes nothing.

Every refusal here is checked against a full scan of the table taken just before it, so one
stocked moto table serves the whole module (a refusal that wrote would fail its own test).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from holdfast.runtime import reset_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.template import create_table

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
STORE = "STORE_SYDNEY"
AS_OF = "2024-03-15T08:00:00.000Z"

CART = {
    "ref": "cart-1",
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": SKU, "quantity": 1}],
}
ORDER = {
    "ref": "order-1",
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": SKU, "quantity": 1}],
}
ROUTES = {"/fulfilment-options": CART, "/orders": ORDER}
DROP = object()
"""A change that removes the field."""


def configure(api: LocalApi) -> None:
    """A channel, a DC and a store (CC) with stock, a held cart and an order: refusals are not
    just 'nothing is there', and one that touched existing holds would show in the scan."""
    assert (
        api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 10}}).status
        == 200
    )
    for ref, kind, delivery in ((DC, "DC", ["HD"]), (STORE, "STORE", ["HD", "CC"])):
        body = {"type": kind, "deliveryTypes": delivery, "channels": ["ECOMMERCE"], "priority": 1}
        assert api.put(f"/locations/{ref}", body).status == 200
    entities = [
        {
            "productRef": SKU,
            "locationRef": loc,
            "type": "LAST_ON_HAND",
            "quantity": 50,
            "asOf": AS_OF,
        }
        for loc in (DC, STORE)
    ]
    assert api.post("/inventory/batch", {"entities": entities}).status == 200
    hold = {**CART, "ref": "cart-existing"}
    assert api.post("/fulfilment-options", hold).json()["status"] == "ACTIVE"
    assert api.post("/orders", {**ORDER, "ref": "order-existing"}).status == 201


@pytest.fixture(scope="module")
def stocked() -> Iterator[tuple[LocalApi, Any]]:
    """One moto table, configured and stocked once for every refusal in this module."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("FEED_CONCURRENCY", "1")
        client = boto3.client("dynamodb")
        create_table(client, os.environ["TABLE_NAME"])
        reset_runtime()
        api = LocalApi()
        configure(api)
        yield api, client
    reset_runtime()


def table_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def item_count(client) -> int:
    return client.scan(TableName=os.environ["TABLE_NAME"], Select="COUNT", ConsistentRead=True)[
        "Count"
    ]


def changed(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**body, **changes}.items() if v is not DROP}


def with_line(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return changed(body, lines=[changed(body["lines"][0], **changes)])


def assert_refused(
    stocked, method: str, path: str, status: int, code: str, field: str, **request: Any
) -> dict:
    api, client = stocked
    count, before = item_count(client), table_items(client)

    response = api.request(method, path, **request)

    assert response.status == status, response.body
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    fields = [detail["field"] for detail in error["details"]]
    assert field in fields, error
    assert item_count(client) == count
    assert table_items(client) == before
    return error


# -- the same refusals on both routes ---------------------------------------------------------

BODY_CASES = [
    # (id, change, status, code, field)
    ("unknown-channel", lambda b: changed(b, channel="MAIL_ORDER"), 404, "NOT_FOUND", "channel"),
    ("colon-in-ref", lambda b: changed(b, ref="cart:1"), 422, "INVALID_INPUT", "ref"),
    ("hash-in-ref", lambda b: changed(b, ref="cart#1"), 422, "INVALID_INPUT", "ref"),
    (
        "colon-in-product",
        lambda b: with_line(b, productRef=f"{SKU}:X"),
        422,
        "INVALID_INPUT",
        "lines.0.productRef",
    ),
    (
        "hash-in-product",
        lambda b: with_line(b, productRef=f"{SKU}#X"),
        422,
        "INVALID_INPUT",
        "lines.0.productRef",
    ),
    (
        "hash-in-channel",
        lambda b: changed(b, channel="ECOMMERCE#EU"),
        422,
        "INVALID_INPUT",
        "channel",
    ),
    (
        "colon-in-location",
        lambda b: changed(b, deliveryType="CC", locationRef=f"{STORE}:1"),
        422,
        "INVALID_INPUT",
        "locationRef",
    ),
    ("empty-ref", lambda b: changed(b, ref=""), 422, "INVALID_INPUT", "ref"),
    ("ref-of-129", lambda b: changed(b, ref="c" * 129), 422, "INVALID_INPUT", "ref"),
    ("quantity-0", lambda b: with_line(b, quantity=0), 422, "INVALID_INPUT", "lines.0.quantity"),
    (
        "quantity-negative",
        lambda b: with_line(b, quantity=-1),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    (
        "quantity-10001",
        lambda b: with_line(b, quantity=10_001),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    (
        "quantity-fraction",
        lambda b: with_line(b, quantity=1.5),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    (
        "quantity-string",
        lambda b: with_line(b, quantity="2"),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    (
        "quantity-true",
        lambda b: with_line(b, quantity=True),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    (
        "quantity-missing",
        lambda b: with_line(b, quantity=DROP),
        422,
        "INVALID_INPUT",
        "lines.0.quantity",
    ),
    ("no-lines", lambda b: changed(b, lines=[]), 422, "INVALID_INPUT", "lines"),
    ("lines-missing", lambda b: changed(b, lines=DROP), 422, "INVALID_INPUT", "lines"),
    (
        "34-lines",
        lambda b: changed(b, lines=[{"productRef": f"SKU_{n}", "quantity": 1} for n in range(34)]),
        422,
        "INVALID_INPUT",
        "lines",
    ),
    (
        "merged-over-10000",
        lambda b: changed(b, lines=[{"productRef": SKU, "quantity": q} for q in (5_000, 5_001)]),
        422,
        "INVALID_INPUT",
        "lines",
    ),
    (
        "cc-without-location",
        lambda b: changed(b, deliveryType="CC"),
        422,
        "INVALID_INPUT",
        "locationRef",
    ),
    (
        "unknown-delivery-type",
        lambda b: changed(b, deliveryType="DRONE"),
        422,
        "INVALID_INPUT",
        "deliveryType",
    ),
    (
        "delivery-type-missing",
        lambda b: changed(b, deliveryType=DROP),
        422,
        "INVALID_INPUT",
        "deliveryType",
    ),
    ("ref-missing", lambda b: changed(b, ref=DROP), 422, "INVALID_INPUT", "ref"),
    ("channel-missing", lambda b: changed(b, channel=DROP), 422, "INVALID_INPUT", "channel"),
    ("extra-field", lambda b: changed(b, giftWrap=True), 422, "INVALID_INPUT", "giftWrap"),
    ("extra-line-field", lambda b: with_line(b, price=99), 422, "INVALID_INPUT", "lines.0.price"),
]


@pytest.mark.parametrize("path", list(ROUTES))
@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in BODY_CASES],
)
def test_a_bad_body_is_refused_naming_the_field_and_nothing_is_written(
    stocked, path, change, status, code, field
) -> None:
    assert_refused(stocked, "POST", path, status, code, field, json_body=change(ROUTES[path]))


@pytest.mark.parametrize("path", list(ROUTES))
def test_malformed_json_is_422_naming_the_body(stocked, path: str) -> None:
    body = json.dumps(ROUTES[path])[:-7]
    headers = {"content-type": "application/json"}
    assert_refused(stocked, "POST", path, 422, "INVALID_INPUT", "body", body=body, headers=headers)


@pytest.mark.parametrize("path", list(ROUTES))
def test_a_missing_body_is_422_naming_the_body(stocked, path: str) -> None:
    assert_refused(stocked, "POST", path, 422, "INVALID_INPUT", "body")


@pytest.mark.parametrize("path", list(ROUTES))
def test_a_json_array_instead_of_an_object_is_422_naming_the_body(stocked, path: str) -> None:
    assert_refused(stocked, "POST", path, 422, "INVALID_INPUT", "body", json_body=[ROUTES[path]])


@pytest.mark.parametrize("path", list(ROUTES))
@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        pytest.param(
            "application/x-www-form-urlencoded",
            lambda b: f"ref={b['ref']}&channel=ECOMMERCE",
            id="form",
        ),
        pytest.param("text/plain", json.dumps, id="json-as-text"),
    ],
)
def test_a_body_that_is_not_declared_json_is_415(
    stocked, path: str, content_type: str, encode
) -> None:
    assert_refused(
        stocked,
        "POST",
        path,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "content-type",
        body=encode(ROUTES[path]),
        headers={"content-type": content_type},
    )


# -- refusals of one route ---------------------------------------------------------------------

ONE_ROUTE_CASES = [
    # (id, path, change, status, code, field)
    (
        "cart-replaces-itself",
        "/fulfilment-options",
        lambda b: changed(b, replaces=b["ref"]),
        422,
        "INVALID_INPUT",
        "replaces",
    ),
    (
        "hash-in-replaces",
        "/fulfilment-options",
        lambda b: changed(b, replaces="cart#0"),
        422,
        "INVALID_INPUT",
        "replaces",
    ),
    (
        "allow-split-not-boolean",
        "/fulfilment-options",
        lambda b: changed(b, allowSplit="maybe"),
        422,
        "INVALID_INPUT",
        "allowSplit",
    ),
    (
        "cc-at-unconfigured-store",
        "/fulfilment-options",
        lambda b: changed(b, deliveryType="CC", locationRef="STORE_NOWHERE"),
        404,
        "NOT_FOUND",
        "locationRef",
    ),
    (
        "colon-in-cart-ref",
        "/orders",
        lambda b: changed(b, fulfilmentOptionRef="cart:1"),
        422,
        "INVALID_INPUT",
        "fulfilmentOptionRef",
    ),
]


@pytest.mark.parametrize(
    ("path", "change", "status", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in ONE_ROUTE_CASES],
)
def test_a_bad_body_for_one_route_is_refused_naming_the_field(
    stocked, path, change, status, code, field
) -> None:
    assert_refused(stocked, "POST", path, status, code, field, json_body=change(ROUTES[path]))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fulfilment-options/cart:1"),
        ("DELETE", "/fulfilment-options/cart%231"),
        ("POST", "/fulfilment-options/cart:1/extend"),
        ("GET", "/orders/order%231"),
        ("POST", "/orders/order:1/ship"),
        ("POST", "/orders/order:1/cancel"),
        ("POST", "/orders/order%231/return"),
    ],
)
def test_a_path_ref_with_a_separator_is_422_naming_the_ref(stocked, method: str, path: str) -> None:
    assert_refused(stocked, method, path, 422, "INVALID_INPUT", "ref")


# -- the bodies above are refused for the one thing changed -----------------------------------


def test_the_unchanged_bodies_are_accepted(stocked) -> None:
    api, _ = stocked

    cart = api.post("/fulfilment-options", changed(CART, ref="cart-accepted"))
    collect = api.post(
        "/fulfilment-options", changed(CART, ref="cart-cc", deliveryType="CC", locationRef=STORE)
    )
    confirmed = api.post("/orders", changed(ORDER, ref="order-accepted"))

    assert (cart.status, cart.json()["status"]) == (201, "ACTIVE"), cart.body
    assert (collect.status, collect.json()["status"]) == (201, "ACTIVE"), collect.body
    assert (confirmed.status, confirmed.json()["status"]) == (201, "CONFIRMED"), confirmed.body
