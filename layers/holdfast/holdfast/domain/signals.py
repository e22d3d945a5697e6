"""Demand signals (docs/behaviour.md §7): what a table change tells a retailer about demand, and the funnel.

Pure functions over table changes as storage decodes them from the stream's images
(:func:`holdfast.storage.table_change`: typed records, no attribute names): no AWS imports. Every signal concerns one product, so a
three-line cart gives three ``FO_CALL`` signals; each has an ``id`` derived from the change it
comes from, so a redelivered stream record yields the same signals again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import from_iso, to_iso
from holdfast.domain.configuration import Configuration
from holdfast.domain.documents import (
    CartRecord,
    OrderRecord,
    ProductLine,
    lines_json,
    plan_json,
    shortfall_json,
)
from holdfast.domain.planning import Allocation, Shortfall


class SignalType(StrEnum):
    FO_CALL = "FO_CALL"
    """A fulfilment-options call: its request line, plans, outcome and latency."""
    OUT_OF_STOCK = "OUT_OF_STOCK"
    """A line of a NO_OPTIONS answer the stock could not cover: demand that went unserved."""
    CONVERSION = "CONVERSION"
    """An order confirmed: FO ref → order ref and the time from hold to order."""
    ABANDONED = "ABANDONED"
    """A hold that expired without its order converting it."""
    CANCELLED = "CANCELLED"
    """A hold cancelled by the shopper (or replaced by a changed cart)."""
    LOW_STOCK = "LOW_STOCK"
    """A channel's ATS at a location fell to or below the channel's ``lowStockThreshold``."""


class Signal(BaseModel):
    """One demand signal, as stored, answered by ``GET /signals`` and published as an event's
    ``detail``. Fields that do not apply to a type are null."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    type: SignalType
    at: str
    """When it happened (the change's own time, ISO 8601 UTC with milliseconds)."""
    productRef: str
    locationRef: str | None = None
    channel: str | None = None
    quantity: int
    """Units concerned: requested (FO_CALL, OUT_OF_STOCK), ordered (CONVERSION), held and
    given back (ABANDONED, CANCELLED), the ATS left (LOW_STOCK)."""
    foRef: str | None = None
    orderRef: str | None = None
    outcome: str | None = None
    """FO_CALL: ``ACTIVE`` (held in full), ``PARTIAL`` or ``NO_OPTIONS``; CANCELLED:
    ``CANCELLED`` or ``REPLACED``."""
    heldQuantity: int | None = None
    """FO_CALL: units of this product held."""
    secondsToConvert: float | None = None
    """CONVERSION from a hold: seconds from the hold's creation to the order."""
    latencyMs: int | None = None
    """FO_CALL: milliseconds the service took to decide the answer (reads, plans, retries),
    up to the write that stored it."""
    detail: dict[str, Any] = {}
    """Type-specific: FO_CALL the cart and its plans; OUT_OF_STOCK ``available``; CONVERSION
    ``convertedFromHold``; LOW_STOCK ``threshold``, ``atsBefore``, ``onHand``."""


@dataclass(frozen=True, slots=True)
class CartChange:
    """A fulfilment option's item written: created (``old`` is None) or changed."""

    old: CartRecord | None
    new: CartRecord


@dataclass(frozen=True, slots=True)
class OrderChange:
    """An order's item written: confirmed (``old`` is None) or changed."""

    old: OrderRecord | None
    new: OrderRecord


@dataclass(frozen=True, slots=True)
class CounterLevel:
    """A position's counter item (or one of its shards) as a change shows it."""

    product_ref: str
    location_ref: str
    on_hand: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A counter item written: ``old`` is None when it was created."""

    old: CounterLevel | None
    new: CounterLevel


TableChange = CartChange | OrderChange | LevelChange
"""A table change the signals read, as :func:`holdfast.storage.table_change` decodes it."""


def signals_from_change(
    change: TableChange | None,
    configuration: Configuration | None = None,
    other_shards: int = 0,
) -> list[Signal]:
    """The signals one table change carries (none for most changes). ``configuration`` is
    needed only for a position's counter change (low stock); on a sharded position
    ``other_shards`` is what its other counter items hold, so the crossing is judged on the
    position's total."""
    if isinstance(change, CartChange):
        if change.old is None:
            return _fulfilment_option_created(change.new)
        return _fulfilment_option_ended(change.old, change.new)
    if isinstance(change, OrderChange) and change.old is None:
        return _order_confirmed(change.new)
    if isinstance(change, LevelChange) and configuration is not None:
        return _low_stock(change.old, change.new, configuration, other_shards)
    return []


def _signal_id(kind: SignalType, *parts: str | None) -> str:
    return "#".join([str(kind), *(part or "-" for part in parts)])


def _held_by_product(allocations: Iterable[Allocation]) -> dict[str, tuple[int, list[str]]]:
    """Units held per product and the locations holding them."""
    held: dict[str, tuple[int, list[str]]] = {}
    for allocation in allocations:
        units, locations = held.get(allocation.product_ref, (0, []))
        if allocation.location_ref not in locations:
            locations = [*locations, allocation.location_ref]
        held[allocation.product_ref] = (units + allocation.quantity, locations)
    return held


def plan_locations(plans: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every location some plan of the answer would fulfil from, in first-seen order."""
    seen: dict[str, None] = {}
    for plan in plans:
        for fulfilment in plan.get("fulfilments", []):
            seen.setdefault(fulfilment["locationRef"], None)
    return list(seen)


def _one_location(locations: list[str], fallback: str | None) -> str | None:
    """The location a signal is filed under: the one that holds it, else the pickup store."""
    return locations[0] if len(locations) == 1 else fallback


def _fulfilment_option_created(cart: CartRecord) -> list[Signal]:
    """One FO_CALL per line of the answer, and an OUT_OF_STOCK per line it left unserved."""
    at = to_iso(cart.created_at)
    held = _held_by_product(cart.allocations)
    shortfall = {s.product_ref: s for s in cart.shortfall}
    outcome = (
        "NO_OPTIONS" if cart.status == "NO_OPTIONS" else ("PARTIAL" if shortfall else "ACTIVE")
    )
    detail = _cart_detail(cart)
    unserved = _unserved(cart, shortfall)
    signals = []
    for line in cart.lines:
        units, locations = held.get(line.product_ref, (0, []))
        signals.append(
            Signal(
                id=_signal_id(SignalType.FO_CALL, cart.ref, line.product_ref),
                type=SignalType.FO_CALL,
                at=at,
                productRef=line.product_ref,
                locationRef=_one_location(locations, cart.location_ref),
                channel=cart.channel,
                quantity=line.quantity,
                foRef=cart.ref,
                outcome=outcome,
                heldQuantity=units,
                latencyMs=cart.latency_ms,
                detail=detail,
            )
        )
        if line.product_ref in unserved:
            signals.append(_out_of_stock(cart, line, shortfall.get(line.product_ref), at))
    return signals


def _cart_detail(cart: CartRecord) -> dict[str, Any]:
    """An FO_CALL's detail: the cart and the plans of its answer."""
    plans = [plan_json(plan) for plan in cart.plans]
    return {
        "deliveryType": cart.delivery_type,
        "lines": lines_json(cart.lines),
        "plans": plans,
        "reservedPlan": plan_json(cart.reserved_plan) if cart.reserved_plan else None,
        "shortfall": shortfall_json(cart.shortfall),
        "replaces": cart.replaces,
        "timerMinutes": cart.timer_minutes,
        "expiresAt": to_iso(cart.expires_at) if cart.expires_at else None,
        "planLocations": plan_locations(plans),
    }


def _unserved(cart: CartRecord, shortfall: Mapping[str, Shortfall]) -> set[str]:
    """The products of a NO_OPTIONS answer the stock could not cover; if each line alone
    could be, the cart as a whole could not (spread over too many locations): all of them."""
    if cart.status != "NO_OPTIONS":
        return set()
    return {
        line.product_ref
        for line in cart.lines
        if line.product_ref in shortfall and shortfall[line.product_ref].available < line.quantity
    } or {line.product_ref for line in cart.lines}


def _out_of_stock(cart: CartRecord, line: ProductLine, short: Shortfall | None, at: str) -> Signal:
    return Signal(
        id=_signal_id(SignalType.OUT_OF_STOCK, cart.ref, line.product_ref),
        type=SignalType.OUT_OF_STOCK,
        at=at,
        productRef=line.product_ref,
        locationRef=cart.location_ref,
        channel=cart.channel,
        quantity=line.quantity,
        foRef=cart.ref,
        detail={
            "available": short.available if short else None,
            "deliveryType": cart.delivery_type,
        },
    )


ENDINGS = {
    "EXPIRED": SignalType.ABANDONED,
    "CANCELLED": SignalType.CANCELLED,
    "REPLACED": SignalType.CANCELLED,
}
"""A hold leaving ACTIVE for one of these statuses gives back its units as this signal.
(ACTIVE → CONVERTED is the order's CONVERSION.)"""


def _fulfilment_option_ended(old: CartRecord, new: CartRecord) -> list[Signal]:
    kind = ENDINGS.get(new.status)
    if old.status != "ACTIVE" or kind is None:
        return []
    at = to_iso(new.updated_at or new.created_at)
    held_seconds = round((from_iso(at) - new.created_at).total_seconds(), 3)
    return [
        Signal(
            id=_signal_id(kind, new.ref, product),
            type=kind,
            at=at,
            productRef=product,
            locationRef=_one_location(locations, new.location_ref),
            channel=new.channel,
            quantity=units,
            foRef=new.ref,
            outcome=new.status if kind is SignalType.CANCELLED else None,
            detail={
                "heldSeconds": held_seconds,
                "locations": locations,
                "expiresAt": to_iso(new.expires_at) if new.expires_at else None,
                "deliveryType": new.delivery_type,
            },
        )
        for product, (units, locations) in _held_by_product(new.allocations).items()
    ]


def _order_confirmed(order: OrderRecord) -> list[Signal]:
    at = to_iso(order.created_at)
    from_hold = order.converted_from_hold
    return [
        Signal(
            id=_signal_id(SignalType.CONVERSION, order.ref, product),
            type=SignalType.CONVERSION,
            at=at,
            productRef=product,
            locationRef=_one_location(locations, order.location_ref),
            channel=order.channel,
            quantity=units,
            foRef=order.fulfilment_option_ref,
            orderRef=order.ref,
            secondsToConvert=order.seconds_to_convert if from_hold else None,
            detail={
                "convertedFromHold": from_hold,
                "locations": locations,
                "deliveryType": order.delivery_type,
            },
        )
        for product, (units, locations) in _held_by_product(order.allocations).items()
    ]


def _low_stock(
    old: CounterLevel | None,
    new: CounterLevel,
    configuration: Configuration,
    other_shards: int = 0,
) -> list[Signal]:
    before = old.on_hand + other_shards if old else None
    after = new.on_hand + other_shards
    if before is None or after >= before or new.updated_at is None:
        return []
    at = to_iso(new.updated_at)
    location = new.location_ref
    configured = configuration.locations.get(location)
    signals = []
    for channel in configuration.channels.values():
        threshold = channel.lowStockThreshold
        if threshold is None:
            continue
        if configured is not None and channel.name not in configured.channels:
            continue  # the location does not sell to this channel
        ats_before = available_to_sell(before, channel, location)
        ats_after = available_to_sell(after, channel, location)
        if ats_before > threshold >= ats_after:
            signals.append(
                Signal(
                    id=_signal_id(
                        SignalType.LOW_STOCK, new.product_ref, location, channel.name, at
                    ),
                    type=SignalType.LOW_STOCK,
                    at=at,
                    productRef=new.product_ref,
                    locationRef=location,
                    channel=channel.name,
                    quantity=ats_after,
                    detail={"threshold": threshold, "atsBefore": ats_before, "onHand": after},
                )
            )
    return signals


def signal_day(at: datetime) -> str:
    """The UTC day a signal is filed under."""
    return at.strftime("%Y-%m-%d")
