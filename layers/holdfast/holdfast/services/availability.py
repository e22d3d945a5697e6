"""What holds and orders read before they plan, and what they share around it.

The counters a plan is made from (one BatchGetItem, shards included) as ATS per position,
the candidate locations, the shard upkeep after a commit (rebalance, gather), and the request
fingerprint a retry is told by.
Placement and release are pure (:mod:`holdfast.domain.placement`); the transactions are
storage's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from holdfast.domain import shards
from holdfast.domain.availability import available_to_sell
from holdfast.domain.configuration import Channel, Configuration, Product
from holdfast.domain.placement import NO_RELEASE, Placement, Release
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS, Plan
from holdfast.domain.refs import ip_ref
from holdfast.errors import Conflict, NotFound, TooManyWrites
from holdfast.storage import CartRecord, InventoryTable, OrderRecord, PositionRecord

Stored = TypeVar("Stored", CartRecord, OrderRecord)


def request_fingerprint(request: Any) -> str:
    """A stable hash of a request body, to tell a retry from a conflicting reuse of a ref."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed(document: Stored | None, fingerprint: str, what: str, used_for: str) -> Stored:
    """The stored FO or order a retried request answers with, or a 409 when the ref was
    first used for a different request."""
    if document is None:
        raise Conflict(f"{what} vanished while being created; retry")
    if document.request_hash != fingerprint:
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


@dataclass(frozen=True)
class Stock:
    """What a plan is made from: ATS per (product, location) and the counters as read (the
    shard values tell a hold where to take its units)."""

    ats: dict[tuple[str, str], int]
    positions: Mapping[str, PositionRecord]

    @property
    def shard_values(self) -> dict[str, tuple[int, ...]]:
        """Each position's counter values as read (index 0: the position's own item)."""
        return {ref: position.shard_values for ref, position in self.positions.items()}


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
        release: Release = NO_RELEASE,
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
        return self._move_units(positions, now, shards.rebalance, gathering=False)

    def gather(self, positions: Iterable[PositionRecord], now: datetime) -> int:
        """Bring the units of each position's shards back into shard 0, so its next hold takes
        from one shard. Answers the positions gathered."""
        return self._move_units(positions, now, shards.gather, gathering=True)

    def fits_or_gathered(
        self,
        items: int,
        stock: Stock,
        placements: Sequence[Placement],
        now: datetime,
        *,
        field: str,
        advice: str,
    ) -> bool:
        """Whether a transaction of ``items`` fits (DynamoDB's 100 items). If they do not
        because placements take from several counter shards, those positions' shards are
        gathered into shard 0 and the answer is False: read and plan again, one shard a line.
        Raises :class:`TooManyWrites` naming ``field`` with ``advice`` when gathering cannot help."""
        if items <= MAX_TRANSACTION_ITEMS:
            return True
        spread = spread_over_shards(stock, placements)
        if spread and self.gather(spread, now):
            return False
        raise TooManyWrites.needing(items, field, advice)

    def _move_units(
        self,
        positions: Iterable[PositionRecord],
        now: datetime,
        plan: Callable[[Sequence[int]], list[shards.Move]],
        *,
        gathering: bool,
    ) -> int:
        """Move units between a position's shards as ``plan`` says, one transaction a position,
        best effort, after the caller's own write has committed: a move that meets shards
        changed since the read, or DynamoDB saying "not now", is skipped (the next hold looks
        again)."""
        moved = 0
        for position in positions:
            moves = plan(position.shard_values)
            if moves and self._table.commit_shard_moves(position, moves, now, gathering=gathering):
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
