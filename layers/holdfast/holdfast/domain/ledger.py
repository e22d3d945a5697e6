"""The inventory ledger (docs/behaviour.md §2): IQ types, their signs, and how a snapshot supersedes.

``onHand(IP) = SUM(quantity of the IP's IQs that count)``. An IQ counts while it is ACTIVE and
not superseded by the position's snapshot. The counter on the IP item is kept equal to that
sum by writing every IQ change and its counter change in one transaction.

A feed event and a count are plans (:class:`AdjustmentPlan`, :class:`SnapshotPlan`) that
storage commits as one transaction each; a failed commit is a :class:`FeedConflict`, and the
feed rules here (:func:`why_refused`, :func:`after_counts`, :func:`fence_refusal`) say what
it means (docs/decisions.md #6, #12, #14).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from holdfast.domain.clock import compact
from holdfast.domain.configuration import MAX_STOCK
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS
from holdfast.domain.refs import iq_ref
from holdfast.domain.shards import Cover


class IqType(StrEnum):
    LAST_ON_HAND = "LAST_ON_HAND"
    DELTA = "DELTA"
    CORRECTION = "CORRECTION"
    RETURNED = "RETURNED"
    SOFT_RESERVE = "SOFT_RESERVE"
    RESERVED = "RESERVED"
    SALE = "SALE"


class IqStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


FEED_TYPES = frozenset({IqType.LAST_ON_HAND, IqType.DELTA, IqType.CORRECTION, IqType.RETURNED})
"""Types a stock feed may send through ``POST /inventory/batch``."""

SUPERSEDED_BY_SNAPSHOT = frozenset({IqType.SALE, IqType.RETURNED, IqType.DELTA, IqType.CORRECTION})
"""Events a snapshot already counts when they happened at or before its ``asOf``.

SOFT_RESERVE and RESERVED are not here: that stock is still in the building, promised."""


@dataclass(frozen=True, slots=True)
class InventoryQuantity:
    """One ledger record. ``effective_at`` is when the event happened (the feed's ``asOf``)."""

    position_ref: str
    type: IqType
    quantity: int
    status: IqStatus
    effective_at: datetime
    created_at: datetime
    source_ref: str | None = None
    expires_at: datetime | None = None
    shard: int = 0
    """Where the record is kept: a hold taken from counter shard n of a sharded position is
    kept in that shard's partition (docs/decisions.md #12); it does not change what it is."""

    @property
    def ref(self) -> str:
        return iq_ref(self.position_ref, self.type, self.source_ref)


def check_feed_quantity(iq_type: IqType, quantity: int) -> str | None:
    """Why ``quantity`` is not acceptable for a feed IQ of ``iq_type``, or ``None``."""
    if abs(quantity) > MAX_STOCK:
        return f"must be between -{MAX_STOCK} and {MAX_STOCK}"
    if iq_type is IqType.LAST_ON_HAND and quantity < 0:
        return "a LAST_ON_HAND count cannot be negative"
    if iq_type is IqType.RETURNED and quantity <= 0:
        return "a RETURNED quantity is positive"
    if iq_type in (IqType.DELTA, IqType.CORRECTION) and quantity == 0:
        return f"a {iq_type} of 0 changes nothing"
    return None


def counts_toward_on_hand(iq: InventoryQuantity, snapshot_as_of: datetime | None) -> bool:
    """Whether the IQ is part of onHand: ACTIVE and not already counted by the snapshot.

    The snapshot's transaction marks superseded IQs INACTIVE; when there are more than one
    transaction can hold, the rest are marked afterwards, and this rule keeps them out of the
    sum in between.
    """
    if iq.status is not IqStatus.ACTIVE:
        return False
    if iq.type is IqType.LAST_ON_HAND:
        return snapshot_as_of is None or iq.effective_at >= snapshot_as_of
    if snapshot_as_of is not None and iq.type in SUPERSEDED_BY_SNAPSHOT:
        return iq.effective_at > snapshot_as_of
    return True


def on_hand(ledger: Iterable[InventoryQuantity], snapshot_as_of: datetime | None) -> int:
    """The ledger sum: what the IP's counter must equal."""
    return sum(iq.quantity for iq in ledger if counts_toward_on_hand(iq, snapshot_as_of))


@dataclass(frozen=True, slots=True)
class FeedCounterChange:
    """Shard 0 of one position (its own item, created if new) moved by a feed event or a
    count, with the conditions the change carries."""

    product_ref: str
    location_ref: str
    catalogue: str
    delta: int
    feed_event_at: datetime | None = None
    """A feed event's: when it happened. Refused if the position's snapshot, or a count's
    fence, is at or after that time (a count already includes it)."""
    snapshot: InventoryQuantity | None = None
    """A count's: recorded on the position (asOf and quantity), only while the fence
    ``fence_id`` still stands; the fence comes down with it."""
    fence_id: str = ""
    cover: Cover | None = None
    """A decrease of a sharded position: the units pulled back from the other shards, each
    conditioned on the shards as read (docs/decisions.md #12). Without one, a decrease is
    refused on a sharded position."""

    @property
    def items(self) -> int:
        """Transaction items it writes: shard 0, each shard the cover pulls from, and, when the
        cover empties the position, a check that each other shard is still empty."""
        cover = self.cover
        if cover is None:
            return 1
        checks = 0
        if cover.floor is None:
            pulled = {move.source for move in cover.moves}
            checks = len([s for s in range(1, cover.shard_count) if s not in pulled])
        return 1 + len(cover.moves) + checks


@dataclass(frozen=True, slots=True)
class AdjustmentPlan:
    """A DELTA, CORRECTION or RETURNED as one transaction: its IQ, created only if its ref is
    new, and the counter moved by its quantity under the feed's conditions."""

    now: datetime
    iq: InventoryQuantity
    counter: FeedCounterChange


def plan_adjustment(
    iq: InventoryQuantity,
    product_ref: str,
    location_ref: str,
    catalogue: str,
    now: datetime,
    cover: Cover | None = None,
) -> AdjustmentPlan:
    """Record ``iq`` (a feed event of the position) and add it to the counter; a decrease of a
    sharded position brings its ``cover`` (:func:`holdfast.domain.shards.cover`)."""
    counter = FeedCounterChange(
        product_ref,
        location_ref,
        catalogue,
        iq.quantity,
        feed_event_at=iq.effective_at,
        cover=cover,
    )
    return AdjustmentPlan(now, iq, counter)


@dataclass(frozen=True, slots=True)
class SnapshotPlan:
    """What applying a count does, as one transaction (and the few writes after it).

    The new LAST_ON_HAND put over the current one, the previous count archived as an INACTIVE
    copy, the superseded feed events marked INACTIVE, and the counter moved by ``count − Σ
    superseded`` with the count recorded under its fence. ``overflow`` are the superseded IQs
    beyond DynamoDB's 100 items, marked INACTIVE after the transaction (no counter change:
    :func:`counts_toward_on_hand` already leaves them out)."""

    now: datetime
    snapshot: InventoryQuantity
    superseded: tuple[InventoryQuantity, ...]
    counter: FeedCounterChange
    archived: InventoryQuantity | None = None
    deactivated: tuple[InventoryQuantity, ...] = ()
    overflow: tuple[InventoryQuantity, ...] = ()

    @property
    def counter_delta(self) -> int:
        return self.counter.delta

    @property
    def items(self) -> int:
        """The transaction items this plan writes (DynamoDB allows 100)."""
        return self.counter.items + 1 + (1 if self.archived else 0) + len(self.deactivated)

    def covered(self, cover: Cover) -> SnapshotPlan:
        """The same plan for a sharded position whose count lowers it: ``cover`` pulls the
        units back from the other shards, which leaves less room for deactivations."""
        return _fit(self, replace(self.counter, cover=cover))


def superseded_by(
    ledger: Iterable[InventoryQuantity], current_snapshot_as_of: datetime | None, as_of: datetime
) -> tuple[InventoryQuantity, ...]:
    """What a count at ``as_of`` supersedes: the previous snapshot and every counted SALE,
    RETURNED, DELTA and CORRECTION at or before ``as_of``."""
    return tuple(
        iq
        for iq in ledger
        if counts_toward_on_hand(iq, current_snapshot_as_of)
        and (
            iq.type is IqType.LAST_ON_HAND
            or (iq.type in SUPERSEDED_BY_SNAPSHOT and iq.effective_at <= as_of)
        )
    )


def plan_snapshot(
    ledger: Iterable[InventoryQuantity],
    current_snapshot_as_of: datetime | None,
    snapshot: InventoryQuantity,
    *,
    product_ref: str,
    location_ref: str,
    catalogue: str,
    fence_id: str,
    now: datetime,
) -> SnapshotPlan:
    """Apply the count ``snapshot`` over the ledger as read under its fence (``fence_id``):
    the counter moves by the count less what the superseded IQs contributed
    (:func:`superseded_by`). A sharded position it lowers needs :meth:`SnapshotPlan.covered`."""
    superseded = superseded_by(ledger, current_snapshot_as_of, snapshot.effective_at)
    delta = snapshot.quantity - sum(iq.quantity for iq in superseded)
    previous = next(
        (iq for iq in superseded if iq.type is IqType.LAST_ON_HAND and iq.source_ref is None),
        None,
    )
    archived = None
    if previous is not None:
        archived = InventoryQuantity(
            position_ref=previous.position_ref,
            type=IqType.LAST_ON_HAND,
            quantity=previous.quantity,
            status=IqStatus.INACTIVE,
            effective_at=previous.effective_at,
            created_at=previous.created_at,
            source_ref=compact(previous.effective_at),
        )
    counter = FeedCounterChange(
        product_ref, location_ref, catalogue, delta, snapshot=snapshot, fence_id=fence_id
    )
    return _fit(SnapshotPlan(now, snapshot, superseded, counter, archived), counter)


def _fit(plan: SnapshotPlan, counter: FeedCounterChange) -> SnapshotPlan:
    """``plan`` with ``counter``, the superseded IQs it deactivates split between the
    transaction's room and the overflow written after it."""
    others = tuple(
        iq
        for iq in plan.superseded
        if not (iq.type is IqType.LAST_ON_HAND and iq.source_ref is None)
    )
    room = MAX_TRANSACTION_ITEMS - counter.items - 1 - (1 if plan.archived else 0)
    return replace(plan, counter=counter, deactivated=others[:room], overflow=others[room:])


class FeedPart(StrEnum):
    QUANTITY_EXISTS = "QUANTITY_EXISTS"
    """The feed event's IQ ref is taken: this event sent again, or another with its sourceRef."""
    COUNTER_REFUSED = "COUNTER_REFUSED"
    """Shard 0 refused: a count includes the event (its snapshot, or a fence), the count's fence
    is gone, or a sharded position's guard (an uncovered decrease, a changed shard count, the
    floor of a cover). :func:`why_refused` tells which from the position read again."""
    SHARD_CHANGED = "SHARD_CHANGED"
    """A shard the cover pulls from, or reads as empty, changed since it was read."""
    SUPERSEDED_CHANGED = "SUPERSEDED_CHANGED"
    """An IQ the count supersedes is no longer ACTIVE."""


@dataclass
class FeedConflict(Exception):
    """A feed event's or a count's transaction was cancelled; ``part`` says which part of the
    plan no longer held (the first of: the IQ, shard 0, another shard, a superseded IQ)."""

    part: FeedPart
    detail: list[str] = field(default_factory=list)


class CountState(Protocol):
    """What the feed rules read of a position: its snapshot and the fence of a count being
    applied (the storage's position record)."""

    @property
    def snapshot_as_of(self) -> datetime | None: ...
    @property
    def snapshot_quantity(self) -> int | None: ...
    @property
    def fence_as_of(self) -> datetime | None: ...
    @property
    def fence_until(self) -> datetime | None: ...


class FeedRefusal(StrEnum):
    FENCE_LAPSED = "FENCE_LAPSED"
    """A fence whose writer's time is up is in the way: take it down, apply the event again
    (never pass through it: its writer could still commit without the event)."""
    COUNTED = "COUNTED"
    """The snapshot counts the event, or a count that includes it is being applied: STALE."""
    UNCOVERED = "UNCOVERED"
    """A decrease of a sharded position whose shards moved since they were read (or were not
    read): read them and apply it again with a fresh cover."""


def lapsed_fence(position: CountState | None, happened: datetime, now: datetime) -> bool:
    """Whether a fence at or after ``happened`` is in the way but its writer's time is up."""
    return (
        position is not None
        and position.fence_as_of is not None
        and position.fence_as_of >= happened
        and position.fence_until is not None
        and position.fence_until < now
    )


def already_counted(position: CountState | None, happened: datetime, now: datetime) -> bool:
    """Whether the feed rules refuse an event that happened at ``happened``: the snapshot
    counts it, or a snapshot counting it is being applied."""
    if position is None:
        return False
    if position.snapshot_as_of is not None and position.snapshot_as_of >= happened:
        return True
    return (
        position.fence_as_of is not None
        and position.fence_as_of >= happened
        and position.fence_until is not None
        and position.fence_until >= now
    )


def why_refused(
    position: CountState | None, event: InventoryQuantity, now: datetime
) -> FeedRefusal:
    """Why shard 0 refused a feed event (:attr:`FeedPart.COUNTER_REFUSED`, or a shard of its
    cover), from the position read after the refusal."""
    if lapsed_fence(position, event.effective_at, now):
        return FeedRefusal.FENCE_LAPSED
    if event.quantity < 0 and not already_counted(position, event.effective_at, now):
        return FeedRefusal.UNCOVERED  # the shard guard failed, not the feed rules
    return FeedRefusal.COUNTED


def after_counts(position: CountState | None) -> datetime | None:
    """Just after the latest count the position holds or is applying, if any: where an
    undated event that such a count would swallow is dated (docs/decisions.md #14)."""
    times = (
        [t for t in (position.snapshot_as_of, position.fence_as_of) if t is not None]
        if position
        else []
    )
    return max(times) + timedelta(milliseconds=1) if times else None


class FenceRefusal(StrEnum):
    ALREADY_APPLIED = "ALREADY_APPLIED"
    """The position's snapshot is this count: UNCHANGED."""
    STALE = "STALE"
    """The position already has a snapshot at or after this count's time."""
    NEWER_COUNT = "NEWER_COUNT"
    """A newer count holds the fence: wait for it to land (or lapse) and try again."""


def fence_refusal(position: CountState | None, count: InventoryQuantity) -> FenceRefusal:
    """Why a count could not fence its position, from the position read after the refusal."""
    current = position.snapshot_as_of if position is not None else None
    if position is None or current is None or count.effective_at > current:
        return FenceRefusal.NEWER_COUNT
    if count.effective_at == current and position.snapshot_quantity == count.quantity:
        return FenceRefusal.ALREADY_APPLIED
    return FenceRefusal.STALE
