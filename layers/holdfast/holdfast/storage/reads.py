"""Reads of the table: positions with their shards, ledgers, documents, timers, configuration."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from holdfast import retry
from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Channel, Configuration, Location, Product, TimerConfig
from holdfast.domain.documents import CartRecord, OrderRecord
from holdfast.domain.ledger import InventoryQuantity, IqType
from holdfast.storage.documents import cart_from, order_from
from holdfast.storage.keys import (
    CONFIG_PK,
    EXPIRY_INDEX,
    EXPIRY_SHARDS,
    FO_KIND,
    IP_SK,
    ORDER_KIND,
    PRODUCT_SK,
    document_key,
    key,
    position_pk,
    product_pk,
    quantity_sk,
    shard_key,
    shard_pk,
)
from holdfast.storage.records import (
    PositionRecord,
    from_item,
    is_shard,
    position_from,
    quantity_from,
    with_shards,
)

BATCH_GET_LIMIT = 100


class TableReads:
    """Typed reads of the Holdfast table; :class:`holdfast.storage.InventoryTable` adds the writes."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get_positions(
        self, refs: Sequence[str], shard_counts: Mapping[str, int] | None = None
    ) -> dict[str, PositionRecord]:
        """Read many IP items with BatchGetItem (100 keys a call), consistent reads, summing
        sharded counters. ``shard_counts`` (from product configuration) lets the shards be
        read with their positions; a position whose item says it has more is topped up with
        one more read."""
        shard_counts = shard_counts or {}
        wanted = {
            (ref, shard)
            for ref in dict.fromkeys(refs)
            for shard in range(max(1, shard_counts.get(ref, 1)))
        }
        positions: dict[str, PositionRecord] = {}
        shards: dict[str, dict[int, int]] = {}
        pending = wanted
        while pending:
            for values in self._batch_get(
                [shard_key(ref, shard) for ref, shard in sorted(pending)], consistent=True
            ):
                if is_shard(values):
                    shards.setdefault(values["ref"], {})[int(values["shard"])] = int(
                        values.get("onHand", 0)
                    )
                else:
                    positions[values["ref"]] = position_from(values)
            pending = {
                (ref, shard)
                for ref, position in positions.items()
                for shard in range(position.counter_shards)
                if (ref, shard) not in wanted
            }
            wanted |= pending
        return {
            ref: with_shards(position, shards.get(ref, {})) for ref, position in positions.items()
        }

    def get_ledger(
        self, position_ref: str
    ) -> tuple[PositionRecord | None, list[InventoryQuantity]]:
        """The IP item and every IQ of the position, in one paginated Query."""
        position: PositionRecord | None = None
        ledger: list[InventoryQuantity] = []
        for values in self._query_partition(position_pk(position_ref)):
            if values["sk"] == IP_SK:
                position = position_from(values)
            elif values.get("entity") == "IQ":
                ledger.append(quantity_from(values))
        if position is None or position.shard_partitions <= 1:
            return position, ledger
        shards: dict[int, int] = {}
        for shard in range(1, position.shard_partitions):  # a sharded position: one Query per shard
            for values in self._query_partition(shard_pk(position_ref, shard)):
                if is_shard(values):
                    shards[shard] = int(values.get("onHand", 0))
                elif values.get("entity") == "IQ":
                    ledger.append(quantity_from(values))
        return with_shards(position, shards), ledger

    def get_quantities_of_type(
        self, position_ref: str, iq_type: str
    ) -> tuple[PositionRecord | None, list[InventoryQuantity]]:
        """The IP (with its shards) and its IQs of one type, from every partition they may be in."""
        position = self.get_positions([position_ref]).get(position_ref)
        partitions = position.shard_partitions if position else 1
        prefix = ("begins_with(sk, :type)", {":type": {"S": quantity_sk(iq_type, None)}})
        ledger = [
            quantity_from(values)
            for shard in range(partitions)
            for values in self._query_partition(shard_pk(position_ref, shard), *prefix)
            if values.get("entity") == "IQ"
        ]
        return position, ledger

    def get_snapshot_ledger(
        self, position_ref: str
    ) -> tuple[PositionRecord | None, list[InventoryQuantity]]:
        """The IP item and the IQs a snapshot can supersede (LAST_ON_HAND, DELTA, CORRECTION,
        RETURNED, SALE), skipping the hold and reservation ranges, which grow with every cart
        on a hot SKU. Sort keys in order: ``#IP`` < ``IQ#CORRECTION`` < ``IQ#DELTA`` <
        ``IQ#LAST_ON_HAND`` < ``IQ#RESERVED`` < ``IQ#RETURNED`` < ``IQ#SALE`` < ``IQ#SOFT_RESERVE``."""
        position: PositionRecord | None = None
        ledger: list[InventoryQuantity] = []
        pk = position_pk(position_ref)
        below_reserved = ("sk < :reserved", {":reserved": {"S": f"IQ#{IqType.RESERVED}"}})
        returned_to_sale = (
            "sk BETWEEN :returned AND :sale",
            {":returned": {"S": f"IQ#{IqType.RETURNED}"}, ":sale": {"S": f"IQ#{IqType.SALE}$"}},
        )
        for condition, values in (below_reserved, returned_to_sale):
            for item in self._query_partition(pk, condition, values):
                if item["sk"] == IP_SK:
                    position = position_from(item)
                elif item.get("entity") == "IQ":
                    ledger.append(quantity_from(item))
        return position, ledger

    def scan_ledgers(self) -> Iterator[tuple[PositionRecord | None, list[InventoryQuantity]]]:
        """Every position with its ledger (for reconcile). A full table scan: an offline job."""
        grouped: dict[
            str, tuple[list[PositionRecord], dict[int, int], list[InventoryQuantity]]
        ] = {}
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            FilterExpression="begins_with(pk, :ip)",
            ExpressionAttributeValues={":ip": {"S": "IP#"}},
        ):
            for item in page["Items"]:
                values = from_item(item)
                ref = values["ipRef"] if values.get("entity") == "IQ" else values["ref"]
                positions, shards, ledger = grouped.setdefault(ref, ([], {}, []))
                if is_shard(values):
                    shards[int(values["shard"])] = int(values.get("onHand", 0))
                elif values["sk"] == IP_SK:
                    positions.append(position_from(values))
                elif values.get("entity") == "IQ":
                    ledger.append(quantity_from(values))
        for positions, shards, ledger in grouped.values():
            yield (with_shards(positions[0], shards) if positions else None), ledger

    def get_cart(self, ref: str) -> CartRecord | None:
        """The fulfilment option ``ref`` as stored (a consistent read)."""
        values = self._get_document(FO_KIND, ref)
        return cart_from(values) if values is not None else None

    def get_order(self, ref: str) -> OrderRecord | None:
        """The order ``ref`` as stored (a consistent read)."""
        values = self._get_document(ORDER_KIND, ref)
        return order_from(values) if values is not None else None

    def _get_document(self, kind: str, ref: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=document_key(kind, ref), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None

    def overdue_holds(self, now: datetime, limit: int) -> list[str]:
        """Refs of fulfilment options whose timer is at or past ``now`` but still in the table
        (TTL deletes can be days late), oldest first, from the expiry index."""
        upper = f"{to_iso(now)}#\uffff"
        shards = []
        for shard in range(EXPIRY_SHARDS):
            found: list[tuple[str, str]] = []
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(
                TableName=self.table_name,
                IndexName=EXPIRY_INDEX,
                KeyConditionExpression="timerShard = :shard AND timerExpiresAt <= :upper",
                ExpressionAttributeValues={
                    ":shard": {"S": f"TIMER#{shard}"},
                    ":upper": {"S": upper},
                },
                PaginationConfig={"MaxItems": limit},
            ):
                found.extend(
                    (item["timerExpiresAt"]["S"], item["foRef"]["S"]) for item in page["Items"]
                )
            shards.append(found)
        return [ref for _, ref in itertools.islice(heapq.merge(*shards), limit)]

    def get_quantities(
        self, refs: Sequence[tuple[str, str, str | None]]
    ) -> list[InventoryQuantity]:
        """IQs by (ipRef, type, sourceRef), in one or more BatchGetItem calls."""
        keys = [key(position_pk(ip), quantity_sk(t, source)) for ip, t, source in refs]
        return [quantity_from(values) for values in self._batch_get(keys, consistent=True)]

    def load_configuration(self) -> Configuration:
        """Channels, locations and timers: one Query of the CONFIG partition."""
        channels: dict[str, Channel] = {}
        locations: dict[str, Location] = {}
        timers = TimerConfig()
        for values in self._query_partition(CONFIG_PK):
            kind, _, name = values["sk"].partition("#")
            body = json.loads(values["body"])
            if kind == "CHANNEL":
                channels[name] = Channel.model_validate({**body, "name": name})
            elif kind == "LOCATION":
                locations[name] = Location.model_validate({**body, "ref": name})
            elif kind == "TIMERS":
                timers = TimerConfig.model_validate(body)
        return Configuration(channels=channels, locations=locations, timers=timers)

    def get_products(self, refs: Sequence[str]) -> dict[str, Product]:
        keys = [key(product_pk(ref), PRODUCT_SK) for ref in dict.fromkeys(refs)]
        products = {}
        for values in self._batch_get(keys, consistent=False):
            ref = values["pk"].removeprefix("PRODUCT#")
            products[ref] = Product.model_validate({**json.loads(values["body"]), "ref": ref})
        return products

    def _query_partition(
        self, pk: str, sort_condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk"
            + (f" AND {sort_condition}" if sort_condition else ""),
            ExpressionAttributeValues={":pk": {"S": pk}, **(values or {})},
            ConsistentRead=True,
        ):
            for item in page["Items"]:
                yield from_item(item)

    def _batch_get(
        self, keys: list[dict[str, Any]], *, consistent: bool
    ) -> Iterator[dict[str, Any]]:
        """BatchGetItem in chunks of 100, retrying unprocessed keys with backoff."""
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": keys[start : start + BATCH_GET_LIMIT],
                    "ConsistentRead": consistent,
                }
            }
            attempt = 0
            while pending:
                response = self._client.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table_name, []):
                    yield from_item(item)
                pending = response.get("UnprocessedKeys") or {}
                if pending:
                    attempt += 1
                    retry.UNPROCESSED.pause(attempt)
