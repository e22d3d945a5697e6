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
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from holdfast.domain.clock import from_iso
from holdfast.domain.signals import Signal, SignalType, plan_locations

CHANNEL_TYPES = (SignalType.FO_CALL, SignalType.CONVERSION, SignalType.ABANDONED)
LOCATION_TYPES = (
    SignalType.FO_CALL,
    SignalType.CONVERSION,
    SignalType.OUT_OF_STOCK,
    SignalType.LOW_STOCK,
)
AFFINITY_TYPES = (SignalType.FO_CALL, SignalType.ABANDONED)
TIMING_TYPES = (SignalType.FO_CALL, SignalType.CONVERSION, SignalType.ABANDONED)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Row(BaseModel):
    """A report's row: built on first use, not at import."""

    model_config = ConfigDict(defer_build=True)


def delivery_type(signal: Signal) -> str | None:
    return signal.detail.get("deliveryType")


def holds_stock(signal: Signal) -> bool:
    """An FO call that held stock."""
    return signal.type is SignalType.FO_CALL and bool(signal.heldQuantity)


def _from_hold(signal: Signal) -> bool:
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
            if _from_hold(signal):
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
    planned: dict[str, set[str | None]] = defaultdict(set)
    fulfilled: dict[str, set[str | None]] = defaultdict(set)
    demand: dict[tuple[str, str | None], list[Any]] = defaultdict(lambda: [set(), 0, set()])
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
    location_rows = [
        LocationRow(
            locationRef=location,
            plannedCarts=len(planned[location]),
            fulfilledOrders=len(fulfilled[location]),
            fulfilmentShare=_rate(len(fulfilled[location]), len(planned[location])),
        )
        for location in set(planned) | set(fulfilled)
    ]
    demand_rows = [
        DemandRow(
            productRef=product,
            locationRef=location,
            outOfStockCarts=len(carts),
            outOfStockUnits=units,
            lowStockCrossings=len(crossings),
        )
        for (product, location), (carts, units, crossings) in demand.items()
    ]
    return LocationsReport(
        locations=sorted(
            location_rows, key=lambda r: (-r.fulfilledOrders, -r.plannedCarts, r.locationRef)
        ),
        outOfStock=sorted(
            demand_rows,
            key=lambda r: (
                -r.outOfStockUnits,
                -r.lowStockCrossings,
                r.productRef,
                r.locationRef or "",
            ),
        ),
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


class TimeSlot(Row):
    """Carts held, orders and carts abandoned in one hour of the day or day of the week."""

    slot: int
    """Hour 0–23, or ISO day of the week 1 (Monday) – 7 (Sunday), in the report's time zone."""
    holds: int
    conversions: int
    abandoned: int


class SecondsBucket(Row):
    fromSeconds: int
    toSeconds: int
    orders: int
    """Orders converting a hold whose ``secondsToConvert`` is in ``[fromSeconds, toSeconds)``."""


class TimerCount(Row):
    timerSeconds: int
    heldCarts: int


class TimingReport(Row):
    timeZone: str
    byHour: list[TimeSlot]
    byDayOfWeek: list[TimeSlot]
    bucketSeconds: int
    secondsToConvert: list[SecondsBucket]
    """Non-empty buckets only, shortest first."""
    timers: list[TimerCount]
    """The timer lengths the held carts were given."""
    ordersAfterExpiry: int
    """Orders for a cart whose hold had already ended (reserved afresh): the timer was too short
    for these shoppers."""


def timing(
    signals: Iterable[Signal], time_zone: str = "UTC", bucket_seconds: int = 60
) -> TimingReport:
    """Holds, conversions and abandonment by local hour and day of week, and the distribution
    of seconds to convert beside the timer lengths."""
    zone = ZoneInfo(time_zone)
    hours: list[list[set[str]]] = [[set(), set(), set()] for _ in range(24)]
    days: list[list[set[str]]] = [[set(), set(), set()] for _ in range(7)]
    buckets: dict[int, set[str]] = defaultdict(set)
    timers: dict[int, set[str]] = defaultdict(set)
    late: set[str] = set()
    for signal in signals:
        column, key = _timing_column(signal)
        if column is None:
            continue
        local = from_iso(signal.at).astimezone(zone)
        hours[local.hour][column].add(key)
        days[local.isoweekday() - 1][column].add(key)
        if holds_stock(signal) and signal.detail.get("timerMinutes") is not None:
            timers[int(signal.detail["timerMinutes"]) * 60].add(key)
        if _from_hold(signal) and signal.secondsToConvert is not None:
            buckets[int(signal.secondsToConvert // bucket_seconds)].add(key)
        elif signal.type is SignalType.CONVERSION and signal.foRef and not _from_hold(signal):
            late.add(key)
    return TimingReport(
        timeZone=time_zone,
        byHour=[
            TimeSlot(slot=h, holds=len(c[0]), conversions=len(c[1]), abandoned=len(c[2]))
            for h, c in enumerate(hours)
        ],
        byDayOfWeek=[
            TimeSlot(slot=d + 1, holds=len(c[0]), conversions=len(c[1]), abandoned=len(c[2]))
            for d, c in enumerate(days)
        ],
        bucketSeconds=bucket_seconds,
        secondsToConvert=[
            SecondsBucket(
                fromSeconds=b * bucket_seconds,
                toSeconds=(b + 1) * bucket_seconds,
                orders=len(buckets[b]),
            )
            for b in sorted(buckets)
        ],
        timers=[TimerCount(timerSeconds=t, heldCarts=len(timers[t])) for t in sorted(timers)],
        ordersAfterExpiry=len(late),
    )


def _timing_column(signal: Signal) -> tuple[int | None, str]:
    """Which count a signal adds to (0 holds, 1 conversions, 2 abandoned) and its cart or order."""
    if holds_stock(signal):
        return 0, signal.foRef or signal.id
    if signal.type is SignalType.CONVERSION:
        return 1, signal.orderRef or signal.id
    if signal.type is SignalType.ABANDONED:
        return 2, signal.foRef or signal.id
    return None, ""
