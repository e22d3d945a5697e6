"""Committing the domain's plans: each plan (or a transaction a caller built) as one
TransactWriteItems, its failure answered as the plan's typed conflict (docs/decisions.md #19)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from holdfast.domain.documents import CartRecord, OrderRecord
from holdfast.domain.holds import Extension, HoldConflict, HoldEnd, HoldPart, HoldPlan
from holdfast.domain.orders import OrderConflict, OrderPart, OrderPlan, OrderStep
from holdfast.domain.shards import Move
from holdfast.errors import Unavailable
from holdfast.storage import commits
from holdfast.storage.commits import WriteConflict
from holdfast.storage.documents import cart_body
from holdfast.storage.keys import FO_KIND, ORDER_KIND
from holdfast.storage.reads import TableReads
from holdfast.storage.records import PositionRecord
from holdfast.storage.transactions import WriteTransaction


class PlanCommits(TableReads):
    """Transactions of the Holdfast table; :class:`holdfast.storage.InventoryTable` adds the
    feed, snapshot and configuration writes."""

    def writes(self, now: datetime) -> WriteTransaction:
        return WriteTransaction(self.table_name, now)

    def commit(self, writes: WriteTransaction) -> None:
        """Run the writes as one TransactWriteItems: all of them or none.

        Raises :class:`WriteConflict` naming the operations whose conditions failed. A
        cancellation for contention or throttling alone (no condition failed, nothing written)
        is retried with jittered backoff, :data:`COMMIT_ATTEMPTS` tries in all, then raises
        :class:`~holdfast.errors.Unavailable` (503). docs/decisions.md §13.
        """
        commits.run(self._client, writes.operations)

    def commit_hold(self, plan: HoldPlan, cart: CartRecord) -> None:
        """Write a hold plan as one transaction: the fulfilment option (``cart``, as the plan
        made it), its timer, the units it takes and the cart it replaces. Raises
        :class:`HoldConflict` naming the part of the plan that no longer held."""
        writes = self.writes(plan.now).create_cart(cart)
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

    def commit_order(self, plan: OrderPlan, order: OrderRecord) -> None:
        """Write an order plan and the order's item as one transaction. Raises
        :class:`OrderConflict` naming the part of the plan that no longer held."""
        writes = self.writes(plan.now).create_order(order)
        if plan.converting is not None:
            writes.convert(plan.converting, order.ref)
        writes.take(plan.taking)
        if plan.replacing is not None:
            writes.end_hold(plan.replacing)
        try:
            self.commit(writes)
        except WriteConflict as conflict:
            failed = conflict.failed
            if f"{ORDER_KIND}:{order.ref}" in failed:
                raise OrderConflict(OrderPart.ORDER_EXISTS, failed) from None
            carts = [plan.converting.cart_ref] if plan.converting else []
            carts += [plan.replacing.ref] if plan.replacing else []
            if any(f"{FO_KIND}:{ref}" in failed for ref in carts):
                raise OrderConflict(OrderPart.CART_CHANGED, failed) from None
            raise OrderConflict(OrderPart.STOCK_CHANGED, failed) from None

    def commit_order_step(self, step: OrderStep) -> None:
        """Write an order's later step as one transaction. Raises :class:`OrderConflict`:
        STOCK_CHANGED naming the positions whose counters refused (a snapshot dated after the
        step, or a count's fence), else ORDER_CHANGED (the order moved since it was read)."""
        try:
            self.commit(self.writes(step.now).order_step(step))
        except WriteConflict as conflict:
            failed = conflict.failed
            counters = tuple(
                tag.removeprefix("counter:") for tag in failed if tag.startswith("counter:")
            )
            part = OrderPart.STOCK_CHANGED if counters else OrderPart.ORDER_CHANGED
            raise OrderConflict(part, failed, counters) from None

    def commit_reshard(
        self, position: PositionRecord, shards: int, collapse: Sequence[Move], now: datetime
    ) -> bool:
        """Give ``position`` (as read) ``shards`` counter items, its dropped shards' units
        moved back into shard 0 as ``collapse`` plans (:meth:`WriteTransaction.set_shard_count`).
        False when its shards changed since the read: read and plan again."""
        try:
            self.commit(self.writes(now).set_shard_count(position, shards, collapse))
        except WriteConflict:
            return False
        return True

    def commit_shard_moves(
        self, position: PositionRecord, moves: Sequence[Move], now: datetime, *, gathering: bool
    ) -> bool:
        """Move units between ``position``'s shards as ``moves`` plan: out of shard 0 to refill
        the others (rebalancing), or back into shard 0 (``gathering``). Each move is
        conditioned on the shards as read. False when they changed since the read, or when
        DynamoDB kept saying "not now": the moves are best effort and the next hold looks
        again."""
        writes = self.writes(now)
        if gathering:
            writes.gather_units(position, moves)
        else:
            writes.move_units(position, moves)
        try:
            self.commit(writes)
        except (WriteConflict, Unavailable):
            return False
        return True

    def commit_hold_end(self, end: HoldEnd, now: datetime) -> bool:
        """Move an ACTIVE hold to its end status and give its units back, in one transaction.
        Answers False when the hold was no longer ACTIVE (or no longer (un)expired) as the
        plan requires: someone else ended it first."""
        try:
            self.commit(self.writes(now).end_hold(end))
        except WriteConflict:
            return False
        return True

    def commit_extension(self, extension: Extension, cart: CartRecord) -> bool:
        """Write an extension (and ``cart``, the fulfilment option as extended) as one transaction.
        Answers False when the hold changed since it was read (extended, ended or expired)."""
        writes = self.writes(extension.now).update_document(
            FO_KIND,
            extension.ref,
            from_statuses=["ACTIVE"],
            status="ACTIVE",
            body=cart_body(cart),
            expires_at=extension.expires_at,
            unexpired_at=extension.now,
            expires_at_was=extension.expires_at_was,  # not extended by anyone since it was read
        )
        writes.put_timer(extension.ref, extension.timer_until)
        for iq in extension.quantities:
            writes.extend_quantity(iq, extension.expires_at)
        try:
            self.commit(writes)
        except WriteConflict:
            return False
        return True

    def restore_timer(self, fo_ref: str, expires_at: datetime, now: datetime) -> bool:
        """Put back the timer of a hold that is still ACTIVE (TTL deleted it early: clock
        skew), so TTL and the sweeper find it again. False if the hold ended meanwhile."""
        writes = self.writes(now).update_document(
            FO_KIND, fo_ref, from_statuses=["ACTIVE"], status="ACTIVE"
        )
        writes.put_timer(fo_ref, expires_at)
        try:
            self.commit(writes)
        except WriteConflict:
            return False
        return True

    def delete_timer(self, fo_ref: str, now: datetime) -> None:
        """Delete a timer whose hold already ended, so reclaim's read of the oldest skips it."""
        self.commit(self.writes(now).delete_timer(fo_ref))
