"""The demand funnel per SKU: carts, holds, orders and abandonment, with the rates between
them (docs/signals.md, ``GET /reports/funnel``)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from holdfast.domain.signals import Signal, SignalType

FUNNEL_TYPES = (
    SignalType.FO_CALL,
    SignalType.CONVERSION,
    SignalType.ABANDONED,
    SignalType.OUT_OF_STOCK,
)
"""The signal types the funnel reads."""


class FunnelRow(BaseModel):
    """One SKU's funnel over a time range (``GET /reports/funnel``)."""

    model_config = ConfigDict(defer_build=True)

    productRef: str
    foCalls: int
    """Fulfilment-options calls that asked for the product."""
    holds: int
    """Units of the product held by those calls."""
    orders: int
    """Orders confirmed with the product (converting a hold or reserving afresh)."""
    abandoned: int
    """Holds of the product that expired without an order converting them."""
    refused: int
    """Calls answered NO_OPTIONS that asked for the product (nothing could be held)."""
    conversionRate: float | None
    """Orders that converted a hold ÷ calls that held some of the product (null: no holds)."""
    abandonmentRate: float | None
    """``abandoned`` ÷ calls that held some of the product (null: no holds)."""
    medianSecondsToConvert: float | None
    """Median seconds from hold to order over the orders that converted a hold."""
    outOfStock: int
    """Units asked for in NO_OPTIONS answers that the stock could not cover."""


def funnel(signals: Iterable[Signal]) -> list[FunnelRow]:
    """The funnel per SKU from the FO_CALL, CONVERSION, ABANDONED and OUT_OF_STOCK signals of
    a time range (each counted by its own time), by productRef."""
    rows: dict[str, dict[str, Any]] = {}

    def row(product: str) -> dict[str, Any]:
        return rows.setdefault(
            product,
            {
                "foCalls": 0,
                "holds": 0,
                "heldCalls": 0,
                "orders": 0,
                "fromHolds": 0,
                "abandoned": 0,
                "refused": 0,
                "outOfStock": 0,
                "seconds": [],
            },
        )

    for signal in signals:
        counts = row(signal.productRef)
        if signal.type is SignalType.FO_CALL:
            counts["foCalls"] += 1
            counts["holds"] += signal.heldQuantity or 0
            counts["heldCalls"] += 1 if signal.heldQuantity else 0
            counts["refused"] += 1 if signal.outcome == "NO_OPTIONS" else 0
        elif signal.type is SignalType.CONVERSION:
            counts["orders"] += 1
            if signal.detail.get("convertedFromHold"):
                counts["fromHolds"] += 1
                if signal.secondsToConvert is not None:
                    counts["seconds"].append(signal.secondsToConvert)
        elif signal.type is SignalType.ABANDONED:
            counts["abandoned"] += 1
        elif signal.type is SignalType.OUT_OF_STOCK:
            counts["outOfStock"] += signal.quantity
    return [
        FunnelRow(
            productRef=product,
            foCalls=c["foCalls"],
            holds=c["holds"],
            orders=c["orders"],
            abandoned=c["abandoned"],
            refused=c["refused"],
            conversionRate=_rate(c["fromHolds"], c["heldCalls"]),
            abandonmentRate=_rate(c["abandoned"], c["heldCalls"]),
            medianSecondsToConvert=round(statistics.median(c["seconds"]), 3)
            if c["seconds"]
            else None,
            outOfStock=c["outOfStock"],
        )
        for product, c in sorted(rows.items())
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
