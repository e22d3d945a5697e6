"""The inventory ledger (docs/behaviour.md §2): IQ types, their signs, and how a snapshot supersedes.

``onHand(IP) = SUM(quantity of the IP's IQs that count)``. An IQ counts while it is ACTIVE and
not superseded by the position's snapshot. The counter on the IP item is kept equal to that
sum by writing every IQ change and its counter change in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from holdfast.domain.configuration import MAX_STOCK
from holdfast.domain.refs import iq_ref


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
class SnapshotPlan:
    """What applying a snapshot does: the IQs it supersedes and the counter change."""

    superseded: tuple[InventoryQuantity, ...]
    counter_delta: int


def plan_snapshot(
    ledger: Iterable[InventoryQuantity],
    current_snapshot_as_of: datetime | None,
    count: int,
    as_of: datetime,
) -> SnapshotPlan:
    """Supersede the previous snapshot and every counted SALE/RETURNED/DELTA/CORRECTION at or
    before ``as_of``; the counter moves by ``count`` less what those IQs contributed."""
    superseded = tuple(
        iq
        for iq in ledger
        if counts_toward_on_hand(iq, current_snapshot_as_of)
        and (
            iq.type is IqType.LAST_ON_HAND
            or (iq.type in SUPERSEDED_BY_SNAPSHOT and iq.effective_at <= as_of)
        )
    )
    return SnapshotPlan(superseded, count - sum(iq.quantity for iq in superseded))
