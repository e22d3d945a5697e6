"""Bad input is refused with the docs/behaviour.md §9 error shape, names the field, and writes nothing.

Request-level problems answer 4xx ``{"error": {"code", "message", "details"}}``. A stock feed
validates entity by entity (one bad line must not hold back thousands of good ones), so a bad
entity is answered ``INVALID`` in a 200 with its own ``details``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
AS_OF = "2024-03-15T08:00:00Z"
MAX_BODY_BYTES = 2_000_000


def item_count(client) -> int:
    return client.scan(TableName=os.environ["TABLE_NAME"], Select="COUNT", ConsistentRead=True)[
        "Count"
    ]


def fields(error: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in error["details"]]


def entity(**overrides: Any) -> dict[str, Any]:
    base = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "DELTA",
        "quantity": 5,
        "sourceRef": "rcpt-1",
        "asOf": AS_OF,
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not ...}


@pytest.fixture
def configured(api) -> None:
    """A channel and a stocked position, so refusals are not just 'nothing is there'."""
    assert (
        api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 10}}).status
        == 200
    )
    batch = {
        "entities": [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "LAST_ON_HAND",
                "quantity": 50,
                "asOf": AS_OF,
            }
        ]
    }
    assert api.post("/inventory/batch", batch).status == 200


def assert_refused(
    api, moto_table, method: str, path: str, status: int, code: str, field: str, **request: Any
) -> dict:
    before = item_count(moto_table)

    response = api.request(method, path, **request)

    assert response.status == status, response.body
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert any(f == field or f.startswith(f"{field}.") for f in fields(error)), error
    assert item_count(moto_table) == before
    return error


# -- request-level refusals -------------------------------------------------------------------

REFUSED_REQUESTS = [
    # unknown channel
    pytest.param(
        "GET",
        "/virtual-positions",
        404,
        "NOT_FOUND",
        "channel",
        {"query": {"channel": "MAIL_ORDER", "productRef": SKU}},
        id="unknown-channel",
    ),
    # ':' and '#' in refs: path parameters
    pytest.param(
        "PUT",
        "/channels/WEB:EU",
        422,
        "INVALID_INPUT",
        "name",
        {"json_body": {}},
        id="colon-in-channel-path",
    ),
    pytest.param(
        "PUT",
        "/channels/WEB%23EU",
        422,
        "INVALID_INPUT",
        "name",
        {"json_body": {}},
        id="hash-in-channel-path",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE:1",
        422,
        "INVALID_INPUT",
        "ref",
        {"json_body": {"type": "STORE", "deliveryTypes": ["CC"]}},
        id="colon-in-location-path",
    ),
    pytest.param(
        "PUT",
        "/products/SKU%231",
        422,
        "INVALID_INPUT",
        "ref",
        {"json_body": {"category": "SNEAKERS"}},
        id="hash-in-product-path",
    ),
    pytest.param(
        "GET",
        f"/inventory-positions/{SKU}%23X:{DC}",
        422,
        "INVALID_INPUT",
        "ref",
        {},
        id="hash-in-position-path",
    ),
    pytest.param(
        "GET",
        f"/inventory-positions/{SKU}:{DC}:DEFAULT:EXTRA",
        422,
        "INVALID_INPUT",
        "ref",
        {},
        id="extra-colon-in-position-path",
    ),
    pytest.param(
        "GET",
        f"/inventory-positions/_{SKU}:{DC}",
        422,
        "INVALID_INPUT",
        "ref",
        {},
        id="leading-underscore-in-position-path",
    ),
    # ':' and '#' in refs: query parameters and bodies
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "productRef",
        {"query": {"channel": "ECOMMERCE", "productRef": "SKU:1"}},
        id="colon-in-product-query",
    ),
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "locationRef",
        {"query": {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": "DC#1"}},
        id="hash-in-location-query",
    ),
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "channel",
        {"query": {"channel": "ECOMMERCE#1", "productRef": SKU}},
        id="hash-in-channel-query",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "excludedLocations",
        {"json_body": {"excludedLocations": ["OUTLET:7"]}},
        id="colon-in-excluded-location",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "channels",
        {"json_body": {"type": "STORE", "deliveryTypes": ["CC"], "channels": ["WEB#EU"]}},
        id="hash-in-location-channel",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "products",
        {"json_body": {"products": {"SKU:1": 5}}},
        id="colon-in-timer-product",
    ),
    pytest.param(
        "PUT",
        "/products/SKU_1",
        422,
        "INVALID_INPUT",
        "category",
        {"json_body": {"category": "SNEAKERS#MEN"}},
        id="hash-in-category",
    ),
    # query parameters missing or wrong
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "productRef",
        {"query": {"channel": "ECOMMERCE"}},
        id="missing-product-query",
    ),
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "channel",
        {"query": {"productRef": SKU}},
        id="missing-channel-query",
    ),
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "type",
        {"query": {"channel": "ECOMMERCE", "productRef": SKU, "type": "CHANNEL"}},
        id="unknown-vp-type",
    ),
    pytest.param(
        "GET",
        "/virtual-positions",
        422,
        "INVALID_INPUT",
        "productRef",
        {"query": {"channel": "ECOMMERCE", "productRef": [f"SKU_{n}" for n in range(101)]}},
        id="too-many-products",
    ),
    # malformed and missing bodies
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "body",
        {"body": '{"entities": [', "headers": {"content-type": "application/json"}},
        id="malformed-json-batch",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "body",
        {"body": "{'buffer': None}", "headers": {"content-type": "application/json"}},
        id="malformed-json-channel",
    ),
    pytest.param(
        "POST",
        "/fulfilment-options",
        422,
        "INVALID_INPUT",
        "body",
        {
            "body": '{"lines": ' + "[" * 50_000 + "]" * 50_000 + "}",
            "headers": {"content-type": "application/json"},
        },
        id="json-nested-too-deeply",
    ),
    pytest.param("PUT", "/timers", 422, "INVALID_INPUT", "body", {}, id="no-body"),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "body",
        {"json_body": [{"entities": [entity()]}]},
        id="batch-in-an-array",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "body",
        {"json_body": [{"buffer": {"type": "NONE"}}]},
        id="channel-in-an-array",
    ),
    pytest.param(
        "PUT", "/timers", 422, "INVALID_INPUT", "body", {"json_body": 15}, id="scalar-body"
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "content-type",
        {
            "body": "buffer.type=NONE",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        id="form-encoded-body",
    ),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "entities",
        {"json_body": {}},
        id="missing-entities",
    ),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "entities",
        {"json_body": {"entities": {"productRef": SKU}}},
        id="entities-not-a-list",
    ),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "entities",
        {"json_body": {"entities": []}},
        id="empty-batch",
    ),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "entities",
        {"json_body": {"entities": [entity(sourceRef=f"r{n}") for n in range(5_001)]}},
        id="batch-over-5000",
    ),
    pytest.param(
        "POST",
        "/inventory/batch",
        422,
        "INVALID_INPUT",
        "source",
        {"json_body": {"entities": [entity()], "source": "WMS"}},
        id="extra-field-in-batch",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "deliveryTypes",
        {"json_body": {"type": "STORE"}},
        id="missing-delivery-types",
    ),
    # configuration values
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "buffer",
        {"json_body": {"buffer": {"type": "PERCENTAGE", "value": 150}}},
        id="percentage-150",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "buffer",
        {"json_body": {"buffer": {"type": "PERCENTAGE", "value": -1}}},
        id="percentage-negative",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "buffer",
        {"json_body": {"buffer": {"type": "FIXED", "value": 2.5}}},
        id="fixed-fraction",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "buffer",
        {"json_body": {"buffer": {"type": "SURGE", "value": 5}}},
        id="unknown-buffer-type",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "displayCap",
        {"json_body": {"displayCap": 0}},
        id="display-cap-0",
    ),
    pytest.param(
        "PUT",
        "/channels/ECOMMERCE",
        422,
        "INVALID_INPUT",
        "surge",
        {"json_body": {"buffer": {"type": "NONE"}, "surge": True}},
        id="extra-channel-field",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "globalMinutes",
        {"json_body": {"globalMinutes": 0}},
        id="timer-0",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "globalMinutes",
        {"json_body": {"globalMinutes": 121}},
        id="timer-121",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "categories.SNEAKERS",
        {"json_body": {"categories": {"SNEAKERS": 0}}},
        id="category-timer-0",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "products.ACME_SNEAKER_BLK_US9",
        {"json_body": {"products": {SKU: 121}}},
        id="product-timer-121",
    ),
    pytest.param(
        "PUT",
        "/timers",
        422,
        "INVALID_INPUT",
        "seconds",
        {"json_body": {"globalMinutes": 15, "seconds": 900}},
        id="extra-timer-field",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "deliveryTypes",
        {"json_body": {"type": "STORE", "deliveryTypes": ["DRONE"]}},
        id="unknown-delivery-type",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "type",
        {"json_body": {"type": "KIOSK", "deliveryTypes": ["CC"]}},
        id="unknown-location-type",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "priority",
        {"json_body": {"type": "STORE", "deliveryTypes": ["CC"], "priority": "1"}},
        id="priority-as-string",
    ),
    pytest.param(
        "PUT",
        "/locations/STORE_1",
        422,
        "INVALID_INPUT",
        "address",
        {"json_body": {"type": "STORE", "deliveryTypes": ["CC"], "address": "1 Main St"}},
        id="extra-location-field",
    ),
    pytest.param(
        "PUT",
        "/products/SKU_1",
        422,
        "INVALID_INPUT",
        "colour",
        {"json_body": {"category": "SNEAKERS", "colour": "black"}},
        id="extra-product-field",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "field", "request_args"), REFUSED_REQUESTS
)
def test_refused_request_names_the_field_and_writes_nothing(
    api,
    moto_table,
    configured,
    method: str,
    path: str,
    status: int,
    code: str,
    field: str,
    request_args: dict,
) -> None:
    assert_refused(api, moto_table, method, path, status, code, field, **request_args)


def test_unknown_inventory_position_is_404_naming_the_ref(api, moto_table, configured) -> None:
    error = assert_refused(
        api, moto_table, "GET", f"/inventory-positions/{SKU}:STORE_404", 404, "NOT_FOUND", "ref"
    )
    assert f"{SKU}:STORE_404:DEFAULT" in error["message"]


# -- body size ----------------------------------------------------------------------------------


def oversized(body: dict[str, Any]) -> str:
    padded = json.dumps({**body, "pad": "x" * MAX_BODY_BYTES})
    assert len(padded.encode()) > MAX_BODY_BYTES
    return padded


OVERSIZED_BATCH = json.dumps(
    {"entities": [{**entity(sourceRef=f"r{n}"), "note": "x" * 500} for n in range(4_000)]}
)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/inventory/batch", OVERSIZED_BATCH),
        ("PUT", "/channels/ECOMMERCE", oversized({"buffer": {"type": "NONE"}})),
        ("POST", "/inventory/batch", "[" * (MAX_BODY_BYTES + 1)),
    ],
    ids=["oversized-valid-batch", "oversized-channel", "oversized-not-json"],
)
def test_body_over_the_size_limit_is_413_whatever_it_contains(
    api, moto_table, configured, method, path, body
) -> None:
    assert len(body.encode()) > MAX_BODY_BYTES
    assert_refused(
        api,
        moto_table,
        method,
        path,
        413,
        "PAYLOAD_TOO_LARGE",
        "body",
        body=body,
        headers={"content-type": "application/json"},
    )


# -- entity-level refusals in a stock feed ----------------------------------------------------

REFUSED_ENTITIES = [
    pytest.param(entity(productRef="ACME:SNEAKER"), "productRef", id="colon-in-product"),
    pytest.param(entity(locationRef="MAIN#DC"), "locationRef", id="hash-in-location"),
    pytest.param(entity(sourceRef="rcpt:1"), "sourceRef", id="colon-in-source"),
    pytest.param(entity(catalogue="OUT#LET"), "catalogue", id="hash-in-catalogue"),
    pytest.param(entity(productRef="A" * 129), "productRef", id="ref-of-129"),
    pytest.param(entity(quantity=0), "quantity", id="delta-0"),
    pytest.param(entity(type="CORRECTION", quantity=0), "quantity", id="correction-0"),
    pytest.param(entity(type="RETURNED", quantity=0), "quantity", id="returned-0"),
    pytest.param(entity(type="RETURNED", quantity=-2), "quantity", id="returned-negative"),
    pytest.param(
        entity(type="LAST_ON_HAND", quantity=-1, sourceRef=...), "quantity", id="snapshot-negative"
    ),
    pytest.param(entity(quantity=10_000_001), "quantity", id="delta-over-limit"),
    pytest.param(entity(quantity=-10_000_001), "quantity", id="delta-under-limit"),
    pytest.param(
        entity(type="LAST_ON_HAND", quantity=10_000_001, sourceRef=...),
        "quantity",
        id="snapshot-over-limit",
    ),
    pytest.param(entity(quantity=1.5), "quantity", id="quantity-1.5"),
    pytest.param(entity(quantity="5"), "quantity", id="quantity-string"),
    pytest.param(entity(quantity=True), "quantity", id="quantity-true"),
    pytest.param(entity(quantity=None), "quantity", id="quantity-null"),
    pytest.param(entity(quantity=...), "quantity", id="missing-quantity"),
    pytest.param(entity(productRef=...), "productRef", id="missing-product"),
    pytest.param(entity(type=...), "type", id="missing-type"),
    pytest.param(entity(sourceRef=...), "sourceRef", id="delta-without-source"),
    pytest.param(entity(type="LAST_ON_HAND", quantity=5), "sourceRef", id="snapshot-with-source"),
    pytest.param(entity(type="SOFT_RESERVE", quantity=-1), "type", id="hold-through-the-feed"),
    pytest.param(entity(asOf="2024-03-15T08:00:00"), "asOf", id="as-of-without-zone"),
    pytest.param(entity(asOf="yesterday"), "asOf", id="as-of-not-a-time"),
    pytest.param(entity(warehouse="W1"), "warehouse", id="extra-entity-field"),
]


@pytest.mark.parametrize(("bad", "field"), REFUSED_ENTITIES)
def test_refused_entity_is_invalid_naming_the_field_and_writes_nothing(
    api, moto_table, configured, bad, field
) -> None:
    before = item_count(moto_table)

    response = api.post("/inventory/batch", {"entities": [bad]})

    assert response.status == 200, response.body
    [result] = response.json()["results"]
    assert result["status"] == "INVALID"
    assert field in [d["field"] for d in result["details"]], result
    assert item_count(moto_table) == before


def test_entity_that_is_not_an_object_refuses_the_request(api, moto_table, configured) -> None:
    before = item_count(moto_table)

    response = api.post("/inventory/batch", {"entities": ["ACME_SNEAKER_BLK_US9,MAIN_DC,5"]})

    # entities are objects: the whole request is refused
    assert response.status == 422
    assert fields(response.json()["error"]) == ["entities.0"]
    assert item_count(moto_table) == before


def test_stale_snapshot_writes_nothing(api, moto_table, configured) -> None:
    before = item_count(moto_table)

    stale = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 7,
        "asOf": "2024-03-14T08:00:00Z",
    }
    response = api.post("/inventory/batch", {"entities": [stale]})

    assert response.status == 200
    [result] = response.json()["results"]
    assert result["status"] == "STALE"
    assert result["onHand"] == 50
    assert item_count(moto_table) == before
