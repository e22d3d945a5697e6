"""Fulfilment options and soft reservation through the HTTP API (docs/behaviour.md §3, §4, §9).

Every test goes event → handler → moto DynamoDB and checks what a retailer would check:
onHand from ``GET /inventory-positions/{ref}``, ATS from ``GET /virtual-positions``, the IQ
statuses of the ledger, and that the counters still equal their ledgers.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest

from holdfast.domain.clock import from_iso
from holdfast.runtime import get_runtime
from holdfast.services.availability import Stock, StockReader

SKU = "ACME_SNEAKER_BLK_US9"
SOCKS = "ACME_SOCKS_WHT"
DC = "MAIN_DC"
STORE = "STORE_SYDNEY"
AS_OF = "2024-03-15T08:00:00.000Z"


# -- arranging through the public path --------------------------------------------------------


def put_channel(
    api, name: str = "ECOMMERCE", kind: str = "NONE", value: int = 0, **config: Any
) -> None:
    response = api.put(f"/channels/{name}", {"buffer": {"type": kind, "value": value}, **config})
    assert response.status == 200, response.body


def put_location(
    api,
    ref: str,
    *,
    priority: int = 1,
    delivery: tuple[str, ...] = ("HD",),
    channels: tuple[str, ...] = ("ECOMMERCE",),
    kind: str = "DC",
) -> None:
    body = {
        "type": kind,
        "deliveryTypes": list(delivery),
        "channels": list(channels),
        "priority": priority,
    }
    response = api.put(f"/locations/{ref}", body)
    assert response.status == 200, response.body


def stock(api, *counts: tuple[str, str, int]) -> None:
    """Stock snapshots of (productRef, locationRef, count)."""
    entities = [
        {"productRef": p, "locationRef": loc, "type": "LAST_ON_HAND", "quantity": q, "asOf": AS_OF}
        for p, loc, q in counts
    ]
    response = api.post("/inventory/batch", {"entities": entities})
    assert response.status == 200, response.body
    assert {r["status"] for r in response.json()["results"]} == {"APPLIED"}, response.body


def receive(api, product: str, location: str, quantity: int, source: str = "rcpt-1") -> None:
    """A receipt (DELTA) between snapshots."""
    entity = {"productRef": product, "locationRef": location, "type": "DELTA", "quantity": quantity}
    response = api.post("/inventory/batch", {"entities": [{**entity, "sourceRef": source}]})
    assert response.json()["results"][0]["status"] == "APPLIED", response.body


def shop(api, count: int, buffer: int = 0) -> None:
    """One DC selling SKU to ECOMMERCE for home delivery."""
    put_channel(api, kind="PERCENTAGE" if buffer else "NONE", value=buffer)
    put_location(api, DC)
    stock(api, (SKU, DC, count))


def hold(
    api,
    ref: str,
    *lines: tuple[str, int],
    channel: str = "ECOMMERCE",
    delivery: str = "HD",
    **extra: Any,
):
    body = {
        "ref": ref,
        "channel": channel,
        "deliveryType": delivery,
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        **extra,
    }
    return api.post("/fulfilment-options", body)


def order(api, ref: str, *lines: tuple[str, int], cart: str | None = None, **extra: Any):
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        **extra,
    }
    if cart:
        body["fulfilmentOptionRef"] = cart
    return api.post("/orders", body)


def on_hand(api, product: str = SKU, location: str = DC) -> int:
    response = api.get(f"/inventory-positions/{product}:{location}:DEFAULT")
    assert response.status == 200, response.body
    return response.json()["onHand"]


def ats(api, product: str = SKU, location: str = DC, channel: str = "ECOMMERCE") -> int:
    query = {"channel": channel, "productRef": product, "locationRef": location, "type": "BASE"}
    response = api.get("/virtual-positions", query=query)
    assert response.status == 200, response.body
    [item] = response.json()["items"]
    assert item["ref"] == f"{product}:{location}:{channel}"
    return item["quantity"]


def ledger(api, product: str = SKU, location: str = DC) -> dict[str, tuple[int, str]]:
    """The position's IQs as ``{"SOFT_RESERVE:cart-1": (-2, "ACTIVE"), …}`` (ref after the IP ref)."""
    response = api.get(f"/inventory-positions/{product}:{location}:DEFAULT")
    assert response.status == 200, response.body
    prefix = f"{product}:{location}:DEFAULT:"
    return {
        q["iqRef"].removeprefix(prefix): (q["quantity"], q["status"])
        for q in response.json()["quantities"]
    }


def hold_iq(api, cart: str, product: str = SKU, location: str = DC) -> dict[str, Any]:
    """The SOFT_RESERVE IQ a cart wrote at a position, as the ledger shows it."""
    quantities = api.get(f"/inventory-positions/{product}:{location}:DEFAULT").json()["quantities"]
    [iq] = [q for q in quantities if q["type"] == "SOFT_RESERVE" and q["sourceRef"] == cart]
    return iq


def held(fo: dict[str, Any]) -> dict[tuple[str, str], int]:
    """What the held plan took: (productRef, locationRef) → quantity."""
    plan = fo["reservedPlan"] or {"fulfilments": []}
    return {
        (item["productRef"], fulfilment["locationRef"]): item["quantity"]
        for fulfilment in plan["fulfilments"]
        for item in fulfilment["items"]
    }


def plan_locations(fo: dict[str, Any]) -> list[list[str]]:
    return [[f["locationRef"] for f in plan["fulfilments"]] for plan in fo["plans"]]


def table_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def assert_reconciled(positions: int) -> None:
    assert get_runtime().inventory.reconcile() == (positions, [])


# -- the seed's worked example (docs/behaviour.md §3) ------------------------------------------------------


def test_seed_example_hold_order_cart_add_and_confirmation_keep_onhand_and_ats_exact(
    api, clock
) -> None:
    put_channel(api, "MOBILE", "PERCENTAGE", 5)
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10)
    put_channel(api, "STORE", "PERCENTAGE", 0)
    put_location(api, DC, priority=1, delivery=("HD",), channels=("ECOMMERCE", "MOBILE"))
    stock(api, (SKU, DC, 50))

    first_cart = hold(api, "FO_1234", (SKU, 2))
    first_order = order(api, "FUL_456", (SKU, 3))

    assert first_cart.status == 201, first_cart.body
    assert first_cart.json()["status"] == "ACTIVE"
    assert first_order.status == 201, first_order.body
    assert first_order.json()["status"] == "CONFIRMED"
    assert first_order.json()["convertedFromHold"] is False
    assert ledger(api) == {
        "LAST_ON_HAND": (50, "ACTIVE"),
        "SOFT_RESERVE:FO_1234": (-2, "ACTIVE"),
        "RESERVED:FUL_456": (-3, "ACTIVE"),
    }
    assert on_hand(api) == 45
    assert ats(api) == 40  # buffer ceil(45 × 10 %) = ceil(4.5) = 5
    assert ats(api, channel="MOBILE") == 42  # ceil(2.25) = 3
    assert ats(api, channel="STORE") == 45

    cart_add = hold(api, "cart-abc123-20240315", (SKU, 2))

    assert cart_add.status == 201, cart_add.body
    assert held(cart_add.json()) == {(SKU, DC): 2}
    assert on_hand(api) == 43
    assert ats(api) == 38

    clock.advance(seconds=42)
    confirmation = order(api, "ORDER_789", (SKU, 2), cart="cart-abc123-20240315")

    assert confirmation.status == 201, confirmation.body
    assert confirmation.json()["convertedFromHold"] is True
    assert confirmation.json()["secondsToConvert"] == 42
    assert ledger(api)["SOFT_RESERVE:cart-abc123-20240315"] == (-2, "INACTIVE")
    assert ledger(api)["RESERVED:ORDER_789"] == (-2, "ACTIVE")
    assert on_hand(api) == 43
    assert ats(api) == 38
    converted = api.get("/fulfilment-options/cart-abc123-20240315").json()
    assert converted["status"] == "CONVERTED"
    assert converted["orderRef"] == "ORDER_789"
    assert_reconciled(1)


# -- plans ------------------------------------------------------------------------------------


def test_plans_are_ranked_by_location_priority_and_the_first_is_held(api, clock) -> None:
    put_channel(api)
    put_location(api, "A_STORE", priority=3, kind="STORE")
    put_location(api, "B_DC", priority=1)
    put_location(api, "C_WAREHOUSE", priority=2, kind="WAREHOUSE")
    stock(api, (SKU, "A_STORE", 10), (SKU, "B_DC", 10), (SKU, "C_WAREHOUSE", 10))

    response = hold(api, "cart-1", (SKU, 2))

    assert response.status == 201, response.body
    fo = response.json()
    assert plan_locations(fo) == [["B_DC"], ["C_WAREHOUSE"], ["A_STORE"]]
    assert {plan["type"] for plan in fo["plans"]} == {"SINGLE"}
    assert held(fo) == {(SKU, "B_DC"): 2}
    assert [on_hand(api, SKU, loc) for loc in ("B_DC", "C_WAREHOUSE", "A_STORE")] == [8, 10, 10]
    assert_reconciled(3)


def test_plans_leave_out_locations_that_cannot_cover_every_line(api, clock) -> None:
    put_channel(api)
    put_location(api, "B_DC", priority=1)
    put_location(api, "C_WAREHOUSE", priority=2, kind="WAREHOUSE")
    stock(
        api,
        (SKU, "B_DC", 10),
        (SOCKS, "B_DC", 1),
        (SKU, "C_WAREHOUSE", 5),
        (SOCKS, "C_WAREHOUSE", 5),
    )

    fo = hold(api, "cart-1", (SKU, 2), (SOCKS, 2)).json()

    assert plan_locations(fo) == [["C_WAREHOUSE"]]
    assert held(fo) == {(SKU, "C_WAREHOUSE"): 2, (SOCKS, "C_WAREHOUSE"): 2}
    assert on_hand(api, SKU, "B_DC") == 10
    assert on_hand(api, SOCKS, "B_DC") == 1


def test_only_locations_serving_the_delivery_type_and_selling_to_the_channel_are_planned(
    api, clock
) -> None:
    put_channel(api, excludedLocations=["OUTLET"])
    put_location(api, DC, priority=9)
    put_location(api, "CC_ONLY_STORE", priority=1, delivery=("CC",), kind="STORE")
    put_location(api, "MOBILE_DC", priority=1, channels=("MOBILE",))
    put_location(api, "OUTLET", priority=1, kind="STORE")
    everywhere = [DC, "CC_ONLY_STORE", "MOBILE_DC", "OUTLET", "UNCONFIGURED_DC"]
    stock(api, *[(SKU, loc, 10) for loc in everywhere])

    fo = hold(api, "cart-1", (SKU, 2)).json()

    assert plan_locations(fo) == [[DC]]
    assert held(fo) == {(SKU, DC): 2}
    assert [on_hand(api, SKU, loc) for loc in everywhere] == [8, 10, 10, 10, 10]


def test_click_and_collect_holds_only_at_the_pickup_store(api, clock) -> None:
    put_channel(api)
    put_location(api, DC, priority=1, delivery=("HD",))
    put_location(api, STORE, priority=2, delivery=("HD", "CC"), kind="STORE")
    put_location(api, "STORE_MELBOURNE", priority=1, delivery=("HD", "CC"), kind="STORE")
    stock(api, (SKU, DC, 50), (SKU, STORE, 5), (SKU, "STORE_MELBOURNE", 50))

    collect = hold(api, "cart-1", (SKU, 2), delivery="CC", locationRef=STORE).json()
    too_many = hold(api, "cart-2", (SKU, 4), delivery="CC", locationRef=STORE).json()

    assert collect["status"] == "ACTIVE"
    assert plan_locations(collect) == [[STORE]]
    assert held(collect) == {(SKU, STORE): 2}
    assert too_many["status"] == "NO_OPTIONS"  # 3 left at the store; the DC does not step in
    assert too_many["plans"] == []
    assert [on_hand(api, SKU, loc) for loc in (DC, STORE, "STORE_MELBOURNE")] == [50, 3, 50]


def test_click_and_collect_at_an_unconfigured_store_is_404_naming_location_ref(
    api, moto_table, clock
) -> None:
    shop(api, 10)
    before = table_items(moto_table)

    response = hold(api, "cart-1", (SKU, 1), delivery="CC", locationRef="STORE_NOWHERE")

    assert response.status == 404, response.body
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert [d["field"] for d in error["details"]] == ["locationRef"]
    assert table_items(moto_table) == before


def test_click_and_collect_at_a_store_without_cc_has_no_options(api, clock) -> None:
    shop(api, 10)
    put_location(api, STORE, delivery=("HD",), kind="STORE")
    stock(api, (SKU, STORE, 10))

    response = hold(api, "cart-1", (SKU, 1), delivery="CC", locationRef=STORE)

    assert response.status == 201, response.body
    assert response.json()["status"] == "NO_OPTIONS"
    assert response.json()["plans"] == []
    assert on_hand(api, SKU, STORE) == 10


def test_lines_naming_the_same_product_are_merged_before_checking(api, clock) -> None:
    shop(api, 1)

    response = hold(api, "cart-1", (SKU, 1), (SKU, 1))

    assert response.status == 201, response.body
    assert response.json()["status"] == "NO_OPTIONS"
    assert response.json()["lines"] == [{"productRef": SKU, "quantity": 2}]
    assert ledger(api) == {"LAST_ON_HAND": (1, "ACTIVE")}
    assert on_hand(api) == 1


def test_merged_lines_are_held_as_one_quantity(api, clock) -> None:
    shop(api, 2)

    fo = hold(api, "cart-1", (SKU, 1), (SKU, 1)).json()

    assert fo["status"] == "ACTIVE"
    assert held(fo) == {(SKU, DC): 2}
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-2, "ACTIVE")
    assert on_hand(api) == 0


def test_a_multi_line_cart_is_held_all_or_nothing(api, clock) -> None:
    shop(api, 10)
    stock(api, (SOCKS, DC, 1))

    fo = hold(api, "cart-1", (SKU, 2), (SOCKS, 2)).json()

    assert fo["status"] == "NO_OPTIONS"
    assert ledger(api) == {"LAST_ON_HAND": (10, "ACTIVE")}
    assert ledger(api, SOCKS) == {"LAST_ON_HAND": (1, "ACTIVE")}
    assert (on_hand(api), on_hand(api, SOCKS)) == (10, 1)


def split_shop(api) -> None:
    put_channel(api)
    put_location(api, DC, priority=1)
    put_location(api, STORE, priority=2, delivery=("HD", "CC"), kind="STORE")
    stock(api, (SKU, DC, 3), (SKU, STORE, 3))


def test_no_split_plan_unless_the_request_allows_splits(api, clock) -> None:
    split_shop(api)

    fo = hold(api, "cart-1", (SKU, 5)).json()

    assert fo["status"] == "NO_OPTIONS"
    assert (on_hand(api, SKU, DC), on_hand(api, SKU, STORE)) == (3, 3)


def test_a_split_plan_fills_from_locations_in_priority_order_when_no_single_one_can(
    api, clock
) -> None:
    split_shop(api)

    fo = hold(api, "cart-1", (SKU, 5), allowSplit=True).json()

    assert fo["status"] == "ACTIVE"
    assert [plan["type"] for plan in fo["plans"]] == ["SPLIT"]
    assert held(fo) == {(SKU, DC): 3, (SKU, STORE): 2}
    assert (on_hand(api, SKU, DC), on_hand(api, SKU, STORE)) == (0, 1)
    assert_reconciled(2)


def test_a_single_location_is_preferred_to_a_split_even_when_splits_are_allowed(api, clock) -> None:
    split_shop(api)

    fo = hold(api, "cart-1", (SKU, 3), allowSplit=True).json()

    assert [plan["type"] for plan in fo["plans"]] == ["SINGLE", "SINGLE"]
    assert plan_locations(fo) == [[DC], [STORE]]
    assert held(fo) == {(SKU, DC): 3}


def test_allow_partial_holds_what_there_is_and_reports_the_shortfall_per_line(api, clock) -> None:
    shop(api, 3)
    stock(api, (SOCKS, DC, 10))

    response = hold(api, "cart-1", (SKU, 5), (SOCKS, 1), allowPartial=True)

    assert response.status == 201, response.body
    fo = response.json()
    assert fo["status"] == "ACTIVE"
    assert fo["reservedPlan"]["type"] == "PARTIAL"
    assert held(fo) == {(SKU, DC): 3, (SOCKS, DC): 1}
    assert fo["shortfall"] == [{"productRef": SKU, "requested": 5, "available": 3}]
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-3, "ACTIVE")
    assert (on_hand(api), on_hand(api, SOCKS)) == (0, 9)
    assert_reconciled(2)


def test_allow_partial_with_nothing_available_has_no_options(api, clock) -> None:
    shop(api, 0)

    fo = hold(api, "cart-1", (SKU, 5), allowPartial=True).json()

    assert fo["status"] == "NO_OPTIONS"
    assert fo["plans"] == []
    assert ledger(api) == {"LAST_ON_HAND": (0, "ACTIVE")}


def test_no_options_answers_empty_plans_and_writes_no_hold(api, moto_table, clock) -> None:
    shop(api, 1)

    response = hold(api, "cart-1", (SKU, 2))

    assert response.status == 201, response.body
    fo = response.json()
    assert fo["status"] == "NO_OPTIONS"
    assert fo["plans"] == []
    assert fo["reservedPlan"] is None
    assert fo["expiresAt"] is None
    assert ledger(api) == {"LAST_ON_HAND": (1, "ACTIVE")}
    assert not [item for item in table_items(moto_table) if item["sk"]["S"] == "TIMER"]
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "NO_OPTIONS"


def test_a_product_never_stocked_has_no_options_and_gets_no_position(api, clock) -> None:
    shop(api, 10)

    fo = hold(api, "cart-1", ("ACME_SNEAKER_NEW_US9", 1)).json()

    assert fo["status"] == "NO_OPTIONS"
    assert api.get(f"/inventory-positions/ACME_SNEAKER_NEW_US9:{DC}:DEFAULT").status == 404


# -- the same ref again -------------------------------------------------------------------------


def test_the_same_ref_and_body_again_answers_the_same_and_holds_nothing_more(api, clock) -> None:
    shop(api, 10)
    first = hold(api, "cart-1", (SKU, 2))

    clock.advance(seconds=5)
    again = hold(api, "cart-1", (SKU, 2))

    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert on_hand(api) == 8
    assert ledger(api) == {"LAST_ON_HAND": (10, "ACTIVE"), "SOFT_RESERVE:cart-1": (-2, "ACTIVE")}


def test_the_same_ref_and_body_again_after_the_last_unit_was_held_answers_the_hold(
    api, clock
) -> None:
    shop(api, 2)
    first = hold(api, "cart-1", (SKU, 2))

    again = hold(api, "cart-1", (SKU, 2))

    assert (first.status, again.status) == (201, 200), again.body
    assert again.json() == first.json()
    assert on_hand(api) == 0


def test_the_same_no_options_request_again_answers_no_options_even_after_a_receipt(
    api, clock
) -> None:
    shop(api, 1)
    first = hold(api, "cart-1", (SKU, 2))
    receive(api, SKU, DC, 5)

    again = hold(api, "cart-1", (SKU, 2))

    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert ledger(api) == {"LAST_ON_HAND": (1, "ACTIVE"), "DELTA:rcpt-1": (5, "ACTIVE")}
    assert on_hand(api) == 6


def test_the_same_ref_with_a_different_body_is_a_conflict(api, moto_table, clock) -> None:
    shop(api, 10)
    assert hold(api, "cart-1", (SKU, 2)).status == 201
    before = table_items(moto_table)

    response = hold(api, "cart-1", (SKU, 3))

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "CONFLICT"
    assert [d["field"] for d in response.json()["error"]["details"]] == ["ref"]
    assert table_items(moto_table) == before
    assert on_hand(api) == 8


# -- read, cancel, extend ---------------------------------------------------------------------


def test_a_fulfilment_option_reads_back_as_created(api, clock) -> None:
    shop(api, 10)
    created = hold(api, "cart-1", (SKU, 2)).json()

    response = api.get("/fulfilment-options/cart-1")

    assert response.status == 200
    assert response.json() == created
    assert response.json()["lines"] == [{"productRef": SKU, "quantity": 2}]


def test_an_unknown_fulfilment_option_is_404(api, clock) -> None:
    for response in (
        api.get("/fulfilment-options/cart-404"),
        api.delete("/fulfilment-options/cart-404"),
        api.post("/fulfilment-options/cart-404/extend"),
    ):
        assert response.status == 404, response.body
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_cancelling_releases_the_holds_at_once(api, clock) -> None:
    shop(api, 10, buffer=10)
    hold(api, "cart-1", (SKU, 2))
    assert (on_hand(api), ats(api)) == (8, 7)

    response = api.delete("/fulfilment-options/cart-1")

    assert response.status == 200, response.body
    assert response.json()["status"] == "CANCELLED"
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-2, "INACTIVE")
    assert (on_hand(api), ats(api)) == (10, 9)
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "CANCELLED"
    assert_reconciled(1)


def test_cancelling_twice_is_harmless(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    api.delete("/fulfilment-options/cart-1")

    again = api.delete("/fulfilment-options/cart-1")

    assert again.status == 200, again.body
    assert again.json()["status"] == "CANCELLED"
    assert on_hand(api) == 10
    assert_reconciled(1)


def test_cancelling_a_converted_cart_is_a_conflict_and_keeps_the_order(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    assert order(api, "order-1", (SKU, 2), cart="cart-1").status == 201

    response = api.delete("/fulfilment-options/cart-1")

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "CONFLICT"
    assert ledger(api)["RESERVED:order-1"] == (-2, "ACTIVE")
    assert on_hand(api) == 8
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "CONVERTED"


def test_extending_adds_one_timer_length_once(api, clock) -> None:
    shop(api, 10)
    created = hold(api, "cart-1", (SKU, 2)).json()
    created_at = from_iso(created["createdAt"])

    clock.advance(minutes=10)
    extended = api.post("/fulfilment-options/cart-1/extend")
    again = api.post("/fulfilment-options/cart-1/extend")

    assert extended.status == 200, extended.body
    assert extended.json()["extended"] is True
    assert from_iso(extended.json()["expiresAt"]) == created_at + timedelta(minutes=30)
    assert again.status == 409, again.body
    assert again.json()["error"]["code"] == "CONFLICT"
    assert from_iso(hold_iq(api, "cart-1")["expiresAt"]) == created_at + timedelta(minutes=30)
    clock.advance(minutes=10)  # 20 minutes in: past the first expiry, within the extension
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "ACTIVE"
    assert on_hand(api) == 8


def test_a_slow_payment_within_the_extension_still_converts_the_cart(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    clock.advance(minutes=14)
    assert api.post("/fulfilment-options/cart-1/extend").status == 200

    clock.advance(minutes=10)
    response = order(api, "order-1", (SKU, 2), cart="cart-1")

    assert response.status == 201, response.body
    assert response.json()["convertedFromHold"] is True
    assert response.json()["secondsToConvert"] == 24 * 60
    assert on_hand(api) == 8
    assert_reconciled(1)


def test_extending_after_expiry_is_a_conflict(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))

    clock.advance(minutes=16)
    response = api.post("/fulfilment-options/cart-1/extend")

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "CONFLICT"
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "EXPIRED"


def test_extending_a_cancelled_cart_is_a_conflict(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    api.delete("/fulfilment-options/cart-1")

    response = api.post("/fulfilment-options/cart-1/extend")

    assert response.status == 409, response.body
    assert on_hand(api) == 10


# -- replacing a cart -----------------------------------------------------------------------------


def test_replacing_a_cart_releases_the_old_holds_and_writes_the_new_ones_at_once(
    api, clock
) -> None:
    shop(api, 10)
    stock(api, (SOCKS, DC, 10))
    hold(api, "cart-1", (SKU, 2), (SOCKS, 1))

    response = hold(api, "cart-2", (SKU, 3), replaces="cart-1")

    assert response.status == 201, response.body
    assert response.json()["status"] == "ACTIVE"
    assert response.json()["replaces"] == "cart-1"
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "REPLACED"
    assert ledger(api) == {
        "LAST_ON_HAND": (10, "ACTIVE"),
        "SOFT_RESERVE:cart-1": (-2, "INACTIVE"),
        "SOFT_RESERVE:cart-2": (-3, "ACTIVE"),
    }
    assert ledger(api, SOCKS)["SOFT_RESERVE:cart-1"] == (-1, "INACTIVE")
    assert (on_hand(api), on_hand(api, SOCKS)) == (7, 10)
    assert_reconciled(2)


def test_a_replacement_may_use_the_stock_its_own_release_frees(api, clock) -> None:
    shop(api, 10, buffer=10)
    hold(api, "cart-1", (SKU, 5))
    assert (on_hand(api), ats(api)) == (5, 4)  # without the release, 8 could not be held

    response = hold(api, "cart-2", (SKU, 8), replaces="cart-1")

    assert response.status == 201, response.body
    assert response.json()["status"] == "ACTIVE"
    assert held(response.json()) == {(SKU, DC): 8}
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-5, "INACTIVE")
    assert ledger(api)["SOFT_RESERVE:cart-2"] == (-8, "ACTIVE")
    assert (on_hand(api), ats(api)) == (2, 1)
    assert_reconciled(1)


def test_a_cart_switched_from_home_delivery_to_click_and_collect_moves_its_hold_to_the_store(
    api, clock
) -> None:
    put_channel(api)
    put_location(api, DC, priority=1, delivery=("HD",))
    put_location(api, STORE, priority=2, delivery=("HD", "CC"), kind="STORE")
    stock(api, (SKU, DC, 10), (SKU, STORE, 5))
    hold(api, "cart-1", (SKU, 2))

    fo = hold(api, "cart-2", (SKU, 2), delivery="CC", locationRef=STORE, replaces="cart-1").json()

    assert fo["status"] == "ACTIVE"
    assert held(fo) == {(SKU, STORE): 2}
    assert (on_hand(api, SKU, DC), on_hand(api, SKU, STORE)) == (10, 3)
    assert_reconciled(2)


def test_a_replacement_that_cannot_be_held_keeps_the_old_cart(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 8))

    response = hold(api, "cart-2", (SKU, 11), replaces="cart-1")

    assert response.json()["status"] == "NO_OPTIONS"
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "ACTIVE"
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-8, "ACTIVE")
    assert on_hand(api) == 2


def test_the_same_replacement_again_answers_the_same(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    first = hold(api, "cart-2", (SKU, 3), replaces="cart-1")

    again = hold(api, "cart-2", (SKU, 3), replaces="cart-1")

    assert (first.status, again.status) == (201, 200), again.body
    assert again.json() == first.json()
    assert on_hand(api) == 7


def test_replacing_an_unknown_cart_is_404_and_a_cancelled_one_409(api, moto_table, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))
    api.delete("/fulfilment-options/cart-1")
    before = table_items(moto_table)

    unknown = hold(api, "cart-2", (SKU, 1), replaces="cart-404")
    cancelled = hold(api, "cart-3", (SKU, 1), replaces="cart-1")

    assert unknown.status == 404, unknown.body
    assert [d["field"] for d in unknown.json()["error"]["details"]] == ["replaces"]
    assert cancelled.status == 409, cancelled.body
    assert [d["field"] for d in cancelled.json()["error"]["details"]] == ["replaces"]
    assert table_items(moto_table) == before


# -- timers and expiry ------------------------------------------------------------------------


def test_a_hold_expires_fifteen_minutes_after_its_creation_by_default(api, clock) -> None:
    shop(api, 10)

    fo = hold(api, "cart-1", (SKU, 2)).json()

    assert fo["timerMinutes"] == 15
    assert from_iso(fo["createdAt"]) == clock.now
    assert from_iso(fo["expiresAt"]) == clock.now + timedelta(minutes=15)


def test_each_hold_expires_its_own_timer_after_its_own_creation(api, clock) -> None:
    shop(api, 10)
    first = hold(api, "cart-1", (SKU, 1)).json()

    clock.advance(minutes=7)
    second = hold(api, "cart-2", (SKU, 1)).json()

    assert from_iso(second["expiresAt"]) - from_iso(first["expiresAt"]) == timedelta(minutes=7)


@pytest.mark.parametrize(
    ("product", "minutes"),
    [
        pytest.param("ACME_SNEAKER_LUX", 30, id="product-timer-beats-its-category"),
        pytest.param(SKU, 5, id="category-timer"),
        pytest.param(SOCKS, 20, id="global-timer"),
    ],
)
def test_the_timer_resolves_product_then_category_then_global(
    api, clock, product: str, minutes: int
) -> None:
    put_channel(api)
    put_location(api, DC)
    stock(api, (SKU, DC, 10), ("ACME_SNEAKER_LUX", DC, 10), (SOCKS, DC, 10))
    timers = {
        "globalMinutes": 20,
        "categories": {"SNEAKERS": 5},
        "products": {"ACME_SNEAKER_LUX": 30},
    }
    assert api.put("/timers", timers).status == 200
    for ref in (SKU, "ACME_SNEAKER_LUX"):
        assert api.put(f"/products/{ref}", {"category": "SNEAKERS"}).status == 200

    fo = hold(api, "cart-1", (product, 1)).json()

    assert fo["timerMinutes"] == minutes
    assert from_iso(fo["expiresAt"]) == clock.now + timedelta(minutes=minutes)
    assert from_iso(hold_iq(api, "cart-1", product)["expiresAt"]) == clock.now + timedelta(
        minutes=minutes
    )


def test_a_hold_read_after_its_expiry_is_expired(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", (SKU, 2))

    clock.advance(minutes=14, seconds=59)
    before_expiry = api.get("/fulfilment-options/cart-1").json()["status"]
    clock.advance(seconds=2)
    after_expiry = api.get("/fulfilment-options/cart-1").json()["status"]

    assert (before_expiry, after_expiry) == ("ACTIVE", "EXPIRED")


def test_a_hold_refused_only_because_expired_holds_still_count_reclaims_them(api, clock) -> None:
    shop(api, 2)
    hold(api, "cart-1", (SKU, 2))

    clock.advance(minutes=16)
    response = hold(api, "cart-2", (SKU, 2))

    assert response.json()["status"] == "ACTIVE", response.body
    assert api.get("/fulfilment-options/cart-1").json()["status"] == "EXPIRED"
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-2, "INACTIVE")
    assert ledger(api)["SOFT_RESERVE:cart-2"] == (-2, "ACTIVE")
    assert on_hand(api) == 0
    assert_reconciled(1)


def test_a_partial_hold_reclaims_expired_holds_before_reporting_a_shortfall(api, clock) -> None:
    shop(api, 5)
    hold(api, "cart-1", (SKU, 3))

    clock.advance(minutes=16)
    fo = hold(api, "cart-2", (SKU, 5), allowPartial=True).json()

    assert held(fo) == {(SKU, DC): 5}
    assert fo["shortfall"] == []
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-3, "INACTIVE")
    assert on_hand(api) == 0
    assert_reconciled(1)


def test_a_new_product_category_is_seen_at_once_by_the_process_that_wrote_it(api, clock) -> None:
    shop(api, 10)
    assert api.put("/timers", {"globalMinutes": 15, "categories": {"FLASH_SALE": 5}}).status == 200
    assert hold(api, "cart-1", (SKU, 1)).json()["timerMinutes"] == 15

    assert api.put(f"/products/{SKU}", {"category": "FLASH_SALE"}).status == 200
    fo = hold(api, "cart-2", (SKU, 1)).json()

    assert fo["timerMinutes"] == 5
    assert from_iso(fo["expiresAt"]) == clock.now + timedelta(minutes=5)


# -- the counter condition is the channel's exact buffer rule ----------------------------------


def test_onhand_3_with_a_10_percent_buffer_holds_2_but_not_3(api, clock) -> None:
    shop(api, 3, buffer=10)
    assert ats(api) == 2  # buffer ceil(0.3) = 1

    refused = hold(api, "cart-1", (SKU, 3)).json()
    accepted = hold(api, "cart-2", (SKU, 2)).json()

    assert refused["status"] == "NO_OPTIONS"
    assert accepted["status"] == "ACTIVE"
    assert (on_hand(api), ats(api)) == (1, 0)
    assert_reconciled(1)


@pytest.mark.parametrize(
    ("count", "kind", "value", "expected_ats"),
    [
        pytest.param(19, "PERCENTAGE", 10, 17, id="19-at-10pct"),
        pytest.param(20, "PERCENTAGE", 10, 18, id="20-at-10pct"),
        pytest.param(7, "PERCENTAGE", 5, 6, id="7-at-5pct"),
        pytest.param(10, "FIXED", 3, 7, id="10-fixed-3"),
    ],
)
def test_a_hold_of_exactly_the_ats_is_accepted_and_one_more_is_refused(
    api, clock, count: int, kind: str, value: int, expected_ats: int
) -> None:
    put_channel(api, kind=kind, value=value)
    put_location(api, DC)
    stock(api, (SKU, DC, count))
    assert ats(api) == expected_ats

    one_more = hold(api, "cart-1", (SKU, expected_ats + 1)).json()
    exactly = hold(api, "cart-2", (SKU, expected_ats)).json()

    assert one_more["status"] == "NO_OPTIONS"
    assert exactly["status"] == "ACTIVE"
    assert on_hand(api) == count - expected_ats


@pytest.mark.parametrize(
    ("quantity", "status", "left"),
    [
        pytest.param(3, "NO_OPTIONS", 3, id="hold-3-refused-by-the-write"),
        pytest.param(2, "ACTIVE", 1, id="hold-2-accepted-by-the-write"),
    ],
)
def test_the_hold_write_itself_is_conditioned_on_the_exact_buffer_rule(
    api, clock, monkeypatch: pytest.MonkeyPatch, quantity: int, status: str, left: int
) -> None:
    """A plan made on a stale read (here every ATS read 10 too high, as if a competing hold
    had not happened yet) is still held only where the channel's ATS covers it now."""
    shop(api, 3, buffer=10)
    read = StockReader.read

    def stale_read(self, *args: Any, **kwargs: Any) -> Stock:
        stock = read(self, *args, **kwargs)
        return Stock({position: ats + 10 for position, ats in stock.ats.items()}, stock.positions)

    monkeypatch.setattr(StockReader, "read", stale_read)

    fo = hold(api, "cart-1", (SKU, quantity)).json()

    assert fo["status"] == status
    assert on_hand(api) == left
    assert_reconciled(1)
