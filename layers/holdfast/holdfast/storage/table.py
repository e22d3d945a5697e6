"""The table as the services see it: reads, transactions committed, feed and snapshot writes.

Holds no business rules: callers decide what to write (a plan, or a transaction they built);
this package decides how it is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from botocore.exceptions import ClientError
from pydantic import BaseModel

from holdfast.domain.clock import compact, to_iso
from holdfast.domain.configuration import Product
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.planning import MAX_TRANSACTION_ITEMS
from holdfast.domain.shards import Cover
from holdfast.storage.commits import WriteConflict
from holdfast.storage.keys import (
    CONFIG_PK,
    IP_SK,
    POSITION_IDENTITY,
    PRODUCT_SK,
    PositionKey,
    key,
    position_identity,
    position_pk,
    product_pk,
)
from holdfast.storage.plans import PlanCommits
from holdfast.storage.records import CounterChange, PositionRecord, to_item
from holdfast.storage.transactions import deactivate_update


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


class InventoryTable(PlanCommits):
    """Typed access to the Holdfast table. Holds no business rules: callers decide what to
    write; this package decides how it is written."""

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

    def record_adjustment(
        self,
        iq: InventoryQuantity,
        position: PositionKey,
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
            CounterChange(position, iq.quantity, feed_event_at=iq.effective_at),
            cover=cover,
        )
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            if f"iq:{iq.ref}" in conflict.failed:
                existing = self.get_quantities([(iq.position_ref, iq.type, iq.source_ref)])
                return AdjustmentOutcome.DUPLICATE, existing[0] if existing else None
            record = self.get_positions([iq.position_ref]).get(iq.position_ref)
            if record is not None and _lapsed_fence(record, iq.effective_at, now):
                self.take_down_fence(record, now)
                return AdjustmentOutcome.AGAIN, None
            if iq.quantity < 0 and not _already_counted(record, iq.effective_at, now):
                return AdjustmentOutcome.SHARDED, None  # the shard guard failed, not the feed rules
            return AdjustmentOutcome.STALE, None
        return AdjustmentOutcome.APPLIED, None

    def fence_snapshot(
        self, position: PositionKey, as_of: datetime, until: datetime, now: datetime
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
                Key=key(position_pk(position.ref), IP_SK),
                UpdateExpression=f"SET {POSITION_IDENTITY}, fenceAsOf = :asOf, fenceUntil = :until, "
                "fenceId = :fence ADD onHand :zero",
                ConditionExpression=(
                    "(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :asOf) AND "
                    "(attribute_not_exists(fenceAsOf) OR fenceAsOf <= :asOf OR fenceUntil < :now)"
                ),
                ExpressionAttributeNames={"#ref": "ref"},
                ExpressionAttributeValues={
                    **position_identity(position),
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
        position: PositionKey,
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

        Over 40 lines: the snapshot, the superseded copy, the counter and the overflow are one
        transaction and read best in one place.
        """
        previous = next(
            (iq for iq in superseded if iq.type is IqType.LAST_ON_HAND and iq.source_ref is None),
            None,
        )
        others = [iq for iq in superseded if iq is not previous]
        writes = self.writes(now)
        writes.change_counter(
            CounterChange(position, counter_delta),
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
                self._client.update_item(**deactivate_update(self.table_name, iq))
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise  # already INACTIVE is fine: another writer got there first
