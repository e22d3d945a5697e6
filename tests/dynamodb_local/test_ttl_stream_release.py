"""Holds expire through the real TTL path (docs/behaviour.md §5): DynamoDB Local's TTL deletes a hold's
timer item, the stream carries the service's REMOVE, the local poller applies the template's
filter and invokes the expiry function, and the hold is released.

TTL compares ``ttl`` with the engine's real clock, so the hold is created with the services'
clock 20 minutes behind real time: its 15-minute timer is already due when it is written.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

import pytest

from holdfast.runtime import get_runtime
from holdfast_cli.local.stream_poller import StreamPoller

pytestmark = pytest.mark.dynamodb_local

SKU = "TTL_SNEAKER_BLK_US9"
DC = "MAIN_DC"
STOCK = 5


def configure(api) -> None:
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert api.put(f"/locations/{DC}", location).status == 200
    stock = {"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": STOCK}
    assert api.post("/inventory/batch", {"entities": [stock]}).status == 200


def hold(api, ref: str) -> dict[str, Any]:
    cart = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": 1}],
    }
    response = api.post("/fulfilment-options", cart)
    assert response.status == 201, response.body
    assert response.json()["status"] == "ACTIVE"
    return response.json()


def on_hand(api) -> int:
    return api.get(f"/inventory-positions/{SKU}:{DC}:DEFAULT").json()["onHand"]


def stored_status(ref: str) -> str:
    """The status written in the table, not the one computed on read."""
    return get_runtime().table.get_cart(ref).status


class RecordingInvoke:
    """Passes each invocation to the real function and keeps the events the expiry function
    was given (the demand-signals function reads the same stream)."""

    def __init__(self, api) -> None:
        self.api = api
        self.events: list[dict[str, Any]] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function == "HoldExpiryFunction":
            self.events.append(event)
        return self.api.invoke(function, event)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]


def test_ttl_deletion_of_a_timer_releases_the_hold_and_a_users_deletion_does_not(
    local_api, local_table, clock, dynamodb_local_endpoint
):
    configure(local_api)
    real_now = clock.now
    clock.now = real_now - timedelta(minutes=20)
    hold(local_api, "cart-ttl-due")  # expiresAt 5 minutes ago: TTL deletes its timer
    clock.now = real_now
    hold(local_api, "cart-user-delete")  # expires in 15 minutes: TTL leaves its timer alone
    local_table.delete_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": "FO#cart-user-delete"}, "sk": {"S": "TIMER"}},
    )
    clock.now = real_now + timedelta(minutes=20)  # to the services, both holds are now overdue
    assert on_hand(local_api) == STOCK - 2

    invoke = RecordingInvoke(local_api)
    poller = StreamPoller.for_table(
        dynamodb_local_endpoint,
        os.environ["TABLE_NAME"],
        invoke=invoke,
        starting_position="TRIM_HORIZON",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while stored_status("cart-ttl-due") != "EXPIRED":
            assert time.monotonic() < deadline, f"not released within 60 s; poller: {poller.stats}"
            time.sleep(0.25)
    finally:
        poller.stop()

    assert on_hand(local_api) == STOCK - 1
    assert stored_status("cart-user-delete") == "ACTIVE", "a user's DeleteItem is not an expiry"
    assert [
        (r["eventName"], r["dynamodb"]["OldImage"]["foRef"]["S"], r["userIdentity"])
        for r in invoke.records
    ] == [("REMOVE", "cart-ttl-due", {"type": "Service", "principalId": "dynamodb.amazonaws.com"})]
    assert poller.stats.records_dropped == 0
    checked, drift = get_runtime().inventory.reconcile()
    assert checked == 1 and drift == []


def test_a_redelivered_expiry_record_releases_nothing_more(
    local_api, local_table, clock, dynamodb_local_endpoint
):
    configure(local_api)
    real_now = clock.now
    clock.now = real_now - timedelta(minutes=20)
    hold(local_api, "cart-twice")
    clock.now = real_now

    invoke = RecordingInvoke(local_api)
    poller = StreamPoller.for_table(
        dynamodb_local_endpoint,
        os.environ["TABLE_NAME"],
        invoke=invoke,
        starting_position="TRIM_HORIZON",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while stored_status("cart-twice") != "EXPIRED":
            assert time.monotonic() < deadline, f"not released within 60 s; poller: {poller.stats}"
            time.sleep(0.25)
    finally:
        poller.stop()
    assert on_hand(local_api) == STOCK

    answer = local_api.invoke(
        "HoldExpiryFunction", invoke.events[0]
    )  # Lambda delivers at least once

    assert answer == {"batchItemFailures": []}
    assert on_hand(local_api) == STOCK
    checked, drift = get_runtime().inventory.reconcile()
    assert checked == 1 and drift == []


def test_an_early_ttl_record_still_leaves_the_hold_to_the_sweeper(
    local_api, local_table, clock, dynamodb_local_endpoint
):
    configure(local_api)
    real_now = clock.now
    clock.now = real_now - timedelta(minutes=20)
    hold(local_api, "cart-early")  # TTL deletes its timer now; to the services it is not due
    invoke = RecordingInvoke(local_api)
    poller = StreamPoller.for_table(
        dynamodb_local_endpoint,
        os.environ["TABLE_NAME"],
        invoke=invoke,
        starting_position="TRIM_HORIZON",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while not invoke.records:
            assert time.monotonic() < deadline, "TTL did not delete the timer within 60 s"
            time.sleep(0.25)
    finally:
        poller.stop()
    assert stored_status("cart-early") == "ACTIVE"

    clock.now = real_now  # the hold is now overdue: the scheduled sweeper must release it
    overdue, released = get_runtime().holds.sweep()

    assert (overdue, released) == (1, 1)
    assert stored_status("cart-early") == "EXPIRED"
