"""Writes that another operation runs into between their read and their commit, and
transactions at DynamoDB's 100-item limit (docs/decisions.md #14).

Each interleaving is forced, not hoped for: a botocore hook on the runtime's own client runs
the other operation just before the first one's commit reaches the table. Through the public
path (HTTP event → handler → DynamoDB Local); the interleaving explorer
(tests/dynamodb_local/test_interleavings.py) runs every pair of operations this way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from holdfast.domain import shards
from holdfast.domain.clock import to_iso
from holdfast.domain.planning import MAX_ALLOCATIONS
from holdfast.runtime import get_runtime

DC = "MAIN_DC"
STORE = "STORE_SYDNEY"
SKU = "ACME_SNEAKER_BLK_US9"
POSITION = f"{SKU}:{DC}:DEFAULT"
AS_OF = "2024-03-15T08:00:00.000Z"


pytestmark = pytest.mark.dynamodb_local


@pytest.fixture
def api(local_api):
    """The HTTP API on DynamoDB Local: its transactions are real, and fast at 100 items."""
    return local_api


# -- arranging through the public path ------------------------------------------------------


def ok(response) -> Any:
    assert response.status in (200, 201), response.body
    return response.json()


def shop(api, *counts: tuple[str, int], shards_per_position: int = 1) -> None:
    """ECOMMERCE with no buffer, a DC for home delivery and a store for click & collect."""
    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE", "value": 0}}))
    ok(
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        )
    )
    ok(
        api.put(
            f"/locations/{STORE}",
            {"type": "STORE", "deliveryTypes": ["CC"], "channels": ["ECOMMERCE"], "priority": 2},
        )
    )
    entities = [
        {"productRef": p, "locationRef": loc, "type": "LAST_ON_HAND", "quantity": q, "asOf": AS_OF}
        for p, q in counts
        for loc in (DC, STORE)
    ]
    for start in range(0, len(entities), 1000):
        results = ok(api.post("/inventory/batch", {"entities": entities[start : start + 1000]}))[
            "results"
        ]
        assert {r["status"] for r in results} == {"APPLIED"}
    if shards_per_position > 1:
        for product, _ in counts:
            ok(api.put(f"/products/{product}", {"counterShards": {DC: shards_per_position}}))


def cart(api, ref: str, *lines: tuple[str, int], **extra: Any):
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        **extra,
    }
    return api.post("/fulfilment-options", body)


def order(api, ref: str, *lines: tuple[str, int], **extra: Any):
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        **extra,
    }
    return api.post("/orders", body)


def feed(api, *entities: dict[str, Any]) -> list[dict[str, Any]]:
    return ok(api.post("/inventory/batch", {"entities": list(entities)}))["results"]


def on_hand(api, product: str = SKU, location: str = DC) -> int:
    return ok(api.get(f"/inventory-positions/{product}:{location}:DEFAULT"))["onHand"]


def shard_values(position: str = POSITION) -> tuple[int, ...]:
    return get_runtime().table.get_positions([position])[position].shard_values


def assert_clean() -> None:
    """Counter = ledger sum everywhere, and the shard invariant on every position."""
    _checked, drift = get_runtime().inventory.reconcile()
    assert drift == [], drift
    for position in get_runtime().table.get_positions([POSITION]).values():
        values = position.shard_values
        assert all(v >= 0 for v in values[1:]), values
        assert values[0] >= 0 or not any(values[1:]), values


def just_before(operation: str, action: Callable[[], None], *, nth: int = 1) -> None:
    """Run ``action`` once, right before the ``nth`` ``operation`` call of the runtime's client
    reaches the table (the calls ``action`` itself makes are not counted)."""
    client = get_runtime().table._client
    seen = {"calls": 0, "running": False}

    def hook(**_: Any) -> None:
        if seen["running"]:
            return
        seen["calls"] += 1
        if seen["calls"] == nth:
            seen["running"] = True
            try:
                action()
            finally:
                seen["running"] = False

    client.meta.events.register(f"before-call.dynamodb.{operation}", hook)


# -- a count that empties a sharded position --------------------------------------------------


def test_a_count_that_empties_the_shards_fails_and_redoes_if_a_rebalance_refilled_them(
    api, clock
) -> None:
    """Stock all in shard 0 (8,0,0,0) with 2 held; a count of 1 must pull back every unit. A
    rebalance that spreads shard 0 over the empty shards between the count's read and its
    commit must make the commit fail (the empty shards are checked), never leave shard 0
    negative beside positive shards."""
    shop(api, (SKU, 10), shards_per_position=4)
    assert ok(cart(api, "cart-1", (SKU, 2)))["status"] == "ACTIVE"
    table = get_runtime().table
    position = table.get_positions([POSITION])[POSITION]
    table.commit(table.writes(clock()).gather_units(position, shards.gather(position.shard_values)))
    assert shard_values() == (8, 0, 0, 0)

    def rebalance() -> None:
        read = table.get_positions([POSITION])[POSITION]
        table.commit(table.writes(clock()).move_units(read, shards.rebalance(read.shard_values)))
        assert shard_values() == (2, 2, 2, 2)

    just_before("TransactWriteItems", rebalance)
    later = to_iso(clock() - timedelta(minutes=1))
    [result] = feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "LAST_ON_HAND",
            "quantity": 1,
            "asOf": later,
        },
    )

    assert result["status"] == "APPLIED"
    assert on_hand(api) == -1  # one counted, two of them promised to cart-1
    assert shard_values() == (-1, 0, 0, 0)
    assert_clean()
    assert ok(cart(api, "cart-2", (SKU, 1)))["status"] == "NO_OPTIONS"


# -- a snapshot whose fence lapsed ------------------------------------------------------------


def test_a_snapshot_whose_fence_lapsed_starts_again_when_an_event_it_never_read_lands(
    api, clock
) -> None:
    """The count's writer is slower than its fence: a DELTA dated before the count arrives
    after the fence lapsed. The DELTA takes the lapsed fence down and lands; the count's
    commit then fails on its token and it reads again, superseding the DELTA it counts."""
    shop(api, (SKU, 40))
    count_time = clock() - timedelta(minutes=10)
    before_count = to_iso(count_time - timedelta(minutes=5))

    def slow_writer_meanwhile() -> None:
        clock.advance(seconds=31)
        results = (
            get_runtime()
            .inventory.apply_batch(
                [
                    {
                        "productRef": SKU,
                        "locationRef": DC,
                        "type": "DELTA",
                        "quantity": 5,
                        "sourceRef": "RCPT-1",
                        "asOf": before_count,
                    }
                ]
            )
            .results
        )
        assert results[0].status == "APPLIED"

    just_before("TransactWriteItems", slow_writer_meanwhile)
    [result] = feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "LAST_ON_HAND",
            "quantity": 35,
            "asOf": to_iso(count_time),
        },
    )

    assert result["status"] == "APPLIED"
    assert on_hand(api) == 35  # the count includes the receipt it was taken after
    assert_clean()
    quantities = ok(api.get(f"/inventory-positions/{POSITION}"))["quantities"]
    delta = next(q for q in quantities if q["type"] == "DELTA")
    assert delta["status"] == "INACTIVE"


def test_an_older_count_behind_a_dead_newer_fence_is_a_retry_for_that_entity_alone(
    api, clock
) -> None:
    """A newer count's writer died holding the fence: an older count answers RETRY (the
    rest of the batch applies), and applies once the fence has lapsed."""
    shop(api, (SKU, 40), ("ACME_CAP_RED", 5))
    table = get_runtime().table
    position = table.get_positions([POSITION])[POSITION]
    table.fence_snapshot(
        position.key,
        clock() - timedelta(minutes=1),
        clock() + timedelta(seconds=30),
        clock(),
    )
    older = to_iso(clock() - timedelta(minutes=2))
    entities = [
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "LAST_ON_HAND",
            "quantity": 30,
            "asOf": older,
        },
        {
            "productRef": "ACME_CAP_RED",
            "locationRef": DC,
            "type": "DELTA",
            "quantity": -1,
            "sourceRef": "TILL-1",
        },
    ]

    response = api.post("/inventory/batch", {"entities": entities})

    assert response.status == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["RETRY", "APPLIED"]
    assert "send this entity again" in response.json()["results"][0]["message"]
    assert on_hand(api) == 40 and on_hand(api, "ACME_CAP_RED") == 4

    clock.advance(seconds=31)
    assert [r["status"] for r in feed(api, entities[0])] == ["APPLIED"]
    assert on_hand(api) == 30
    assert_clean()


def test_an_undated_sale_after_a_count_from_a_clock_running_ahead_is_not_dropped(
    api, clock
) -> None:
    shop(api, (SKU, 40))
    ahead = to_iso(clock() + timedelta(minutes=3))
    assert [
        r["status"]
        for r in feed(
            api,
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "LAST_ON_HAND",
                "quantity": 20,
                "asOf": ahead,
            },
        )
    ] == ["APPLIED"]

    [sale] = feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": -1,
            "sourceRef": "TILL-9",
        },
    )

    assert sale["status"] == "APPLIED"
    assert on_hand(api) == 19
    assert_clean()


# -- orders and returns -----------------------------------------------------------------------


def test_a_return_a_stock_feed_already_sent_under_the_order_ref_is_counted_once(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(order(api, "ORD-1", (SKU, 2)))
    ok(api.post("/orders/ORD-1/ship", {}))
    assert [
        r["status"]
        for r in feed(
            api,
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "RETURNED",
                "quantity": 2,
                "sourceRef": "ORD-1",
            },
        )
    ] == ["APPLIED"]

    returned = ok(api.post("/orders/ORD-1/return", {}))

    assert returned["status"] == "RETURNED"
    assert on_hand(api) == 10
    assert_clean()


def test_a_return_a_feed_sent_with_another_quantity_is_a_conflict_and_writes_nothing(
    api, clock
) -> None:
    shop(api, (SKU, 10))
    ok(order(api, "ORD-1", (SKU, 2)))
    ok(api.post("/orders/ORD-1/ship", {}))
    feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "RETURNED",
            "quantity": 1,
            "sourceRef": "ORD-1",
        },
    )

    response = api.post("/orders/ORD-1/return", {})

    assert response.status == 409
    assert "already returned 1" in response.json()["error"]["message"]
    assert ok(api.get("/orders/ORD-1"))["status"] == "SHIPPED"
    assert on_hand(api) == 9


def test_an_orders_updated_at_moves_with_each_step(api, clock) -> None:
    shop(api, (SKU, 10))
    created = ok(order(api, "ORD-1", (SKU, 1)))
    clock.advance(minutes=5)
    shipped = ok(api.post("/orders/ORD-1/ship", {}))
    clock.advance(minutes=5)
    returned = ok(api.post("/orders/ORD-1/return", {}))

    assert created["updatedAt"] == created["createdAt"]
    assert shipped["updatedAt"] == to_iso(clock() - timedelta(minutes=5))
    assert returned["updatedAt"] == to_iso(clock())
    assert ok(api.get("/orders/ORD-1"))["updatedAt"] == returned["updatedAt"]


def test_a_click_and_collect_order_does_not_convert_a_home_delivery_hold(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(cart(api, "cart-1", (SKU, 2)))

    placed = ok(
        order(
            api,
            "ORD-1",
            (SKU, 2),
            deliveryType="CC",
            locationRef=STORE,
            fulfilmentOptionRef="cart-1",
        )
    )

    assert placed["convertedFromHold"] is False
    assert {a["locationRef"] for a in placed["allocations"]} == {STORE}
    assert ok(api.get("/fulfilment-options/cart-1"))["status"] == "REPLACED"
    assert on_hand(api) == 10 and on_hand(api, SKU, STORE) == 8
    assert_clean()


# -- replacements keep the cart's clock --------------------------------------------------------


def test_a_replacement_ends_no_later_than_the_cart_it_replaces(api, clock) -> None:
    shop(api, (SKU, 10))
    first = ok(cart(api, "cart-1", (SKU, 1)))
    clock.advance(minutes=14)

    second = ok(cart(api, "cart-2", (SKU, 1), replaces="cart-1"))

    assert second["status"] == "ACTIVE"
    assert second["expiresAt"] == first["expiresAt"]
    clock.advance(minutes=2)
    late = cart(api, "cart-3", (SKU, 1), replaces="cart-2")
    assert late.status == 409
    assert on_hand(api) == 9  # cart-2 still holds its unit until released


def test_a_replacement_of_an_extended_cart_cannot_be_extended_again(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(cart(api, "cart-1", (SKU, 1)))
    ok(api.post("/fulfilment-options/cart-1/extend", {}))
    ok(cart(api, "cart-2", (SKU, 2), replaces="cart-1"))

    assert api.post("/fulfilment-options/cart-2/extend", {}).status == 409


def test_a_replacement_fails_if_the_cart_expires_before_it_commits(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(cart(api, "cart-1", (SKU, 1)))
    clock.advance(minutes=14, seconds=59)

    def expire_meanwhile() -> None:
        clock.advance(seconds=2)
        assert get_runtime().holds.release_expired("cart-1")

    just_before("TransactWriteItems", expire_meanwhile)
    response = cart(api, "cart-2", (SKU, 1), replaces="cart-1")

    assert response.status == 409
    assert api.get("/fulfilment-options/cart-2").status == 404
    assert ok(api.get("/fulfilment-options/cart-1"))["status"] == "EXPIRED"
    assert on_hand(api) == 10  # released once, by the expiry
    assert_clean()


def test_an_extension_sent_again_with_its_request_id_answers_the_extended_hold(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(cart(api, "cart-1", (SKU, 1)))

    first = ok(api.post("/fulfilment-options/cart-1/extend", {}, query={"requestId": "ext-1"}))
    again = api.post("/fulfilment-options/cart-1/extend", {}, query={"requestId": "ext-1"})
    other = api.post("/fulfilment-options/cart-1/extend", {}, query={"requestId": "ext-2"})

    assert again.status == 200 and again.json()["expiresAt"] == first["expiresAt"]
    assert other.status == 409


# -- transactions at DynamoDB's 100-item limit -------------------------------------------------


def products(prefix: str, count: int = MAX_ALLOCATIONS) -> list[str]:
    return [f"{prefix}_{n:02d}" for n in range(count)]


def test_an_order_of_the_most_lines_ships_and_returns_in_one_transaction_each(api, clock) -> None:
    skus = products("SKU")
    shop(api, *((sku, 3) for sku in skus))
    ok(order(api, "ORD-1", *((sku, 1) for sku in skus)))

    assert ok(api.post("/orders/ORD-1/ship", {}))["status"] == "SHIPPED"
    assert ok(api.post("/orders/ORD-1/return", {}))["status"] == "RETURNED"
    assert all(on_hand(api, sku) == 3 for sku in skus[:3])


def test_replacing_a_full_cart_with_other_lines_is_refused_with_a_reason_and_writes_nothing(
    api, clock
) -> None:
    old, new = products("OLD"), products("NEW")
    shop(api, *((sku, 2) for sku in old + new))
    ok(cart(api, "cart-1", *((sku, 1) for sku in old)))

    response = cart(api, "cart-2", *((sku, 1) for sku in new), replaces="cart-1")

    assert response.status == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "replaces"
    assert "at most 100" in error["message"]
    assert api.get("/fulfilment-options/cart-2").status == 404
    assert ok(api.get("/fulfilment-options/cart-1"))["status"] == "ACTIVE"
    assert on_hand(api, old[0]) == 1 and on_hand(api, new[0]) == 2


def test_replacing_a_cart_of_twenty_lines_fits_and_releases_the_old_lines(api, clock) -> None:
    old, new = products("OLD", 20), products("NEW", 20)
    shop(api, *((sku, 2) for sku in old + new))
    ok(cart(api, "cart-1", *((sku, 1) for sku in old)))

    assert (
        ok(cart(api, "cart-2", *((sku, 1) for sku in new), replaces="cart-1"))["status"] == "ACTIVE"
    )
    assert on_hand(api, old[0]) == 2 and on_hand(api, new[0]) == 1
    assert_clean()


def test_an_order_against_an_expired_unswept_full_cart_of_other_lines_is_confirmed(
    api, clock
) -> None:
    old, new = products("OLD"), products("NEW")
    shop(api, *((sku, 1) for sku in old + new))
    ok(cart(api, "cart-1", *((sku, 1) for sku in old)))
    clock.advance(minutes=16)

    placed = order(api, "ORD-1", *((sku, 1) for sku in new), fulfilmentOptionRef="cart-1")

    assert placed.status == 201, placed.body
    assert ok(api.get("/fulfilment-options/cart-1"))["status"] == "EXPIRED"
    assert on_hand(api, old[0]) == 1 and on_hand(api, new[0]) == 0
    assert_clean()


def test_an_order_against_a_live_full_cart_of_other_lines_is_refused_with_a_reason(
    api, clock
) -> None:
    old, new = products("OLD"), products("NEW")
    shop(api, *((sku, 1) for sku in old + new))
    ok(cart(api, "cart-1", *((sku, 1) for sku in old)))

    response = order(api, "ORD-1", *((sku, 1) for sku in new), fulfilmentOptionRef="cart-1")

    assert response.status == 422
    assert response.json()["error"]["details"][0]["field"] == "fulfilmentOptionRef"
    assert api.get("/orders/ORD-1").status == 404
    assert ok(api.get("/fulfilment-options/cart-1"))["status"] == "ACTIVE"
    assert on_hand(api, new[0]) == 1


def test_a_twenty_line_cart_that_needs_every_shard_of_each_line_gathers_them_and_holds(
    api, clock
) -> None:
    """Each line needs all four shards of its position (2,2,2,2 for 8): 20 × (1 + 4) + 2
    items would not fit, so the shards are gathered into one and the cart holds from it."""
    skus = products("HOT", 20)
    shop(api, *((sku, 8) for sku in skus), shards_per_position=4)
    assert shard_values(f"{skus[0]}:{DC}:DEFAULT") == (2, 2, 2, 2)

    held = ok(cart(api, "cart-1", *((sku, 8) for sku in skus)))

    assert held["status"] == "ACTIVE"
    assert all(on_hand(api, sku) == 0 for sku in skus)
    _checked, drift = get_runtime().inventory.reconcile()
    assert drift == []


@pytest.mark.parametrize("lines", [MAX_ALLOCATIONS + 1])
def test_a_cart_or_order_of_more_lines_than_one_transaction_takes_is_refused(
    api, lines: int
) -> None:
    skus = [(f"SKU_{n}", 1) for n in range(lines)]
    for response in (cart(api, "cart-1", *skus), order(api, "ORD-1", *skus)):
        assert response.status == 422
        assert response.json()["error"]["details"][0]["field"] == "lines"


def test_a_sale_and_a_shipment_take_down_a_fence_whose_writer_died(api, clock) -> None:
    """A count's writer died after fencing the position; once its time is up, events it would
    have counted land (they take the fence down) instead of being refused for ever."""
    shop(api, (SKU, 10))
    ok(order(api, "ORD-1", (SKU, 1)))
    table = get_runtime().table
    position = table.get_positions([POSITION])[POSITION]
    table.fence_snapshot(
        position.key,
        clock() + timedelta(minutes=2),
        clock() + timedelta(seconds=30),
        clock(),
    )
    assert api.post("/orders/ORD-1/ship", {}).status == 409  # the fence stands: a count is landing

    clock.advance(seconds=31)

    assert ok(api.post("/orders/ORD-1/ship", {}))["status"] == "SHIPPED"
    [sale] = feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": -1,
            "sourceRef": "TILL-1",
            "asOf": to_iso(clock() - timedelta(seconds=1)),
        },
    )
    assert sale["status"] == "APPLIED"
    assert table.get_positions([POSITION])[POSITION].fence_id is None
    assert on_hand(api) == 8
    assert_clean()


def test_cancelling_a_hold_past_its_expiry_releases_it_as_expired(api, clock) -> None:
    shop(api, (SKU, 10))
    ok(cart(api, "cart-1", (SKU, 1)))
    clock.advance(minutes=16)

    cancelled = ok(api.delete("/fulfilment-options/cart-1"))

    assert cancelled["status"] == "EXPIRED"
    assert get_runtime().table.get_cart("cart-1").status == "EXPIRED"
    assert on_hand(api) == 10
    assert_clean()


def test_a_count_that_empties_the_shards_reads_again_if_new_shards_were_added_and_filled(
    api, clock
) -> None:
    """The count plans for 4 shards; before it commits the position gets 8 and units move into
    the new ones only. Shards 1..3 are still empty, so only the shard count it was planned for
    can refuse it: shard 0 must not go negative beside the filled new shards."""
    shop(api, (SKU, 10), shards_per_position=4)
    assert ok(cart(api, "cart-1", (SKU, 2)))["status"] == "ACTIVE"
    table = get_runtime().table
    position = table.get_positions([POSITION])[POSITION]
    table.commit(table.writes(clock()).gather_units(position, shards.gather(position.shard_values)))

    def add_and_fill_new_shards() -> None:
        read = table.get_positions([POSITION])[POSITION]
        table.commit(table.writes(clock()).set_shard_count(read, 8, []))
        read = table.get_positions([POSITION], {POSITION: 8})[POSITION]
        table.commit(
            table.writes(clock()).move_units(
                read, [shards.Move(0, shard, 2) for shard in (4, 5, 6, 7)]
            )
        )

    just_before("TransactWriteItems", add_and_fill_new_shards)
    later = to_iso(clock() - timedelta(minutes=1))
    [result] = feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "LAST_ON_HAND",
            "quantity": 1,
            "asOf": later,
        },
    )

    assert result["status"] == "APPLIED"
    assert sum(shard_values()) == -1
    assert_clean()
