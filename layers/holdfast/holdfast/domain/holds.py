"""Hold plans (docs/behaviour.md §4 and §5): everything one hold, replacement or release writes.

Pure: the service reads the counters, the cart it replaces and the configuration; these
functions answer a complete plan — the fulfilment option to create, the SOFT_RESERVE IQs to
create and deactivate, each counter change with its condition, the timer put or deleted,
the replaced cart's transition — and storage commits a plan as one transaction
(docs/decisions.md #14 lists why each condition exists). A plan that fails comes back as a
:class:`HoldConflict` naming the part that no longer held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from holdfast.domain.configuration import Channel
from holdfast.domain.ledger import InventoryQuantity, IqType
from holdfast.domain.placement import (
    NOTHING_TAKEN,
    HoldRelease,
    Placement,
    Release,
    Taking,
    hold_quantity,
    place_allocations,
    release_holds,
    taking,
)
from holdfast.domain.planning import Allocation, Plan


@dataclass(frozen=True)
class HeldCart:
    """An ACTIVE fulfilment option as read: what a replacement or a release gives back."""

    ref: str
    allocations: tuple[Allocation, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class Cart:
    """A cart to hold, as the service resolved it from the request and configuration."""

    ref: str
    channel: Channel
    minutes: int
    """How long its hold lasts (:func:`holdfast.domain.timers.hold_minutes`)."""
    replaces: HeldCart | None = None

    @property
    def release(self) -> Release:
        return Release.of([self.replaces.allocations]) if self.replaces else Release.none()


@dataclass(frozen=True)
class HoldEnd:
    """An ACTIVE fulfilment option moved to ``status`` with its holds given back: only while
    still ACTIVE, and with ``unexpired_at`` only if it has not expired by then (a cancel, a
    replacement), with ``expired_at`` only if it has (a release of an overdue hold)."""

    ref: str
    status: str
    release: HoldRelease
    unexpired_at: datetime | None = None
    expired_at: datetime | None = None

    @property
    def items(self) -> int:
        release = self.release
        return 1 + len(release.deactivated) + len(release.counters) + (1 if release.timer_of else 0)


@dataclass(frozen=True)
class HoldPlan:
    """One hold's transaction: the fulfilment option created (``status`` ACTIVE with its
    holds, or NO_OPTIONS with none), its timer, the units it takes, and the cart it replaces."""

    ref: str
    status: str
    now: datetime
    expires_at: datetime | None = None
    timer_until: datetime | None = None
    taking: Taking = NOTHING_TAKEN
    placements: tuple[Placement, ...] = ()
    replacing: HoldEnd | None = None

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        """The allocations held, each with the shard whose partition keeps its record."""
        return tuple(placement.allocation for placement in self.placements)

    @property
    def items(self) -> int:
        """The transaction items this plan writes (DynamoDB allows 100)."""
        return (
            1
            + (1 if self.timer_until else 0)
            + len(self.taking.quantities)
            + len(self.taking.counters)
            + (self.replacing.items if self.replacing else 0)
        )


class HoldPart(StrEnum):
    CART_EXISTS = "CART_EXISTS"
    """The fulfilment option's ref is taken: this request sent again, or another one."""
    REPLACED_GONE = "REPLACED_GONE"
    """The cart being replaced is no longer an unexpired ACTIVE hold."""
    STOCK_CHANGED = "STOCK_CHANGED"
    """A counter no longer covers what the plan takes: another hold took the stock first."""


@dataclass
class HoldConflict(Exception):
    """A hold plan's transaction was cancelled; ``part`` says which part no longer held."""

    part: HoldPart
    detail: list[str] = field(default_factory=list)


def plan_hold(
    cart: Cart, plan: Plan, shard_values: Mapping[str, Sequence[int]], now: datetime
) -> HoldPlan:
    """Hold ``plan`` for ``cart`` from the counters as read, giving back the cart it replaces
    in the same transaction."""
    expires_at = now + timedelta(minutes=cart.minutes)
    replaced = cart.replaces
    if replaced is not None and replaced.expires_at is not None:
        # A replacement keeps the cart's clock: it ends no later than the cart it
        # replaces and is extended at most once between them (docs/decisions.md #14).
        expires_at = min(expires_at, replaced.expires_at)
    placements = place_allocations(
        cart.channel, plan.allocations, cart.release, shard_values, keep_in_shard=True
    )
    replacing = None
    if replaced is not None:
        # Units back on a position this plan also takes from ride on its combined change.
        taken_again = [(a.product_ref, a.location_ref) for a in plan.allocations]
        release = release_holds(replaced.ref, replaced.allocations, now, skip_counters=taken_again)
        replacing = HoldEnd(replaced.ref, "REPLACED", release, unexpired_at=now)
    return HoldPlan(
        ref=cart.ref,
        status="ACTIVE",
        now=now,
        expires_at=expires_at,
        timer_until=expires_at,
        taking=taking(placements, IqType.SOFT_RESERVE, cart.ref, now, expires_at),
        placements=tuple(placements),
        replacing=replacing,
    )


def plan_refusal(ref: str, now: datetime) -> HoldPlan:
    """The NO_OPTIONS answer, stored so a retry answers the same: nothing held."""
    return HoldPlan(ref=ref, status="NO_OPTIONS", now=now)


def end_hold(
    cart: HeldCart,
    status: str,
    now: datetime,
    *,
    unexpired_at: datetime | None = None,
    expired_at: datetime | None = None,
) -> HoldEnd:
    """End an ACTIVE hold as ``status``, giving its units back (cancel, release on expiry)."""
    release = release_holds(cart.ref, cart.allocations, now)
    return HoldEnd(cart.ref, status, release, unexpired_at=unexpired_at, expired_at=expired_at)


@dataclass(frozen=True)
class Extension:
    """One more timer length for an unexpired ACTIVE hold: its expiry moved from
    ``expires_at_was`` (only if nobody moved it since it was read, and it has not passed
    at ``now``) to ``expires_at``, its timer and its SOFT_RESERVE IQs with it."""

    ref: str
    now: datetime
    expires_at_was: datetime
    expires_at: datetime
    quantities: tuple[InventoryQuantity, ...]
    timer_until: datetime


def plan_extension(cart: HeldCart, minutes: int, now: datetime) -> Extension:
    """Extend ``cart`` (read ACTIVE and unexpired at ``now``) by ``minutes``."""
    assert cart.expires_at is not None, "only an expiring hold is extended"
    expires_at = cart.expires_at + timedelta(minutes=minutes)
    quantities = tuple(hold_quantity(cart.ref, a, now) for a in cart.allocations)
    return Extension(cart.ref, now, cart.expires_at, expires_at, quantities, expires_at)
