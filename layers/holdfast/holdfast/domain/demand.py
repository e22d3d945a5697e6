"""Demand intelligence: the analyses a retailer builds from the demand signals (docs/signals.md,
"Reports"), as pure functions over the signals of a time range.

Carts are counted by ``foRef`` and orders by ``orderRef`` (a three-line cart is one cart, not
three), so a redelivered signal or a multi-line cart never counts twice; each signal is counted
by its own time. The same definitions are written in SQL for Athena (``analytics/sql/``), and a
test holds the two to the same answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from pydantic import BaseModel, ConfigDict

from holdfast.domain.signals import Signal, SignalType, plan_locations

CHANNEL_TYPES = (SignalType.FO_CALL, SignalType.CONVERSION, SignalType.ABANDONED)
LOCATION_TYPES = (
    SignalType.FO_CALL,
    SignalType.CONVERSION,
    SignalType.OUT_OF_STOCK,
    SignalType.LOW_STOCK,
)
AFFINITY_TYPES = (SignalType.FO_CALL, SignalType.ABANDONED)


class Row(BaseModel):
    """A report's row: built on first use, not at import."""

    model_config = ConfigDict(defer_build=True)


def delivery_type(signal: Signal) -> str | None:
    return signal.detail.get("deliveryType")


def holds_stock(signal: Signal) -> bool:
    """An FO call that held stock."""
    return signal.type is SignalType.FO_CALL and bool(signal.heldQuantity)


def from_hold(signal: Signal) -> bool:
    """An order that converted a hold."""
    return signal.type is SignalType.CONVERSION and bool(signal.detail.get("convertedFromHold"))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class ChannelRow(Row):
    """One channel × delivery type (``GET /reports/channels``)."""

    channel: str | None
    deliveryType: str | None
    carts: int
    """Fulfilment-options calls (carts, by ``foRef``)."""
    heldCarts: int
    """Carts that held some stock."""
    refusedCarts: int
    """Carts answered NO_OPTIONS."""
    orders: int
    """Orders confirmed (by ``orderRef``), converting a hold or afresh."""
    convertedCarts: int
    """Carts whose hold an order converted."""
    abandonedCarts: int
    """Carts whose hold expired without an order."""
    conversionRate: float | None
    """``convertedCarts`` ÷ ``heldCarts`` (null without holds)."""
    abandonmentRate: float | None
    """``abandonedCarts`` ÷ ``heldCarts`` (null without holds)."""


def channels(signals: Iterable[Signal]) -> list[ChannelRow]:
    """Per channel and delivery type: carts, holds, orders, conversion and abandonment."""
    sets: dict[tuple[str | None, str | None], dict[str, set[str | None]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for signal in signals:
        counts = sets[(signal.channel, delivery_type(signal))]
        if signal.type is SignalType.FO_CALL:
            counts["carts"].add(signal.foRef)
            if signal.heldQuantity:
                counts["held"].add(signal.foRef)
            if signal.outcome == "NO_OPTIONS":
                counts["refused"].add(signal.foRef)
        elif signal.type is SignalType.CONVERSION:
            counts["orders"].add(signal.orderRef)
            if from_hold(signal):
                counts["converted"].add(signal.foRef)
        elif signal.type is SignalType.ABANDONED:
            counts["abandoned"].add(signal.foRef)
    rows = []
    for (channel, delivery), c in sets.items():
        held, converted, abandoned = len(c["held"]), len(c["converted"]), len(c["abandoned"])
        rows.append(
            ChannelRow(
                channel=channel,
                deliveryType=delivery,
                carts=len(c["carts"]),
                heldCarts=held,
                refusedCarts=len(c["refused"]),
                orders=len(c["orders"]),
                convertedCarts=converted,
                abandonedCarts=abandoned,
                conversionRate=_rate(converted, held),
                abandonmentRate=_rate(abandoned, held),
            )
        )
    return sorted(rows, key=lambda r: (r.channel or "", r.deliveryType or ""))


class LocationRow(Row):
    """One location: how often it is offered, and how often it fulfils."""

    locationRef: str
    plannedCarts: int
    """Carts with a plan (of those answered) that would fulfil from the location."""
    fulfilledOrders: int
    """Orders with units from the location."""
    fulfilmentShare: float | None
    """``fulfilledOrders`` ÷ ``plannedCarts``: how much of what it is offered for it ships."""


class DemandRow(Row):
    """Unserved demand for one product at one location (null: home delivery, any location)."""

    productRef: str
    locationRef: str | None
    outOfStockCarts: int
    """Carts (OUT_OF_STOCK signals) the stock could not serve."""
    outOfStockUnits: int
    lowStockCrossings: int
    """LOW_STOCK signals: a channel's ATS there fell to its threshold."""


class LocationsReport(Row):
    locations: list[LocationRow]
    outOfStock: list[DemandRow]


def locations(signals: Iterable[Signal]) -> LocationsReport:
    """Locations in plans vs locations fulfilling orders; out-of-stock intensity per product ×
    location, most units first."""
    planned, fulfilled, demand = _location_tallies(signals)
    return LocationsReport(
        locations=_location_rows(planned, fulfilled), outOfStock=_demand_rows(demand)
    )


RefsBy = dict[str, set[str | None]]
Demand = dict[tuple[str, str | None], list[Any]]
"""Per product × location: the carts out of stock, their units, the LOW_STOCK signal ids."""


def _location_tallies(signals: Iterable[Signal]) -> tuple[RefsBy, RefsBy, Demand]:
    """Per location the carts planned there and the orders fulfilled from it, and the
    unserved demand per product × location."""
    planned: RefsBy = defaultdict(set)
    fulfilled: RefsBy = defaultdict(set)
    demand: Demand = defaultdict(lambda: [set(), 0, set()])
    for signal in signals:
        if signal.type is SignalType.FO_CALL:
            for location in signal.detail.get("planLocations") or plan_locations(
                signal.detail.get("plans", [])
            ):
                planned[location].add(signal.foRef)
        elif signal.type is SignalType.CONVERSION:
            for location in signal.detail.get("locations", []):
                fulfilled[location].add(signal.orderRef)
        elif signal.type is SignalType.OUT_OF_STOCK:
            row = demand[(signal.productRef, signal.locationRef)]
            row[0].add(signal.foRef)
            row[1] += signal.quantity
        elif signal.type is SignalType.LOW_STOCK:
            demand[(signal.productRef, signal.locationRef)][2].add(signal.id)
    return planned, fulfilled, demand


def _location_rows(planned: RefsBy, fulfilled: RefsBy) -> list[LocationRow]:
    """Locations that fulfil most first, then those offered most."""
    rows = [
        LocationRow(
            locationRef=location,
            plannedCarts=len(planned[location]),
            fulfilledOrders=len(fulfilled[location]),
            fulfilmentShare=_rate(len(fulfilled[location]), len(planned[location])),
        )
        for location in set(planned) | set(fulfilled)
    ]
    return sorted(rows, key=lambda r: (-r.fulfilledOrders, -r.plannedCarts, r.locationRef))


def _demand_rows(demand: Demand) -> list[DemandRow]:
    """Unserved demand, most units first, then most low-stock crossings."""
    rows = [
        DemandRow(
            productRef=product,
            locationRef=location,
            outOfStockCarts=len(carts),
            outOfStockUnits=units,
            lowStockCrossings=len(crossings),
        )
        for (product, location), (carts, units, crossings) in demand.items()
    ]
    return sorted(
        rows,
        key=lambda r: (-r.outOfStockUnits, -r.lowStockCrossings, r.productRef, r.locationRef or ""),
    )


class PairRow(Row):
    """Two products found in the same carts."""

    productA: str
    productB: str
    """``productA`` < ``productB``."""
    carts: int
    """Carts holding (or abandoning) both."""
    support: float
    """``carts`` ÷ all such carts."""
    lift: float
    """``support`` ÷ (the share of carts with A × the share with B): 1 is chance, above 1 affinity."""


class AffinityReport(Row):
    heldCarts: int
    """Carts that held something (the baskets of ``heldTogether``)."""
    heldTogether: list[PairRow]
    abandonedCarts: int
    """Carts whose hold expired (the baskets of ``abandonedTogether``)."""
    abandonedTogether: list[PairRow]
    minCount: int


def affinity(signals: Iterable[Signal], min_count: int = 2, limit: int = 50) -> AffinityReport:
    """Product pairs most often held together, and most often abandoned together: pairs in at
    least ``min_count`` carts, most carts first (then highest lift, then by name)."""
    held: dict[str, set[str]] = defaultdict(set)
    abandoned: dict[str, set[str]] = defaultdict(set)
    for signal in signals:
        if holds_stock(signal):
            held[signal.foRef or signal.id].add(signal.productRef)
        elif signal.type is SignalType.ABANDONED:
            abandoned[signal.foRef or signal.id].add(signal.productRef)
    return AffinityReport(
        heldCarts=len(held),
        heldTogether=_pairs(held.values(), min_count, limit),
        abandonedCarts=len(abandoned),
        abandonedTogether=_pairs(abandoned.values(), min_count, limit),
        minCount=min_count,
    )


def _pairs(baskets: Iterable[set[str]], min_count: int, limit: int) -> list[PairRow]:
    baskets = list(baskets)
    total = len(baskets)
    singles: dict[str, int] = defaultdict(int)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for basket in baskets:
        for product in basket:
            singles[product] += 1
        for pair in combinations(sorted(basket), 2):
            pairs[pair] += 1
    rows = [
        PairRow(
            productA=a,
            productB=b,
            carts=count,
            support=round(count / total, 4),
            lift=round(count * total / (singles[a] * singles[b]), 4),
        )
        for (a, b), count in pairs.items()
        if count >= min_count
    ]
    return sorted(rows, key=lambda r: (-r.carts, -r.lift, r.productA, r.productB))[:limit]
