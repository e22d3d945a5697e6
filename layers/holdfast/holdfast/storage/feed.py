"""Committing the stock feed's plans: a feed event, a count's fence and its commit.

Each plan (:class:`~holdfast.domain.ledger.AdjustmentPlan`,
:class:`~holdfast.domain.ledger.SnapshotPlan`) is one TransactWriteItems; a failure comes back
as a :class:`~holdfast.domain.ledger.FeedConflict` naming the part of the plan that no longer
held. What a refusal means, and what to do next, is the domain's and the service's
(docs/decisions.md #6 and #14).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from holdfast.domain.clock import to_iso
from holdfast.domain.ledger import (
    AdjustmentPlan,
    FeedConflict,
    FeedCounterChange,
    FeedPart,
    InventoryQuantity,
    SnapshotPlan,
)
from holdfast.storage.commits import WriteConflict
from holdfast.storage.keys import (
    IP_SK,
    POSITION_IDENTITY,
    PositionKey,
    key,
    position_identity,
    position_pk,
)
from holdfast.storage.plans import PlanCommits
from holdfast.storage.records import CounterChange, PositionRecord
from holdfast.storage.transactions import WriteTransaction, deactivate_update


class FeedCommits(PlanCommits):
    """The feed's writes of :class:`holdfast.storage.InventoryTable`."""

    def commit_adjustment(self, plan: AdjustmentPlan) -> None:
        """Write a feed event's IQ (only if its ref is new) and its counter change, at once.
        Raises :class:`FeedConflict`: QUANTITY_EXISTS (a replay, or another event with its
        sourceRef), COUNTER_REFUSED (a count includes it, or the position is sharded and the
        decrease's cover is missing or stale), SHARD_CHANGED (a shard of the cover moved)."""
        writes = self.writes(plan.now).create_quantity(plan.iq)
        _change_counter(writes, plan.counter)
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            raise _conflict(conflict.failed, plan.iq.position_ref, plan.iq) from None

    def fence_snapshot(
        self, position: PositionKey, as_of: datetime, until: datetime, now: datetime
    ) -> str | None:
        """Put a fence at ``as_of`` on the position before a snapshot reads its ledger: from
        now until the snapshot lands (or ``until`` passes, if its writer died), feed events at
        or before ``as_of`` are refused as already counted, so the ledger the snapshot reads
        stays the ledger it supersedes. Events after ``as_of`` and holds land freely. Answers the
        fence's token, which the snapshot's commit must still find (:meth:`commit_snapshot`), or
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

    def commit_snapshot(self, plan: SnapshotPlan) -> None:
        """Write a count's plan: the counter moved and the count recorded (conditioned on its
        fence still standing, which comes down with it), the new LAST_ON_HAND, the previous
        one archived, the superseded IQs marked INACTIVE — one transaction; then the plan's
        overflow (:meth:`mark_superseded`). Raises :class:`FeedConflict` naming the part that
        no longer held (COUNTER_REFUSED: a newer count took the fence, a feed event took a
        lapsed fence down, or a sharded position's shards changed; SHARD_CHANGED;
        SUPERSEDED_CHANGED)."""
        writes = self.writes(plan.now)
        _change_counter(writes, plan.counter)
        writes.create_quantity(plan.snapshot, replace=True)
        if plan.archived is not None:
            writes.create_quantity(plan.archived, replace=True)
        for iq in plan.deactivated:
            writes.deactivate_quantity(iq)
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            raise _conflict(conflict.failed, plan.snapshot.position_ref, None) from None
        self.mark_superseded(plan.overflow)

    def mark_superseded(self, quantities: Sequence[InventoryQuantity]) -> None:
        """Mark IQs a snapshot already excluded from the counter INACTIVE (no counter change)."""
        for iq in quantities:
            try:
                self._client.update_item(**deactivate_update(self.table_name, iq))
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise  # already INACTIVE is fine: another writer got there first


def _change_counter(writes: WriteTransaction, counter: FeedCounterChange) -> None:
    position = PositionKey(counter.product_ref, counter.location_ref, counter.catalogue)
    writes.change_counter(
        CounterChange(position, counter.delta, feed_event_at=counter.feed_event_at),
        snapshot=counter.snapshot,
        cover=counter.cover,
        fence_id=counter.fence_id,
    )


def _conflict(
    failed: list[str], position_ref: str, created: InventoryQuantity | None
) -> FeedConflict:
    """The part of a feed plan that failed, from the operations whose conditions failed."""
    if created is not None and f"iq:{created.ref}" in failed:
        return FeedConflict(FeedPart.QUANTITY_EXISTS, failed)
    if f"counter:{position_ref}" in failed:
        return FeedConflict(FeedPart.COUNTER_REFUSED, failed)
    if any(tag.startswith(f"counter:{position_ref}#S") for tag in failed):
        return FeedConflict(FeedPart.SHARD_CHANGED, failed)
    return FeedConflict(FeedPart.SUPERSEDED_CHANGED, failed)
