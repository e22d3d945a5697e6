"""The conditions on the ledger's writes refuse what they must, each on its own.

Most of these conditions are doubled by another (a release checks both the cart's status and
each hold IQ's), so a path through the API alone cannot tell whether either one is there.
These tests commit writes planned from a stale read straight through the storage module, as a
racing path would, and prove each condition refuses them: the mutation run
(``make mutants``, ``tests/mutation/``) deletes each condition and expects a test here to fail.
The last tests prove why ended holds must not leave their timers behind, and that a
rebalance planned before a hold took shard 0's units moves nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from holdfast.domain.placement import release_holds
from holdfast.runtime import get_runtime
from holdfast.storage import WriteConflict

SKU = "COND_TEE_NVY_M"
DC = "COND_DC"
POSITION = f"{SKU}:{DC}:DEFAULT"
FO = "FO"


def ok(response) -> Any:
    assert response.status in (200, 201), response.body
    return response.json()


def shop(api, count: int, *, shards: int = 1) -> None:
    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}))
    ok(
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        )
    )
    ok(api.put("/timers", {"globalMinutes": 15}))
    if shards > 1:
        ok(api.put(f"/products/{SKU}", {"counterShards": {DC: shards}}))
    if count:
        receipt = {
            "productRef": SKU,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": count,
            "sourceRef": "asn-1",
        }
        ok(api.post("/inventory/batch", {"entities": [receipt]}))


def hold(api, ref: str, quantity: int = 1) -> dict[str, Any]:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": quantity}],
    }
    return ok(api.post("/fulfilment-options", body))


def order(api, ref: str, cart: str, quantity: int = 1) -> dict[str, Any]:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": cart,
        "lines": [{"productRef": SKU, "quantity": quantity}],
    }
    return ok(api.post("/orders", body))


def on_hand(api) -> int:
    return ok(api.get(f"/inventory-positions/{POSITION}"))["onHand"]


def stored_status(ref: str) -> str:
    return get_runtime().table.get_cart(ref).status


def refused(writes) -> bool:
    try:
        get_runtime().table.commit(writes)
    except WriteConflict:
        return True
    return False


def test_a_release_planned_from_a_stale_read_of_the_cart_is_refused_by_the_hold_iq(
    api, clock
) -> None:
    shop(api, 5)
    hold(api, "cart-1", 2)
    stale = get_runtime().table.get_cart("cart-1")  # ACTIVE, as a racing release read it
    ok(api.delete("/fulfilment-options/cart-1"))

    writes = get_runtime().table.writes(clock.now)
    writes.release(release_holds(stale.ref, stale.allocations, clock.now))  # no status condition

    assert refused(writes)
    assert on_hand(api) == 5  # the units came back once
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_cart_moves_only_from_the_statuses_the_write_names(api, clock) -> None:
    shop(api, 5)
    hold(api, "cart-1", 2)
    ok(api.delete("/fulfilment-options/cart-1"))

    writes = (
        get_runtime()
        .table.writes(clock.now)
        .update_document(FO, "cart-1", from_statuses=["ACTIVE"], status="EXPIRED")
    )

    assert refused(writes)
    assert stored_status("cart-1") == "CANCELLED"


def test_a_cart_converts_only_while_its_expiry_is_still_ahead_at_the_write(api, clock) -> None:
    shop(api, 5)
    hold(api, "cart-1", 2)
    clock.advance(minutes=15, seconds=1)

    writes = (
        get_runtime()
        .table.writes(clock.now)
        .update_document(
            FO,
            "cart-1",
            from_statuses=["ACTIVE"],
            status="CONVERTED",
            order_ref="order-1",
            unexpired_at=clock.now,
        )
    )

    assert refused(writes)
    assert stored_status("cart-1") == "ACTIVE"


def test_a_cart_is_released_as_expired_only_once_its_expiry_has_passed_at_the_write(
    api, clock
) -> None:
    shop(api, 5)
    hold(api, "cart-1", 2)
    clock.advance(minutes=14, seconds=59)

    writes = (
        get_runtime()
        .table.writes(clock.now)
        .update_document(
            FO, "cart-1", from_statuses=["ACTIVE"], status="EXPIRED", expired_at=clock.now
        )
    )

    assert refused(writes)
    assert stored_status("cart-1") == "ACTIVE"


ENDINGS = ["converted", "cancelled", "swept"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_ended_holds_leave_no_timer_so_reclaim_still_reaches_an_expired_hold_on_the_last_unit(
    api, clock, ending
) -> None:
    """Reclaim reads the oldest overdue timers (25 of them). Timers left behind by holds that
    already ended are older than any live hold's, so they would fill that read and the hold
    on the last unit, expired a minute ago, would never be reclaimed for the next shopper."""
    carts = [f"cart-{n:02d}" for n in range(25)]
    shop(api, len(carts) + 1)
    for cart in carts:
        assert hold(api, cart)["status"] == "ACTIVE"
    if ending == "converted":
        for n, cart in enumerate(carts):
            assert order(api, f"order-{n:02d}", cart)["convertedFromHold"] is True
    elif ending == "cancelled":
        for cart in carts:
            assert ok(api.delete(f"/fulfilment-options/{cart}"))["status"] == "CANCELLED"
    else:
        clock.advance(minutes=16)
        assert api.invoke("HoldSweeperFunction", {"source": "aws.events"}) == {
            "overdue": 25,
            "released": 25,
        }
    last = on_hand(api)
    assert hold(api, "last-units", last)["status"] == "ACTIVE"
    clock.advance(minutes=16)  # the last hold is overdue; no TTL deletion, no sweep yet

    assert get_runtime().table.overdue_holds(clock.now, 25) == ["last-units"]
    assert hold(api, "next-shopper")["status"] == "ACTIVE"
    assert stored_status("last-units") == "EXPIRED"


def test_a_rebalance_planned_before_the_hold_took_shard_0s_units_moves_nothing(api, clock) -> None:
    """The hold reads (10, 0, 0, 0) and takes all 10 from shard 0; the rebalance it then tries
    was planned from that read (spread 6 units out of shard 0) and must find shard 0 empty."""
    shop(api, 10, shards=4)
    table = get_runtime().table
    assert table.get_positions([POSITION])[POSITION].shard_values == (10, 0, 0, 0)

    assert hold(api, "cart-all", 10)["status"] == "ACTIVE"

    values = table.get_positions([POSITION])[POSITION].shard_values
    assert values == (0, 0, 0, 0), values
    assert hold(api, "one-more")["status"] == "NO_OPTIONS"
    assert get_runtime().inventory.reconcile() == (1, [])
