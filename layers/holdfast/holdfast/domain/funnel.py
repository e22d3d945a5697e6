"""The demand funnel per SKU: carts, holds, orders and abandonment, with the rates between
them (docs/signals.md, ``GET /reports/funnel``)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

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
    tallies: dict[str, _Tally] = {}
    for signal in signals:
        tallies.setdefault(signal.productRef, _Tally()).add(signal)
    return [tally.row(product) for product, tally in sorted(tallies.items())]


@dataclass
class _Tally:
    """One SKU's counts while its signals are read."""

    fo_calls: int = 0
    holds: int = 0
    held_calls: int = 0
    orders: int = 0
    from_holds: int = 0
    abandoned: int = 0
    refused: int = 0
    out_of_stock: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, signal: Signal) -> None:
        if signal.type is SignalType.FO_CALL:
            self.fo_calls += 1
            self.holds += signal.heldQuantity or 0
            self.held_calls += 1 if signal.heldQuantity else 0
            self.refused += 1 if signal.outcome == "NO_OPTIONS" else 0
        elif signal.type is SignalType.CONVERSION:
            self.orders += 1
            if signal.detail.get("convertedFromHold"):
                self.from_holds += 1
                if signal.secondsToConvert is not None:
                    self.seconds.append(signal.secondsToConvert)
        elif signal.type is SignalType.ABANDONED:
            self.abandoned += 1
        elif signal.type is SignalType.OUT_OF_STOCK:
            self.out_of_stock += signal.quantity

    def row(self, product: str) -> FunnelRow:
        return FunnelRow(
            productRef=product,
            foCalls=self.fo_calls,
            holds=self.holds,
            orders=self.orders,
            abandoned=self.abandoned,
            refused=self.refused,
            conversionRate=_rate(self.from_holds, self.held_calls),
            abandonmentRate=_rate(self.abandoned, self.held_calls),
            medianSecondsToConvert=(
                round(statistics.median(self.seconds), 3) if self.seconds else None
            ),
            outOfStock=self.out_of_stock,
        )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
