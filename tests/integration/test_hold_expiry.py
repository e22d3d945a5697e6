"""Holds expire on time, every time (docs/behaviour.md §5): stream, sweeper and reclaim release each
expired hold exactly once, whichever gets there first."""

from __future__ import annotations

import copy

import pytest

from holdfast.runtime import get_runtime
from holdfast_cli.local.api import LocalApi
from tests.stream_records import timer_deleted_by_ttl

SKU = "FLASH_SNEAKER_GOLD_US8"
DC = "MAIN_DC"
POSITION = f"{SKU}:{DC}:DEFAULT"


@pytest.fixture
def shop(api: LocalApi, clock):
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}).status == 200
    assert (
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        ).status
        == 200
    )
    assert api.put("/timers", {"globalMinutes": 15}).status == 200
    feed = {
        "entities": [{"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 3}]
    }
    assert api.post("/inventory/batch", feed).status == 200
    return api


def hold(api: LocalApi, ref: str, quantity: int = 1):
    return api.post(
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": quantity}],
        },
    )


def on_hand(api: LocalApi) -> int:
    return api.get(f"/inventory-positions/{POSITION}").json()["onHand"]


def stored_status(ref: str) -> str:
    return get_runtime().table.get_cart(ref).status


def stream_batch(api: LocalApi, *records: dict) -> dict:
    return api.invoke("HoldExpiryFunction", {"Records": list(records)})


def test_ttl_deletion_of_a_timer_releases_the_hold(shop, clock):
    assert hold(shop, "cart-1", 2).status == 201
    assert on_hand(shop) == 1
    clock.advance(minutes=15, seconds=1)

    response = stream_batch(shop, timer_deleted_by_ttl("cart-1"))

    assert response == {"batchItemFailures": []}
    assert on_hand(shop) == 3
    assert stored_status("cart-1") == "EXPIRED"
    ledger = shop.get(f"/inventory-positions/{POSITION}").json()["quantities"]
    assert [q["status"] for q in ledger if q["type"] == "SOFT_RESERVE"] == ["INACTIVE"]
    assert shop.get("/fulfilment-options/cart-1").json()["status"] == "EXPIRED"  # still readable


def test_duplicate_and_replayed_stream_records_release_once(shop, clock):
    assert hold(shop, "cart-1", 2).status == 201
    clock.advance(minutes=16)
    record = timer_deleted_by_ttl("cart-1")

    stream_batch(shop, record, copy.deepcopy(record))
    stream_batch(shop, record)

    assert on_hand(shop) == 3  # not 5
    assert get_runtime().inventory.reconcile()[1] == []


def test_a_user_deleting_a_timer_is_not_an_expiry(shop, clock):
    assert hold(shop, "cart-1", 1).status == 201
    clock.advance(minutes=16)

    stream_batch(shop, timer_deleted_by_ttl("cart-1", by_service=False))

    assert stored_status("cart-1") == "ACTIVE"
    assert on_hand(shop) == 2


def test_a_timer_record_before_expiresAt_changes_nothing(shop, clock):
    # TTL never deletes early, but an extended hold's old timer may arrive late: the hold's
    # own expiresAt decides.
    assert hold(shop, "cart-1", 1).status == 201
    assert shop.post("/fulfilment-options/cart-1/extend").status == 200
    clock.advance(minutes=16)  # past the first expiry, before the extended one

    stream_batch(shop, timer_deleted_by_ttl("cart-1"))

    assert stored_status("cart-1") == "ACTIVE"
    assert on_hand(shop) == 2


def test_expiry_of_converted_or_cancelled_or_unknown_holds_changes_nothing(shop, clock):
    assert hold(shop, "ordered", 1).status == 201
    assert hold(shop, "cancelled", 1).status == 201
    assert (
        shop.post(
            "/orders",
            {
                "ref": "order-1",
                "channel": "ECOMMERCE",
                "deliveryType": "HD",
                "fulfilmentOptionRef": "ordered",
                "lines": [{"productRef": SKU, "quantity": 1}],
            },
        ).status
        == 201
    )
    assert shop.delete("/fulfilment-options/cancelled").status == 200
    clock.advance(minutes=16)

    response = stream_batch(
        shop,
        timer_deleted_by_ttl("ordered"),
        timer_deleted_by_ttl("cancelled"),
        timer_deleted_by_ttl("never-existed"),
    )

    assert response == {"batchItemFailures": []}
    assert stored_status("ordered") == "CONVERTED"
    assert stored_status("cancelled") == "CANCELLED"
    assert on_hand(shop) == 2  # the order's unit stays reserved
    assert get_runtime().inventory.reconcile()[1] == []


def test_a_malformed_record_fails_alone_and_the_rest_of_the_batch_is_released(shop, clock):
    assert hold(shop, "cart-1", 1).status == 201
    assert hold(shop, "cart-2", 1).status == 201
    clock.advance(minutes=16)
    malformed = timer_deleted_by_ttl("cart-x")
    malformed["eventName"] = "UNKNOWN_TO_SDK_VERSION"  # what DynamoDB Local 3.x writes for TTL
    malformed["dynamodb"]["SequenceNumber"] = "999"

    response = stream_batch(
        shop, timer_deleted_by_ttl("cart-1"), malformed, timer_deleted_by_ttl("cart-2")
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    assert on_hand(shop) == 3


def test_a_release_crashing_half_way_is_retried_without_double_release(shop, clock, monkeypatch):
    assert hold(shop, "cart-1", 1).status == 201
    assert hold(shop, "cart-2", 1).status == 201
    clock.advance(minutes=16)
    holds = get_runtime().holds
    real_release = holds.release_expired

    def crash_on_cart_2(ref: str) -> bool:
        if ref == "cart-2":
            raise ConnectionError("network went away mid-batch")
        return real_release(ref)

    monkeypatch.setattr(holds, "release_expired", crash_on_cart_2)
    first = stream_batch(shop, timer_deleted_by_ttl("cart-1"), timer_deleted_by_ttl("cart-2"))
    failed = [f["itemIdentifier"] for f in first["batchItemFailures"]]
    assert failed == [timer_deleted_by_ttl("cart-2")["dynamodb"]["SequenceNumber"]]
    assert on_hand(shop) == 2

    monkeypatch.setattr(holds, "release_expired", real_release)
    retry = stream_batch(
        shop, timer_deleted_by_ttl("cart-1"), timer_deleted_by_ttl("cart-2")
    )  # Lambda resends from the failure

    assert retry == {"batchItemFailures": []}
    assert on_hand(shop) == 3
    assert get_runtime().inventory.reconcile()[1] == []


def test_the_sweeper_releases_overdue_holds_that_ttl_has_not_deleted(shop, clock):
    assert hold(shop, "early", 1).status == 201
    clock.advance(minutes=5)
    assert hold(shop, "later", 1).status == 201
    clock.advance(minutes=10, seconds=1)  # "early" is overdue, "later" has 5 minutes left

    result = shop.invoke("HoldSweeperFunction", {"source": "aws.scheduler"})

    assert result == {"overdue": 1, "released": 1}
    assert stored_status("early") == "EXPIRED"
    assert stored_status("later") == "ACTIVE"
    assert on_hand(shop) == 2


def test_a_shopper_just_after_an_expiry_gets_the_unit_whatever_ttl_has_done(shop, clock):
    assert hold(shop, "first-shopper", 3).status == 201
    assert hold(shop, "too-early", 1).json()["status"] == "NO_OPTIONS"
    clock.advance(minutes=15, seconds=1)  # expired a second ago; no TTL, no sweeper yet

    answer = hold(shop, "next-shopper", 1)

    assert answer.json()["status"] == "ACTIVE"
    assert stored_status("first-shopper") == "EXPIRED"
    assert on_hand(shop) == 2


def test_an_order_after_its_hold_expired_reserves_afresh_or_refuses(shop, clock):
    assert hold(shop, "slow-payer", 2).status == 201
    clock.advance(minutes=15, seconds=1)
    assert (
        hold(shop, "fast-shopper", 3).json()["status"] == "ACTIVE"
    )  # reclaimed the slow payer's 2

    late = shop.post(
        "/orders",
        {
            "ref": "order-late",
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "fulfilmentOptionRef": "slow-payer",
            "lines": [{"productRef": SKU, "quantity": 2}],
        },
    )

    assert late.status == 409
    assert late.json()["error"]["code"] == "OUT_OF_STOCK"
    assert late.json()["error"]["details"][0]["productRef"] == SKU
    assert on_hand(shop) == 0
    assert get_runtime().inventory.reconcile()[1] == []


def test_stream_sweeper_and_reclaim_racing_release_each_hold_exactly_once(shop, clock):
    for ref in ("a", "b", "c"):
        assert hold(shop, ref, 1).status == 201
    clock.advance(minutes=16)

    stream_batch(shop, timer_deleted_by_ttl("a"), timer_deleted_by_ttl("b"))
    shop.invoke("HoldSweeperFunction", {})
    get_runtime().holds.reclaim_expired()
    stream_batch(shop, timer_deleted_by_ttl("c"), timer_deleted_by_ttl("a"))

    assert on_hand(shop) == 3
    ledger = shop.get(f"/inventory-positions/{POSITION}").json()["quantities"]
    assert sum(q["quantity"] for q in ledger if q["status"] == "ACTIVE") == 3
    assert get_runtime().inventory.reconcile()[1] == []
