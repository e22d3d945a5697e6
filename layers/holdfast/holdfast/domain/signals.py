"""Demand signals (docs/behaviour.md §7): what a table change tells a retailer about demand, and the funnel.

Pure functions over item images as the table's stream carries them (``OldImage`` /
``NewImage``, already deserialized): no AWS imports. Every signal concerns one product, so a
three-line cart gives three ``FO_CALL`` signals; each has an ``id`` derived from the change it
comes from, so a redelivered stream record yields the same signals again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import from_iso
from holdfast.domain.configuration import Configuration


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


def signals_from_change(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    configuration: Configuration | None = None,
    other_shards: int = 0,
) -> list[Signal]:
    """The signals one table change carries (none for most changes). ``configuration`` is
    needed only for a position's counter change (low stock); on a sharded position
    ``other_shards`` is what its other counter items hold, so the crossing is judged on the
    position's total."""
    entity = (new or old or {}).get("entity")
    if entity == "FO" and new is not None:
        if old is None:
            return _fulfilment_option_created(new)
        return _fulfilment_option_ended(old, new)
    if entity == "ORDER" and new is not None and old is None:
        return _order_confirmed(new)
    if entity in ("IP", "IP_SHARD") and new is not None and configuration is not None:
        return _low_stock(old, new, configuration, other_shards)
    return []


def _body(image: Mapping[str, Any]) -> dict[str, Any]:
    body = image.get("body")
    return json.loads(body) if isinstance(body, str) else {}


def _signal_id(kind: SignalType, *parts: str | None) -> str:
    return "#".join([str(kind), *(part or "-" for part in parts)])


def _held_by_product(allocations: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, list[str]]]:
    """Units held per product and the locations holding them."""
    held: dict[str, tuple[int, list[str]]] = {}
    for allocation in allocations:
        units, locations = held.get(allocation["productRef"], (0, []))
        if allocation["locationRef"] not in locations:
            locations = [*locations, allocation["locationRef"]]
        held[allocation["productRef"]] = (units + int(allocation["quantity"]), locations)
    return held


def plan_locations(plans: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every location some plan of the answer would fulfil from, in first-seen order."""
    seen: dict[str, None] = {}
    for plan in plans:
        for fulfilment in plan.get("fulfilments", []):
            seen.setdefault(fulfilment["locationRef"], None)
    return list(seen)


def _time_of(*times: str | None) -> str:
    """When a change happened: the first of the times it carries (a change without one is
    malformed, as a signal cannot be filed without its time)."""
    for time in times:
        if time:
            return time
    raise ValueError("a change without a time")


def _one_location(locations: list[str], fallback: str | None) -> str | None:
    """The location a signal is filed under: the one that holds it, else the pickup store."""
    return locations[0] if len(locations) == 1 else fallback


def _fulfilment_option_created(new: Mapping[str, Any]) -> list[Signal]:
    body = _body(new)
    ref = new["ref"]
    status = new.get("status")
    at = _time_of(body.get("createdAt"), new.get("createdAt"))
    held = _held_by_product(body.get("allocations", []))
    shortfall = {s["productRef"]: s for s in body.get("shortfall", [])}
    outcome = "NO_OPTIONS" if status == "NO_OPTIONS" else ("PARTIAL" if shortfall else "ACTIVE")
    cart = {
        "deliveryType": body.get("deliveryType"),
        "lines": body.get("lines", []),
        "plans": body.get("plans", []),
        "reservedPlan": body.get("reservedPlan"),
        "shortfall": body.get("shortfall", []),
        "replaces": body.get("replaces"),
        "timerMinutes": body.get("timerMinutes"),
        "expiresAt": new.get("expiresAt"),
        "planLocations": plan_locations(body.get("plans", [])),
    }
    lines = body.get("lines", [])
    unserved = set()
    if status == "NO_OPTIONS":
        # The lines the stock could not cover; if each alone could be, the cart as a whole
        # could not (spread over too many locations): all of its lines went unserved.
        unserved = {
            line["productRef"]
            for line in lines
            if line["productRef"] in shortfall
            and shortfall[line["productRef"]]["available"] < int(line["quantity"])
        } or {line["productRef"] for line in lines}
    signals = []
    for line in lines:
        product, requested = line["productRef"], int(line["quantity"])
        units, locations = held.get(product, (0, []))
        signals.append(
            Signal(
                id=_signal_id(SignalType.FO_CALL, ref, product),
                type=SignalType.FO_CALL,
                at=at,
                productRef=product,
                locationRef=_one_location(locations, body.get("locationRef")),
                channel=body.get("channel"),
                quantity=requested,
                foRef=ref,
                outcome=outcome,
                heldQuantity=units,
                latencyMs=body.get("latencyMs"),
                detail=cart,
            )
        )
        short = shortfall.get(product)
        if product in unserved:
            signals.append(
                Signal(
                    id=_signal_id(SignalType.OUT_OF_STOCK, ref, product),
                    type=SignalType.OUT_OF_STOCK,
                    at=at,
                    productRef=product,
                    locationRef=body.get("locationRef"),
                    channel=body.get("channel"),
                    quantity=requested,
                    foRef=ref,
                    detail={
                        "available": short["available"] if short else None,
                        "deliveryType": body.get("deliveryType"),
                    },
                )
            )
    return signals


ENDINGS = {
    "EXPIRED": SignalType.ABANDONED,
    "CANCELLED": SignalType.CANCELLED,
    "REPLACED": SignalType.CANCELLED,
}
"""A hold leaving ACTIVE for one of these statuses gives back its units as this signal.
(ACTIVE → CONVERTED is the order's CONVERSION.)"""


def _fulfilment_option_ended(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Signal]:
    kind = ENDINGS.get(new.get("status", ""))
    if old.get("status") != "ACTIVE" or kind is None:
        return []
    body = _body(new)
    ref = new["ref"]
    at = _time_of(new.get("updatedAt"), body.get("createdAt"))
    held_seconds = _seconds_between(body.get("createdAt"), at)
    return [
        Signal(
            id=_signal_id(kind, ref, product),
            type=kind,
            at=at,
            productRef=product,
            locationRef=_one_location(locations, body.get("locationRef")),
            channel=body.get("channel"),
            quantity=units,
            foRef=ref,
            outcome=new["status"] if kind is SignalType.CANCELLED else None,
            detail={
                "heldSeconds": held_seconds,
                "locations": locations,
                "expiresAt": new.get("expiresAt"),
                "deliveryType": body.get("deliveryType"),
            },
        )
        for product, (units, locations) in _held_by_product(body.get("allocations", [])).items()
    ]


def _order_confirmed(new: Mapping[str, Any]) -> list[Signal]:
    body = _body(new)
    ref = new["ref"]
    at = _time_of(body.get("createdAt"), new.get("createdAt"))
    from_hold = bool(body.get("convertedFromHold"))
    return [
        Signal(
            id=_signal_id(SignalType.CONVERSION, ref, product),
            type=SignalType.CONVERSION,
            at=at,
            productRef=product,
            locationRef=_one_location(locations, body.get("locationRef")),
            channel=body.get("channel"),
            quantity=units,
            foRef=body.get("fulfilmentOptionRef"),
            orderRef=ref,
            secondsToConvert=body.get("secondsToConvert") if from_hold else None,
            detail={
                "convertedFromHold": from_hold,
                "locations": locations,
                "deliveryType": body.get("deliveryType"),
            },
        )
        for product, (units, locations) in _held_by_product(body.get("allocations", [])).items()
    ]


def _low_stock(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    configuration: Configuration,
    other_shards: int = 0,
) -> list[Signal]:
    before = int(old.get("onHand", 0)) + other_shards if old else None
    after = int(new.get("onHand", 0)) + other_shards
    at = new.get("updatedAt")
    if before is None or after >= before or not at:
        return []
    location = new["locationRef"]
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
                        SignalType.LOW_STOCK, new["productRef"], location, channel.name, at
                    ),
                    type=SignalType.LOW_STOCK,
                    at=at,
                    productRef=new["productRef"],
                    locationRef=location,
                    channel=channel.name,
                    quantity=ats_after,
                    detail={"threshold": threshold, "atsBefore": ats_before, "onHand": after},
                )
            )
    return signals


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((from_iso(end) - from_iso(start)).total_seconds(), 3)


def signal_day(at: datetime) -> str:
    """The UTC day a signal is filed under."""
    return at.strftime("%Y-%m-%d")
