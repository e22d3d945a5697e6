"""The timing report (docs/signals.md, "Reports"; ``GET /reports/timing``): when carts are
held, converted and abandoned, by local hour and day of the week, and how long converting a
hold takes beside the timer lengths the carts were given. Counted as
:mod:`holdfast.domain.demand` counts (carts by ``foRef``, orders by ``orderRef``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from holdfast.domain.clock import from_iso
from holdfast.domain.demand import Row, from_hold, holds_stock
from holdfast.domain.signals import Signal, SignalType

TIMING_TYPES = (SignalType.FO_CALL, SignalType.CONVERSION, SignalType.ABANDONED)


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
    tally = _TimingTally(ZoneInfo(time_zone), bucket_seconds)
    for signal in signals:
        tally.add(signal)
    return TimingReport(
        timeZone=time_zone,
        byHour=_time_slots(tally.hours, first=0),
        byDayOfWeek=_time_slots(tally.days, first=1),
        bucketSeconds=bucket_seconds,
        secondsToConvert=[
            SecondsBucket(
                fromSeconds=b * bucket_seconds,
                toSeconds=(b + 1) * bucket_seconds,
                orders=len(tally.buckets[b]),
            )
            for b in sorted(tally.buckets)
        ],
        timers=[
            TimerCount(timerSeconds=t, heldCarts=len(tally.timers[t])) for t in sorted(tally.timers)
        ],
        ordersAfterExpiry=len(tally.late),
    )


@dataclass
class _TimingTally:
    """The carts and orders of :func:`timing`, by local hour and weekday (holds, conversions,
    abandoned), by seconds to convert, by timer length, and converted after their hold ended."""

    zone: ZoneInfo
    bucket_seconds: int
    hours: list[list[set[str]]] = field(default_factory=lambda: _columns(24))
    days: list[list[set[str]]] = field(default_factory=lambda: _columns(7))
    buckets: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    timers: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    late: set[str] = field(default_factory=set)

    def add(self, signal: Signal) -> None:
        column, key = _timing_column(signal)
        if column is None:
            return
        local = from_iso(signal.at).astimezone(self.zone)
        self.hours[local.hour][column].add(key)
        self.days[local.isoweekday() - 1][column].add(key)
        if holds_stock(signal) and signal.detail.get("timerMinutes") is not None:
            self.timers[int(signal.detail["timerMinutes"]) * 60].add(key)
        if from_hold(signal) and signal.secondsToConvert is not None:
            self.buckets[int(signal.secondsToConvert // self.bucket_seconds)].add(key)
        elif signal.type is SignalType.CONVERSION and signal.foRef and not from_hold(signal):
            self.late.add(key)


def _columns(slots: int) -> list[list[set[str]]]:
    return [[set(), set(), set()] for _ in range(slots)]


def _time_slots(columns: list[list[set[str]]], first: int) -> list[TimeSlot]:
    """One slot per hour (from 0) or weekday (from 1, Monday): its holds, conversions, abandoned."""
    return [
        TimeSlot(slot=i + first, holds=len(c[0]), conversions=len(c[1]), abandoned=len(c[2]))
        for i, c in enumerate(columns)
    ]


def _timing_column(signal: Signal) -> tuple[int | None, str]:
    """Which count a signal adds to (0 holds, 1 conversions, 2 abandoned) and its cart or order."""
    if holds_stock(signal):
        return 0, signal.foRef or signal.id
    if signal.type is SignalType.CONVERSION:
        return 1, signal.orderRef or signal.id
    if signal.type is SignalType.ABANDONED:
        return 2, signal.foRef or signal.id
    return None, ""
