"""Stored fulfilment options and orders decode to typed records and encode back to exactly the
item they were (docs/architecture.md, the table's items): the stored format never changes, and
items written before a body key existed still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from holdfast.domain.planning import Allocation, Plan
from holdfast.storage.documents import cart_from, cart_item, order_from, order_item
from holdfast.storage.records import from_item, to_item

SKU, SOCKS, DC, STORE = "ACME_SNEAKER_BLK_US9", "ACME_SOCKS_WHT", "MAIN_DC", "STORE_SYDNEY"
CREATED = "2026-11-27T09:00:00.000Z"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

CART_BODY = (
    '{"requestHash":"abc","channel":"ECOMMERCE","deliveryType":"HD","locationRef":null,'
    '"lines":[{"productRef":"ACME_SNEAKER_BLK_US9","quantity":3},{"productRef":"ACME_SOCKS_WHT","quantity":1}],'
    '"plans":[{"type":"SPLIT","fulfilments":[{"locationRef":"MAIN_DC","items":[{"productRef":"ACME_SNEAKER_BLK_US9","quantity":2},'
    '{"productRef":"ACME_SOCKS_WHT","quantity":1}]},{"locationRef":"STORE_SYDNEY","items":[{"productRef":"ACME_SNEAKER_BLK_US9","quantity":1}]}]}],'
    '"reservedPlan":{"type":"SPLIT","fulfilments":[{"locationRef":"MAIN_DC","items":[{"productRef":"ACME_SNEAKER_BLK_US9","quantity":2},'
    '{"productRef":"ACME_SOCKS_WHT","quantity":1}]},{"locationRef":"STORE_SYDNEY","items":[{"productRef":"ACME_SNEAKER_BLK_US9","quantity":1}]}]},'
    '"allocations":[{"productRef":"ACME_SNEAKER_BLK_US9","locationRef":"MAIN_DC","quantity":2,"shard":2},'
    '{"productRef":"ACME_SOCKS_WHT","locationRef":"MAIN_DC","quantity":1},'
    '{"productRef":"ACME_SNEAKER_BLK_US9","locationRef":"STORE_SYDNEY","quantity":1}],'
    '"shortfall":[],"timerMinutes":15,"createdAt":"2026-11-27T09:00:00.000Z","extended":false,'
    '"replaces":null,"latencyMs":12}'
)


def fo_item(body: str, **attributes: str) -> dict:
    item = {
        "pk": {"S": "FO#cart-1"},
        "sk": {"S": "#FO"},
        "entity": {"S": "FO"},
        "ref": {"S": "cart-1"},
        "status": {"S": "ACTIVE"},
        "expiresAt": {"S": "2026-11-27T09:15:00.000Z"},
        "body": {"S": body},
        "createdAt": {"S": CREATED},
        "updatedAt": {"S": CREATED},
    }
    return {**item, **{name: {"S": value} for name, value in attributes.items()}}


def test_a_stored_cart_encodes_back_to_the_very_item_it_was_read_from():
    item = fo_item(CART_BODY)
    assert cart_item(cart_from(from_item(item)), NOW) == item


def test_a_stored_cart_reads_as_named_fields_its_plan_grouped_by_location_and_its_shards():
    cart = cart_from(from_item(fo_item(CART_BODY)))
    assert (cart.ref, cart.status, cart.channel, cart.timer_minutes, cart.latency_ms) == (
        "cart-1",
        "ACTIVE",
        "ECOMMERCE",
        15,
        12,
    )
    assert cart.reserved_plan == Plan(
        "SPLIT", (Allocation(SKU, DC, 2), Allocation(SOCKS, DC, 1), Allocation(SKU, STORE, 1))
    )
    assert cart.allocations[0] == Allocation(SKU, DC, 2, shard=2)
    assert cart.held.allocations == cart.allocations
    assert cart.expires_at == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


def test_a_cart_written_before_shards_extensions_and_latency_were_stored_still_reads():
    old = json.loads(CART_BODY)
    for allocation in old["allocations"]:
        allocation.pop("shard", None)
    del old["latencyMs"], old["extended"], old["replaces"]
    cart = cart_from(from_item(fo_item(json.dumps(old, separators=(",", ":")))))
    assert {a.shard for a in cart.allocations} == {0}
    assert (cart.extended, cart.extended_by, cart.latency_ms, cart.replaces) == (
        False,
        None,
        None,
        None,
    )


def test_an_extension_is_stored_with_its_request_id_or_null_and_a_replacement_inherits_none():
    by_request = (
        CART_BODY.replace('"extended":false', '"extended":true')[:-1] + ',"extendedBy":"ext-1"}'
    )
    without_id = by_request.replace('"ext-1"', "null")
    inherited = CART_BODY.replace('"extended":false', '"extended":true')
    for body in (by_request, without_id, inherited):
        item = fo_item(body)
        assert cart_item(cart_from(from_item(item)), NOW) == item
    assert cart_from(from_item(fo_item(by_request))).extended_by == "ext-1"
    assert not cart_from(from_item(fo_item(inherited))).extension_noted


def test_a_converted_cart_keeps_its_order_ref():
    item = fo_item(CART_BODY, status="CONVERTED", orderRef="order-1")
    cart = cart_from(from_item(item))
    assert (cart.status, cart.order_ref) == ("CONVERTED", "order-1")
    assert cart_item(cart, NOW) == item


def test_a_stored_order_encodes_back_to_the_very_item_it_was_read_from_lines_as_sent():
    body = (
        '{"requestHash":"def","channel":"ECOMMERCE","deliveryType":"HD","locationRef":null,'
        '"fulfilmentOptionRef":"cart-1","lines":[{"productRef":"ACME_SOCKS_WHT","quantity":1},'
        '{"productRef":"ACME_SOCKS_WHT","quantity":1}],"allocations":[{"productRef":"ACME_SOCKS_WHT",'
        '"locationRef":"MAIN_DC","quantity":2}],"convertedFromHold":true,"secondsToConvert":12.345,'
        '"createdAt":"2026-11-27T09:00:00.000Z"}'
    )
    item = {
        "pk": {"S": "ORDER#order-1"},
        "sk": {"S": "#ORDER"},
        "entity": {"S": "ORDER"},
        "ref": {"S": "order-1"},
        "status": {"S": "CONFIRMED"},
        "body": {"S": body},
        "createdAt": {"S": CREATED},
        "updatedAt": {"S": CREATED},
    }
    order = order_from(from_item(item))
    assert len(order.lines) == 2 and order.seconds_to_convert == 12.345
    assert order.allocations == (Allocation(SOCKS, DC, 2),)
    assert order_item(order, NOW) == item


@pytest.mark.parametrize(
    "value",
    [
        "",
        "FO#cart-1",
        "é€",
        0,
        -17,
        10**30,
        True,
        False,
        Decimal("1.50"),
        [1, "a", {"b": False}],
        {"nested": {"n": 2, "s": "x"}},
        {"a", "b"},
        b"\x00\x01",
    ],
)
def test_items_encode_and_decode_as_boto3s_type_serializer_does(value):
    encoded = to_item({"v": value, "gone": None})

    assert encoded == {"v": TypeSerializer().serialize(value)}
    assert from_item(encoded) == {"v": TypeDeserializer().deserialize(encoded["v"])}
