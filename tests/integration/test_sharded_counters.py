"""Sharded onHand counters (docs/decisions.md #12), through the public path.

A position configured with ``counterShards`` keeps the same numbers a retailer sees — onHand,
ATS, the ledger, reconcile — while its holds spread over several counter items.
"""

from __future__ import annotations

from typing import Any

from holdfast.runtime import get_runtime

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
POSITION = f"{SKU}:{DC}:DEFAULT"
AS_OF = "2024-03-15T08:00:00.000Z"


def ok(response) -> Any:
    assert response.status in (200, 201), response.body
    return response.json()


def shop(api, count: int, *, buffer: int = 0, shards: int = 4) -> None:
    buffer_rule = (
        {"type": "PERCENTAGE", "value": buffer} if buffer else {"type": "NONE", "value": 0}
    )
    ok(api.put("/channels/ECOMMERCE", {"buffer": buffer_rule}))
    ok(
        api.put(
            f"/locations/{DC}", {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"]}
        )
    )
    feed(api, {"type": "LAST_ON_HAND", "quantity": count, "asOf": AS_OF})
    ok(api.put(f"/products/{SKU}", {"counterShards": {DC: shards}}))


def feed(api, entity: dict[str, Any]) -> dict[str, Any]:
    body = {"entities": [{"productRef": SKU, "locationRef": DC, **entity}]}
    [result] = ok(api.post("/inventory/batch", body))["results"]
    return result


def hold(api, ref: str, quantity: int = 1) -> dict[str, Any]:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": quantity}],
    }
    return ok(api.post("/fulfilment-options", body))


def shard_values() -> tuple[int, ...]:
    return get_runtime().table.get_positions([POSITION])[POSITION].shard_values


def on_hand(api) -> int:
    return ok(api.get(f"/inventory-positions/{POSITION}"))["onHand"]


def ats(api) -> int:
    query = {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC, "type": "BASE"}
    [item] = ok(api.get("/virtual-positions", query=query))["items"]
    return item["quantity"]


def assert_clean() -> None:
    """Counter = ledger sum, and the shard invariant: shards 1.. never negative, shard 0
    negative only while they are all empty."""
    assert get_runtime().inventory.reconcile() == (1, [])
    values = shard_values()
    assert all(v >= 0 for v in values[1:]), values
    assert values[0] >= 0 or not any(values[1:]), values


def test_sharding_a_position_spreads_its_stock_and_changes_no_figure(api) -> None:
    shop(api, 100, buffer=10)

    assert shard_values() == (25, 25, 25, 25)
    assert on_hand(api) == 100
    assert ats(api) == 90
    assert_clean()


def test_holds_spread_over_the_shards_and_sum_to_the_same_onhand(api) -> None:
    shop(api, 100)

    for n in range(40):
        assert hold(api, f"cart-{n}")["status"] == "ACTIVE"

    assert on_hand(api) == 60
    assert ats(api) == 60
    values = shard_values()
    assert sum(values) == 60
    assert sum(1 for v in values if v < 25) >= 3, values  # more than one counter took holds
    assert_clean()


def test_a_hold_is_granted_whenever_the_total_covers_it_however_the_shards_split(api) -> None:
    """No stock is stranded by the split: 4 units spread 1/1/1/1 still fill a cart of 3 on a
    10 % buffer (ATS 3), and a cart of 4 is refused exactly as on one counter."""
    shop(api, 4, buffer=10)
    assert shard_values() == (1, 1, 1, 1)

    assert hold(api, "too-many", 4)["status"] == "NO_OPTIONS"
    assert hold(api, "three", 3)["status"] == "ACTIVE"

    assert on_hand(api) == 1
    assert ats(api) == 0
    assert hold(api, "one-more", 1)["status"] == "NO_OPTIONS"
    assert_clean()


def test_the_exact_buffer_rule_holds_on_shards_down_to_the_last_unit(api) -> None:
    """Holds of 1 on 50 units at 10 %: each allowed while ATS(onHand) >= 1 — 49, as unsharded."""
    shop(api, 50, buffer=10)

    granted = sum(hold(api, f"cart-{n}")["status"] == "ACTIVE" for n in range(60))

    assert granted == 49
    assert on_hand(api) == 1
    assert_clean()


def test_a_released_hold_comes_back_and_rebalancing_refills_the_shards(api, clock) -> None:
    shop(api, 40)
    for n in range(30):
        hold(api, f"cart-{n}")
    for n in range(20):
        ok(api.delete(f"/fulfilment-options/cart-{n}"))  # cancelled: units back into shard 0

    assert on_hand(api) == 30
    hold(api, "next")  # a hold sees shard 0 fat and the others thin: it rebalances

    values = shard_values()
    assert sum(values) == 29
    assert min(values[1:]) >= 29 // 4 // 2, values
    assert_clean()


def test_a_store_sale_larger_than_shard_0_pulls_units_back_from_the_shards(api) -> None:
    shop(api, 40)  # 10/10/10/10

    result = feed(api, {"type": "DELTA", "quantity": -25, "sourceRef": "till-1"})

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 15
    assert on_hand(api) == 15
    assert_clean()


def test_a_sale_beyond_all_stock_empties_every_shard_and_refuses_holds(api) -> None:
    shop(api, 8)  # 2/2/2/2

    assert (
        feed(api, {"type": "DELTA", "quantity": -11, "sourceRef": "shrink-1"})["status"]
        == "APPLIED"
    )

    assert shard_values() == (-3, 0, 0, 0)
    assert on_hand(api) == -3
    assert hold(api, "late", 1)["status"] == "NO_OPTIONS"
    assert_clean()


def test_a_lower_count_on_a_sharded_position_lands_exactly(api, clock) -> None:
    shop(api, 40)
    for n in range(6):
        hold(api, f"cart-{n}")

    count_at = "2024-03-16T08:00:00.000Z"
    result = feed(api, {"type": "LAST_ON_HAND", "quantity": 12, "asOf": count_at})

    assert result["status"] == "APPLIED"
    assert on_hand(api) == 12 - 6  # the count, less the 6 units still held
    assert_clean()


def test_feed_replays_and_stale_events_keep_their_meaning_on_shards(api) -> None:
    shop(api, 40)
    sale = {"type": "DELTA", "quantity": -30, "sourceRef": "till-9"}

    assert feed(api, sale)["status"] == "APPLIED"
    assert feed(api, sale)["status"] == "UNCHANGED"
    before_count = {
        "type": "DELTA",
        "quantity": -5,
        "sourceRef": "old-1",
        "asOf": "2024-03-14T08:00:00.000Z",
    }
    assert feed(api, before_count)["status"] == "STALE"

    assert on_hand(api) == 10
    assert_clean()


def test_fewer_shards_fold_their_units_back_and_holds_go_on(api) -> None:
    shop(api, 40)
    for n in range(10):
        hold(api, f"cart-{n}")

    ok(api.put(f"/products/{SKU}", {"counterShards": {DC: 2}}))
    assert len(shard_values()) == 2
    ok(api.put(f"/products/{SKU}", {}))
    assert shard_values() == (30,)

    assert hold(api, "after", 30)["status"] == "ACTIVE"
    assert on_hand(api) == 0
    assert_clean()


def test_orders_convert_and_reserve_afresh_on_a_sharded_position(api, clock) -> None:
    shop(api, 10)
    hold(api, "cart-1", 2)
    body = {
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": 2}],
    }

    converted = ok(api.post("/orders", {"ref": "order-1", "fulfilmentOptionRef": "cart-1", **body}))
    afresh = ok(
        api.post(
            "/orders", {"ref": "order-2", **body, "lines": [{"productRef": SKU, "quantity": 8}]}
        )
    )

    assert converted["convertedFromHold"] is True
    assert afresh["convertedFromHold"] is False
    assert on_hand(api) == 0
    refused = api.post("/orders", {"ref": "order-3", **body})
    assert refused.status == 409
    ok(api.post("/orders/order-2/cancel", {}))
    assert on_hand(api) == 8
    assert_clean()


def test_expired_holds_on_shards_are_released_into_shard_0(api, clock) -> None:
    shop(api, 12)
    for n in range(8):
        hold(api, f"cart-{n}")
    clock.advance(minutes=16)

    assert get_runtime().holds.sweep() == (8, 8)

    assert on_hand(api) == 12
    assert ats(api) == 12
    assert_clean()


def test_a_bad_shard_count_is_refused_and_changes_nothing(api) -> None:
    shop(api, 40)

    for bad in (0, 33, "4", -1):
        response = api.put(f"/products/{SKU}", {"counterShards": {DC: bad}})
        assert response.status == 422, response.body
        assert "counterShards" in response.body

    assert shard_values() == (10, 10, 10, 10)


def test_holds_are_kept_in_their_shards_partition_and_still_read_and_released_after_resharding(
    api,
) -> None:
    shop(api, 40)
    for n in range(12):
        hold(api, f"cart-{n}")
    items = get_runtime().table._client.scan(TableName=get_runtime().table.table_name)["Items"]
    partitions = {
        item["pk"]["S"] for item in items if item.get("type", {}).get("S") == "SOFT_RESERVE"
    }
    assert len(partitions) > 1, partitions  # not all on the position's own partition

    ok(api.put(f"/products/{SKU}", {}))  # back to one counter: the holds stay where they were
    position = ok(api.get(f"/inventory-positions/{POSITION}"))
    assert (
        sum(q["status"] == "ACTIVE" and q["type"] == "SOFT_RESERVE" for q in position["quantities"])
        == 12
    )
    assert position["onHand"] == 28

    for n in range(12):
        assert ok(api.delete(f"/fulfilment-options/cart-{n}"))["status"] == "CANCELLED"
    assert on_hand(api) == 40
    assert shard_values() == (40,)
    assert_clean()
