"""Demand signals (docs/behaviour.md §7): capture them from table changes, answer queries and the funnel."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.clock import Clock, to_iso
from holdfast.domain.funnel import FUNNEL_TYPES, FunnelRow, funnel
from holdfast.domain.signals import Signal, SignalType, signals_from_change
from holdfast.errors import InvalidInput
from holdfast.signal_events import SignalPublisher
from holdfast.storage import CounterImage, InventoryTable, counter_from_image, table_change
from holdfast.storage.signals import SignalTable

MAX_RANGE = timedelta(days=31)
"""The longest ``[from, to)`` one query or funnel reads."""
DEFAULT_RANGE = timedelta(days=1)


class SignalService:
    def __init__(
        self,
        signals: SignalTable,
        publisher: SignalPublisher,
        config: ConfigurationCache,
        clock: Clock,
        positions: InventoryTable | None = None,
    ) -> None:
        self._signals = signals
        self._publisher = publisher
        self._config = config
        self._clock = clock
        self._positions = positions

    def capture(self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Signal]:
        """Derive the signals of one table change, store them, then publish them. Safe to
        repeat: the same change gives the same signal items."""
        counter = counter_from_image(new or old)
        configuration = self._config.current() if counter else None
        changed = counter_from_image(new)
        others = self._other_shards(changed) if changed is not None else 0
        signals = signals_from_change(table_change(old, new), configuration, others)
        if signals:
            self._signals.put(signals)
            self._publisher.publish(signals)
        return signals

    def _other_shards(self, counter: CounterImage) -> int:
        """What the position's other counter shards hold now (docs/decisions.md #12): a
        sharded position's low-stock crossing is judged on its total, so a change of one
        shard is added to the others as read just after it (one BatchGetItem; 0 unsharded)."""
        if not counter.sharded or self._positions is None:
            return 0
        ref = counter.position_ref
        position = self._positions.get_positions([ref]).get(ref)
        if position is None:
            return 0
        values = position.shard_values
        shard = counter.shard
        return position.on_hand - (values[shard] if shard < len(values) else 0)

    def query(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        kind: SignalType | None = None,
        product_ref: str | None = None,
        location_ref: str | None = None,
        channel: str | None = None,
        limit: int,
        token: str | None = None,
    ) -> tuple[list[Signal], str | None]:
        """One page of signals in time order and the token of the next (``None``: no more)."""
        start, end = self.time_range(start, end)
        after = decode_token(token, start, end) if token else None
        signals, last = self._signals.page(
            start,
            end,
            kinds=[SignalType(kind)] if kind else list(SignalType),
            product_ref=product_ref,
            location_ref=location_ref,
            channel=channel,
            after=after,
            limit=limit,
        )
        return signals, encode_token(last) if last else None

    def funnel(self, start: datetime | None, end: datetime | None) -> list[FunnelRow]:
        start, end = self.time_range(start, end)
        return funnel(self._signals.read_range(start, end, FUNNEL_TYPES))

    def read(self, start: datetime, end: datetime, kinds: Sequence[SignalType]) -> Iterator[Signal]:
        """Every signal of ``kinds`` in ``[start, end)`` (the demand reports)."""
        return self._signals.read_range(start, end, kinds)

    @property
    def publisher(self) -> SignalPublisher:
        return self._publisher

    def time_range(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        """``[from, to)``: ``to`` defaults to now (what happened this millisecond included),
        ``from`` to a day before ``to``; at most 31 days. Times without a zone are UTC."""
        end = _utc(end) if end else self._clock() + timedelta(milliseconds=1)
        start = _utc(start) if start else end - DEFAULT_RANGE
        if start >= end:
            raise InvalidInput.field("to", "must be after from")
        if end - start > MAX_RANGE:
            raise InvalidInput.field("to", f"at most {MAX_RANGE.days} days after from")
        return start, end


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_token(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_token(token: str, start: datetime, end: datetime) -> str:
    """The sort key a page ended at; a token that is not one of ours is a 422."""
    try:
        sort_key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput.field("nextToken", "not a token this API issued") from None
    if sort_key.count("#") < 2 or not to_iso(start) <= sort_key < to_iso(end):
        raise InvalidInput.field("nextToken", "not a token of this query's time range")
    return sort_key
