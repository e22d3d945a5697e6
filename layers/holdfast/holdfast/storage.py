"""The one module that knows the DynamoDB table: keys, items, expressions, transactions.

Single-table design (see docs/architecture.md for the access-pattern table):

=========================  =====================  ======================================
item                       pk                     sk
=========================  =====================  ======================================
Inventory Position         ``IP#{ipRef}``         ``#IP``
counter shard (1..N-1)     ``IP#{ipRef}#S{n}``    ``#IP``
Inventory Quantity         ``IP#{ipRef}``         ``IQ#{type}`` / ``IQ#{type}#{sourceRef}``
channel / location         ``CONFIG``             ``CHANNEL#{name}`` / ``LOCATION#{ref}``
timers                     ``CONFIG``             ``TIMERS``
product                    ``PRODUCT#{ref}``      ``#PRODUCT``
=========================  =====================  ======================================

Refs never contain ``#`` or ``:``, so keys cannot collide.
"""

from __future__ import annotations

import heapq
import itertools
import json
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from holdfast import retry
from holdfast.domain.clock import compact, from_iso, to_iso
from holdfast.domain.configuration import (
    Channel,
    Configuration,
    Location,
    Product,
    TimerConfig,
)
from holdfast.domain.holds import HoldConflict, HoldEnd, HoldPart, HoldPlan
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.placement import CounterStep, HoldRelease, Taking
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS
from holdfast.domain.refs import DEFAULT_CATALOGUE, ip_ref
from holdfast.domain.shards import Cover, Move
from holdfast.errors import Unavailable

CONFIG_PK = "CONFIG"
SHARD_ENTITY = "IP_SHARD"
IP_SK = "#IP"
PRODUCT_SK = "#PRODUCT"
BATCH_GET_LIMIT = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def position_pk(position_ref: str) -> str:
    return f"IP#{position_ref}"


def shard_pk(position_ref: str, shard: int) -> str:
    """Shard 0 is the position's own partition; shards 1..N-1 have partitions of their own
    (their counter item and the holds they granted), so a hot SKU's hold writes spread over
    N items and N partitions."""
    pk = position_pk(position_ref)
    return pk if shard == 0 else f"{pk}#S{shard}"


def shard_key(position_ref: str, shard: int) -> dict[str, Any]:
    return key(shard_pk(position_ref, shard), IP_SK)


def quantity_sk(iq_type: str, source_ref: str | None) -> str:
    return f"IQ#{iq_type}" if source_ref is None else f"IQ#{iq_type}#{source_ref}"


def product_pk(product_ref: str) -> str:
    return f"PRODUCT#{product_ref}"


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


@dataclass(frozen=True, slots=True)
class PositionRecord:
    """The IP item: the atomic ``onHand`` counter and what the snapshot rules need."""

    ref: str
    product_ref: str
    location_ref: str
    catalogue: str
    on_hand: int
    snapshot_as_of: datetime | None = None
    snapshot_quantity: int | None = None
    updated_at: datetime | None = None
    fence_as_of: datetime | None = None
    fence_until: datetime | None = None
    fence_id: str | None = None
    """Which snapshot writer set the fence: its commit is conditioned on this token, so a
    fence taken over or taken down since makes that commit fail (docs/decisions.md #14)."""
    counter_shards: int = 1
    """How many counter items onHand is split over (docs/decisions.md #12)."""
    shard_partitions: int = 1
    """How many shard partitions may hold ledger records (the most shards it ever had)."""
    shard_on_hand: tuple[int, ...] = ()
    """Each shard's onHand (index 0: this item) when sharded; ``on_hand`` is their sum."""

    @property
    def shard_values(self) -> tuple[int, ...]:
        return self.shard_on_hand or (self.on_hand,)

    def counter_change(self, delta: int = 0) -> CounterChange:
        return CounterChange(self.ref, self.product_ref, self.location_ref, self.catalogue, delta)


def _position_from(values: Mapping[str, Any]) -> PositionRecord:
    return PositionRecord(
        ref=values["ref"],
        product_ref=values["productRef"],
        location_ref=values["locationRef"],
        catalogue=values["catalogue"],
        on_hand=int(values.get("onHand", 0)),
        snapshot_as_of=from_iso(values["snapshotAsOf"]) if "snapshotAsOf" in values else None,
        snapshot_quantity=int(values["snapshotQuantity"]) if "snapshotQuantity" in values else None,
        updated_at=from_iso(values["updatedAt"]) if "updatedAt" in values else None,
        fence_as_of=from_iso(values["fenceAsOf"]) if "fenceAsOf" in values else None,
        fence_until=from_iso(values["fenceUntil"]) if "fenceUntil" in values else None,
        fence_id=values.get("fenceId"),
        counter_shards=int(values.get("counterShards", 1)),
        shard_partitions=int(values.get("shardPartitions", values.get("counterShards", 1))),
    )


def _with_shards(position: PositionRecord, shards: Mapping[int, int]) -> PositionRecord:
    """The position with its shard counters added in (shards never written count 0)."""
    count = max([position.counter_shards, *(shard + 1 for shard in shards)])
    if count <= 1:
        return position
    values = (position.on_hand, *(shards.get(shard, 0) for shard in range(1, count)))
    return replace(position, on_hand=sum(values), shard_on_hand=values)


def _is_shard(values: Mapping[str, Any]) -> bool:
    return values.get("entity") == SHARD_ENTITY


def _quantity_from(values: Mapping[str, Any]) -> InventoryQuantity:
    return InventoryQuantity(
        position_ref=values["ipRef"],
        type=IqType(values["type"]),
        quantity=int(values["quantity"]),
        status=IqStatus(values["status"]),
        effective_at=from_iso(values["effectiveAt"]),
        created_at=from_iso(values["createdAt"]),
        source_ref=values.get("sourceRef"),
        expires_at=from_iso(values["expiresAt"]) if "expiresAt" in values else None,
        shard=int(values.get("shard", 0)),
    )


def _quantity_item(iq: InventoryQuantity) -> dict[str, Any]:
    return to_item(
        {
            "pk": shard_pk(iq.position_ref, iq.shard),
            "shard": iq.shard or None,
            "sk": quantity_sk(iq.type, iq.source_ref),
            "entity": "IQ",
            "iqRef": iq.ref,
            "ipRef": iq.position_ref,
            "type": str(iq.type),
            "quantity": iq.quantity,
            "status": str(iq.status),
            "effectiveAt": to_iso(iq.effective_at),
            "createdAt": to_iso(iq.created_at),
            "sourceRef": iq.source_ref,
            "expiresAt": to_iso(iq.expires_at) if iq.expires_at else None,
        }
    )


class AdjustmentOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    STALE = "STALE"
    SHARDED = "SHARDED"
    """A decrease of a sharded position whose shards moved since they were read (or were
    not read): read them and apply it again with a fresh cover."""
    AGAIN = "AGAIN"
    """Refused by a fence whose writer died; the fence is down now: apply it again."""


def _lapsed_fence(position: PositionRecord | None, happened: datetime, now: datetime) -> bool:
    """Whether a fence at or after ``happened`` is in the way but its writer's time is up."""
    return (
        position is not None
        and position.fence_as_of is not None
        and position.fence_as_of >= happened
        and position.fence_until is not None
        and position.fence_until < now
    )


def _already_counted(position: PositionRecord | None, happened: datetime, now: datetime) -> bool:
    """Whether the feed rules refuse an event that happened at ``happened``: the snapshot
    counts it, or a snapshot counting it is being applied."""
    if position is None:
        return False
    if position.snapshot_as_of is not None and position.snapshot_as_of >= happened:
        return True
    return (
        position.fence_as_of is not None
        and position.fence_as_of >= happened
        and position.fence_until is not None
        and position.fence_until >= now
    )


class SnapshotOutcome(StrEnum):
    APPLIED = "APPLIED"
    RACED = "RACED"


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction (``"None"`` for items that were fine)."""
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


def _is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


CONDITION_FAILED = "ConditionalCheckFailed"
COMMIT_ATTEMPTS = 5
"""Tries of one transaction that DynamoDB cancelled for contention or throttling (each try
after the first waits :data:`holdfast.retry.COMMIT`); then the caller gets a 503 to retry."""


def _worth_retrying(error: ClientError) -> bool:
    """Cancelled only for contention or throttling (no condition failed), or throttled whole."""
    if _is_cancelled(error):
        codes = [code for code in cancellation_codes(error) if code not in ("None", "")]
        return bool(codes) and all(code in retry.NOT_NOW_CANCELLATIONS for code in codes)
    return error.response["Error"]["Code"] in retry.NOT_NOW_ERRORS


def _retry_reason(error: ClientError) -> str:
    codes = [code for code in cancellation_codes(error) if code not in ("None", "")]
    return ", ".join(sorted(set(codes))) or error.response["Error"]["Code"]


class InventoryTable:
    """Typed access to the Holdfast table. Holds no business rules: callers decide what to
    write; this module decides how it is written."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    # -- positions and their ledgers ------------------------------------------------------

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
                if _is_shard(values):
                    shards.setdefault(values["ref"], {})[int(values["shard"])] = int(
                        values.get("onHand", 0)
                    )
                else:
                    positions[values["ref"]] = _position_from(values)
            pending = {
                (ref, shard)
                for ref, position in positions.items()
                for shard in range(position.counter_shards)
                if (ref, shard) not in wanted
            }
            wanted |= pending
        return {
            ref: _with_shards(position, shards.get(ref, {})) for ref, position in positions.items()
        }

    def get_ledger(
        self, position_ref: str
    ) -> tuple[PositionRecord | None, list[InventoryQuantity]]:
        """The IP item and every IQ of the position, in one paginated Query."""
        position: PositionRecord | None = None
        ledger: list[InventoryQuantity] = []
        for values in self._query_partition(position_pk(position_ref)):
            if values["sk"] == IP_SK:
                position = _position_from(values)
            elif values.get("entity") == "IQ":
                ledger.append(_quantity_from(values))
        if position is None or position.shard_partitions <= 1:
            return position, ledger
        shards: dict[int, int] = {}
        for shard in range(1, position.shard_partitions):  # a sharded position: one Query per shard
            for values in self._query_partition(shard_pk(position_ref, shard)):
                if _is_shard(values):
                    shards[shard] = int(values.get("onHand", 0))
                elif values.get("entity") == "IQ":
                    ledger.append(_quantity_from(values))
        return _with_shards(position, shards), ledger

    def get_quantities_of_type(
        self, position_ref: str, iq_type: str
    ) -> tuple[PositionRecord | None, list[InventoryQuantity]]:
        """The IP (with its shards) and its IQs of one type, from every partition they may be in."""
        position = self.get_positions([position_ref]).get(position_ref)
        partitions = position.shard_partitions if position else 1
        prefix = ("begins_with(sk, :type)", {":type": {"S": quantity_sk(iq_type, None)}})
        ledger = [
            _quantity_from(values)
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
                    position = _position_from(item)
                elif item.get("entity") == "IQ":
                    ledger.append(_quantity_from(item))
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
                if _is_shard(values):
                    shards[int(values["shard"])] = int(values.get("onHand", 0))
                elif values["sk"] == IP_SK:
                    positions.append(_position_from(values))
                elif values.get("entity") == "IQ":
                    ledger.append(_quantity_from(values))
        for positions, shards, ledger in grouped.values():
            yield (_with_shards(positions[0], shards) if positions else None), ledger

    def record_adjustment(
        self,
        iq: InventoryQuantity,
        product_ref: str,
        location_ref: str,
        catalogue: str,
        now: datetime,
        cover: Cover | None = None,
    ) -> tuple[AdjustmentOutcome, InventoryQuantity | None]:
        """Write a DELTA/CORRECTION/RETURNED IQ and add it to the counter, atomically.

        The IQ is created only if its ref is new (a replay is a ``DUPLICATE``, answered with
        the IQ already there), and only if it happened after the position's snapshot (else it
        is already counted: ``STALE``), and not while a snapshot counting it is being applied.
        A decrease of a sharded position needs a ``cover`` (else ``SHARDED``: read the shards
        and call again).
        """
        writes = self.writes(now).create_quantity(iq)
        writes.change_counter(
            CounterChange(
                iq.position_ref,
                product_ref,
                location_ref,
                catalogue,
                iq.quantity,
                feed_event_at=iq.effective_at,
            ),
            cover=cover,
        )
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            if f"iq:{iq.ref}" in conflict.failed:
                existing = self.get_quantities([(iq.position_ref, iq.type, iq.source_ref)])
                return AdjustmentOutcome.DUPLICATE, existing[0] if existing else None
            position = self.get_positions([iq.position_ref]).get(iq.position_ref)
            if position is not None and _lapsed_fence(position, iq.effective_at, now):
                self.take_down_fence(position, now)
                return AdjustmentOutcome.AGAIN, None
            if iq.quantity < 0 and not _already_counted(position, iq.effective_at, now):
                return AdjustmentOutcome.SHARDED, None  # the shard guard failed, not the feed rules
            return AdjustmentOutcome.STALE, None
        return AdjustmentOutcome.APPLIED, None

    def fence_snapshot(
        self, change: CounterChange, as_of: datetime, until: datetime, now: datetime
    ) -> str | None:
        """Put a fence at ``as_of`` on the position before a snapshot reads its ledger: from
        now until the snapshot lands (or ``until`` passes, if its writer died), feed events at
        or before ``as_of`` are refused as already counted, so the ledger the snapshot reads
        stays the ledger it supersedes. Events after ``as_of`` and holds land freely. Answers the
        fence's token, which the snapshot's commit must still find (:meth:`record_snapshot`), or
        ``None`` if the position already has a snapshot at or after ``as_of`` or a newer fence
        stands."""
        fence_id = uuid.uuid4().hex
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=key(position_pk(change.position_ref), IP_SK),
                UpdateExpression=(
                    "SET #ref = if_not_exists(#ref, :ref), productRef = if_not_exists(productRef, :product), "
                    "locationRef = if_not_exists(locationRef, :location), catalogue = if_not_exists(catalogue, :catalogue), "
                    "entity = if_not_exists(entity, :entity), fenceAsOf = :asOf, fenceUntil = :until, fenceId = :fence "
                    "ADD onHand :zero"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :asOf) AND "
                    "(attribute_not_exists(fenceAsOf) OR fenceAsOf <= :asOf OR fenceUntil < :now)"
                ),
                ExpressionAttributeNames={"#ref": "ref"},
                ExpressionAttributeValues={
                    ":ref": {"S": change.position_ref},
                    ":product": {"S": change.product_ref},
                    ":location": {"S": change.location_ref},
                    ":catalogue": {"S": change.catalogue},
                    ":entity": {"S": "IP"},
                    ":asOf": {"S": to_iso(as_of)},
                    ":until": {"S": to_iso(until)},
                    ":fence": {"S": fence_id},
                    ":now": {"S": to_iso(now)},
                    ":zero": {"N": "0"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return fence_id

    def take_down_fence(self, position: PositionRecord, now: datetime) -> bool:
        """Remove a fence whose writer's time is up (it died, or it is slower than the fence
        allows), so feed events it refuses can land. A snapshot still working under it then
        fails its commit (its token is gone) and starts again, reading what landed."""
        values = {":now": {"S": to_iso(now)}}
        if position.fence_id is None:  # a fence set before fences carried a token
            condition = "attribute_not_exists(fenceId) AND fenceUntil < :now"
        else:
            condition = "fenceId = :fence AND fenceUntil < :now"
            values[":fence"] = {"S": position.fence_id}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=key(position_pk(position.ref), IP_SK),
                UpdateExpression="REMOVE fenceAsOf, fenceUntil, fenceId",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False  # taken down, taken over or landed meanwhile
            raise
        return True

    def record_snapshot(
        self,
        snapshot: InventoryQuantity,
        superseded: Sequence[InventoryQuantity],
        counter_delta: int,
        product_ref: str,
        location_ref: str,
        catalogue: str,
        now: datetime,
        cover: Cover | None = None,
        fence_id: str = "",
    ) -> SnapshotOutcome:
        """Write a LAST_ON_HAND snapshot, supersede what it counts, move the counter — at once.

        Conditioned on the caller's fence (:meth:`fence_snapshot`, its token ``fence_id``) still
        standing; a newer snapshot that took the fence, or a feed event that took a lapsed fence
        down, makes this ``RACED``. Superseded IQs beyond what one
        transaction holds are marked by :meth:`mark_superseded` afterwards. A decrease of a
        sharded position needs a ``cover`` from a fresh read of its shards (else ``RACED``).
        """
        previous = next(
            (iq for iq in superseded if iq.type is IqType.LAST_ON_HAND and iq.source_ref is None),
            None,
        )
        others = [iq for iq in superseded if iq is not previous]
        writes = self.writes(now)
        writes.change_counter(
            CounterChange(
                snapshot.position_ref, product_ref, location_ref, catalogue, counter_delta
            ),
            snapshot=snapshot,
            cover=cover,
            fence_id=fence_id,
        )
        writes.create_quantity(snapshot, replace=True)
        if previous is not None:
            writes.create_quantity(
                InventoryQuantity(
                    position_ref=previous.position_ref,
                    type=IqType.LAST_ON_HAND,
                    quantity=previous.quantity,
                    status=IqStatus.INACTIVE,
                    effective_at=previous.effective_at,
                    created_at=previous.created_at,
                    source_ref=compact(previous.effective_at),
                ),
                replace=True,
            )
        room = MAX_TRANSACTION_ITEMS - len(writes.operations)
        for iq in others[:room]:
            writes.deactivate_quantity(iq)
        try:
            self.commit(writes)
        except WriteConflict:
            return SnapshotOutcome.RACED
        if len(others) > room:
            self.mark_superseded(others[room:])
        return SnapshotOutcome.APPLIED

    def mark_superseded(self, quantities: Sequence[InventoryQuantity]) -> None:
        """Mark IQs a snapshot already excluded from the counter INACTIVE (no counter change)."""
        for iq in quantities:
            try:
                self._client.update_item(**_deactivate_update(self.table_name, iq))
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise  # already INACTIVE is fine: another writer got there first

    # -- documents and ledger transactions ----------------------------------------------

    def writes(self, now: datetime) -> LedgerWrites:
        return LedgerWrites(self.table_name, now)

    def commit(self, writes: LedgerWrites) -> None:
        """Run the writes as one TransactWriteItems: all of them or none.

        Raises :class:`WriteConflict` naming the operations whose conditions failed. A
        cancellation for contention or throttling alone (no condition failed, nothing written)
        is retried with jittered backoff, :data:`COMMIT_ATTEMPTS` tries in all, then raises
        :class:`~holdfast.errors.Unavailable` (503). docs/decisions.md §13.
        """
        tags = [tag for tag, _ in writes.operations]
        items = [op for _, op in writes.operations]
        reason = ""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if not _worth_retrying(error):
                    if not _is_cancelled(error):
                        raise
                    codes = cancellation_codes(error)
                    if CONDITION_FAILED not in codes:
                        raise  # neither a condition nor contention: a bug, not a conflict
                    raise WriteConflict(
                        [
                            tag
                            for tag, code in zip(tags, codes, strict=False)
                            if code == CONDITION_FAILED
                        ]
                    ) from None
                reason = _retry_reason(error)
            if attempt < COMMIT_ATTEMPTS:
                retry.COMMIT.pause(attempt)
        raise Unavailable(
            f"the write met contention or throttling ({reason}) {COMMIT_ATTEMPTS} times; nothing was written, retry",
            [{"field": "body", "message": "retry with the same request: it is idempotent"}],
        )

    def commit_hold(self, plan: HoldPlan, body: dict[str, Any]) -> None:
        """Write a hold plan as one transaction: the fulfilment option (with ``body``), its
        timer, the units it takes and the cart it replaces. Raises :class:`HoldConflict`
        naming the part of the plan that no longer held."""
        writes = self.writes(plan.now).create_document(
            Document(FO_KIND, plan.ref, plan.status, body, plan.expires_at)
        )
        if plan.timer_until is not None:
            writes.put_timer(plan.ref, plan.timer_until)
        writes.take(plan.taking)
        if plan.replacing is not None:
            writes.end_hold(plan.replacing)
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            if f"{FO_KIND}:{plan.ref}" in conflict.failed:
                raise HoldConflict(HoldPart.CART_EXISTS, conflict.failed) from None
            replaced = plan.replacing
            if replaced is not None and f"{FO_KIND}:{replaced.ref}" in conflict.failed:
                raise HoldConflict(HoldPart.REPLACED_GONE, conflict.failed) from None
            raise HoldConflict(HoldPart.STOCK_CHANGED, conflict.failed) from None

    def commit_hold_end(self, end: HoldEnd, now: datetime) -> bool:
        """Move an ACTIVE hold to its end status and give its units back, in one transaction.
        Answers False when the hold was no longer ACTIVE (or no longer (un)expired) as the
        plan requires: someone else ended it first."""
        try:
            self.commit(self.writes(now).end_hold(end))
        except WriteConflict:
            return False
        return True

    def get_document(self, kind: str, ref: str) -> Document | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=document_key(kind, ref), ConsistentRead=True
        )
        return _document_from(from_item(response["Item"])) if "Item" in response else None

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
        return [_quantity_from(values) for values in self._batch_get(keys, consistent=True)]

    # -- configuration --------------------------------------------------------------------

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

    def put_configuration(
        self, kind: str, name: str | None, body: BaseModel, now: datetime
    ) -> None:
        """Store a channel, location or the timers (``kind`` CHANNEL, LOCATION or TIMERS)."""
        sk = kind if name is None else f"{kind}#{name}"
        self._client.put_item(
            TableName=self.table_name,
            Item=to_item(
                {
                    "pk": CONFIG_PK,
                    "sk": sk,
                    "entity": kind,
                    "body": body.model_dump_json(),
                    "updatedAt": to_iso(now),
                }
            ),
        )

    def put_product(self, product: Product, now: datetime) -> None:
        self._client.put_item(
            TableName=self.table_name,
            Item=to_item(
                {
                    "pk": product_pk(product.ref),
                    "sk": PRODUCT_SK,
                    "entity": "PRODUCT",
                    "body": product.model_dump_json(exclude={"ref"}),
                    "updatedAt": to_iso(now),
                }
            ),
        )

    def get_products(self, refs: Sequence[str]) -> dict[str, Product]:
        keys = [key(product_pk(ref), PRODUCT_SK) for ref in dict.fromkeys(refs)]
        products = {}
        for values in self._batch_get(keys, consistent=False):
            ref = values["pk"].removeprefix("PRODUCT#")
            products[ref] = Product.model_validate({**json.loads(values["body"]), "ref": ref})
        return products

    # -- building blocks ------------------------------------------------------------------

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


# -- documents (fulfilment options, orders) and transactional ledger writes ---------------

TIMER_SK = "TIMER"
FO_KIND = "FO"
EXPIRY_INDEX = "HoldsByExpiry"
EXPIRY_SHARDS = 4
"""Timer items spread over this many index partitions, so the sweeper's index stays cool."""


def expiry_shard(fo_ref: str) -> str:
    return f"TIMER#{zlib.crc32(fo_ref.encode()) % EXPIRY_SHARDS}"


def document_key(kind: str, ref: str) -> dict[str, Any]:
    """``FO#{ref}`` / ``ORDER#{ref}`` with sk ``#FO`` / ``#ORDER``."""
    return key(f"{kind}#{ref}", f"#{kind}")


def timer_key(fo_ref: str) -> dict[str, Any]:
    return key(f"FO#{fo_ref}", TIMER_SK)


@dataclass(frozen=True, slots=True)
class CounterChange:
    """Move one IP's counter by ``delta``, creating the IP item if new; where ``min_on_hand``
    is set, only if the counter is at least that much before the change (the exact "ATS
    still covers it" condition)."""

    position_ref: str
    product_ref: str
    location_ref: str
    catalogue: str
    delta: int
    min_on_hand: int | None = None
    feed_event_at: datetime | None = None
    """For feed events (DELTA, CORRECTION, RETURNED, SALE): when it happened. The change is
    refused if the position's snapshot already counts it, or a snapshot fenced at or after
    that time is being applied."""
    shard: int = 0
    """Which counter item of a sharded position (0: the position's own item)."""


@dataclass(frozen=True, slots=True)
class Document:
    """A fulfilment option or order as stored: the queryable fields plus the JSON body."""

    kind: str
    ref: str
    status: str
    body: dict[str, Any]
    expires_at: datetime | None = None
    order_ref: str | None = None
    updated_at: datetime | None = None
    """When the document last changed status (the item's ``updatedAt``)."""


class WriteConflict(Exception):
    """A ledger transaction was cancelled; ``failed`` names the operations whose condition
    did not hold (``counter:{ipRef}``, ``iq:{iqRef}``, ``FO:{ref}``, ``ORDER:{ref}`` …)."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__(f"transaction cancelled by {', '.join(failed) or 'a conflict'}")
        self.failed = failed


Operation = tuple[str, dict[str, Any]]
"""One item of a transaction and the tag that names it in a :class:`WriteConflict`."""


class LedgerWrites:
    """Builds the operations of one ledger transaction; :meth:`InventoryTable.commit` runs it."""

    def __init__(self, table_name: str, now: datetime) -> None:
        self._table = table_name
        self._now = now
        self.now = now
        """The time every write in this transaction is stamped with."""
        self.operations: list[Operation] = []

    def create_quantity(self, iq: InventoryQuantity, *, replace: bool = False) -> LedgerWrites:
        """Put an IQ; only if its key is new unless ``replace`` (the current snapshot's item)."""
        put: dict[str, Any] = {"TableName": self._table, "Item": _quantity_item(iq)}
        if not replace:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        self.operations.append((f"iq:{iq.ref}", {"Put": put}))
        return self

    def deactivate_quantity(self, iq: InventoryQuantity) -> LedgerWrites:
        operation = _deactivate_update(self._table, iq)
        self.operations.append((f"iq:{iq.ref}", {"Update": operation}))
        return self

    def extend_quantity(self, iq: InventoryQuantity, expires_at: datetime) -> LedgerWrites:
        """Move an ACTIVE hold IQ's ``expiresAt`` (an extended cart)."""
        self.operations.append(
            (
                f"iq:{iq.ref}",
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key(
                            shard_pk(iq.position_ref, iq.shard), quantity_sk(iq.type, iq.source_ref)
                        ),
                        "UpdateExpression": "SET expiresAt = :expires",
                        "ConditionExpression": "#status = :active",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":expires": {"S": to_iso(expires_at)},
                            ":active": {"S": "ACTIVE"},
                        },
                    }
                },
            )
        )
        return self

    def change_counter(
        self,
        change: CounterChange,
        *,
        snapshot: InventoryQuantity | None = None,
        cover: Cover | None = None,
        fence_id: str = "",
    ) -> LedgerWrites:
        """ADD ``change.delta`` to the IP's onHand under the change's conditions. With a
        ``snapshot``, also record it on the IP, conditioned on its fence still standing, and
        take the fence down.

        Sharded positions (docs/decisions.md #12): a change to shard 1..N-1 writes that item
        alone. A decrease of shard 0 with no ATS condition (a feed sale, a lower count) is
        refused on a sharded position unless it brings its ``cover``: the units pulled back
        from the other shards in the same transaction, conditioned on the shards as read."""
        if change.shard:
            return self._change_shard(change, change.delta, change.min_on_hand, exact=False)
        delta = change.delta + (sum(move.units for move in cover.moves) if cover else 0)
        values: dict[str, Any] = {
            ":delta": {"N": str(delta)},
            ":ref": {"S": change.position_ref},
            ":product": {"S": change.product_ref},
            ":location": {"S": change.location_ref},
            ":catalogue": {"S": change.catalogue},
            ":entity": {"S": "IP"},
            ":now": {"S": to_iso(self._now)},
        }
        sets = [
            "#ref = if_not_exists(#ref, :ref)",
            "productRef = if_not_exists(productRef, :product)",
            "locationRef = if_not_exists(locationRef, :location)",
            "catalogue = if_not_exists(catalogue, :catalogue)",
            "entity = if_not_exists(entity, :entity)",
            "updatedAt = :now",
        ]
        adds = ["onHand :delta"]
        conditions = []
        if change.min_on_hand is not None:
            conditions.append("onHand >= :min")
            values[":min"] = {"N": str(change.min_on_hand)}
        if cover is not None:
            conditions.append("counterShards = :shards")
            values[":shards"] = {"N": str(cover.shard_count)}
            if cover.floor is not None:
                conditions.append("onHand >= :floor")
                values[":floor"] = {"N": str(cover.floor)}
            for move in cover.moves:
                self._change_shard(
                    change, -move.units, move.units, exact=move.exact, shard=move.source
                )
            if cover.floor is None:
                # Shard 0 may go below zero only while every other shard is empty: the shards
                # read as empty must still be, or a rebalance that refilled them since the read
                # would leave a negative shard 0 beside positive ones (docs/decisions.md #12).
                pulled = {move.source for move in cover.moves}
                for shard in range(1, cover.shard_count):
                    if shard not in pulled:
                        self._still_empty(change.position_ref, shard)
        elif change.delta < 0 and change.min_on_hand is None:
            conditions.append("(attribute_not_exists(counterShards) OR counterShards <= :one)")
            values[":one"] = {"N": "1"}
        removes = []
        if change.feed_event_at is not None:
            # Not already counted by the snapshot, nor by one being applied. A fence whose
            # writer's time is up is taken down first (InventoryTable.take_down_fence), never
            # passed through: its writer could still commit without this event.
            conditions.append("(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :happened)")
            conditions.append("(attribute_not_exists(fenceAsOf) OR fenceAsOf < :happened)")
            values[":happened"] = {"S": to_iso(change.feed_event_at)}
        if snapshot is not None:
            sets += ["snapshotAsOf = :asOf", "snapshotQuantity = :count"]
            removes += ["fenceAsOf", "fenceUntil", "fenceId"]
            values[":asOf"] = {"S": to_iso(snapshot.effective_at)}
            values[":count"] = {"N": str(snapshot.quantity)}
            values[":fence"] = {"S": fence_id}
            conditions.append("fenceId = :fence")
        expression = f"SET {', '.join(sets)} ADD {', '.join(adds)}"
        if removes:
            expression += f" REMOVE {', '.join(removes)}"
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key(position_pk(change.position_ref), IP_SK),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#ref": "ref"},
            "ExpressionAttributeValues": values,
        }
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        self.operations.append((f"counter:{change.position_ref}", {"Update": update}))
        return self

    def move_units(self, position: PositionRecord, moves: Sequence[Move]) -> LedgerWrites:
        """Move units out of shard 0 into other shards (rebalancing), shard 0 keeping at least
        0, and only into shards the position still has."""
        change = position.counter_change()
        out = sum(move.units for move in moves)
        self.operations.append(
            (
                f"counter:{position.ref}",
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": shard_key(position.ref, 0),
                        "UpdateExpression": "SET updatedAt = :now ADD onHand :out",
                        "ConditionExpression": "onHand >= :units AND counterShards > :highest",
                        "ExpressionAttributeValues": {
                            ":now": {"S": to_iso(self._now)},
                            ":out": {"N": str(-out)},
                            ":units": {"N": str(out)},
                            ":highest": {"N": str(max(move.target for move in moves))},
                        },
                    }
                },
            )
        )
        for move in moves:
            self._change_shard(change, move.units, None, exact=False, shard=move.target)
        return self

    def gather_units(self, position: PositionRecord, moves: Sequence[Move]) -> LedgerWrites:
        """Move units from other shards back into shard 0, each source keeping at least 0, while
        the position still has the shards it had when read."""
        change = position.counter_change()
        self.operations.append(
            (
                f"counter:{position.ref}",
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": shard_key(position.ref, 0),
                        "UpdateExpression": "SET updatedAt = :now ADD onHand :in",
                        "ConditionExpression": "counterShards = :shards",
                        "ExpressionAttributeValues": {
                            ":now": {"S": to_iso(self._now)},
                            ":in": {"N": str(sum(move.units for move in moves))},
                            ":shards": {"N": str(position.counter_shards)},
                        },
                    }
                },
            )
        )
        for move in moves:
            self._change_shard(change, -move.units, move.units, exact=False, shard=move.source)
        return self

    def set_shard_count(
        self, position: PositionRecord, shards: int, collapse: Sequence[Move]
    ) -> LedgerWrites:
        """Give the position ``shards`` counter items, emptying the shards it drops into shard
        0 (each must still hold exactly what was read, and those read as empty must still be:
        a rebalance may have moved units into them since), if its count is still as read."""
        values: dict[str, Any] = {
            ":shards": {"N": str(shards)},
            ":partitions": {
                "N": str(max(shards, position.shard_partitions, position.counter_shards))
            },
            ":back": {"N": str(sum(move.units for move in collapse))},
            ":now": {"S": to_iso(self._now)},
            ":ref": {"S": position.ref},
            ":product": {"S": position.product_ref},
            ":location": {"S": position.location_ref},
            ":catalogue": {"S": position.catalogue},
            ":entity": {"S": "IP"},
        }
        if position.counter_shards > 1:
            condition = "counterShards = :was"
            values[":was"] = {"N": str(position.counter_shards)}
        else:
            condition = "attribute_not_exists(counterShards) OR counterShards <= :was"
            values[":was"] = {"N": "1"}
        self.operations.append(
            (
                f"counter:{position.ref}",
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": shard_key(position.ref, 0),
                        "UpdateExpression": (
                            "SET #ref = if_not_exists(#ref, :ref), productRef = if_not_exists(productRef, :product), "
                            "locationRef = if_not_exists(locationRef, :location), catalogue = if_not_exists(catalogue, :catalogue), "
                            "entity = if_not_exists(entity, :entity), counterShards = :shards, shardPartitions = :partitions, "
                            "updatedAt = :now ADD onHand :back"
                        ),
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#ref": "ref"},
                        "ExpressionAttributeValues": values,
                    }
                },
            )
        )
        change = position.counter_change()
        for move in collapse:
            self._change_shard(change, -move.units, move.units, exact=True, shard=move.source)
        emptied = {move.source for move in collapse}
        for shard in range(shards, position.counter_shards):
            if shard not in emptied:
                self._still_empty(position.ref, shard)
        return self

    def _change_shard(
        self,
        change: CounterChange,
        delta: int,
        at_least: int | None,
        *,
        exact: bool,
        shard: int | None = None,
    ) -> LedgerWrites:
        """ADD ``delta`` to one of shards 1..N-1, if it holds at least (or, ``exact``, exactly)
        ``at_least``; the item is created on first use."""
        shard = change.shard if shard is None else shard
        values: dict[str, Any] = {
            ":delta": {"N": str(delta)},
            ":ref": {"S": change.position_ref},
            ":product": {"S": change.product_ref},
            ":location": {"S": change.location_ref},
            ":catalogue": {"S": change.catalogue},
            ":entity": {"S": SHARD_ENTITY},
            ":shard": {"N": str(shard)},
            ":now": {"S": to_iso(self._now)},
        }
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": shard_key(change.position_ref, shard),
            "UpdateExpression": (
                "SET #ref = :ref, productRef = :product, locationRef = :location, catalogue = :catalogue, "
                "entity = :entity, #shard = :shard, updatedAt = :now ADD onHand :delta"
            ),
            "ExpressionAttributeNames": {"#ref": "ref", "#shard": "shard"},
            "ExpressionAttributeValues": values,
        }
        if at_least is not None:
            update["ConditionExpression"] = "onHand = :least" if exact else "onHand >= :least"
            values[":least"] = {"N": str(at_least)}
        self.operations.append((f"counter:{change.position_ref}#S{shard}", {"Update": update}))
        return self

    def _still_empty(self, position_ref: str, shard: int) -> LedgerWrites:
        """A condition, no write: shard ``shard`` of the position holds nothing."""
        self.operations.append(
            (
                f"counter:{position_ref}#S{shard}",
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": shard_key(position_ref, shard),
                        "ConditionExpression": "attribute_not_exists(onHand) OR onHand <= :zero",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}},
                    }
                },
            )
        )
        return self

    def create_document(self, document: Document) -> LedgerWrites:
        self.operations.append(
            (
                f"{document.kind}:{document.ref}",
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _document_item(document, self._now),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            )
        )
        return self

    def update_document(
        self,
        kind: str,
        ref: str,
        *,
        from_statuses: Sequence[str],
        status: str,
        body: Mapping[str, Any] | None = None,
        expires_at: datetime | None = None,
        order_ref: str | None = None,
        unexpired_at: datetime | None = None,
        expired_at: datetime | None = None,
        expires_at_was: datetime | None = None,
    ) -> LedgerWrites:
        """Move a document to ``status`` if it is in one of ``from_statuses`` (and, with
        ``unexpired_at``, only if its ``expiresAt`` is still after that time; with
        ``expired_at``, only if it is at or before it; with ``expires_at_was``, only if it is
        still that: nobody moved it since it was read)."""
        values: dict[str, Any] = {":status": {"S": status}, ":now": {"S": to_iso(self._now)}}
        sets = ["#status = :status", "updatedAt = :now"]
        if body is not None:
            sets.append("body = :body")
            values[":body"] = {"S": json.dumps(body, separators=(",", ":"))}
        if expires_at is not None:
            sets.append("expiresAt = :expires")
            values[":expires"] = {"S": to_iso(expires_at)}
        if order_ref is not None:
            sets.append("orderRef = :order")
            values[":order"] = {"S": order_ref}
        allowed = []
        for index, from_status in enumerate(from_statuses):
            values[f":from{index}"] = {"S": from_status}
            allowed.append(f":from{index}")
        condition = f"#status IN ({', '.join(allowed)})"
        if unexpired_at is not None:
            condition += " AND expiresAt > :unexpired"
            values[":unexpired"] = {"S": to_iso(unexpired_at)}
        if expired_at is not None:
            condition += " AND expiresAt <= :expired"
            values[":expired"] = {"S": to_iso(expired_at)}
        if expires_at_was is not None:
            condition += " AND expiresAt = :was"
            values[":was"] = {"S": to_iso(expires_at_was)}
        self.operations.append(
            (
                f"{kind}:{ref}",
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": document_key(kind, ref),
                        "UpdateExpression": "SET " + ", ".join(sets),
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": values,
                    }
                },
            )
        )
        return self

    def take(self, taking: Taking) -> LedgerWrites:
        """A plan's negative IQs (create-if-absent) and its conditioned counter changes."""
        for iq in taking.quantities:
            self.create_quantity(iq)
        for step in taking.counters:
            self.change_counter(_counter_change(step))
        return self

    def release(self, release: HoldRelease) -> LedgerWrites:
        """A cart's holds given back: IQs INACTIVE (if still ACTIVE), units back, timer gone."""
        for iq in release.deactivated:
            self.deactivate_quantity(iq)
        for step in release.counters:
            self.change_counter(_counter_change(step))
        if release.timer_of is not None:
            self.delete_timer(release.timer_of)
        return self

    def end_hold(self, end: HoldEnd) -> LedgerWrites:
        """The fulfilment option's move out of ACTIVE, and its holds given back."""
        self.update_document(
            FO_KIND,
            end.ref,
            from_statuses=["ACTIVE"],
            status=end.status,
            unexpired_at=end.unexpired_at,
            expired_at=end.expired_at,
        )
        return self.release(end.release)

    def put_timer(self, fo_ref: str, expires_at: datetime) -> LedgerWrites:
        """The hold's timer item: DynamoDB TTL deletes it after ``expiresAt`` and the stream
        delivers the deletion to the release function."""
        self.operations.append(
            (
                f"timer:{fo_ref}",
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                **{k: v["S"] for k, v in timer_key(fo_ref).items()},
                                "entity": "TIMER",
                                "foRef": fo_ref,
                                "expiresAt": to_iso(expires_at),
                                "ttl": int(expires_at.timestamp()) + 1,
                                "timerShard": expiry_shard(fo_ref),
                                "timerExpiresAt": f"{to_iso(expires_at)}#{fo_ref}",
                            }
                        ),
                    }
                },
            )
        )
        return self

    def delete_timer(self, fo_ref: str) -> LedgerWrites:
        self.operations.append(
            (f"timer:{fo_ref}", {"Delete": {"TableName": self._table, "Key": timer_key(fo_ref)}})
        )
        return self


def _deactivate_update(table_name: str, iq: InventoryQuantity) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "Key": key(shard_pk(iq.position_ref, iq.shard), quantity_sk(iq.type, iq.source_ref)),
        "UpdateExpression": "SET #status = :inactive",
        "ConditionExpression": "#status = :active",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":inactive": {"S": "INACTIVE"}, ":active": {"S": "ACTIVE"}},
    }


def _document_item(document: Document, now: datetime) -> dict[str, Any]:
    return to_item(
        {
            **{k: v["S"] for k, v in document_key(document.kind, document.ref).items()},
            "entity": document.kind,
            "ref": document.ref,
            "status": document.status,
            "expiresAt": to_iso(document.expires_at) if document.expires_at else None,
            "orderRef": document.order_ref,
            "body": json.dumps(document.body, separators=(",", ":")),
            "createdAt": to_iso(now),
            "updatedAt": to_iso(now),
        }
    )


def _document_from(values: Mapping[str, Any]) -> Document:
    return Document(
        kind=values["entity"],
        ref=values["ref"],
        status=values["status"],
        body=json.loads(values["body"]),
        expires_at=from_iso(values["expiresAt"]) if "expiresAt" in values else None,
        order_ref=values.get("orderRef"),
        updated_at=from_iso(values["updatedAt"]) if "updatedAt" in values else None,
    )


def _counter_change(step: CounterStep) -> CounterChange:
    return CounterChange(
        ip_ref(step.product_ref, step.location_ref),
        step.product_ref,
        step.location_ref,
        DEFAULT_CATALOGUE,
        step.delta,
        min_on_hand=step.min_on_hand,
        shard=step.shard,
    )
