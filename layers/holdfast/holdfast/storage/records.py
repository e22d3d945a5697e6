"""The stored items as Python records: positions, quantities, counter changes, timers.

Encodes records to DynamoDB items and decodes items (and stream images, which have the same
shape) back; nothing outside :mod:`holdfast.storage` reads an attribute name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from holdfast.domain.clock import from_iso, to_iso
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.storage.keys import (
    POSITION_ENTITY,
    SHARD_ENTITY,
    TIMER_ENTITY,
    PositionKey,
    quantity_sk,
    shard_pk,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as DynamoDB attributes, ``None`` left out: boto3's ``TypeSerializer`` rules, with
    the types nearly every attribute has (text, whole numbers, flags) written directly: it is
    on every write of the hold path."""
    return {k: _attribute(v) for k, v in values.items() if v is not None}


def _attribute(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int:
        return {"N": str(value)}
    if kind is bool:
        return {"BOOL": value}
    return dict(_serializer.serialize(value))  # numbers as Decimal, lists, maps, sets, binary


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as values (numbers as ``Decimal``, as boto3's ``TypeDeserializer`` gives)."""
    return {k: _value(v) for k, v in item.items()}


def _value(attribute: Any) -> Any:
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        return Decimal(attribute["N"])
    return _deserializer.deserialize(attribute)


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

    @property
    def key(self) -> PositionKey:
        return PositionKey(self.product_ref, self.location_ref, self.catalogue)

    def counter_change(self, delta: int = 0) -> CounterChange:
        return CounterChange(self.key, delta)


def position_from(values: Mapping[str, Any]) -> PositionRecord:
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


def with_shards(position: PositionRecord, shards: Mapping[int, int]) -> PositionRecord:
    """The position with its shard counters added in (shards never written count 0)."""
    count = max([position.counter_shards, *(shard + 1 for shard in shards)])
    if count <= 1:
        return position
    values = (position.on_hand, *(shards.get(shard, 0) for shard in range(1, count)))
    return replace(position, on_hand=sum(values), shard_on_hand=values)


def is_shard(values: Mapping[str, Any]) -> bool:
    return values.get("entity") == SHARD_ENTITY


def quantity_from(values: Mapping[str, Any]) -> InventoryQuantity:
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


def quantity_item(iq: InventoryQuantity) -> dict[str, Any]:
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


@dataclass(frozen=True, slots=True)
class CounterChange:
    """Move one IP's counter by ``delta``, creating the IP item if new; where ``min_on_hand``
    is set, only if the counter is at least that much before the change (the exact "ATS
    still covers it" condition)."""

    position: PositionKey
    delta: int
    min_on_hand: int | None = None
    feed_event_at: datetime | None = None
    """For feed events (DELTA, CORRECTION, RETURNED, SALE): when it happened. The change is
    refused if the position's snapshot already counts it, or a snapshot fenced at or after
    that time is being applied."""
    shard: int = 0
    """Which counter item of a sharded position (0: the position's own item)."""

    @property
    def position_ref(self) -> str:
        return self.position.ref


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """A hold's timer item: TTL deletes it after ``expires_at`` and the stream delivers the
    deletion to the release function."""

    fo_ref: str
    expires_at: datetime | None


def timer_from_image(values: Mapping[str, Any]) -> TimerRecord | None:
    """The timer an item or stream image (already deserialized) is; ``None`` for any other item."""
    fo_ref = values.get("foRef")
    if values.get("entity") != TIMER_ENTITY or not isinstance(fo_ref, str):
        return None
    expires = values.get("expiresAt")
    return TimerRecord(fo_ref, from_iso(expires) if isinstance(expires, str) else None)


@dataclass(frozen=True, slots=True)
class CounterImage:
    """A position's counter item (shard 0, or shard 1..N-1 of a sharded position) as a
    stream image shows it."""

    position_ref: str
    shard: int
    sharded: bool
    """Whether the position's onHand is split over several counter items."""


def counter_from_image(values: Mapping[str, Any] | None) -> CounterImage | None:
    """The counter an item or stream image (already deserialized) is; ``None`` for any other item."""
    if not values or values.get("entity") not in (POSITION_ENTITY, SHARD_ENTITY):
        return None
    shard_item = values.get("entity") == SHARD_ENTITY
    sharded = shard_item or int(values.get("counterShards", 1)) > 1
    return CounterImage(str(values.get("ref", "")), int(values.get("shard", 0)), sharded)
