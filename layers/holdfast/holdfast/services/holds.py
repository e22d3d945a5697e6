"""Fulfilment options with soft reservation (docs/behaviour.md §4) and their release (docs/behaviour.md §5)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

from holdfast import retry
from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.clock import Clock, truncate_to_millis
from holdfast.domain.holds import (
    Cart,
    HoldConflict,
    HoldPart,
    end_hold,
    plan_extension,
    plan_hold,
    plan_refusal,
)
from holdfast.domain.planning import (
    Shortfall,
    merge_lines,
)
from holdfast.domain.timers import hold_minutes
from holdfast.errors import Conflict, NotFound
from holdfast.models import FulfilmentOptionRequest, FulfilmentOptionView
from holdfast.services.answers import cart_view
from holdfast.services.availability import (
    Stock,
    StockReader,
    candidate_locations,
    replayed,
    request_fingerprint,
    sharded_positions,
)
from holdfast.services.carts import REPLACE_ADVICE, AskedCart
from holdfast.storage import CartRecord, InventoryTable

RECLAIM_LIMIT = 25
"""Overdue holds a refused hold or order releases before looking again."""
HOLD_ATTEMPTS = 6
"""Rounds of read → plan → conditional write before answering NO_OPTIONS. A round only fails
when another hold took the stock first, so every failed round is someone else's progress."""


class HoldService:
    def __init__(self, table: InventoryTable, config: ConfigurationCache, clock: Clock) -> None:
        self._table = table
        self._config = config
        self._clock = clock
        self._stock = StockReader(table)

    def create(self, request: FulfilmentOptionRequest) -> tuple[FulfilmentOptionView, bool]:
        """Plan and hold a cart. Answers the view and whether this call created it (a retry
        of the same request answers the first result and holds nothing more).

        Over 40 lines by a few: the read → plan → commit loop reads best whole."""
        # No read of the ref first: the FO item's create-if-absent condition in the hold
        # transaction detects a retry, so the common path costs one read and one write.
        asked = self._asked(request)
        if isinstance(asked, CartRecord):
            return self._replay(asked, request_fingerprint(request)), False
        ats: dict[tuple[str, str], int] = {}
        for attempt in range(HOLD_ATTEMPTS):
            now = self._now()
            stock = self._read(asked)
            ats = stock.ats
            plans = asked.full_plans(ats)
            if not plans and self.reclaim_expired():
                continue  # expired holds were still counted: they are back, look again
            plans, shortfall = asked.or_partial(plans, ats)
            if not plans:
                break
            for plan in plans:
                hold = plan_hold(asked.cart, plan, stock.shard_values, now)
                if not self._stock.fits_or_gathered(
                    hold.items,
                    stock,
                    hold.placements,
                    now,
                    field=asked.field,
                    advice=REPLACE_ADVICE,
                ):
                    break  # its shards are gathered: read and plan again, one shard a line
                cart = asked.record(hold, plans, plan, shortfall, now)
                try:
                    self._table.commit_hold(hold, cart)
                except HoldConflict as conflict:
                    if conflict.part is HoldPart.STOCK_CHANGED:
                        continue  # the stock raced away: try the next plan
                    return self._lost_to(conflict, asked), False
                self._stock.rebalance(sharded_positions(stock, plan), now)
                return cart_view(cart, now), True
            else:
                retry.REPLAN.pause(attempt + 1)
        return self._refuse(asked, ats)

    def _read(self, asked: AskedCart) -> Stock:
        """The counters the cart's plans are made from, its replaced cart's units counted back."""
        lines = list(asked.lines)
        release = asked.cart.release
        return self._stock.read(
            asked.cart.channel, lines, asked.ats_locations, release, asked.products
        )

    def _asked(self, request: FulfilmentOptionRequest) -> AskedCart | CartRecord:
        """The cart as asked, resolved against configuration; or, when the cart it replaces
        is no longer active because this very replacement took it, that replacement."""
        started = time.monotonic()  # the demand signals' FO-call latency (latency_ms)
        configuration = self._config.current()
        channel = self._config.channel(request.channel)
        lines = merge_lines((line.productRef, line.quantity) for line in request.lines)
        locations = candidate_locations(
            configuration, channel, request.deliveryType, request.locationRef
        )
        products = self._config.products(list(lines))
        minutes = hold_minutes(lines, products, configuration.timers)
        replaced = None
        if request.replaces:
            try:
                replaced = self._replaced(request.replaces, request.channel)
            except Conflict:
                existing = self._table.get_cart(request.ref)
                if existing is None:
                    raise
                return existing  # this replacement, sent again
        return AskedCart(
            request=request,
            fingerprint=request_fingerprint(request),
            started=started,
            cart=Cart(request.ref, channel, minutes, replaced.held if replaced else None),
            lines=lines,
            locations=locations,
            products=products,
            extended=replaced.extended if replaced else False,
        )

    def _lost_to(self, conflict: HoldConflict, asked: AskedCart) -> FulfilmentOptionView:
        """The answer when another writer got there first: this request's own FO, sent
        again, or a 409 when the cart it replaces is no longer an active hold."""
        if conflict.part is HoldPart.CART_EXISTS:
            return self._replay(self._table.get_cart(asked.cart.ref), asked.fingerprint)
        replaced = asked.cart.replaces
        assert replaced is not None, "only a replacement has a replaced cart to lose"
        raise Conflict(f"fulfilment option {replaced.ref!r} is no longer an active hold") from None

    def _refuse(
        self, asked: AskedCart, ats: dict[tuple[str, str], int]
    ) -> tuple[FulfilmentOptionView, bool]:
        """Store NO_OPTIONS with what each line fell short by, holding nothing."""
        now = self._now()
        short = [
            Shortfall(p, q, sum(ats.get((p, loc), 0) for loc in asked.locations))
            for p, q in asked.lines.items()
        ]
        refusal = plan_refusal(asked.cart.ref, now)
        cart = asked.record(refusal, [], None, short, now)
        try:
            self._table.commit_hold(refusal, cart)
        except HoldConflict:
            return self._replay(self._table.get_cart(asked.cart.ref), asked.fingerprint), False
        return cart_view(cart, now), True

    def get(self, ref: str) -> FulfilmentOptionView:
        return cart_view(self._require(ref), self._now())

    def cancel(self, ref: str) -> FulfilmentOptionView:
        """Release the holds now. Cancelling twice is harmless; a converted cart is a 409."""
        document = self._require(ref)
        if document.status == "ACTIVE":
            now = self._now()
            # A hold past its expiry is EXPIRED (an abandoned cart), whoever releases it.
            end = end_hold(document.held, "CANCELLED", now, unexpired_at=now)
            if not self._table.commit_hold_end(end, now):
                self.release_expired(ref)  # past its expiry and still held: released as EXPIRED
                document = self._require(ref)  # converted, expired or cancelled meanwhile
            else:
                document = replace(document, status="CANCELLED")  # what we wrote: no second read
        if document.status in ("CONVERTED",):
            raise Conflict(
                f"fulfilment option {ref!r} is already converted to order {document.order_ref!r}"
            )
        return cart_view(document, self._now())

    def extend(self, ref: str, request_id: str | None = None) -> FulfilmentOptionView:
        """Add one timer length to an unexpired hold, once (a slow payment). With a
        ``request_id``, sending the same extension again answers the extended hold instead of
        a 409, so a client may retry one whose answer it lost."""
        document = self._require(ref)
        now = self._now()
        if request_id is not None and document.extended_by == request_id:
            return cart_view(document, now)  # this extension, sent again
        if document.status != "ACTIVE" or document.expires_at is None or document.expires_at <= now:
            raise Conflict(
                f"fulfilment option {ref!r} is not an active hold",
                [{"field": "ref", "message": "not ACTIVE"}],
            )
        if document.extended:
            raise Conflict(f"fulfilment option {ref!r} was already extended once")
        extension = plan_extension(document.held, document.timer_minutes, now)
        extended = replace(
            document,
            extended=True,
            extended_by=request_id,
            extension_noted=True,
            expires_at=extension.expires_at,
        )
        if not self._table.commit_extension(extension, extended):
            raise Conflict(f"fulfilment option {ref!r} changed while extending; read it again")
        return cart_view(extended, now)

    def release_expired(self, ref: str) -> bool:
        """Release an ACTIVE hold whose ``expiresAt`` has passed: SOFT_RESERVE → INACTIVE,
        counters back, status EXPIRED. Safe to call any number of times from any path
        (stream, sweeper, reclaim): the conditions let exactly one release commit."""
        document = self._table.get_cart(ref)
        now = self._now()
        if (
            document is None
            or document.status != "ACTIVE"
            or document.expires_at is None
            or document.expires_at > now
        ):
            return False
        end = end_hold(document.held, "EXPIRED", now, expired_at=now)
        return self._table.commit_hold_end(end, now)

    def release_timer_deleted(self, ref: str) -> bool:
        """TTL deleted the hold's timer: release the hold, or, if this clock says it is not
        due yet (clock skew), put the timer back so TTL and the sweeper still find it."""
        if self.release_expired(ref):
            return True
        document = self._table.get_cart(ref)
        if document is None or document.status != "ACTIVE" or document.expires_at is None:
            return False
        # Converted, cancelled or released meanwhile: nothing to put back.
        self._table.restore_timer(ref, document.expires_at, self._now())
        return False

    def sweep(self, limit: int = 500) -> tuple[int, int]:
        """Release holds whose timers are overdue but not yet deleted by TTL (which can be
        days late). Answers (overdue found, released by this sweep)."""
        overdue = self._table.overdue_holds(self._now(), limit)
        return len(overdue), sum(self.release_expired(ref) for ref in overdue)

    def reclaim_expired(self, limit: int = RECLAIM_LIMIT) -> int:
        """Release overdue holds now, whatever TTL and the sweeper have done so far, so a
        shopper one second after an expiry gets the unit. Reads the expiry index (oldest
        first): a few small queries whatever the SKU's hold history, and on a hot SKU the
        overdue holds are that SKU's.

        Answers how many overdue holds are no longer held: released by this call, or by
        another path (the stream, the sweeper, another shopper's reclaim) since the caller read
        its stock. Either way their units are back and the caller looks again. A timer still
        indexed for a hold that is no longer ACTIVE is deleted, so it is counted once."""
        overdue = self._table.overdue_holds(self._now(), limit)
        given_back = 0
        for ref in overdue:
            if self.release_expired(ref):
                given_back += 1
                continue
            document = self._table.get_cart(ref)
            if document is None or document.status != "ACTIVE":
                given_back += 1
                self._table.delete_timer(ref, self._now())
        return given_back

    def _replaced(self, ref: str, channel: str) -> CartRecord:
        """The cart a replacement gives back: it must be an unexpired ACTIVE hold on the
        same channel."""
        document = self._table.get_cart(ref)
        if document is None:
            raise NotFound(
                f"fulfilment option {ref!r} does not exist",
                [{"field": "replaces", "message": "unknown fulfilment option"}],
            )
        if document.status != "ACTIVE" or (
            document.expires_at and document.expires_at <= self._now()
        ):
            raise Conflict(
                f"fulfilment option {ref!r} is not an active hold",
                [{"field": "replaces", "message": "not ACTIVE"}],
            )
        if document.channel != channel:
            raise Conflict(
                "a cart is replaced on the same channel",
                [{"field": "replaces", "message": "different channel"}],
            )
        return document

    def _replay(self, document: CartRecord | None, fingerprint: str) -> FulfilmentOptionView:
        return cart_view(
            replayed(document, fingerprint, "fulfilment option", "a different cart"), self._now()
        )

    def _require(self, ref: str) -> CartRecord:
        document = self._table.get_cart(ref)
        if document is None:
            raise NotFound(
                f"fulfilment option {ref!r} does not exist",
                [{"field": "ref", "message": "unknown fulfilment option"}],
            )
        return document

    def _now(self) -> datetime:
        return truncate_to_millis(self._clock())
