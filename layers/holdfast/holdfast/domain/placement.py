"""Where a hold or order takes its units, and what giving a cart's units back writes.

Pure: from the counters as read (shard values included) and the allocations of a plan, the
ledger records to create or deactivate and each counter change with the exact condition it
carries (docs/decisions.md #12 and #14). Storage turns these into transaction items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from holdfast.domain import shards
from holdfast.domain.availability import min_on_hand_for
from holdfast.domain.configuration import Channel
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.planning import Allocation
from holdfast.domain.refs import ip_ref


@dataclass(frozen=True, slots=True)
class CounterStep:
    """ADD ``delta`` to one counter item of a position (shard 0: the position's own item);
    where ``min_on_hand`` is set, only if that item holds at least that much before the
    change (the exact "ATS still covers it" condition)."""

    product_ref: str
    location_ref: str
    delta: int
    min_on_hand: int | None = None
    shard: int = 0
    happened: datetime | None = None
    """For a feed event the step is (an order's SALE or RETURNED): when it happened, so a
    snapshot that already counts it refuses it."""


@dataclass(frozen=True)
class Release:
    """Holds being given back in the same transaction as new ones (a replaced or expired
    cart): per (product, location), the units that come back."""

    units: Mapping[tuple[str, str], int]

    @classmethod
    def none(cls) -> Release:
        return cls({})

    @classmethod
    def of(cls, carts: Iterable[Sequence[Allocation]]) -> Release:
        units: dict[tuple[str, str], int] = {}
        for allocations in carts:
            for allocation in allocations:
                pair = (allocation.product_ref, allocation.location_ref)
                units[pair] = units.get(pair, 0) + allocation.quantity
        return cls(units)


NO_RELEASE = Release({})
"""Nothing given back in the transaction."""


@dataclass(frozen=True)
class Placement:
    """Where one allocation takes its units: counter changes under the ATS condition, and
    the shard whose partition keeps its ledger record."""

    allocation: Allocation
    takes: tuple[shards.Take, ...]
    freed: int


def place_allocations(
    channel: Channel,
    allocations: Sequence[Allocation],
    release: Release = NO_RELEASE,
    shard_values: Mapping[str, Sequence[int]] | None = None,
    *,
    keep_in_shard: bool = False,
) -> list[Placement]:
    """Each allocation's counter changes, conditioned on the channel's ATS still covering it
    (counting units released in the same transaction).

    On a sharded position the units come from one shard that covers the hold alone, or from
    the fullest shards together (:func:`holdfast.domain.shards.place_hold`), by the counters
    as read in ``shard_values`` (per position ref); the conditions make a stale read fail,
    never oversell. With ``keep_in_shard`` (holds), a hold taken from one shard is recorded in
    that shard's partition, so its writes stay off the position's own partition."""
    shard_values = shard_values or {}
    placements = []
    for allocation in allocations:
        position = ip_ref(allocation.product_ref, allocation.location_ref)
        freed = release.units.get((allocation.product_ref, allocation.location_ref), 0)
        threshold = min_on_hand_for(allocation.quantity, channel, allocation.location_ref)
        assert threshold is not None, "a plan never allocates where nothing can be sold"
        values = list(shard_values.get(position, (0,)))
        values[0] += freed  # released in this same transaction, into shard 0
        takes = shards.place_hold(values, threshold, allocation.quantity) if len(values) > 1 else []
        takes = takes or [
            shards.Take(0, allocation.quantity, threshold)
        ]  # fails if the read was right
        shard = takes[0].shard if keep_in_shard and len(takes) == 1 and not freed else 0
        placements.append(Placement(replace(allocation, shard=shard), tuple(takes), freed))
    return placements


@dataclass(frozen=True)
class Taking:
    """What placed allocations write: a negative IQ each, and their counter changes."""

    quantities: tuple[InventoryQuantity, ...]
    counters: tuple[CounterStep, ...]


NOTHING_TAKEN = Taking((), ())


def taking(
    placements: Sequence[Placement],
    iq_type: IqType,
    source_ref: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> Taking:
    """A negative IQ per placed allocation and its counter changes (:func:`place_allocations`):
    shard 0's change nets the units released there, and carries the ATS condition when units
    are taken from it; each other shard taken from carries its own.

    Over 40 lines by a few: one IQ and its counter steps per placement, kept together."""
    quantities: list[InventoryQuantity] = []
    counters: list[CounterStep] = []
    for placement in placements:
        allocation, takes, freed = placement.allocation, placement.takes, placement.freed
        product, location = allocation.product_ref, allocation.location_ref
        quantities.append(
            InventoryQuantity(
                position_ref=ip_ref(product, location),
                type=iq_type,
                quantity=-allocation.quantity,
                status=IqStatus.ACTIVE,
                effective_at=now,
                created_at=now,
                source_ref=source_ref,
                expires_at=expires_at,
                shard=allocation.shard,
            )
        )
        from_base = next((take for take in takes if take.shard == 0), None)
        if from_base is not None or freed:
            counters.append(
                CounterStep(
                    product,
                    location,
                    delta=freed - (from_base.units if from_base else 0),
                    min_on_hand=from_base.at_least - freed if from_base else None,
                )
            )
        for take in takes:
            if take.shard:
                counters.append(
                    CounterStep(product, location, -take.units, take.at_least, take.shard)
                )
    return Taking(tuple(quantities), tuple(counters))


@dataclass(frozen=True)
class HoldRelease:
    """Giving a cart's holds back: its SOFT_RESERVE IQs made INACTIVE, their units back on the
    counters (unless a combined change elsewhere in the transaction carries them), and its
    timer deleted (``timer_of``)."""

    deactivated: tuple[InventoryQuantity, ...]
    counters: tuple[CounterStep, ...]
    timer_of: str | None


def hold_quantity(fo_ref: str, allocation: Allocation, now: datetime) -> InventoryQuantity:
    """The SOFT_RESERVE IQ a fulfilment option wrote for one allocation (its key is what counts)."""
    return InventoryQuantity(
        position_ref=ip_ref(allocation.product_ref, allocation.location_ref),
        type=IqType.SOFT_RESERVE,
        quantity=-allocation.quantity,
        status=IqStatus.ACTIVE,
        effective_at=now,
        created_at=now,
        source_ref=fo_ref,
        shard=allocation.shard,
    )


def release_holds(
    fo_ref: str,
    allocations: Sequence[Allocation],
    now: datetime,
    *,
    skip_counters: Iterable[tuple[str, str]] = (),
) -> HoldRelease:
    """Deactivate a fulfilment option's SOFT_RESERVE IQs and give their units back; positions
    in ``skip_counters`` get their units back through a combined change written elsewhere."""
    skipped = set(skip_counters)
    deactivated = []
    counters = []
    for allocation in allocations:
        deactivated.append(hold_quantity(fo_ref, allocation, now))
        if (allocation.product_ref, allocation.location_ref) not in skipped:
            counters.append(
                CounterStep(allocation.product_ref, allocation.location_ref, allocation.quantity)
            )
    return HoldRelease(tuple(deactivated), tuple(counters), timer_of=fo_ref)
