"""One TransactWriteItems being built: documents, ledger records, timers, hold plans.

:class:`WriteTransaction` collects the items; :meth:`holdfast.storage.InventoryTable.commit`
runs them as one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from holdfast.domain.clock import to_iso
from holdfast.domain.documents import CartRecord, OrderRecord
from holdfast.domain.holds import HoldEnd
from holdfast.domain.ledger import InventoryQuantity
from holdfast.domain.orders import Conversion, OrderStep
from holdfast.domain.placement import CounterStep, HoldRelease, Taking
from holdfast.storage.counters import CounterWrites
from holdfast.storage.documents import cart_item, order_item
from holdfast.storage.keys import (
    FO_KIND,
    ORDER_KIND,
    TIMER_ENTITY,
    PositionKey,
    document_key,
    expiry_shard,
    key,
    quantity_sk,
    shard_pk,
    timer_key,
)
from holdfast.storage.records import CounterChange, quantity_item, to_item


class WriteTransaction(CounterWrites):
    """Builds the items of one ledger transaction; :meth:`InventoryTable.commit` runs it."""

    def create_quantity(self, iq: InventoryQuantity, *, replace: bool = False) -> WriteTransaction:
        """Put an IQ; only if its key is new unless ``replace`` (the current snapshot's item)."""
        put: dict[str, Any] = {"TableName": self._table, "Item": quantity_item(iq)}
        if not replace:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        self.operations.append((f"iq:{iq.ref}", {"Put": put}))
        return self

    def deactivate_quantity(self, iq: InventoryQuantity) -> WriteTransaction:
        operation = deactivate_update(self._table, iq)
        self.operations.append((f"iq:{iq.ref}", {"Update": operation}))
        return self

    def extend_quantity(self, iq: InventoryQuantity, expires_at: datetime) -> WriteTransaction:
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

    def create_cart(self, cart: CartRecord) -> WriteTransaction:
        """Put a new fulfilment option; only if its ref is new."""
        return self._create_document(f"{FO_KIND}:{cart.ref}", cart_item(cart, self._now))

    def create_order(self, order: OrderRecord) -> WriteTransaction:
        """Put a new order; only if its ref is new."""
        return self._create_document(f"{ORDER_KIND}:{order.ref}", order_item(order, self._now))

    def _create_document(self, tag: str, item: dict[str, Any]) -> WriteTransaction:
        self.operations.append(
            (
                tag,
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": item,
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
    ) -> WriteTransaction:
        """Move a document to ``status`` if it is in one of ``from_statuses`` (and, with
        ``unexpired_at``, only if its ``expiresAt`` is still after that time; with
        ``expired_at``, only if it is at or before it; with ``expires_at_was``, only if it is
        still that: nobody moved it since it was read).

        Over 40 lines: each optional condition of a document's move is one visible clause, next
        to its value."""
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

    def take(self, taking: Taking) -> WriteTransaction:
        """A plan's negative IQs (create-if-absent) and its conditioned counter changes."""
        for iq in taking.quantities:
            self.create_quantity(iq)
        for step in taking.counters:
            self.change_counter(_counter_change(step))
        return self

    def release(self, release: HoldRelease) -> WriteTransaction:
        """A cart's holds given back: IQs INACTIVE (if still ACTIVE), units back, timer gone."""
        for iq in release.deactivated:
            self.deactivate_quantity(iq)
        for step in release.counters:
            self.change_counter(_counter_change(step))
        if release.timer_of is not None:
            self.delete_timer(release.timer_of)
        return self

    def end_hold(self, end: HoldEnd) -> WriteTransaction:
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

    def order_step(self, step: OrderStep) -> WriteTransaction:
        """An order's later step: its status move (from the status read), its IQs, its counters."""
        self.update_document(
            ORDER_KIND, step.ref, from_statuses=[step.from_status], status=step.status
        )
        for iq in step.deactivated:
            self.deactivate_quantity(iq)
        for iq in step.created:
            self.create_quantity(iq)
        for counter in step.counters:
            self.change_counter(_counter_change(counter))
        return self

    def convert(self, conversion: Conversion, order_ref: str) -> WriteTransaction:
        """A cart's holds made an order's reservations: the cart CONVERTED (if still ACTIVE
        and unexpired), its SOFT_RESERVE IQs INACTIVE, the RESERVED IQs created, its timer gone."""
        self.update_document(
            FO_KIND,
            conversion.cart_ref,
            from_statuses=["ACTIVE"],
            status="CONVERTED",
            order_ref=order_ref,
            unexpired_at=self.now,
        )
        for iq in conversion.deactivated:
            self.deactivate_quantity(iq)
        for iq in conversion.reserved:
            self.create_quantity(iq)
        if conversion.timer_of is not None:
            self.delete_timer(conversion.timer_of)
        return self

    def put_timer(self, fo_ref: str, expires_at: datetime) -> WriteTransaction:
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
                                "entity": TIMER_ENTITY,
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

    def delete_timer(self, fo_ref: str) -> WriteTransaction:
        self.operations.append(
            (f"timer:{fo_ref}", {"Delete": {"TableName": self._table, "Key": timer_key(fo_ref)}})
        )
        return self


def deactivate_update(table_name: str, iq: InventoryQuantity) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "Key": key(shard_pk(iq.position_ref, iq.shard), quantity_sk(iq.type, iq.source_ref)),
        "UpdateExpression": "SET #status = :inactive",
        "ConditionExpression": "#status = :active",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":inactive": {"S": "INACTIVE"}, ":active": {"S": "ACTIVE"}},
    }


def _counter_change(step: CounterStep) -> CounterChange:
    position = PositionKey(step.product_ref, step.location_ref)
    return CounterChange(
        position,
        step.delta,
        min_on_hand=step.min_on_hand,
        feed_event_at=step.happened,
        shard=step.shard,
    )
