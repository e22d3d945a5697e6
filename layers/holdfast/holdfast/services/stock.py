"""What holds and orders share: candidate locations, ATS reads, releasing a cart's holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from holdfast.domain import shards
from holdfast.domain.availability import available_to_sell, min_on_hand_for
from holdfast.domain.configuration import Channel, Configuration, Product
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS, Allocation, Plan
from holdfast.domain.refs import DEFAULT_CATALOGUE, ip_ref
from holdfast.errors import Conflict, NotFound, TooManyWrites, Unavailable
from holdfast.storage import (
    CounterChange,
    Document,
    InventoryTable,
    LedgerWrites,
    PositionRecord,
    WriteConflict,
)


def request_fingerprint(request: Any) -> str:
    """A stable hash of a request body, to tell a retry from a conflicting reuse of a ref."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed(document: Document | None, fingerprint: str, what: str, used_for: str) -> Document:
    """The stored FO or order a retried request answers with, or a 409 when the ref was
    first used for a different request."""
    if document is None:
        raise Conflict(f"{what} vanished while being created; retry")
    if document.body.get("requestHash") != fingerprint:
        raise Conflict(
            f"{what} {document.ref!r} already exists with a different request",
            [{"field": "ref", "message": f"already used for {used_for}"}],
        )
    return document


def candidate_locations(
    configuration: Configuration, channel: Channel, delivery_type: str, location_ref: str | None
) -> list[str]:
    """Locations that may serve this delivery type to this channel, by priority. For CC (or a
    named location) only that location; an unknown location is a 404."""
    selling = [
        loc
        for loc in configuration.locations_selling_to(channel)
        if delivery_type in loc.deliveryTypes
    ]
    if location_ref is None:
        return [loc.ref for loc in selling]
    if location_ref not in configuration.locations:
        raise NotFound(
            f"location {location_ref!r} is not configured",
            [{"field": "locationRef", "message": "unknown location"}],
        )
    return [loc.ref for loc in selling if loc.ref == location_ref]


def allocations_of(body: Mapping[str, Any]) -> list[Allocation]:
    return [
        Allocation(a["productRef"], a["locationRef"], a["quantity"], a.get("shard", 0))
        for a in body.get("allocations", [])
    ]


def allocation_dicts(allocations: Iterable[Allocation]) -> list[dict[str, Any]]:
    return [
        {
            "productRef": a.product_ref,
            "locationRef": a.location_ref,
            "quantity": a.quantity,
            **({"shard": a.shard} if a.shard else {}),
        }
        for a in allocations
    ]


def plan_dict(plan: Plan) -> dict[str, Any]:
    by_location: dict[str, list[dict[str, Any]]] = {}
    for allocation in plan.allocations:
        by_location.setdefault(allocation.location_ref, []).append(
            {"productRef": allocation.product_ref, "quantity": allocation.quantity}
        )
    return {
        "type": plan.type,
        "fulfilments": [{"locationRef": loc, "items": items} for loc, items in by_location.items()],
    }


@dataclass(frozen=True)
class Release:
    """Holds being given back in the same transaction as new ones (a replaced or expired
    cart): per position, the units that come back."""

    units: Mapping[tuple[str, str], int]

    @classmethod
    def none(cls) -> Release:
        return cls({})

    @classmethod
    def of(cls, documents: Iterable[Document]) -> Release:
        units: dict[tuple[str, str], int] = {}
        for document in documents:
            for allocation in allocations_of(document.body):
                pair = (allocation.product_ref, allocation.location_ref)
                units[pair] = units.get(pair, 0) + allocation.quantity
        return cls(units)


@dataclass(frozen=True)
class Stock:
    """What a plan is made from: ATS per (product, location) and the counters as read (the
    shard values tell a hold where to take its units)."""

    ats: dict[tuple[str, str], int]
    positions: Mapping[str, PositionRecord]


class StockReader:
    """Reads the counters a plan needs (one BatchGetItem, shards included) and answers ATS
    per position."""

    def __init__(self, table: InventoryTable) -> None:
        self._table = table

    def read(
        self,
        channel: Channel,
        products: Sequence[str],
        locations: Sequence[str],
        release: Release = Release.none(),
        settings: Mapping[str, Product] | None = None,
    ) -> Stock:
        refs = {ip_ref(p, loc): (p, loc) for p in products for loc in locations}
        settings = settings or {}
        shard_counts = {
            ref: settings[product].counter_shards_at(location)
            for ref, (product, location) in refs.items()
            if product in settings
        }
        counters = self._table.get_positions(list(refs), shard_counts)
        ats: dict[tuple[str, str], int] = {}
        for ref, (product, location) in refs.items():
            on_hand = counters[ref].on_hand if ref in counters else 0
            ats[(product, location)] = available_to_sell(
                on_hand + release.units.get((product, location), 0), channel, location
            )
        return Stock(ats, counters)

    def rebalance(self, positions: Iterable[PositionRecord], now: datetime) -> int:
        """Refill the shards of sharded positions that ran low, from shard 0. Answers the
        positions rebalanced."""
        return self._move_units(positions, now, shards.rebalance, LedgerWrites.move_units)

    def gather(self, positions: Iterable[PositionRecord], now: datetime) -> int:
        """Bring the units of each position's shards back into shard 0, so its next hold takes
        from one shard. Answers the positions gathered."""
        return self._move_units(positions, now, shards.gather, LedgerWrites.gather_units)

    def fits_or_gathered(
        self,
        writes: LedgerWrites,
        stock: Stock,
        placements: Sequence[Placement],
        now: datetime,
        *,
        field: str,
        advice: str,
    ) -> bool:
        """Whether ``writes`` fit one transaction (DynamoDB's 100 items). If they do not
        because placements take from several counter shards, those positions' shards are
        gathered into shard 0 and the answer is False: read and plan again, one shard a line.
        Raises :class:`TooManyWrites` naming ``field`` with ``advice`` when gathering cannot help."""
        if len(writes.operations) <= MAX_TRANSACTION_ITEMS:
            return True
        spread = spread_over_shards(stock, placements)
        if spread and self.gather(spread, now):
            return False
        raise TooManyWrites.needing(len(writes.operations), field, advice)

    def _move_units(
        self,
        positions: Iterable[PositionRecord],
        now: datetime,
        plan: Callable[[Sequence[int]], list[shards.Move]],
        write: Callable[[LedgerWrites, PositionRecord, Sequence[shards.Move]], LedgerWrites],
    ) -> int:
        """Move units between a position's shards as ``plan`` says, one transaction a position,
        best effort, after the caller's own write has committed: a move that meets shards
        changed since the read, or DynamoDB saying "not now", is skipped (the next hold looks
        again)."""
        moved = 0
        for position in positions:
            moves = plan(position.shard_values)
            if not moves:
                continue
            try:
                self._table.commit(write(self._table.writes(now), position, moves))
            except (WriteConflict, Unavailable):
                continue
            moved += 1
        return moved


def spread_over_shards(stock: Stock, placements: Sequence[Placement]) -> list[PositionRecord]:
    """The positions where a placement takes from more than one counter shard."""
    refs = dict.fromkeys(
        ip_ref(p.allocation.product_ref, p.allocation.location_ref)
        for p in placements
        if len(p.takes) > 1
    )
    return [stock.positions[ref] for ref in refs if ref in stock.positions]


def sharded_positions(stock: Stock, plan: Plan) -> list[PositionRecord]:
    """The sharded positions a plan took from, as read before it did."""
    refs = dict.fromkeys(ip_ref(a.product_ref, a.location_ref) for a in plan.allocations)
    return [
        stock.positions[ref]
        for ref in refs
        if ref in stock.positions and stock.positions[ref].counter_shards > 1
    ]


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
    release: Release = Release.none(),
    positions: Mapping[str, PositionRecord] | None = None,
    *,
    keep_in_shard: bool = False,
) -> list[Placement]:
    """Each allocation's counter changes, conditioned on the channel's ATS still covering it
    (counting units released in the same transaction).

    On a sharded position the units come from one shard that covers the hold alone, or from
    the fullest shards together (:func:`holdfast.domain.shards.place_hold`), by the counters
    as read in ``positions``; the conditions make a stale read fail, never oversell. With
    ``keep_in_shard`` (holds), a hold taken from one shard is recorded in that shard's
    partition, so its writes stay off the position's own partition."""
    positions = positions or {}
    placements = []
    for allocation in allocations:
        position = ip_ref(allocation.product_ref, allocation.location_ref)
        freed = release.units.get((allocation.product_ref, allocation.location_ref), 0)
        threshold = min_on_hand_for(allocation.quantity, channel, allocation.location_ref)
        assert threshold is not None, "a plan never allocates where nothing can be sold"
        record = positions.get(position)
        values = list(record.shard_values) if record is not None else [0]
        values[0] += freed  # released in this same transaction, into shard 0
        takes = shards.place_hold(values, threshold, allocation.quantity) if len(values) > 1 else []
        takes = takes or [
            shards.Take(0, allocation.quantity, threshold)
        ]  # fails if the read was right
        shard = takes[0].shard if keep_in_shard and len(takes) == 1 and not freed else 0
        placements.append(Placement(replace(allocation, shard=shard), tuple(takes), freed))
    return placements


def write_allocations(
    writes: LedgerWrites,
    placements: Sequence[Placement],
    iq_type: IqType,
    source_ref: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    """A negative IQ per placed allocation and its counter changes (:func:`place_allocations`)."""
    for placement in placements:
        allocation, takes, freed = placement.allocation, placement.takes, placement.freed
        position = ip_ref(allocation.product_ref, allocation.location_ref)
        writes.create_quantity(
            InventoryQuantity(
                position_ref=position,
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
            writes.change_counter(
                CounterChange(
                    position,
                    allocation.product_ref,
                    allocation.location_ref,
                    DEFAULT_CATALOGUE,
                    delta=freed - (from_base.units if from_base else 0),
                    min_on_hand=from_base.at_least - freed if from_base else None,
                )
            )
        for take in takes:
            if take.shard:
                writes.change_counter(
                    CounterChange(
                        position,
                        allocation.product_ref,
                        allocation.location_ref,
                        DEFAULT_CATALOGUE,
                        delta=-take.units,
                        min_on_hand=take.at_least,
                        shard=take.shard,
                    )
                )


def release_holds(
    writes: LedgerWrites,
    document: Document,
    now: datetime,
    *,
    skip_counters: Iterable[tuple[str, str]] = (),
) -> None:
    """Deactivate a fulfilment option's SOFT_RESERVE IQs and give their units back; positions
    in ``skip_counters`` get their units back through a combined change written elsewhere."""
    skipped = set(skip_counters)
    for allocation in allocations_of(document.body):
        position = ip_ref(allocation.product_ref, allocation.location_ref)
        writes.deactivate_quantity(hold_quantity(document, allocation, now))
        if (allocation.product_ref, allocation.location_ref) not in skipped:
            writes.change_counter(
                CounterChange(
                    position,
                    allocation.product_ref,
                    allocation.location_ref,
                    DEFAULT_CATALOGUE,
                    allocation.quantity,
                )
            )
    writes.delete_timer(document.ref)


def hold_quantity(document: Document, allocation: Allocation, now: datetime) -> InventoryQuantity:
    """The SOFT_RESERVE IQ a fulfilment option wrote for one allocation (its key is what counts)."""
    return InventoryQuantity(
        position_ref=ip_ref(allocation.product_ref, allocation.location_ref),
        type=IqType.SOFT_RESERVE,
        quantity=-allocation.quantity,
        status=IqStatus.ACTIVE,
        effective_at=now,
        created_at=now,
        source_ref=document.ref,
        shard=allocation.shard,
    )
