"""Orders through the HTTP API (docs/behaviour.md §6, §9): converting a cart's holds, reserving afresh,
refusing out of stock with nothing written, and the later steps ship, cancel and return.

Arranged and checked only through the public routes: onHand from ``GET
/inventory-positions/{ref}``, ATS from ``GET /virtual-positions``, IQ statuses from the ledger.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from holdfast.domain.clock import to_iso
from holdfast.runtime import get_runtime

SKU = "ACME_SNEAKER_BLK_US9"
SOCKS = "ACME_SOCKS_WHT"
CAP = "ACME_CAP_RED"
DC = "MAIN_DC"
AS_OF = "2024-03-15T08:00:00.000Z"


# -- arranging through the public path --------------------------------------------------------


def shop(api, *counts: tuple[str, int], buffer: int = 0) -> None:
    """ECOMMERCE (with a PERCENTAGE buffer, if any) selling from one DC, stocked by snapshots
    of (productRef, count) taken before the test's clock starts."""
    rule = {"type": "PERCENTAGE", "value": buffer} if buffer else {"type": "NONE", "value": 0}
    assert api.put("/channels/ECOMMERCE", {"buffer": rule}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert api.put(f"/locations/{DC}", location).status == 200
    entities = [
        {"productRef": p, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": q, "asOf": AS_OF}
        for p, q in counts
    ]
    response = api.post("/inventory/batch", {"entities": entities})
    assert {r["status"] for r in response.json()["results"]} == {"APPLIED"}, response.body


def hold(api, ref: str, *lines: tuple[str, int]) -> dict[str, Any]:
    lines_body = [{"productRef": p, "quantity": q} for p, q in lines]
    body = {"ref": ref, "channel": "ECOMMERCE", "deliveryType": "HD", "lines": lines_body}
    response = api.post("/fulfilment-options", body)
    assert response.status == 201, response.body
    assert response.json()["status"] == "ACTIVE", response.body
    return response.json()


def order(api, ref: str, *lines: tuple[str, int], cart: str | None = None):
    body: dict[str, Any] = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
    }
    if cart is not None:
        body["fulfilmentOptionRef"] = cart
    return api.post("/orders", body)


def confirmed(api, ref: str, *lines: tuple[str, int], cart: str | None = None) -> dict[str, Any]:
    response = order(api, ref, *lines, cart=cart)
    assert response.status == 201, response.body
    assert response.json()["status"] == "CONFIRMED"
    return response.json()


def on_hand(api, product: str = SKU) -> int:
    response = api.get(f"/inventory-positions/{product}:{DC}:DEFAULT")
    assert response.status == 200, response.body
    return response.json()["onHand"]


def ats(api, product: str = SKU) -> int:
    query = {"channel": "ECOMMERCE", "productRef": product, "locationRef": DC, "type": "BASE"}
    response = api.get("/virtual-positions", query=query)
    [item] = response.json()["items"]
    return item["quantity"]


def ledger(api, product: str = SKU) -> dict[str, tuple[int, str]]:
    """The position's IQs as ``{"RESERVED:order-1": (-2, "ACTIVE"), …}`` (ref after the IP ref)."""
    response = api.get(f"/inventory-positions/{product}:{DC}:DEFAULT")
    assert response.status == 200, response.body
    prefix = f"{product}:{DC}:DEFAULT:"
    return {
        q["iqRef"].removeprefix(prefix): (q["quantity"], q["status"])
        for q in response.json()["quantities"]
    }


def fo_status(api, ref: str) -> str:
    return api.get(f"/fulfilment-options/{ref}").json()["status"]


def table_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def assert_reconciled(positions: int) -> None:
    assert get_runtime().inventory.reconcile() == (positions, [])


# -- confirmation -----------------------------------------------------------------------------


def test_an_active_matching_cart_is_converted_without_moving_onhand_or_ats(api, clock) -> None:
    shop(api, (SKU, 50), buffer=10)
    hold(api, "cart-1", (SKU, 2))
    assert (on_hand(api), ats(api)) == (48, 43)

    clock.advance(minutes=3, seconds=30)
    response = order(api, "order-1", (SKU, 2), cart="cart-1")

    assert response.status == 201, response.body
    view = response.json()
    assert view["status"] == "CONFIRMED"
    assert view["convertedFromHold"] is True
    assert view["secondsToConvert"] == 210
    assert view["fulfilmentOptionRef"] == "cart-1"
    assert view["allocations"] == [{"productRef": SKU, "locationRef": DC, "quantity": 2}]
    assert ledger(api) == {
        "LAST_ON_HAND": (50, "ACTIVE"),
        "SOFT_RESERVE:cart-1": (-2, "INACTIVE"),
        "RESERVED:order-1": (-2, "ACTIVE"),
    }
    assert (on_hand(api), ats(api)) == (48, 43)
    cart = api.get("/fulfilment-options/cart-1").json()
    assert (cart["status"], cart["orderRef"]) == ("CONVERTED", "order-1")
    assert_reconciled(1)


def test_a_cart_matches_an_order_whose_lines_merge_to_the_same_quantities(api, clock) -> None:
    shop(api, (SKU, 10), (SOCKS, 10))
    hold(api, "cart-1", (SKU, 1), (SOCKS, 1), (SKU, 1))

    view = confirmed(api, "order-1", (SOCKS, 1), (SKU, 2), cart="cart-1")

    assert view["convertedFromHold"] is True
    assert (on_hand(api), on_hand(api, SOCKS)) == (8, 9)
    assert_reconciled(2)


def test_an_order_after_its_cart_expired_reserves_afresh_and_releases_the_cart_at_once(
    api, clock
) -> None:
    shop(api, (SKU, 10))
    hold(api, "cart-1", (SKU, 2))

    clock.advance(minutes=16)
    view = confirmed(api, "order-1", (SKU, 2), cart="cart-1")

    assert view["convertedFromHold"] is False
    assert ledger(api) == {
        "LAST_ON_HAND": (10, "ACTIVE"),
        "SOFT_RESERVE:cart-1": (-2, "INACTIVE"),
        "RESERVED:order-1": (-2, "ACTIVE"),
    }
    assert on_hand(api) == 10 - 2
    assert fo_status(api, "cart-1") == "EXPIRED"
    assert_reconciled(1)


def test_an_order_after_its_cart_expired_may_take_the_units_the_cart_held(api, clock) -> None:
    shop(api, (SKU, 3), buffer=10)
    hold(api, "cart-1", (SKU, 2))
    assert ats(api) == 0

    clock.advance(minutes=16)
    view = confirmed(api, "order-1", (SKU, 2), cart="cart-1")

    assert view["convertedFromHold"] is False
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-2, "INACTIVE")
    assert (on_hand(api), ats(api)) == (1, 0)
    assert fo_status(api, "cart-1") == "EXPIRED"
    assert_reconciled(1)


def test_an_order_naming_a_missing_cart_reserves_afresh(api, clock) -> None:
    shop(api, (SKU, 10))

    view = confirmed(api, "order-1", (SKU, 3), cart="cart-never-made")

    assert view["convertedFromHold"] is False
    assert view["secondsToConvert"] is None
    assert view["fulfilmentOptionRef"] == "cart-never-made"
    assert ledger(api) == {"LAST_ON_HAND": (10, "ACTIVE"), "RESERVED:order-1": (-3, "ACTIVE")}
    assert on_hand(api) == 7
    assert_reconciled(1)


def test_an_order_whose_lines_differ_from_its_cart_reserves_afresh_and_releases_the_cart(
    api, clock
) -> None:
    shop(api, (SKU, 10), (SOCKS, 10))
    hold(api, "cart-1", (SKU, 8), (SOCKS, 1))
    assert (on_hand(api), on_hand(api, SOCKS)) == (2, 9)

    view = confirmed(
        api, "order-1", (SKU, 9), cart="cart-1"
    )  # more than ATS 2 without the cart's 8

    assert view["convertedFromHold"] is False
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-8, "INACTIVE")
    assert ledger(api)["RESERVED:order-1"] == (-9, "ACTIVE")
    assert ledger(api, SOCKS)["SOFT_RESERVE:cart-1"] == (-1, "INACTIVE")
    assert (on_hand(api), on_hand(api, SOCKS)) == (1, 10)
    assert fo_status(api, "cart-1") not in ("ACTIVE", "CONVERTED")
    api.delete("/fulfilment-options/cart-1")  # the cart's units come back once, not twice
    assert (on_hand(api), on_hand(api, SOCKS)) == (1, 10)
    assert_reconciled(2)


def test_a_click_and_collect_order_reserves_at_the_pickup_store_only(api, clock) -> None:
    shop(api, (SKU, 10))
    store = {
        "type": "STORE",
        "deliveryTypes": ["HD", "CC"],
        "channels": ["ECOMMERCE"],
        "priority": 2,
    }
    assert api.put("/locations/STORE_SYDNEY", store).status == 200
    snapshot = {
        "productRef": SKU,
        "locationRef": "STORE_SYDNEY",
        "type": "LAST_ON_HAND",
        "quantity": 3,
        "asOf": AS_OF,
    }
    assert api.post("/inventory/batch", {"entities": [snapshot]}).status == 200
    body = {
        "ref": "order-1",
        "channel": "ECOMMERCE",
        "deliveryType": "CC",
        "locationRef": "STORE_SYDNEY",
        "lines": [{"productRef": SKU, "quantity": 2}],
    }

    response = api.post("/orders", body)
    too_many = api.post("/orders", {**body, "ref": "order-2"})

    assert response.status == 201, response.body
    assert response.json()["allocations"] == [
        {"productRef": SKU, "locationRef": "STORE_SYDNEY", "quantity": 2}
    ]
    assert too_many.status == 409, too_many.body
    assert too_many.json()["error"]["details"][0]["available"] == 1
    assert on_hand(api) == 10
    assert_reconciled(2)


def test_out_of_stock_names_each_short_line_and_writes_nothing(api, moto_table, clock) -> None:
    shop(api, (SKU, 4), (SOCKS, 10), buffer=10)
    before = table_items(moto_table)

    response = order(api, "order-1", (SKU, 5), (SOCKS, 1), (CAP, 2))

    assert response.status == 409, response.body
    error = response.json()["error"]
    assert error["code"] == "OUT_OF_STOCK"
    assert SKU in error["message"] and CAP in error["message"]
    assert [
        {k: d[k] for k in ("productRef", "requested", "available")} for d in error["details"]
    ] == [
        {"productRef": SKU, "requested": 5, "available": 3},
        {"productRef": CAP, "requested": 2, "available": 0},
    ]
    assert table_items(moto_table) == before
    assert api.get("/orders/order-1").status == 404


def test_out_of_stock_with_a_mismatched_cart_keeps_the_cart_and_writes_nothing(
    api, moto_table, clock
) -> None:
    shop(api, (SKU, 10))
    hold(api, "cart-1", (SKU, 2))
    before = table_items(moto_table)

    response = order(api, "order-1", (SKU, 11), cart="cart-1")

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "OUT_OF_STOCK"
    details = response.json()["error"]["details"]
    assert [(d["productRef"], d["requested"], d["available"]) for d in details] == [(SKU, 11, 10)]
    assert table_items(moto_table) == before
    assert fo_status(api, "cart-1") == "ACTIVE"
    assert on_hand(api) == 8


def test_out_of_stock_details_point_at_the_request_line_of_each_short_product(api, clock) -> None:
    shop(api, (SKU, 10), (SOCKS, 1))

    response = order(api, "order-1", (SKU, 1), (SKU, 1), (SOCKS, 2))

    assert response.status == 409, response.body
    [detail] = response.json()["error"]["details"]
    assert (detail["field"], detail["productRef"], detail["requested"], detail["available"]) == (
        "lines.2",
        SOCKS,
        2,
        1,
    )


def test_an_order_refused_only_because_expired_holds_still_count_reclaims_them(api, clock) -> None:
    shop(api, (SKU, 2))
    hold(api, "cart-1", (SKU, 2))

    clock.advance(minutes=16)
    view = confirmed(api, "order-1", (SKU, 2))

    assert view["convertedFromHold"] is False
    assert fo_status(api, "cart-1") == "EXPIRED"
    assert ledger(api)["SOFT_RESERVE:cart-1"] == (-2, "INACTIVE")
    assert ledger(api)["RESERVED:order-1"] == (-2, "ACTIVE")
    assert on_hand(api) == 0
    assert_reconciled(1)


def test_the_same_order_ref_twice_is_one_order(api, clock) -> None:
    shop(api, (SKU, 10))
    first = order(api, "order-1", (SKU, 3))

    again = order(api, "order-1", (SKU, 3))

    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert on_hand(api) == 7
    assert ledger(api) == {"LAST_ON_HAND": (10, "ACTIVE"), "RESERVED:order-1": (-3, "ACTIVE")}


def test_the_same_order_again_after_it_took_the_last_units_answers_the_order(api, clock) -> None:
    shop(api, (SKU, 3))
    first = order(api, "order-1", (SKU, 3))

    again = order(api, "order-1", (SKU, 3))

    assert (first.status, again.status) == (201, 200), again.body
    assert again.json() == first.json()
    assert on_hand(api) == 0


def test_the_same_conversion_again_answers_the_order(api, clock) -> None:
    shop(api, (SKU, 2))
    hold(api, "cart-1", (SKU, 2))
    first = order(api, "order-1", (SKU, 2), cart="cart-1")

    again = order(api, "order-1", (SKU, 2), cart="cart-1")

    assert (first.status, again.status) == (201, 200), again.body
    assert again.json() == first.json()
    assert on_hand(api) == 0


def test_the_same_order_ref_with_a_different_body_is_a_conflict(api, moto_table, clock) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    before = table_items(moto_table)

    response = order(api, "order-1", (SKU, 4))

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "CONFLICT"
    assert [d["field"] for d in response.json()["error"]["details"]] == ["ref"]
    assert table_items(moto_table) == before
    assert on_hand(api) == 7


# -- ship, cancel, return -----------------------------------------------------------------------


def test_shipping_turns_the_reservation_into_a_sale_and_onhand_stays(api, clock) -> None:
    shop(api, (SKU, 10), buffer=10)
    confirmed(api, "order-1", (SKU, 3))

    clock.advance(minutes=1)
    response = api.post("/orders/order-1/ship")

    assert response.status == 200, response.body
    assert response.json()["status"] == "SHIPPED"
    assert ledger(api) == {
        "LAST_ON_HAND": (10, "ACTIVE"),
        "RESERVED:order-1": (-3, "INACTIVE"),
        "SALE:order-1": (-3, "ACTIVE"),
    }
    assert (on_hand(api), ats(api)) == (7, 6)
    assert_reconciled(1)


def test_shipping_twice_ships_once(api, clock) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    api.post("/orders/order-1/ship")

    again = api.post("/orders/order-1/ship")

    assert again.status == 200, again.body
    assert again.json()["status"] == "SHIPPED"
    assert on_hand(api) == 7
    assert_reconciled(1)


def test_cancelling_an_order_gives_its_units_back(api, clock) -> None:
    shop(api, (SKU, 10), buffer=10)
    hold(api, "cart-1", (SKU, 3))
    confirmed(api, "order-1", (SKU, 3), cart="cart-1")

    response = api.post("/orders/order-1/cancel")

    assert response.status == 200, response.body
    assert response.json()["status"] == "CANCELLED"
    assert ledger(api)["RESERVED:order-1"] == (-3, "INACTIVE")
    assert (on_hand(api), ats(api)) == (10, 9)
    assert api.get("/orders/order-1").json()["status"] == "CANCELLED"
    assert_reconciled(1)


def test_a_return_after_shipping_puts_the_units_back_on_hand(api, clock) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    api.post("/orders/order-1/ship")

    response = api.post("/orders/order-1/return")

    assert response.status == 200, response.body
    assert response.json()["status"] == "RETURNED"
    assert ledger(api) == {
        "LAST_ON_HAND": (10, "ACTIVE"),
        "RESERVED:order-1": (-3, "INACTIVE"),
        "SALE:order-1": (-3, "ACTIVE"),
        "RETURNED:order-1": (3, "ACTIVE"),
    }
    assert on_hand(api) == 10
    assert_reconciled(1)


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        pytest.param(["cancel"], "ship", id="ship-a-cancelled-order"),
        pytest.param([], "return", id="return-an-unshipped-order"),
        pytest.param(["cancel"], "return", id="return-a-cancelled-order"),
        pytest.param(["ship"], "cancel", id="cancel-a-shipped-order"),
        pytest.param(["ship", "return"], "ship", id="ship-a-returned-order"),
    ],
)
def test_an_illegal_order_transition_is_a_conflict_and_writes_nothing(
    api, moto_table, clock, steps: list[str], illegal: str
) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    for step in steps:
        assert api.post(f"/orders/order-1/{step}").status == 200
    status = api.get("/orders/order-1").json()["status"]
    count = on_hand(api)
    before = table_items(moto_table)

    response = api.post(f"/orders/order-1/{illegal}")

    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "CONFLICT"
    assert table_items(moto_table) == before
    assert api.get("/orders/order-1").json()["status"] == status
    assert on_hand(api) == count


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/orders/order-404"),
        ("POST", "/orders/order-404/ship"),
        ("POST", "/orders/order-404/cancel"),
        ("POST", "/orders/order-404/return"),
    ],
)
def test_an_unknown_order_is_404(api, clock, method: str, path: str) -> None:
    response = api.request(method, path)

    assert response.status == 404, response.body
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_snapshot_after_a_shipment_supersedes_its_sale_and_keeps_open_reservations(
    api, clock
) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    confirmed(api, "order-2", (SKU, 2))
    api.post("/orders/order-1/ship")
    assert on_hand(api) == 5

    clock.advance(minutes=1)
    counted = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 7,
        "asOf": to_iso(clock.now),
    }
    response = api.post("/inventory/batch", {"entities": [counted]})

    assert response.json()["results"][0]["status"] == "APPLIED", response.body
    entries = ledger(api)
    assert entries["LAST_ON_HAND"] == (7, "ACTIVE")
    assert entries["SALE:order-1"] == (-3, "INACTIVE")
    assert entries["RESERVED:order-2"] == (-2, "ACTIVE")
    assert on_hand(api) == 7 - 2
    assert_reconciled(1)


def test_a_snapshot_counted_before_a_shipment_keeps_its_sale(api, clock) -> None:
    shop(api, (SKU, 10))
    confirmed(api, "order-1", (SKU, 3))
    counted_at = to_iso(clock.now)
    clock.advance(minutes=1)
    api.post("/orders/order-1/ship")

    counted = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 10,
        "asOf": counted_at,
    }
    response = api.post("/inventory/batch", {"entities": [counted]})

    assert response.json()["results"][0]["status"] == "APPLIED", response.body
    assert ledger(api)["SALE:order-1"] == (-3, "ACTIVE")
    assert on_hand(api) == 10 - 3
    assert_reconciled(1)
