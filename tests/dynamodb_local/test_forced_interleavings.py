"""Forced interleavings on DynamoDB Local: one operation is paused between its read and its
commit while another runs to completion, and the checks run at once, before anything (a
rebalance, a retry) can tidy the state up.

The paused operation runs on its own runtime, whose client carries a botocore
``before-call.dynamodb.TransactWriteItems`` hook: when the commit it is waiting for is about
to be sent, the hook runs the other operation through the HTTP path (the process-wide
runtime, another client) and only then lets the commit go. The conditions on the commit must
then refuse what the gap changed, and the operation must read again. The mutation run
(``make mutants``) deletes those conditions and expects these tests to fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import ProductConfig
from holdfast.domain.shards import Move
from holdfast.models import FulfilmentOptionRequest
from holdfast.runtime import Runtime, build_runtime, get_runtime
from holdfast.settings import Settings
from holdfast_cli.local.api import LocalApi

pytestmark = pytest.mark.dynamodb_local

SKU = "GAP_SNEAKER_WHT_US7"
DC = "GAP_DC"
POSITION = f"{SKU}:{DC}:DEFAULT"


class Gap:
    """A runtime whose commit naming ``matching`` waits for ``interloper`` to run first (after
    letting ``skip`` such commits through: a feed decrease's first try, without a cover, only
    learns that the position is sharded)."""

    def __init__(
        self,
        endpoint: str,
        clock: Any,
        matching: str,
        interloper: Callable[[], Any],
        *,
        skip: int = 0,
    ) -> None:
        self.client = boto3.client("dynamodb", endpoint_url=endpoint)
        self.runtime: Runtime = build_runtime(
            Settings.from_environment(), clock=clock, client=self.client
        )
        self.matching = matching
        self.interloper = interloper
        self.skip = skip
        self.ran = 0
        self.client.meta.events.register(
            "before-call.dynamodb.TransactWriteItems", self._before_commit
        )

    def _before_commit(self, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        if self.ran or self.matching not in text:
            return
        if self.skip:
            self.skip -= 1
            return
        self.ran += 1
        self.interloper()


def ok(response) -> Any:
    assert response.status in (200, 201), response.body
    return response.json()


def shop(api: LocalApi, count: int, *, shards: int = 1) -> None:
    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}))
    ok(
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        )
    )
    ok(api.put("/timers", {"globalMinutes": 15}))
    if count:
        feed(api, {"type": "DELTA", "quantity": count, "sourceRef": "asn-1"})
    if shards > 1:  # spreads the stock over the shards
        ok(api.put(f"/products/{SKU}", {"counterShards": {DC: shards}}))


def feed(api: LocalApi, entity: dict[str, Any]) -> dict[str, Any]:
    [result] = ok(
        api.post(
            "/inventory/batch", {"entities": [{"productRef": SKU, "locationRef": DC, **entity}]}
        )
    )["results"]
    return result


def cart(ref: str, quantity: int) -> dict[str, Any]:
    return {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": quantity}],
    }


def shard_values() -> tuple[int, ...]:
    return get_runtime().table.get_positions([POSITION])[POSITION].shard_values


def assert_shard_invariant(values: tuple[int, ...]) -> None:
    """Shards 1.. never negative; shard 0 negative only while they are all empty."""
    assert all(v >= 0 for v in values[1:]), values
    assert values[0] >= 0 or not any(values[1:]), values


def move_into_shards(moves: list[Move], clock: Any) -> None:
    """Shape the shards as a rebalance would (arrange only)."""
    table = get_runtime().table
    position = table.get_positions([POSITION])[POSITION]
    table.commit(table.writes(clock.now).move_units(position, moves))


def test_two_holds_for_the_last_unit_at_the_gap_grant_it_once(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    shop(local_api, 1)
    rival = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        '"FO#first',
        lambda: rival.append(ok(local_api.post("/fulfilment-options", cart("rival", 1)))),
    )

    first, _ = gap.runtime.holds.create(FulfilmentOptionRequest.model_validate(cart("first", 1)))

    assert gap.ran == 1 and rival[0]["status"] == "ACTIVE"
    assert first.status == "NO_OPTIONS"  # its plan was read before the rival took the unit
    assert ok(local_api.get(f"/inventory-positions/{POSITION}"))["onHand"] == 0
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_till_sale_whose_cover_pulls_from_a_shard_a_hold_drains_at_the_gap_reads_again(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """The sharded "till sale vs hold" race, forced: the feed reads (2, 2, 2, 4) and plans to
    pull 1 unit back from shard 3; before it commits, a hold of 4 drains shard 3. The pull
    must be refused (shard 3 no longer holds what was read), not take shard 3 below zero."""
    shop(local_api, 10, shards=4)
    move_into_shards([Move(0, 3, 2)], clock)
    assert shard_values() == (2, 2, 2, 4)
    held = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "till-1",
        lambda: held.append(ok(local_api.post("/fulfilment-options", cart("drain", 4)))),
        skip=1,
    )

    [result] = gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "DELTA",
                "quantity": -3,
                "sourceRef": "till-1",
            }
        ]
    ).results

    values = shard_values()  # at once: no hold has run since to rebalance
    assert gap.ran == 1 and held[0]["status"] == "ACTIVE"
    assert result.status == "APPLIED"
    assert_shard_invariant(values)
    assert sum(values) == 10 - 4 - 3
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_till_sale_covered_by_shard_0_alone_reads_again_when_a_hold_drains_it_at_the_gap(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """The feed reads (4, 2, 2, 2): shard 0 covers the sale of 3 alone (floor 3). A hold of 3,
    which only shard 0 covers, takes it to 1 before the feed commits: the floor refuses it."""
    shop(local_api, 10, shards=4)
    assert shard_values() == (4, 2, 2, 2)
    held = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "till-1",
        lambda: held.append(ok(local_api.post("/fulfilment-options", cart("drain", 3)))),
        skip=1,
    )

    [result] = gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "DELTA",
                "quantity": -3,
                "sourceRef": "till-1",
            }
        ]
    ).results

    values = shard_values()
    assert gap.ran == 1 and held[0]["status"] == "ACTIVE"
    assert result.status == "APPLIED"
    assert_shard_invariant(values)
    assert sum(values) == 10 - 3 - 3
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_sale_beyond_the_whole_position_at_the_gap_of_a_holds_rebalance_keeps_the_shard_invariant(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    shop(local_api, 0, shards=4)
    feed(local_api, {"type": "DELTA", "quantity": 8, "sourceRef": "asn-2"})
    assert shard_values() == (8, 0, 0, 0)
    held = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "shrink-1",
        lambda: held.append(ok(local_api.post("/fulfilment-options", cart("early", 2)))),
        skip=1,
    )

    gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "DELTA",
                "quantity": -10,
                "sourceRef": "shrink-1",
            }
        ]
    )

    assert held[0]["status"] == "ACTIVE"
    assert_shard_invariant(shard_values())
    assert ok(local_api.post("/fulfilment-options", cart("late", 1)))["status"] == "NO_OPTIONS"


def test_an_older_count_paused_at_its_commit_while_a_newer_count_lands_ends_stale(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    shop(local_api, 0)
    older, newer = clock.now - timedelta(minutes=10), clock.now - timedelta(minutes=5)
    count = {"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND"}
    landed = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        to_iso(older),
        lambda: landed.append(
            feed(local_api, {"type": "LAST_ON_HAND", "quantity": 30, "asOf": to_iso(newer)})
        ),
    )

    [result] = gap.runtime.inventory.apply_batch(
        [{**count, "quantity": 20, "asOf": to_iso(older)}]
    ).results

    assert gap.ran == 1 and landed[0]["status"] == "APPLIED"
    assert result.status == "STALE"
    assert ok(local_api.get(f"/inventory-positions/{POSITION}"))["onHand"] == 30
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_count_whose_fence_lapsed_at_its_gap_does_not_drift(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    shop(local_api, 0)
    as_of = clock.now - timedelta(minutes=1)

    def slow_count_meanwhile() -> None:
        clock.advance(seconds=31)  # the count's fence lapses
        early_sale = {
            "type": "DELTA",
            "quantity": 5,
            "sourceRef": "late-asn",
            "asOf": to_iso(as_of - timedelta(seconds=10)),
        }
        feed(local_api, early_sale)

    gap = Gap(dynamodb_local_endpoint, clock, "LAST_ON_HAND", slow_count_meanwhile)

    gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "LAST_ON_HAND",
                "quantity": 35,
                "asOf": to_iso(as_of),
            }
        ]
    )

    assert gap.ran == 1
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_rebalance_into_shards_the_position_dropped_at_its_gap_moves_nothing(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """A hold on (10, 0, 0, 0) commits, then plans a rebalance into shards 1–3; before that
    commits, the position is folded back to one counter. The units must stay counted."""
    shop(local_api, 0, shards=4)
    feed(local_api, {"type": "DELTA", "quantity": 10, "sourceRef": "asn-2"})
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        SKU,
        lambda: ok(local_api.put(f"/products/{SKU}", {})),
        skip=1,
    )  # its rebalance

    view, _ = gap.runtime.holds.create(FulfilmentOptionRequest.model_validate(cart("small", 1)))

    assert gap.ran == 1 and view.status == "ACTIVE"
    assert shard_values() == (9,)
    assert ok(local_api.get(f"/inventory-positions/{POSITION}"))["onHand"] == 9
    query = {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC, "type": "BASE"}
    assert ok(local_api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 9
    assert get_runtime().inventory.reconcile() == (1, [])


def test_two_holds_for_the_one_shard_that_covers_them_at_the_gap_never_take_it_below_zero(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """On (2, 2, 2, 4) only shard 3 covers a hold of 4 alone; the rival takes it first. The
    paused hold's take from shard 3 must be refused, and its next read finds the units
    spread over the other shards (taken together, each as read)."""
    shop(local_api, 10, shards=4)
    move_into_shards([Move(0, 3, 2)], clock)
    rival = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        '"FO#first',
        lambda: rival.append(ok(local_api.post("/fulfilment-options", cart("rival", 4)))),
    )

    first, _ = gap.runtime.holds.create(FulfilmentOptionRequest.model_validate(cart("first", 4)))

    values = shard_values()
    assert gap.ran == 1 and rival[0]["status"] == "ACTIVE" and first.status == "ACTIVE"
    assert_shard_invariant(values)
    assert sum(values) == 10 - 4 - 4
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_sale_beyond_the_whole_position_reads_again_when_the_position_is_resharded_at_its_gap(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """The sale of 10 reads (8, 0, 0, 0): nothing to pull back, shard 0 may go negative. Before
    it commits the position is split over 8 shards: the sale planned for 4 shards must be
    refused and read again, not leave units in new shards beside a negative shard 0."""
    shop(local_api, 0, shards=4)
    feed(local_api, {"type": "DELTA", "quantity": 8, "sourceRef": "asn-2"})
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "shrink-1",
        lambda: ok(local_api.put(f"/products/{SKU}", {"counterShards": {DC: 8}})),
        skip=1,
    )

    [result] = gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "DELTA",
                "quantity": -10,
                "sourceRef": "shrink-1",
            }
        ]
    ).results

    values = shard_values()
    assert gap.ran == 1 and result.status == "APPLIED" and len(values) == 8
    assert_shard_invariant(values)
    assert sum(values) == -2
    assert get_runtime().inventory.reconcile() == (1, [])


def test_folding_shards_back_reads_again_when_a_hold_drains_a_dropped_shard_at_its_gap(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """Folding (2, 2, 2, 4) into one counter moves exactly what each dropped shard held; a hold
    of 4 drains shard 3 first, so the fold must read again rather than count 4 units twice."""
    shop(local_api, 10, shards=4)
    move_into_shards([Move(0, 3, 2)], clock)
    held = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "counterShards = :was",
        lambda: held.append(ok(local_api.post("/fulfilment-options", cart("drain", 4)))),
    )

    gap.runtime.configuration.put_product(SKU, ProductConfig.model_validate({}))

    assert gap.ran == 1 and held[0]["status"] == "ACTIVE"
    assert shard_values() == (6,)
    query = {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC, "type": "BASE"}
    assert ok(local_api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 6
    assert get_runtime().inventory.reconcile() == (1, [])


def test_a_till_sale_pulling_from_a_shard_reads_again_when_a_hold_drains_shard_0_at_the_gap(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """The feed reads (3, 1, 1, 1) and plans a sale of 4 as 1 unit pulled from shard 3 with
    shard 0 keeping its 3 (the floor). A hold of 3, which only shard 0 covers, empties it
    first: the floor refuses the sale, which reads again and empties every shard instead."""
    shop(local_api, 6, shards=4)
    assert shard_values() == (3, 1, 1, 1)
    held = []
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "till-1",
        lambda: held.append(ok(local_api.post("/fulfilment-options", cart("drain", 3)))),
        skip=1,
    )

    [result] = gap.runtime.inventory.apply_batch(
        [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "DELTA",
                "quantity": -4,
                "sourceRef": "till-1",
            }
        ]
    ).results

    values = shard_values()
    assert gap.ran == 1 and held[0]["status"] == "ACTIVE"
    assert result.status == "APPLIED"
    assert_shard_invariant(values)
    assert values == (-1, 0, 0, 0)
    assert get_runtime().inventory.reconcile() == (1, [])


def test_two_reshards_at_one_gap_leave_no_units_in_a_shard_the_position_no_longer_counts(
    local_api, clock, dynamodb_local_endpoint
) -> None:
    """Folding (4, 4, 4, 4) back into one counter is paused at its commit while another
    change splits the position over 8 shards (shard 4 gets 2 units). The fold planned for 4
    shards must be refused and planned again, or shard 4's units drop out of onHand."""
    shop(local_api, 16, shards=4)
    gap = Gap(
        dynamodb_local_endpoint,
        clock,
        "counterShards = :was",
        lambda: ok(local_api.put(f"/products/{SKU}", {"counterShards": {DC: 8}})),
    )

    gap.runtime.configuration.put_product(SKU, ProductConfig.model_validate({}))

    assert gap.ran == 1
    assert shard_values() == (16,)
    query = {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC, "type": "BASE"}
    assert ok(local_api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 16
    assert get_runtime().inventory.reconcile() == (1, [])
