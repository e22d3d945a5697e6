"""Feed events and counts as plans, with no table: what a count writes in its transaction and
after it, and what the feed rules make of a refused feed event (docs/decisions.md #6, #14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from holdfast.domain.ledger import (
    FeedRefusal,
    FenceRefusal,
    InventoryQuantity,
    IqStatus,
    IqType,
    SnapshotPlan,
    after_counts,
    fence_refusal,
    plan_adjustment,
    plan_snapshot,
    why_refused,
)
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS
from holdfast.domain.shards import cover
from holdfast.storage import PositionRecord
from holdfast.storage.feed import _change_counter
from holdfast.storage.transactions import WriteTransaction

PRODUCT, LOCATION = "SKU_1", "MAIN_DC"
IP = f"{PRODUCT}:{LOCATION}:DEFAULT"
T0 = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(quantity: int, minutes: float, ref: str = "till-1") -> InventoryQuantity:
    iq_type = IqType.DELTA
    return InventoryQuantity(IP, iq_type, quantity, IqStatus.ACTIVE, at(minutes), at(minutes), ref)


def count(quantity: int, minutes: float) -> InventoryQuantity:
    return InventoryQuantity(
        IP, IqType.LAST_ON_HAND, quantity, IqStatus.ACTIVE, at(minutes), at(minutes)
    )


def position(**fields: Any) -> PositionRecord:
    return PositionRecord(IP, PRODUCT, LOCATION, "DEFAULT", 10, **fields)


def plan_count(ledger: list[InventoryQuantity], quantity: int, minutes: float) -> SnapshotPlan:
    return plan_snapshot(
        ledger,
        None,
        count(quantity, minutes),
        product_ref=PRODUCT,
        location_ref=LOCATION,
        catalogue="DEFAULT",
        fence_id="fence-1",
        now=at(minutes),
    )


def test_a_count_archives_the_previous_one_and_deactivates_what_it_supersedes() -> None:
    previous = count(50, 0)
    sale = event(-4, 1, "till-9")
    plan = plan_snapshot(
        [previous, sale],
        at(0),
        count(40, 2),
        product_ref=PRODUCT,
        location_ref=LOCATION,
        catalogue="DEFAULT",
        fence_id="fence-1",
        now=at(2),
    )
    assert plan.archived is not None
    assert (plan.archived.status, plan.archived.quantity, plan.archived.source_ref) == (
        IqStatus.INACTIVE,
        50,
        "20240315T080000000Z",
    )
    assert plan.deactivated == (sale,)
    assert plan.overflow == ()
    assert plan.counter.delta == 40 - 46
    assert (plan.counter.fence_id, plan.counter.snapshot) == ("fence-1", plan.snapshot)
    assert plan.counter.feed_event_at is None


def test_what_a_count_supersedes_beyond_one_transaction_is_its_overflow() -> None:
    ledger = [event(1, minute / 100, f"rcpt-{minute}") for minute in range(150)]
    plan = plan_count(ledger, 10, 5)
    assert plan.items == MAX_TRANSACTION_ITEMS
    assert len(plan.deactivated) == MAX_TRANSACTION_ITEMS - 2  # the counter and the new count
    assert plan.deactivated + plan.overflow == tuple(ledger)


@pytest.mark.parametrize(
    "shard_values",
    [(140, 10, 5, 0), (0, 3, 0, 2), (200, 1, 1, 1)],
    ids=["pulls-from-a-shard", "empties-every-shard", "shard-0-covers-it"],
)
def test_a_cover_leaves_less_room_and_the_plan_counts_the_items_storage_writes(
    shard_values: tuple[int, ...],
) -> None:
    ledger = [event(1, minute / 100, f"rcpt-{minute}") for minute in range(150)]
    plan = plan_count(ledger, 0, 5)
    covered = plan.covered(cover(shard_values, plan.counter_delta))
    assert covered.counter.cover is not None

    writes = WriteTransaction("table", at(5))
    _change_counter(writes, covered.counter)
    assert covered.counter.items == len(writes.operations)
    assert covered.items == MAX_TRANSACTION_ITEMS
    assert covered.deactivated + covered.overflow == tuple(ledger)


def test_an_adjustment_plan_carries_when_it_happened_and_its_cover() -> None:
    sale = event(-3, 1)
    shards_cover = cover((1, 5), -3)
    plan = plan_adjustment(sale, PRODUCT, LOCATION, "DEFAULT", at(2), shards_cover)
    assert (plan.iq, plan.now) == (sale, at(2))
    assert (plan.counter.delta, plan.counter.feed_event_at) == (-3, at(1))
    assert (plan.counter.cover, plan.counter.snapshot) == (shards_cover, None)


def test_an_event_refused_by_a_fence_whose_writer_is_out_of_time_takes_it_down() -> None:
    fenced = position(fence_as_of=at(5), fence_until=at(6), fence_id="f")
    assert why_refused(fenced, event(-1, 4), now=at(7)) is FeedRefusal.FENCE_LAPSED
    assert why_refused(fenced, event(-1, 4), now=at(6)) is FeedRefusal.COUNTED  # still standing


def test_an_event_the_snapshot_counts_is_stale_whatever_its_sign() -> None:
    counted = position(snapshot_as_of=at(5))
    assert why_refused(counted, event(-1, 5), now=at(9)) is FeedRefusal.COUNTED
    assert why_refused(counted, event(2, 4), now=at(9)) is FeedRefusal.COUNTED


def test_a_refused_decrease_no_count_includes_lacks_its_cover() -> None:
    sharded = position(snapshot_as_of=at(1), counter_shards=4)
    assert why_refused(sharded, event(-1, 5), now=at(9)) is FeedRefusal.UNCOVERED
    assert why_refused(None, event(-1, 5), now=at(9)) is FeedRefusal.UNCOVERED


def test_an_undated_event_is_dated_just_after_the_latest_count() -> None:
    assert after_counts(None) is None
    assert after_counts(position()) is None
    both = position(snapshot_as_of=at(3), fence_as_of=at(8))
    assert after_counts(both) == at(8) + timedelta(milliseconds=1)


def test_a_count_refused_its_fence_is_unchanged_stale_or_waits() -> None:
    current = position(snapshot_as_of=at(5), snapshot_quantity=40)
    assert fence_refusal(current, count(40, 5)) is FenceRefusal.ALREADY_APPLIED
    assert fence_refusal(current, count(41, 5)) is FenceRefusal.STALE
    assert fence_refusal(current, count(40, 4)) is FenceRefusal.STALE
    assert fence_refusal(current, count(40, 6)) is FenceRefusal.NEWER_COUNT
    assert fence_refusal(None, count(40, 6)) is FenceRefusal.NEWER_COUNT
