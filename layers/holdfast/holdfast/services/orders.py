"""Order confirmation and its later steps (docs/behaviour.md §6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.clock import Clock, truncate_to_millis
from holdfast.domain.ledger import IqType
from holdfast.domain.orders import (
    OrderConflict,
    OrderPart,
    OrderPlan,
    OrderStep,
    plan_conversion,
    plan_order_cancel,
    plan_reservation,
    plan_return,
    plan_shipment,
)
from holdfast.domain.placement import (
    NO_RELEASE,
    Release,
)
from holdfast.domain.planning import (
    MAX_ALLOCATIONS,
    Allocation,
    build_plans,
    merge_lines,
)
from holdfast.domain.refs import ip_ref
from holdfast.errors import Conflict, NotFound, OutOfStock
from holdfast.models import OrderRequest, OrderView
from holdfast.services.answers import order_view
from holdfast.services.availability import (
    StockReader,
    candidate_locations,
    replayed,
    request_fingerprint,
    sharded_positions,
)
from holdfast.services.holds import HOLD_ATTEMPTS, HoldService
from holdfast.storage import CartRecord, InventoryTable, OrderRecord, ProductLine


class OrderService:
    def __init__(
        self, table: InventoryTable, config: ConfigurationCache, clock: Clock, holds: HoldService
    ) -> None:
        self._table = table
        self._config = config
        self._clock = clock
        self._holds = holds
        self._stock = StockReader(table)

    def confirm(self, request: OrderRequest) -> tuple[OrderView, bool]:
        """Confirm an order: convert the cart's ACTIVE holds when they match, else reserve
        afresh under the same ATS condition, else 409 OUT_OF_STOCK. One transaction either way."""
        # The order item's create-if-absent condition detects a retry; no read first.
        fingerprint = request_fingerprint(request)
        channel = self._config.channel(request.channel)
        lines = merge_lines((line.productRef, line.quantity) for line in request.lines)
        # A missing cart is no error: the order reserves afresh.
        hold = (
            self._table.get_cart(request.fulfilmentOptionRef)
            if request.fulfilmentOptionRef
            else None
        )

        for _ in range(HOLD_ATTEMPTS):
            now = self._now()
            if hold is not None and self._converts(hold, request, lines, now):
                result = self._convert(request, fingerprint, hold, now)
                if result is not None:
                    return result
                hold = self._table.get_cart(hold.ref)  # changed meanwhile: look again
                continue
            try:
                result = self._reserve_afresh(request, fingerprint, channel, lines, hold, now)
            except OutOfStock:
                existing = self._table.get_order(request.ref)
                if existing is not None:  # a retry of an order confirmed before the stock ran out
                    return self._replay(existing, fingerprint), False
                if not self._holds.reclaim_expired():
                    raise
                result = None  # expired holds were still counted: they are back, try again
            if result is not None:
                return result
            if hold is not None:
                hold = self._table.get_cart(hold.ref)
        raise Conflict("the order could not be confirmed under contention; retry")

    def ship(self, ref: str) -> OrderView:
        """RESERVED → INACTIVE and SALE ACTIVE: the units leave; onHand does not move."""
        order = self._require(ref)
        if order.status == "SHIPPED":
            return order_view(order)
        self._expect(order, "CONFIRMED", "shipped")
        return self._transition(order, plan_shipment(ref, order.allocations, self._now()))

    def cancel(self, ref: str) -> OrderView:
        """RESERVED → INACTIVE: the units go back to stock."""
        order = self._require(ref)
        if order.status == "CANCELLED":
            return order_view(order)
        self._expect(order, "CONFIRMED", "cancelled")
        step = plan_order_cancel(ref, order.allocations, self._now())
        return self._transition(order, step)

    def return_order(self, ref: str) -> OrderView:
        """RETURNED +q: a shipped order's units come back into stock.

        A stock feed may already have sent this return, as a RETURNED whose ``sourceRef`` is the
        order's ref: those units are back already, so the order is marked RETURNED without
        counting them twice; a feed RETURNED of another quantity under this ref is a 409
        (docs/decisions.md #14).

        Over 40 lines: the feed-already-returned check and the return's transaction belong
        together."""
        order = self._require(ref)
        for _ in range(HOLD_ATTEMPTS):
            if order.status == "RETURNED":
                return order_view(order)
            self._expect(order, "SHIPPED", "returned")
            now = self._now()
            allocations = order.allocations
            positions = [ip_ref(a.product_ref, a.location_ref) for a in allocations]
            fed = {
                iq.position_ref: iq
                for iq in self._table.get_quantities([(p, IqType.RETURNED, ref) for p in positions])
            }
            for allocation, position in zip(allocations, positions, strict=False):
                existing = fed.get(position)
                if existing is not None and existing.quantity != allocation.quantity:
                    raise Conflict(
                        f"order {ref!r}: a stock feed already returned {existing.quantity} of "
                        f"{allocation.product_ref} at {allocation.location_ref} under this ref; the order has "
                        f"{allocation.quantity}",
                        [
                            {
                                "field": "ref",
                                "message": "returned by a stock feed with another quantity",
                            }
                        ],
                    )
            try:
                self._commit_with_fences(plan_return(ref, allocations, fed, now))
            except OrderConflict as conflict:
                if conflict.part is OrderPart.STOCK_CHANGED:
                    raise Conflict(
                        f"order {ref!r}: a stock snapshot is dated after now; retry shortly"
                    ) from None
                order = self._require(
                    ref
                )  # changed, or a feed's return landed meanwhile: look again
                continue
            return order_view(replace(order, status="RETURNED", updated_at=now))
        raise Conflict(f"order {ref!r} kept changing while being returned; retry")

    def get(self, ref: str) -> OrderView:
        return order_view(self._require(ref))

    @staticmethod
    def _converts(
        hold: CartRecord, request: OrderRequest, lines: dict[str, int], now: datetime
    ) -> bool:
        """An ACTIVE, unexpired, fully held cart for the same channel, delivery type and
        location, with the same lines (a click & collect order at one store never takes a home
        delivery hold at the DC)."""
        held = {line.product_ref: line.quantity for line in hold.lines}
        return (
            hold.status == "ACTIVE"
            and hold.expires_at is not None
            and hold.expires_at > now
            and hold.channel == request.channel
            and hold.delivery_type == request.deliveryType
            and hold.location_ref == request.locationRef
            and not hold.shortfall
            and held == lines
        )

    def _convert(
        self, request: OrderRequest, fingerprint: str, hold: CartRecord, now: datetime
    ) -> tuple[OrderView, bool] | None:
        allocations = hold.allocations
        # The order's reservations are kept in the position's own partition, wherever the hold was.
        order = self._record(
            request, fingerprint, [replace(a, shard=0) for a in allocations], now, hold
        )
        conversion = plan_conversion(request.ref, hold.held, now)
        return self._commit_new(conversion, order, fingerprint)

    def _reserve_afresh(
        self,
        request: OrderRequest,
        fingerprint: str,
        channel: Any,
        lines: dict[str, int],
        hold: CartRecord | None,
        now: datetime,
    ) -> tuple[OrderView, bool] | None:
        """Reserve the order's lines afresh under the ATS conditions, giving back the cart's
        live holds in the same transaction; ``None`` to look again.

        Over 40 lines: an expired cart's release, the read, the plan and its size check are
        the steps of one attempt."""
        configuration = self._config.current()
        locations = candidate_locations(
            configuration, channel, request.deliveryType, request.locationRef
        )
        if (
            hold is not None
            and hold.status == "ACTIVE"
            and hold.expires_at is not None
            and hold.expires_at <= now
        ):
            # An expired cart is everyone's stock again: released on its own first, so an old
            # cart of any size never makes this order's transaction too large.
            self._holds.release_expired(hold.ref)
            hold = None
        # The cart's own live holds (for other lines) come back in the same transaction.
        released = hold if hold is not None and hold.status == "ACTIVE" else None
        gives_back = released.held if released is not None else None
        release = Release.of([gives_back.allocations]) if gives_back else NO_RELEASE
        stock = self._stock.read(
            channel, list(lines), locations, release, self._config.products(list(lines))
        )
        ats = stock.ats
        plans = build_plans(lines, locations, ats, allow_split=True)
        if not plans:
            raise out_of_stock(request, lines, locations, ats)
        plan = plans[0]
        order = self._record(request, fingerprint, list(plan.allocations), now, None)
        reserving = plan_reservation(
            request.ref, channel, plan, gives_back, stock.shard_values, now
        )
        if not self._stock.fits_or_gathered(
            reserving.items,
            stock,
            reserving.placements,
            now,
            field="fulfilmentOptionRef",
            advice="this order and the cart it gives back are too large together: cancel the cart first, or order its lines",
        ):
            return None  # its shards are gathered: the caller looks again
        result = self._commit_new(reserving, order, fingerprint)
        if result is not None and result[1]:
            self._stock.rebalance(sharded_positions(stock, plan), now)
        return result

    def _commit_new(
        self, plan: OrderPlan, order: OrderRecord, fingerprint: str
    ) -> tuple[OrderView, bool] | None:
        """Commit a new order: (view, True); a retry of an existing one: (its view, False);
        ``None`` when stock or the cart changed under us and the caller should look again."""
        try:
            self._table.commit_order(plan, order)
        except OrderConflict as conflict:
            if conflict.part is OrderPart.ORDER_EXISTS:
                return self._replay(self._table.get_order(order.ref), fingerprint), False
            return None
        return order_view(order), True

    @staticmethod
    def _record(
        request: OrderRequest,
        fingerprint: str,
        allocations: list[Allocation],
        now: datetime,
        hold: CartRecord | None,
    ) -> OrderRecord:
        """The order to store: CONFIRMED, its lines as sent, the units reserved for it."""
        return OrderRecord(
            ref=request.ref,
            status="CONFIRMED",
            request_hash=fingerprint,
            channel=request.channel,
            delivery_type=request.deliveryType,
            location_ref=request.locationRef,
            fulfilment_option_ref=request.fulfilmentOptionRef,
            lines=tuple(ProductLine(line.productRef, line.quantity) for line in request.lines),
            allocations=tuple(allocations),
            converted_from_hold=hold is not None,
            seconds_to_convert=(now - hold.created_at).total_seconds() if hold else None,
            created_at=now,
        )

    def _transition(self, order: OrderRecord, step: OrderStep) -> OrderView:
        """Commit a status change; answer the order as written. If it changed meanwhile (only
        then is it read again), the same change made by another caller answers as it is; any
        other change wins and this one is a 409, as it would be had it come second."""
        status = step.status
        try:
            self._commit_with_fences(step)
        except OrderConflict as conflict:
            if conflict.part is OrderPart.STOCK_CHANGED:
                raise Conflict(
                    f"order {order.ref!r}: a stock snapshot is dated after now; retry shortly"
                ) from None
            current = self._require(order.ref)
            if current.status == status:
                return order_view(current)  # the same step, taken by another caller first
            raise Conflict(
                f"order {order.ref!r} is {current.status} and cannot be {status.lower()}"
            ) from None
        return order_view(replace(order, status=status, updated_at=step.now))

    def _commit_with_fences(self, step: OrderStep) -> None:
        """Commit a ship or return, whose SALE/RETURNED is a feed event dated now: a fence left
        by a count whose writer died is taken down once and the commit tried again."""
        try:
            self._table.commit_order_step(step)
        except OrderConflict as conflict:
            refs = list(conflict.counters)
            positions = self._table.get_positions(refs).values() if refs else []
            now = self._now()
            if not any(
                self._table.take_down_fence(p, now)
                for p in positions
                if p.fence_until and p.fence_until < now
            ):
                raise
            self._table.commit_order_step(step)

    def _replay(self, document: OrderRecord | None, fingerprint: str) -> OrderView:
        return order_view(replayed(document, fingerprint, "order", "a different order"))

    def _require(self, ref: str) -> OrderRecord:
        document = self._table.get_order(ref)
        if document is None:
            raise NotFound(
                f"order {ref!r} does not exist", [{"field": "ref", "message": "unknown order"}]
            )
        return document

    @staticmethod
    def _expect(order: OrderRecord, status: str, action: str) -> None:
        if order.status != status:
            raise Conflict(f"order {order.ref!r} is {order.status} and cannot be {action}")

    def _now(self) -> datetime:
        return truncate_to_millis(self._clock())


def out_of_stock(
    request: OrderRequest,
    lines: dict[str, int],
    locations: list[str],
    ats: dict[tuple[str, str], int],
) -> OutOfStock:
    """The 409 of an order nothing can reserve: per short line, what was asked and what there is."""
    available = {p: sum(ats.get((p, loc), 0) for loc in locations) for p in lines}
    first_line: dict[str, int] = {}
    for index, line in enumerate(request.lines):
        first_line.setdefault(line.productRef, index)
    short: list[dict[str, Any]] = [
        {
            "field": f"lines.{first_line[product]}",
            "productRef": product,
            "requested": quantity,
            "available": available[product],
        }
        for product, quantity in lines.items()
        if available[product] < quantity
    ]
    if not short:  # enough units in total, but spread over more locations than one order takes
        short = [
            {
                "field": f"lines.{first_line[product]}",
                "productRef": product,
                "requested": quantity,
                "available": available[product],
                "message": f"spread over more locations than one order can allocate ({MAX_ALLOCATIONS})",
            }
            for product, quantity in lines.items()
        ]
    return OutOfStock("not enough stock for " + ", ".join(d["productRef"] for d in short), short)
