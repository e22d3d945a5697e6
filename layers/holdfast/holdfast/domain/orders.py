"""Order plans (docs/behaviour.md §6): what confirming an order writes, as one transaction.

Pure, like :mod:`holdfast.domain.holds`: an order either converts its cart's holds (the
SOFT_RESERVE IQs become RESERVED, the counters do not move) or reserves afresh under the
same ATS conditions a hold carries, giving back in the same transaction whatever live holds
the cart still had. Storage commits an :class:`OrderPlan` with the order item and answers an
:class:`OrderConflict` naming the part that no longer held.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from holdfast.domain.configuration import Channel
from holdfast.domain.holds import HeldCart, HoldEnd
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.placement import (
    NOTHING_TAKEN,
    CounterStep,
    Placement,
    Release,
    Taking,
    hold_quantity,
    place_allocations,
    release_holds,
    taking,
)
from holdfast.domain.planning import Allocation, Plan
from holdfast.domain.refs import ip_ref


@dataclass(frozen=True)
class Conversion:
    """A cart's holds becoming the order's reservations: the cart moves ACTIVE → CONVERTED
    (only while unexpired at the plan's time), each SOFT_RESERVE IQ is deactivated and a
    RESERVED IQ created in its place, and the cart's timer is deleted (``timer_of``)."""

    cart_ref: str
    deactivated: tuple[InventoryQuantity, ...]
    reserved: tuple[InventoryQuantity, ...]
    timer_of: str | None


@dataclass(frozen=True)
class OrderPlan:
    """One order's transaction besides its own item: a conversion, or units taken afresh
    (with the cart it gives back)."""

    ref: str
    now: datetime
    converting: Conversion | None = None
    taking: Taking = NOTHING_TAKEN
    placements: tuple[Placement, ...] = ()
    replacing: HoldEnd | None = None

    @property
    def items(self) -> int:
        """The transaction items this plan writes, the order's own item included."""
        converting = self.converting
        conversion = (
            1 + len(converting.deactivated) + len(converting.reserved) + bool(converting.timer_of)
            if converting
            else 0
        )
        taken = len(self.taking.quantities) + len(self.taking.counters)
        return 1 + conversion + taken + (self.replacing.items if self.replacing else 0)


class OrderPart(StrEnum):
    ORDER_EXISTS = "ORDER_EXISTS"
    """The order's ref is taken: this request sent again, or another one."""
    CART_CHANGED = "CART_CHANGED"
    """The cart it converts or gives back is no longer an unexpired ACTIVE hold."""
    STOCK_CHANGED = "STOCK_CHANGED"
    """A counter refused the change: it no longer covers what the order takes afresh, or (a
    later step) a snapshot already counts an event dated now, or a count's fence stands."""
    ORDER_CHANGED = "ORDER_CHANGED"
    """A later step found the order no longer in the status it was read in."""


@dataclass
class OrderConflict(Exception):
    """An order plan's transaction was cancelled; ``part`` says which part no longer held."""

    part: OrderPart
    detail: list[str] = field(default_factory=list)
    counters: tuple[str, ...] = ()
    """For STOCK_CHANGED: the positions whose counters refused."""


def reserved_quantity(order_ref: str, allocation: Allocation, now: datetime) -> InventoryQuantity:
    """The RESERVED IQ an order keeps for one allocation, in the position's own partition."""
    return InventoryQuantity(
        position_ref=ip_ref(allocation.product_ref, allocation.location_ref),
        type=IqType.RESERVED,
        quantity=-allocation.quantity,
        status=IqStatus.ACTIVE,
        effective_at=now,
        created_at=now,
        source_ref=order_ref,
    )


def plan_conversion(order_ref: str, cart: HeldCart, now: datetime) -> OrderPlan:
    """Convert ``cart``'s holds into ``order_ref``'s reservations; onHand does not move."""
    deactivated = []
    reserved = []
    for allocation in cart.allocations:
        deactivated.append(hold_quantity(cart.ref, allocation, now))
        reserved.append(reserved_quantity(order_ref, allocation, now))
    conversion = Conversion(cart.ref, tuple(deactivated), tuple(reserved), timer_of=cart.ref)
    return OrderPlan(order_ref, now, converting=conversion)


def plan_reservation(
    order_ref: str,
    channel: Channel,
    plan: Plan,
    gives_back: HeldCart | None,
    shard_values: Mapping[str, Sequence[int]],
    now: datetime,
) -> OrderPlan:
    """Reserve ``plan`` afresh from the counters as read, giving back the cart's live holds
    (``gives_back``) in the same transaction."""
    release = Release.of([gives_back.allocations]) if gives_back else Release.none()
    placements = place_allocations(channel, plan.allocations, release, shard_values)
    replacing = None
    if gives_back is not None:
        taken_again = [(a.product_ref, a.location_ref) for a in plan.allocations]
        given = release_holds(
            gives_back.ref, gives_back.allocations, now, skip_counters=taken_again
        )
        replacing = HoldEnd(gives_back.ref, "REPLACED", given, unexpired_at=now)
    return OrderPlan(
        order_ref,
        now,
        taking=taking(placements, IqType.RESERVED, order_ref, now),
        placements=tuple(placements),
        replacing=replacing,
    )


@dataclass(frozen=True)
class OrderStep:
    """An order's later step: its move from ``from_status`` to ``status`` (only if it is
    still in ``from_status``), with the IQs deactivated and created and the counters moved."""

    ref: str
    from_status: str
    status: str
    now: datetime
    deactivated: tuple[InventoryQuantity, ...] = ()
    created: tuple[InventoryQuantity, ...] = ()
    counters: tuple[CounterStep, ...] = ()


def order_quantity(
    order_ref: str, allocation: Allocation, iq_type: IqType, quantity: int, now: datetime
) -> InventoryQuantity:
    """An order's IQ of ``iq_type`` for one allocation (its key is what counts)."""
    position = ip_ref(allocation.product_ref, allocation.location_ref)
    return InventoryQuantity(position, iq_type, quantity, IqStatus.ACTIVE, now, now, order_ref)


def plan_shipment(ref: str, allocations: Sequence[Allocation], now: datetime) -> OrderStep:
    """RESERVED → INACTIVE and SALE ACTIVE: the units leave; onHand does not move, but the
    SALE is a feed event dated now (a snapshot already counting it refuses the step)."""
    deactivated, created, counters = [], [], []
    for a in allocations:
        deactivated.append(order_quantity(ref, a, IqType.RESERVED, -a.quantity, now))
        created.append(order_quantity(ref, a, IqType.SALE, -a.quantity, now))
        counters.append(CounterStep(a.product_ref, a.location_ref, 0, happened=now))
    return OrderStep(
        ref, "CONFIRMED", "SHIPPED", now, tuple(deactivated), tuple(created), tuple(counters)
    )


def plan_order_cancel(ref: str, allocations: Sequence[Allocation], now: datetime) -> OrderStep:
    """RESERVED → INACTIVE: the units go back to stock."""
    deactivated, counters = [], []
    for a in allocations:
        deactivated.append(order_quantity(ref, a, IqType.RESERVED, -a.quantity, now))
        counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity))
    return OrderStep(ref, "CONFIRMED", "CANCELLED", now, tuple(deactivated), (), tuple(counters))


def plan_return(
    ref: str, allocations: Sequence[Allocation], fed: Collection[str], now: datetime
) -> OrderStep:
    """RETURNED +q per allocation, back on hand, except at positions a stock feed already
    returned this order to (``fed``: their position refs)."""
    created, counters = [], []
    for a in allocations:
        if ip_ref(a.product_ref, a.location_ref) not in fed:
            created.append(order_quantity(ref, a, IqType.RETURNED, a.quantity, now))
            counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity, happened=now))
    return OrderStep(ref, "SHIPPED", "RETURNED", now, (), tuple(created), tuple(counters))
