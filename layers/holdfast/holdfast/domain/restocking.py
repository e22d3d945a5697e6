"""Restocking: where out-of-stock demand went unmet, how much a day, and how long since the
location last showed stock (docs/signals.md, ``GET /reports/restocking``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from holdfast.domain.clock import from_iso, to_iso
from holdfast.domain.demand import LOCATION_TYPES, Row, holds_stock
from holdfast.domain.signals import Signal, SignalType

RESTOCK_TYPES = LOCATION_TYPES


class RestockRow(Row):
    """Unmet demand for one product at one location (null: home delivery, any location)."""

    productRef: str
    locationRef: str | None
    outOfStockUnits: int
    unmetUnitsPerDay: float
    """``outOfStockUnits`` ÷ the days of the range."""
    lastAtsAt: str | None
    """The last time in the range the signals show ATS there: a hold, an order fulfilled from
    it, a low-stock crossing (null: none in the range)."""
    daysSinceLastAts: float | None
    """Days from ``lastAtsAt`` to the end of the range."""
    restockSuggested: bool
    """``unmetUnitsPerDay`` ≥ the threshold asked for (false without one)."""


def restocking(
    signals: Iterable[Signal], start: datetime, end: datetime, threshold: float | None = None
) -> list[RestockRow]:
    """Per product × location with out-of-stock demand: unmet units a day and days since the
    location last showed ATS, most unmet first."""
    days = (end - start).total_seconds() / 86400
    unmet: dict[tuple[str, str | None], int] = defaultdict(int)
    seen: dict[tuple[str, str | None], str] = {}
    for signal in signals:
        if signal.type is SignalType.OUT_OF_STOCK:
            unmet[(signal.productRef, signal.locationRef)] += signal.quantity
            continue
        for ats_location in _ats_locations(signal):
            for key in ((signal.productRef, ats_location), (signal.productRef, None)):
                seen[key] = max(seen.get(key, ""), signal.at)
    rows = []
    for (product, location), units in unmet.items():
        last = seen.get((product, location))
        per_day = round(units / days, 3)
        rows.append(
            RestockRow(
                productRef=product,
                locationRef=location,
                outOfStockUnits=units,
                unmetUnitsPerDay=per_day,
                lastAtsAt=last,
                daysSinceLastAts=round((end - from_iso(last)).total_seconds() / 86400, 3)
                if last
                else None,
                restockSuggested=threshold is not None and per_day >= threshold,
            )
        )
    return sorted(rows, key=lambda r: (-r.unmetUnitsPerDay, r.productRef, r.locationRef or ""))


def _ats_locations(signal: Signal) -> list[str]:
    """Locations a signal shows had ATS of its product at its time."""
    if holds_stock(signal) and signal.locationRef:
        return [signal.locationRef]
    if signal.type is SignalType.CONVERSION:
        return list(signal.detail.get("locations", []))
    if signal.type is SignalType.LOW_STOCK and signal.locationRef:
        return [signal.locationRef]
    return []


def restock_event(
    row: RestockRow, start: datetime, end: datetime, threshold: float
) -> dict[str, Any]:
    """The ``RESTOCK_SUGGESTED`` event's detail for a row at or above the threshold; its ``id``
    names the row and the range, so asking again gives the same event."""
    return {
        "id": f"RESTOCK_SUGGESTED#{row.productRef}#{row.locationRef or '-'}#{to_iso(start)}#{to_iso(end)}",
        "type": "RESTOCK_SUGGESTED",
        "from": to_iso(start),
        "to": to_iso(end),
        "threshold": threshold,
        **row.model_dump(exclude={"restockSuggested"}),
    }
