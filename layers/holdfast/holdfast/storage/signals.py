"""Where demand signals live in the Holdfast table: their keys, partitions, pages, retention.

Apart from :class:`holdfast.storage.InventoryTable`: signals are written only by the stream
consumer and read only by the signals routes, never inside a ledger transaction.

=====================  ==================================  =================================
item                   pk                                  sk
=====================  ==================================  =================================
signal, by type / day  ``SIGNAL#{type}#{yyyy-mm-dd}``      ``{at}#{id}`` (the id starts with
signal, by product     ``SIGNAL#PRODUCT#{productRef}``     the type)
=====================  ==================================  =================================

Each signal is written twice, once in each partition (the same cost as an index entry, and no
index: DynamoDB Local 2.6.1's TTL leaves alone every item a sparse index does not hold, so a
signals index would stop hold timers from expiring locally). Every sort key starts with the
signal's time, so one ``sk`` order runs through every partition: a page ends at a sort key,
and the next page starts after it, wherever it is. ``ttl`` removes a signal
``SIGNAL_RETENTION_DAYS`` after it happened.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from holdfast import retry
from holdfast.domain.clock import from_iso, to_iso
from holdfast.domain.signals import Signal, SignalType, signal_day
from holdfast.storage.records import from_item, to_item

BATCH_WRITE_LIMIT = 25
QUERY_PAGE = 500


def signal_pk(kind: SignalType | str, day: str) -> str:
    return f"SIGNAL#{kind}#{day}"


def product_signals_pk(product_ref: str) -> str:
    """``PRODUCT`` is no signal type, and refs hold no ``#``: no collision with a type's day."""
    return f"SIGNAL#PRODUCT#{product_ref}"


def signal_sk(signal: Signal) -> str:
    """``{at}#{id}``: unique (the id names the type and the change), ordered by time across
    every partition."""
    return f"{signal.at}#{signal.id}"


class SignalTable:
    """Signal items of the Holdfast table: write (idempotent), page through, read a range."""

    def __init__(self, client: Any, table_name: str, retention_days: int) -> None:
        self._client = client
        self.table_name = table_name
        self._retention = timedelta(days=retention_days)

    def put(self, signals: Sequence[Signal]) -> None:
        """Store signals with BatchWriteItem (25 a call, unprocessed items retried). A signal
        written again (a redelivered stream record) overwrites itself with the same content."""
        items = [
            {"PutRequest": {"Item": item}} for signal in signals for item in self._items(signal)
        ]
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending = {self.table_name: items[start : start + BATCH_WRITE_LIMIT]}
            attempt = 0
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if pending:
                    attempt += 1
                    retry.UNPROCESSED.pause(attempt)

    def page(
        self,
        start: datetime,
        end: datetime,
        *,
        kinds: Sequence[SignalType],
        product_ref: str | None = None,
        location_ref: str | None = None,
        channel: str | None = None,
        after: str | None = None,
        limit: int,
    ) -> tuple[list[Signal], str | None]:
        """Signals in ``[start, end)`` in time order, at most ``limit``, after the sort key
        ``after`` (the previous page's token); answers them and the next page's token."""
        found: list[tuple[str, Signal]] = []
        lower = after or to_iso(start)
        for sources in self._sources(start, end, kinds, product_ref, lower):
            need = limit + 1 - len(found)
            streams = [
                self._matching(source, lower, to_iso(end), location_ref, channel, kinds, need)
                for source in sources
            ]
            for sk, signal in heapq.merge(*streams):
                if sk == after:
                    continue
                found.append((sk, signal))
                if len(found) > limit:
                    break
            if len(found) > limit:
                break
        page = found[:limit]
        token = page[-1][0] if len(found) > limit else None
        return [signal for _, signal in page], token

    def read_range(
        self, start: datetime, end: datetime, kinds: Sequence[SignalType]
    ) -> Iterator[Signal]:
        """Every signal of ``kinds`` in ``[start, end)`` (the funnel), partition by partition."""
        lower = to_iso(start)
        for sources in self._sources(start, end, kinds, None, lower):
            for source in sources:
                for _, signal in self._matching(
                    source, lower, to_iso(end), None, None, kinds, None
                ):
                    yield signal

    def _items(self, signal: Signal) -> list[dict[str, Any]]:
        """The signal in its type's day partition and in its product's partition."""
        at = from_iso(signal.at)
        values = {
            "sk": signal_sk(signal),
            "entity": "SIGNAL",
            "type": str(signal.type),
            "productRef": signal.productRef,
            "locationRef": signal.locationRef,
            "channel": signal.channel,
            "body": signal.model_dump_json(),
            "ttl": int((at + self._retention).timestamp()),
        }
        return [
            to_item({"pk": signal_pk(signal.type, signal_day(at)), **values}),
            to_item({"pk": product_signals_pk(signal.productRef), **values}),
        ]

    def _sources(
        self,
        start: datetime,
        end: datetime,
        kinds: Sequence[SignalType],
        product_ref: str | None,
        lower: str,
    ) -> Iterator[list[tuple[str, bool]]]:
        """Groups of partitions to merge, in time order, each with whether it holds other types
        than ``kinds``: the product's partition, or each day's partition of each type (from the
        day of ``lower``)."""
        if product_ref is not None:
            yield [(product_signals_pk(product_ref), len(kinds) < len(SignalType))]
            return
        day = from_iso(lower[:24]).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            yield [(signal_pk(kind, signal_day(day)), False) for kind in kinds]
            day += timedelta(days=1)

    def _matching(
        self,
        source: tuple[str, bool],
        lower: str,
        upper: str,
        location_ref: str | None,
        channel: str | None,
        kinds: Sequence[SignalType],
        need: int | None,
    ) -> Iterator[tuple[str, Signal]]:
        """One partition's signals with ``lower <= sk < upper`` passing the filters, in sort
        key order; stops reading after ``need`` matches."""
        partition, filter_types = source
        request = self._range_query(partition, lower, upper)
        _add_filter(request, location_ref, channel, kinds if filter_types else None)
        matched = 0
        while True:
            if need is not None:
                request["Limit"] = min(max(need - matched, 1) * 2, QUERY_PAGE)
            response = self._client.query(**request)
            for item in response["Items"]:
                values = from_item(item)
                if values["sk"] >= upper:
                    continue
                yield values["sk"], Signal.model_validate(json.loads(values["body"]))
                matched += 1
            last = response.get("LastEvaluatedKey")
            if not last or (need is not None and matched >= need):
                return
            request["ExclusiveStartKey"] = last

    def _range_query(self, partition: str, lower: str, upper: str) -> dict[str, Any]:
        """The Query of one partition's sort keys from ``lower`` to ``upper``."""
        return {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :partition AND sk BETWEEN :lower AND :upper",
            "ExpressionAttributeValues": {
                ":partition": {"S": partition},
                ":lower": {"S": lower},
                ":upper": {"S": upper},
            },
        }


def _add_filter(
    request: dict[str, Any],
    location_ref: str | None,
    channel: str | None,
    kinds: Sequence[SignalType] | None,
) -> None:
    """Filter a Query to one location, one channel and (in a partition holding every type)
    the wanted types; no filter when none is asked for."""
    filters, values = [], request["ExpressionAttributeValues"]
    if location_ref is not None:
        filters.append("locationRef = :location")
        values[":location"] = {"S": location_ref}
    if channel is not None:
        filters.append("channel = :channel")
        values[":channel"] = {"S": channel}
    if kinds is not None:
        request["ExpressionAttributeNames"] = {"#type": "type"}
        allowed = []
        for number, kind in enumerate(kinds):
            values[f":type{number}"] = {"S": str(kind)}
            allowed.append(f":type{number}")
        filters.append(f"#type IN ({', '.join(allowed)})")
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
