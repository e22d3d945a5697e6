"""Holds and orders against a real DynamoDB engine, many shoppers at once.

moto's conditional updates are not atomic under threads (FACTS.md), so "no oversell" is
proved here, on DynamoDB Local, and nowhere else.
"""

from __future__ import annotations

import functools

import pytest

from holdfast.domain.availability import available_to_sell
from holdfast.domain.configuration import Channel
from holdfast.runtime import get_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.process_map import map_in_processes

pytestmark = pytest.mark.dynamodb_local

SKU = "DROP_SNEAKER_RED_US10"
DC = "MAIN_DC"
STORE = "STORE_SYDNEY"


def configure(
    api, *, stock: int, buffer: int = 10, store_stock: int | None = None, shards: int = 1
) -> None:
    assert (
        api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": buffer}}).status
        == 200
    )
    assert (
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        ).status
        == 200
    )
    entities = [{"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": stock}]
    if store_stock is not None:
        assert (
            api.put(
                f"/locations/{STORE}",
                {
                    "type": "STORE",
                    "deliveryTypes": ["HD", "CC"],
                    "channels": ["ECOMMERCE"],
                    "priority": 2,
                },
            ).status
            == 200
        )
        entities.append(
            {
                "productRef": SKU,
                "locationRef": STORE,
                "type": "LAST_ON_HAND",
                "quantity": store_stock,
            }
        )
    assert api.post("/inventory/batch", {"entities": entities}).status == 200
    if shards > 1:  # the DC's counter split over several items (docs/decisions.md #12)
        assert api.put(f"/products/{SKU}", {"counterShards": {DC: shards}}).status == 200


def ats(api, location: str = DC) -> int:
    response = api.get(
        "/virtual-positions",
        query={"channel": "ECOMMERCE", "productRef": SKU, "locationRef": location, "type": "BASE"},
    )
    return response.json()["items"][0]["quantity"]


def on_hand(api, location: str = DC) -> int:
    return api.get(f"/inventory-positions/{SKU}:{location}:DEFAULT").json()["onHand"]


def hold(api, ref: str, quantity: int = 1, **extra):
    return api.post(
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": quantity}],
            **extra,
        },
    )


def assert_ledger_clean() -> None:
    checked, drift = get_runtime().inventory.reconcile()
    assert checked > 0
    assert drift == []
    position = f"{SKU}:{DC}:DEFAULT"
    values = get_runtime().table.get_positions([position])[position].shard_values
    assert all(v >= 0 for v in values[1:]) and (values[0] >= 0 or not any(values[1:])), values


SHARDS = pytest.mark.parametrize("shards", [1, 4], ids=["one-counter", "four-shards"])


@SHARDS
def test_two_hundred_concurrent_holds_take_exactly_what_the_channel_allows(local_api, shards):
    # Stock 50 with a 10 % buffer shows ATS 45. Each hold re-checks the buffer on what is left
    # (docs/behaviour.md §3: a cart add of 2 at onHand 45 leaves 43 with ATS 38), so holds of 1 continue
    # until onHand 1, whose buffer ceil(0.1) = 1 leaves ATS 0: exactly 49 holds, never 50 —
    # on one counter or split over four.
    configure(local_api, stock=50, shards=shards)
    assert ats(local_api) == 45

    responses = map_in_processes(hold_one, [f"cart-{i:03d}" for i in range(200)], processes=12)

    assert all(r.status == 201 for r in responses), [r.body for r in responses if r.status != 201]
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("ACTIVE") == sequential_capacity(50, percentage=10) == 49
    assert statuses.count("NO_OPTIONS") == 200 - 49
    assert on_hand(local_api) == 1
    assert ats(local_api) == 0
    assert_ledger_clean()


def sequential_capacity(stock: int, percentage: int) -> int:
    """How many holds of 1 fit one after another, each needing ATS >= 1 at its own moment."""
    channel = Channel(name="ECOMMERCE", buffer={"type": "PERCENTAGE", "value": percentage})
    count = 0
    while available_to_sell(stock - count, channel, DC) >= 1:
        count += 1
    return count


@SHARDS
def test_concurrent_orders_without_carts_never_oversell(local_api, shards):
    configure(local_api, stock=20, buffer=0, shards=shards)

    responses = map_in_processes(order_one, range(60), processes=12)

    confirmed = [r for r in responses if r.status == 201]
    refused = [r for r in responses if r.status == 409]
    assert len(confirmed) == 20
    assert len(refused) == 40
    assert all(r.json()["error"]["code"] == "OUT_OF_STOCK" for r in refused)
    assert on_hand(local_api) == 0
    assert_ledger_clean()


def test_multi_line_holds_are_all_or_nothing_under_contention(local_api):
    configure(local_api, stock=10, buffer=0)
    other = "DROP_SOCKS_WHITE"
    assert (
        local_api.post(
            "/inventory/batch",
            {
                "entities": [
                    {"productRef": other, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 30}
                ]
            },
        ).status
        == 200
    )

    responses = map_in_processes(functools.partial(bundle_one, other), range(40), processes=12)

    held = [r for r in responses if r.json()["status"] == "ACTIVE"]
    assert len(held) == 10  # the sneaker runs out first; no cart holds socks without it
    assert on_hand(local_api) == 0
    assert (
        local_api.get(f"/inventory-positions/{other}:{DC}:DEFAULT").json()["onHand"] == 30 - 2 * 10
    )
    assert_ledger_clean()


@SHARDS
def test_holds_then_conversions_and_cancels_keep_counter_equal_to_ledger(local_api, shards):
    configure(local_api, stock=30, buffer=0, store_stock=10, shards=shards)

    outcomes = map_in_processes(shop_hold_then_order_or_cancel, range(40), processes=12)

    ordered = outcomes.count("ordered")
    assert ordered * 2 <= 40
    assert on_hand(local_api) + on_hand(local_api, STORE) == 40 - 2 * ordered
    assert_ledger_clean()


def test_store_sales_landing_during_a_sharded_drop_never_let_holds_pass_the_total(local_api):
    """Shard 0 takes the till's sales while the shards take holds: a sale that would take
    shard 0 below zero pulls units back from the shards in its own transaction, so no shard
    can grant a hold the position's total does not cover. 100 shoppers and 10 sales of 2
    race for 60 units: every unit not sold at the till is held (none stranded), none twice."""
    configure(local_api, stock=60, buffer=0, shards=4)

    work = [("hold", i) for i in range(100)] + [("sale", i) for i in range(10)]
    work.sort(key=lambda item: (item[1] * 7919) % 110)  # sales spread through the holds
    outcomes = map_in_processes(hold_or_sell, work, processes=12)

    granted = outcomes.count("ACTIVE")
    assert outcomes.count("APPLIED") == 10
    assert 40 <= granted <= 60
    assert on_hand(local_api) == 60 - 20 - granted
    assert on_hand(local_api) <= 0  # every refusal met an empty position, not a stranded shard
    assert_ledger_clean()


# -- what one shopper does, in a worker process (module level, so it can be sent there) ------


@functools.cache
def worker_api() -> LocalApi:
    return LocalApi()


def hold_one(ref: str):
    return hold(worker_api(), ref)


def hold_or_sell(item: tuple[str, int]) -> str:
    kind, i = item
    if kind == "hold":
        return hold(worker_api(), f"drop-{i:03d}").json()["status"]
    entity = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "DELTA",
        "quantity": -2,
        "sourceRef": f"till-{i}",
    }
    return (
        worker_api().post("/inventory/batch", {"entities": [entity]}).json()["results"][0]["status"]
    )


def order_one(i: int):
    return worker_api().post(
        "/orders",
        {
            "ref": f"order-{i:03d}",
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": 1}],
        },
    )


def bundle_one(other: str, i: int):
    return worker_api().post(
        "/fulfilment-options",
        {
            "ref": f"bundle-{i:03d}",
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": 1}, {"productRef": other, "quantity": 2}],
        },
    )


def shop_hold_then_order_or_cancel(i: int) -> str:
    api = worker_api()
    response = hold(api, f"shopper-{i:03d}", quantity=2, allowSplit=True)
    if response.json()["status"] != "ACTIVE":
        return "refused"
    if i % 3 == 0:
        assert api.delete(f"/fulfilment-options/shopper-{i:03d}").status == 200
        return "cancelled"
    confirmed = api.post(
        "/orders",
        {
            "ref": f"order-{i:03d}",
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "fulfilmentOptionRef": f"shopper-{i:03d}",
            "lines": [{"productRef": SKU, "quantity": 2}],
        },
    )
    assert confirmed.status == 201, confirmed.body
    assert confirmed.json()["convertedFromHold"] is True
    return "ordered"
