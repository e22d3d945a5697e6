"""The demand reports (docs/signals.md, "Reports"): read the signal types a report needs for
``[from, to)``, apply the filters, and hand them to the pure analyses of
:mod:`holdfast.domain.demand`. Restocking with a threshold also publishes ``RESTOCK_SUGGESTED``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from holdfast.domain import demand, restocking, timing_report
from holdfast.domain.signals import Signal, SignalType
from holdfast.services.signals import SignalService

RESTOCK_SUGGESTED = "RESTOCK_SUGGESTED"


@dataclass(frozen=True)
class Filters:
    """``channel`` and ``deliveryType`` keep the signals that match (a signal without a delivery
    type, LOW_STOCK, only without that filter); ``productRef`` keeps the rows of one product."""

    channel: str | None = None
    delivery_type: str | None = None
    product_ref: str | None = None

    def keep(self, signal: Signal) -> bool:
        if self.channel is not None and signal.channel != self.channel:
            return False
        return self.delivery_type is None or demand.delivery_type(signal) == self.delivery_type


class DemandReports:
    def __init__(self, signals: SignalService) -> None:
        self._signals = signals

    def _read(
        self, start: datetime, end: datetime, kinds: Sequence[SignalType], filters: Filters
    ) -> Iterator[Signal]:
        return (signal for signal in self._signals.read(start, end, kinds) if filters.keep(signal))

    def channels(self, start: datetime, end: datetime, filters: Filters) -> list[demand.ChannelRow]:
        return demand.channels(self._read(start, end, demand.CHANNEL_TYPES, filters))

    def locations(self, start: datetime, end: datetime, filters: Filters) -> demand.LocationsReport:
        report = demand.locations(self._read(start, end, demand.LOCATION_TYPES, filters))
        if filters.product_ref is not None:
            report.outOfStock = [
                row for row in report.outOfStock if row.productRef == filters.product_ref
            ]
        return report

    def affinity(
        self, start: datetime, end: datetime, filters: Filters, min_count: int, limit: int
    ) -> demand.AffinityReport:
        return demand.affinity(
            self._read(start, end, demand.AFFINITY_TYPES, filters), min_count, limit
        )

    def timing(
        self, start: datetime, end: datetime, filters: Filters, time_zone: str, bucket_seconds: int
    ) -> timing_report.TimingReport:
        return timing_report.timing(
            self._read(start, end, timing_report.TIMING_TYPES, filters), time_zone, bucket_seconds
        )

    def restocking(
        self, start: datetime, end: datetime, filters: Filters, threshold: float | None
    ) -> tuple[list[restocking.RestockRow], int]:
        """The rows, and how many ``RESTOCK_SUGGESTED`` events were published (rows at or above
        ``threshold``; none without a threshold or without an event bus)."""
        rows = restocking.restocking(
            self._read(start, end, restocking.RESTOCK_TYPES, filters), start, end, threshold
        )
        if filters.product_ref is not None:
            rows = [row for row in rows if row.productRef == filters.product_ref]
        if threshold is None:
            return rows, 0
        suggested = [
            restocking.restock_event(row, start, end, threshold)
            for row in rows
            if row.restockSuggested
        ]
        return rows, self._signals.publisher.publish_details(RESTOCK_SUGGESTED, suggested)
