"""Counter writes of a transaction: onHand moves under their conditions, shards included.

The conditions are the ledger's promise (docs/decisions.md #12 and #14): the ATS threshold of
a hold, the cover of a sharded decrease, the shards a rebalance, gather or reshard read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from holdfast.domain.clock import to_iso
from holdfast.domain.ledger import InventoryQuantity
from holdfast.domain.shards import Cover, Move
from holdfast.storage.commits import Operation
from holdfast.storage.keys import (
    IP_SK,
    POSITION_IDENTITY,
    SHARD_ENTITY,
    key,
    position_identity,
    position_pk,
    shard_key,
)
from holdfast.storage.records import CounterChange, PositionRecord


class CounterWrites:
    """The counter items of one transaction being built (:class:`WriteTransaction` adds the rest)."""

    def __init__(self, table_name: str, now: datetime) -> None:
        self._table = table_name
        self._now = now
        self.now = now
        """The time every write in this transaction is stamped with."""
        self.operations: list[Operation] = []

    def change_counter(
        self,
        change: CounterChange,
        *,
        snapshot: InventoryQuantity | None = None,
        cover: Cover | None = None,
        fence_id: str = "",
    ) -> Self:
        """ADD ``change.delta`` to the IP's onHand under the change's conditions. With a
        ``snapshot``, also record it on the IP, conditioned on its fence still standing, and
        take the fence down.

        Sharded positions (docs/decisions.md #12): a change to shard 1..N-1 writes that item
        alone. A decrease of shard 0 with no ATS condition (a feed sale, a lower count) is
        refused on a sharded position unless it brings its ``cover``: the units pulled back
        from the other shards in the same transaction, conditioned on the shards as read.

        Over 40 lines: the counter update is assembled in one expression; its guards are in
        :meth:`_shard_zero_guards`."""
        if change.shard:
            return self._change_shard(change, change.delta, change.min_on_hand, exact=False)
        delta = change.delta + (sum(move.units for move in cover.moves) if cover else 0)
        values: dict[str, Any] = {
            ":delta": {"N": str(delta)},
            **position_identity(change.position),
            ":now": {"S": to_iso(self._now)},
        }
        sets = [POSITION_IDENTITY, "updatedAt = :now"]
        conditions = self._shard_zero_guards(change, cover, values)
        removes = []
        if change.feed_event_at is not None:
            conditions += _not_yet_counted(change.feed_event_at, values)
        if snapshot is not None:
            sets += ["snapshotAsOf = :asOf", "snapshotQuantity = :count"]
            removes += ["fenceAsOf", "fenceUntil", "fenceId"]
            values[":asOf"] = {"S": to_iso(snapshot.effective_at)}
            values[":count"] = {"N": str(snapshot.quantity)}
            values[":fence"] = {"S": fence_id}
            conditions.append("fenceId = :fence")
        expression = f"SET {', '.join(sets)} ADD onHand :delta"
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

    def _shard_zero_guards(
        self, change: CounterChange, cover: Cover | None, values: dict[str, Any]
    ) -> list[str]:
        """Shard 0's conditions for ``change``: the ATS threshold, and on a sharded position
        the cover's (its pulls are written here), or the refusal of an uncovered decrease."""
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
        return conditions

    def move_units(self, position: PositionRecord, moves: Sequence[Move]) -> Self:
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

    def gather_units(self, position: PositionRecord, moves: Sequence[Move]) -> Self:
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
    ) -> Self:
        """Give the position ``shards`` counter items, emptying the shards it drops into shard
        0 (each must still hold exactly what was read, and those read as empty must still be:
        a rebalance may have moved units into them since), if its count is still as read.

        Over 40 lines: the reshard's item, its conditions and the dropped shards' checks are
        one transaction."""
        values: dict[str, Any] = {
            ":shards": {"N": str(shards)},
            ":partitions": {
                "N": str(max(shards, position.shard_partitions, position.counter_shards))
            },
            ":back": {"N": str(sum(move.units for move in collapse))},
            ":now": {"S": to_iso(self._now)},
            **position_identity(position.key),
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
                        "UpdateExpression": f"SET {POSITION_IDENTITY}, counterShards = :shards, "
                        "shardPartitions = :partitions, updatedAt = :now ADD onHand :back",
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
    ) -> Self:
        """ADD ``delta`` to one of shards 1..N-1, if it holds at least (or, ``exact``, exactly)
        ``at_least``; the item is created on first use."""
        shard = change.shard if shard is None else shard
        values: dict[str, Any] = {
            ":delta": {"N": str(delta)},
            ":ref": {"S": change.position_ref},
            ":product": {"S": change.position.product_ref},
            ":location": {"S": change.position.location_ref},
            ":catalogue": {"S": change.position.catalogue},
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

    def _still_empty(self, position_ref: str, shard: int) -> Self:
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


def _not_yet_counted(happened: datetime, values: dict[str, Any]) -> list[str]:
    """A feed event's conditions: not already counted by the snapshot, nor by one being
    applied. A fence whose writer's time is up is taken down first
    (InventoryTable.take_down_fence), never passed through: its writer could still commit
    without this event."""
    values[":happened"] = {"S": to_iso(happened)}
    return [
        "(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :happened)",
        "(attribute_not_exists(fenceAsOf) OR fenceAsOf < :happened)",
    ]
