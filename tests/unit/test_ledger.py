"""The inventory ledger (docs/behaviour.md §2), with no table: what counts toward onHand and what a
snapshot supersedes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from holdfast.domain.configuration import MAX_STOCK
from holdfast.domain.ledger import (
    InventoryQuantity,
    IqStatus,
    IqType,
    SnapshotPlan,
    check_feed_quantity,
    counts_toward_on_hand,
    on_hand,
    plan_snapshot,
)

IP = "ACME_SNEAKER_BLK_US9:MAIN_DC:DEFAULT"
T0 = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def count_over(
    ledger: list[InventoryQuantity],
    *,
    current_snapshot_as_of: datetime | None,
    count: int,
    as_of: datetime,
) -> SnapshotPlan:
    """The plan of a count of ``count`` at ``as_of`` over ``ledger`` as read under its fence."""
    snapshot = InventoryQuantity(IP, IqType.LAST_ON_HAND, count, IqStatus.ACTIVE, as_of, as_of)
    return plan_snapshot(
        ledger,
        current_snapshot_as_of,
        snapshot,
        product_ref="ACME_SNEAKER_BLK_US9",
        location_ref="MAIN_DC",
        catalogue="DEFAULT",
        fence_id="fence-1",
        now=as_of,
    )


def iq(
    iq_type: IqType,
    quantity: int,
    hours: float,
    source_ref: str | None = None,
    status: IqStatus = IqStatus.ACTIVE,
) -> InventoryQuantity:
    if source_ref is None and iq_type is not IqType.LAST_ON_HAND:
        source_ref = f"{iq_type.lower()}-{hours}-{quantity}".replace(".", "_")
    return InventoryQuantity(
        position_ref=IP,
        type=iq_type,
        quantity=quantity,
        status=status,
        effective_at=at(hours),
        created_at=at(hours),
        source_ref=source_ref,
    )


def refs(quantities: tuple[InventoryQuantity, ...] | list[InventoryQuantity]) -> set[str]:
    return {q.ref for q in quantities}


def test_seed_ledger_sums_to_45() -> None:
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 0),
        iq(IqType.SOFT_RESERVE, -2, 1, "FO_1234"),
        iq(IqType.RESERVED, -3, 1, "FUL_456"),
    ]
    assert on_hand(ledger, snapshot_as_of=at(0)) == 45


def test_iq_refs_follow_the_spec_format() -> None:
    assert iq(IqType.LAST_ON_HAND, 50, 0).ref == f"{IP}:LAST_ON_HAND"
    assert iq(IqType.SOFT_RESERVE, -2, 1, "FO_1234").ref == f"{IP}:SOFT_RESERVE:FO_1234"
    assert iq(IqType.RESERVED, -3, 1, "FUL_456").ref == f"{IP}:RESERVED:FUL_456"


def test_inactive_quantities_never_count() -> None:
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 0),
        iq(IqType.SOFT_RESERVE, -2, 1, "FO_1", status=IqStatus.INACTIVE),
        iq(IqType.DELTA, 7, 2, "rcpt-1", status=IqStatus.INACTIVE),
    ]
    assert on_hand(ledger, snapshot_as_of=at(0)) == 50


def test_without_a_snapshot_every_active_quantity_counts() -> None:
    ledger = [iq(IqType.DELTA, 10, 1), iq(IqType.SALE, -3, 2), iq(IqType.RETURNED, 1, 3)]
    assert on_hand(ledger, snapshot_as_of=None) == 8


def test_active_events_at_or_before_the_snapshot_do_not_count_even_before_they_are_marked() -> None:
    """Superseded IQs beyond one transaction are marked INACTIVE afterwards; until then the
    rule itself keeps them out of the sum."""
    snapshot = at(5)
    assert not counts_toward_on_hand(iq(IqType.DELTA, 10, 4), snapshot)
    assert not counts_toward_on_hand(iq(IqType.SALE, -1, 5), snapshot)  # at asOf
    assert not counts_toward_on_hand(iq(IqType.CORRECTION, -2, 1), snapshot)
    assert not counts_toward_on_hand(iq(IqType.RETURNED, 1, 3), snapshot)
    assert counts_toward_on_hand(iq(IqType.DELTA, 10, 5.5), snapshot)


def test_holds_and_reservations_count_whenever_they_were_made() -> None:
    snapshot = at(5)
    assert counts_toward_on_hand(iq(IqType.SOFT_RESERVE, -2, 1, "FO_1"), snapshot)
    assert counts_toward_on_hand(iq(IqType.RESERVED, -3, 1, "ORD_1"), snapshot)


def test_only_the_current_snapshot_counts() -> None:
    assert counts_toward_on_hand(iq(IqType.LAST_ON_HAND, 50, 5), at(5))
    assert not counts_toward_on_hand(iq(IqType.LAST_ON_HAND, 40, 4), at(5))


def test_snapshot_supersedes_the_previous_snapshot() -> None:
    previous = iq(IqType.LAST_ON_HAND, 50, 0)
    plan = count_over([previous], current_snapshot_as_of=at(0), count=40, as_of=at(1))
    assert plan.superseded == (previous,)
    assert plan.counter_delta == -10  # 50 -> 40


def test_snapshot_supersedes_sales_returns_deltas_and_corrections_at_or_before_its_count_time() -> (
    None
):
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 0),
        iq(IqType.DELTA, 10, 1, "rcpt-1"),
        iq(IqType.SALE, -4, 2, "till-9"),
        iq(IqType.RETURNED, 1, 2.5, "rtn-3"),
        iq(IqType.CORRECTION, -2, 3, "audit-1"),  # exactly at asOf: already counted
        iq(IqType.SOFT_RESERVE, -2, 1, "FO_1234"),
        iq(IqType.RESERVED, -3, 2, "FUL_456"),
        iq(IqType.DELTA, 5, 4, "rcpt-2"),  # after asOf: not in the count
    ]
    before = on_hand(ledger, snapshot_as_of=at(0))
    assert before == 50 + 10 - 4 + 1 - 2 - 2 - 3 + 5 == 55

    plan = count_over(ledger, current_snapshot_as_of=at(0), count=40, as_of=at(3))

    assert refs(plan.superseded) == {
        f"{IP}:LAST_ON_HAND",
        f"{IP}:DELTA:rcpt-1",
        f"{IP}:SALE:till-9",
        f"{IP}:RETURNED:rtn-3",
        f"{IP}:CORRECTION:audit-1",
    }
    # 40 counted, the holds still promised (-5), the later receipt (+5).
    assert before + plan.counter_delta == 40 - 2 - 3 + 5 == 40
    assert plan.counter_delta == 40 - (50 + 10 - 4 + 1 - 2) == -15


def test_snapshot_keeps_soft_reserves_and_reservations() -> None:
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 0),
        iq(IqType.SOFT_RESERVE, -2, 1, "FO_1234"),
        iq(IqType.RESERVED, -3, 1, "FUL_456"),
    ]
    plan = count_over(ledger, current_snapshot_as_of=at(0), count=48, as_of=at(2))
    assert refs(plan.superseded) == {f"{IP}:LAST_ON_HAND"}
    assert on_hand(ledger, at(0)) + plan.counter_delta == 48 - 2 - 3


def test_snapshot_keeps_events_after_its_count_time() -> None:
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 0),
        iq(IqType.SALE, -1, 3, "till-1"),
        iq(IqType.DELTA, 6, 4, "rcpt-1"),
    ]
    plan = count_over(ledger, current_snapshot_as_of=at(0), count=30, as_of=at(2))
    assert refs(plan.superseded) == {f"{IP}:LAST_ON_HAND"}
    assert plan.counter_delta == -20
    assert on_hand(ledger, at(0)) + plan.counter_delta == 30 - 1 + 6


def test_snapshot_ignores_what_is_already_inactive_or_superseded() -> None:
    ledger = [
        iq(IqType.LAST_ON_HAND, 50, 2),
        iq(IqType.DELTA, 10, 1, "rcpt-old"),  # ACTIVE but before the current snapshot
        iq(IqType.SALE, -1, 2.5, "till-1", status=IqStatus.INACTIVE),
        iq(IqType.DELTA, 4, 3, "rcpt-new"),
    ]
    assert on_hand(ledger, at(2)) == 54
    plan = count_over(ledger, current_snapshot_as_of=at(2), count=20, as_of=at(4))
    assert refs(plan.superseded) == {f"{IP}:LAST_ON_HAND", f"{IP}:DELTA:rcpt-new"}
    assert plan.counter_delta == 20 - 54


def test_first_snapshot_of_a_position_supersedes_earlier_events() -> None:
    ledger = [iq(IqType.DELTA, 10, 1, "rcpt-1"), iq(IqType.DELTA, 3, 5, "rcpt-2")]
    plan = count_over(ledger, current_snapshot_as_of=None, count=25, as_of=at(2))
    assert refs(plan.superseded) == {f"{IP}:DELTA:rcpt-1"}
    assert on_hand(ledger, None) + plan.counter_delta == 25 + 3


def test_snapshot_on_an_empty_ledger_moves_the_counter_by_its_count() -> None:
    plan = count_over([], current_snapshot_as_of=None, count=50, as_of=at(0))
    assert plan.superseded == ()
    assert plan.counter_delta == 50


@pytest.mark.parametrize(
    ("iq_type", "quantity", "problem"),
    [
        (IqType.LAST_ON_HAND, -1, "a LAST_ON_HAND count cannot be negative"),
        (IqType.RETURNED, 0, "a RETURNED quantity is positive"),
        (IqType.RETURNED, -1, "a RETURNED quantity is positive"),
        (IqType.DELTA, 0, "a DELTA of 0 changes nothing"),
        (IqType.CORRECTION, 0, "a CORRECTION of 0 changes nothing"),
        (IqType.DELTA, MAX_STOCK + 1, f"must be between -{MAX_STOCK} and {MAX_STOCK}"),
        (IqType.DELTA, -MAX_STOCK - 1, f"must be between -{MAX_STOCK} and {MAX_STOCK}"),
    ],
)
def test_feed_quantities_that_are_refused(iq_type: IqType, quantity: int, problem: str) -> None:
    assert check_feed_quantity(iq_type, quantity) == problem


@pytest.mark.parametrize(
    ("iq_type", "quantity"),
    [
        (IqType.LAST_ON_HAND, 0),
        (IqType.LAST_ON_HAND, MAX_STOCK),
        (IqType.DELTA, -5),
        (IqType.DELTA, MAX_STOCK),
        (IqType.CORRECTION, -MAX_STOCK),
        (IqType.RETURNED, 1),
    ],
)
def test_feed_quantities_that_are_accepted(iq_type: IqType, quantity: int) -> None:
    assert check_feed_quantity(iq_type, quantity) is None
