"""DynamoDB's published capacity rules, applied to the items a request really touched.

Neither local engine reports what real DynamoDB would charge: DynamoDB Local 2.6.1 charges a
``TransactWriteItems`` on the transaction's total size (two small Puts cost the same 4 WCU
as one), moto reports nothing for transactions and halves consistent reads. So every call is
also priced here from the item images before and after it, by the rules of the DynamoDB
developer guide (on-demand request units follow the same rules):

- item size: attribute names plus values (strings as UTF-8 bytes, numbers about one byte per
  two significant digits plus one);
- writes: 1 unit per started KB of the larger of the before and after image (a delete: the
  item deleted; a missing item still costs 1); doubled inside a transaction;
- global secondary indexes: each index entry written or deleted is 1 unit per started KB
  (an index key that changes is a delete plus a put), not doubled;
- reads: 1 unit per started 4 KB strongly consistent, half of it eventually consistent (every
  index read); a missing key read by ``GetItem``/``BatchGetItem`` still costs a minimum read;
  a ``Query`` page is priced on the summed size of its items, at least one minimum read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Item = Mapping[str, Any]
"""An item in DynamoDB's wire format: ``{"pk": {"S": "..."}, "n": {"N": "5"}}``."""

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTIONAL_FACTOR = 2

WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def _number_size(text: str) -> int:
    significant = Decimal(text).normalize().as_tuple().digits
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(v) + 1 for name, v in data.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Item | None) -> int:
    """Bytes DynamoDB counts for an item (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: its key attributes and what it projects."""

    name: str
    key_attributes: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, item: Item | None, table_keys: Sequence[str]) -> dict[str, Any] | None:
        """The index entry ``item`` has, or None when it lacks the index keys (sparse)."""
        if not item or any(name not in item for name in self.key_attributes):
            return None
        if self.projection == "ALL":
            return dict(item)
        wanted = {
            *self.key_attributes,
            *table_keys,
            *(self.included if self.projection == "INCLUDE" else ()),
        }
        return {name: value for name, value in item.items() if name in wanted}


@dataclass(frozen=True)
class TableSpec:
    key_attributes: tuple[str, ...]
    indexes: tuple[IndexSpec, ...] = ()

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> TableSpec:
        """From ``CreateTable`` arguments (``holdfast_cli.local.template.table_definition()``)."""
        indexes = []
        for index in definition.get("GlobalSecondaryIndexes", []):
            projection = index.get("Projection", {})
            indexes.append(
                IndexSpec(
                    name=index["IndexName"],
                    key_attributes=tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection=projection.get("ProjectionType", "ALL"),
                    included=tuple(projection.get("NonKeyAttributes", ())),
                )
            )
        return cls(tuple(k["AttributeName"] for k in definition["KeySchema"]), tuple(indexes))

    def key_of(self, item: Item) -> tuple[str, ...]:
        return tuple(_scalar(item[name]) for name in self.key_attributes)


def _scalar(value: Mapping[str, Any]) -> str:
    ((_, data),) = value.items()
    return str(data)


@dataclass
class Units:
    """Capacity consumed by one call or a sum of calls."""

    write: float = 0.0
    read: float = 0.0
    index_write: float = 0.0

    @property
    def total_write(self) -> float:
        return self.write + self.index_write

    def __add__(self, other: Units) -> Units:
        return Units(
            self.write + other.write, self.read + other.read, self.index_write + other.index_write
        )


@dataclass(frozen=True)
class ItemWrite:
    """One item a write request touches: its key, what it does, and its images."""

    table: str
    key: Item
    action: str  # Put, Update, Delete, ConditionCheck
    before: Item | None = None
    after: Item | None = None


def written_items(operation: str, params: Mapping[str, Any], spec: TableSpec) -> list[ItemWrite]:
    """The items a write request touches (keys only; images are filled in by the caller)."""

    def key_from_item(item: Item) -> dict[str, Any]:
        return {name: item[name] for name in spec.key_attributes}

    if operation == "PutItem":
        return [ItemWrite(params["TableName"], key_from_item(params["Item"]), "Put")]
    if operation in ("UpdateItem", "DeleteItem"):
        return [ItemWrite(params["TableName"], params["Key"], operation.removesuffix("Item"))]
    if operation == "TransactWriteItems":
        touched = []
        for entry in params["TransactItems"]:
            ((action, body),) = entry.items()
            key = key_from_item(body["Item"]) if action == "Put" else body["Key"]
            touched.append(ItemWrite(body["TableName"], key, action))
        return touched
    if operation == "BatchWriteItem":
        touched = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    touched.append(
                        ItemWrite(table, key_from_item(request["PutRequest"]["Item"]), "Put")
                    )
                else:
                    touched.append(ItemWrite(table, request["DeleteRequest"]["Key"], "Delete"))
        return touched
    return []


def write_units(operation: str, items: Iterable[ItemWrite], spec: TableSpec) -> Units:
    """What a successful write request costs, from the before/after image of each item."""
    factor = TRANSACTIONAL_FACTOR if operation == "TransactWriteItems" else 1
    units = Units()
    for item in items:
        if item.action == "ConditionCheck":
            units.write += factor * max(1, math.ceil(item_size(item.before) / WRITE_UNIT_BYTES))
            continue
        size = max(item_size(item.before), item_size(item.after))
        units.write += factor * max(1, math.ceil(size / WRITE_UNIT_BYTES))
        for index in spec.indexes:
            old = index.entry(item.before, spec.key_attributes)
            new = index.entry(item.after, spec.key_attributes)
            if old is None and new is None:
                continue
            if old is not None and new is not None:
                moved = any(old[k] != new[k] for k in index.key_attributes)
                if not moved and old == new:
                    continue
                entries = [old, new] if moved else [new]
            else:
                entries = [entry for entry in (old, new) if entry is not None]
            units.index_write += sum(
                max(1, math.ceil(item_size(e) / WRITE_UNIT_BYTES)) for e in entries
            )
    return units


def read_units(operation: str, params: Mapping[str, Any], response: Mapping[str, Any]) -> Units:
    """What a successful read request costs, from the items it returned."""

    def per_item(size: int) -> int:
        return max(1, math.ceil(size / READ_UNIT_BYTES))

    if operation == "GetItem":
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return Units(read=factor * per_item(item_size(response.get("Item"))))
    if operation == "BatchGetItem":
        total = 0.0
        unprocessed = response.get("UnprocessedKeys") or {}
        for table, request in params["RequestItems"].items():
            factor = 1.0 if request.get("ConsistentRead") else 0.5
            processed = len(request["Keys"]) - len(unprocessed.get(table, {}).get("Keys", []))
            found = response.get("Responses", {}).get(table, [])
            missing = max(0, processed - len(found))
            total += factor * (sum(per_item(item_size(item)) for item in found) + missing)
        return Units(read=total)
    if operation in ("Query", "Scan"):
        consistent = params.get("ConsistentRead") and "IndexName" not in params
        factor = 1.0 if consistent else 0.5
        size = sum(item_size(item) for item in response.get("Items", []))
        return Units(read=factor * per_item(size))
    return Units()


def reported_units(consumed: Any) -> float:
    """Total ``CapacityUnits`` an engine reported (``ReturnConsumedCapacity=TOTAL``)."""
    if not consumed:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get("CapacityUnits", 0.0) for entry in entries))
