"""A fulfilment option request as the hold path works with it.

:class:`AskedCart` is the request resolved against configuration before any stock is read:
the cart to plan (:class:`holdfast.domain.holds.Cart`), its candidate locations, and the
fulfilment option stored with its answer (:class:`holdfast.storage.CartRecord`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from holdfast.domain.configuration import Product
from holdfast.domain.holds import Cart, HoldPlan
from holdfast.domain.planning import Plan, Shortfall, build_plans, or_partial
from holdfast.models import FulfilmentOptionRequest
from holdfast.storage import CartRecord, ProductLine

REPLACE_ADVICE = "replace a smaller cart, or cancel it and send this cart on its own"


@dataclass(frozen=True)
class AskedCart:
    """A fulfilment option request resolved against configuration, before any stock is read."""

    request: FulfilmentOptionRequest
    fingerprint: str
    started: float
    """When the call began (``time.monotonic``): the demand signals' FO-call latency."""
    cart: Cart
    lines: dict[str, int]
    locations: list[str]
    products: dict[str, Product]
    extended: bool
    """Whether the cart it replaces was extended: a replacement is extended at most once."""

    @property
    def ats_locations(self) -> list[str]:
        """Where ATS is read: the candidates, and wherever the replaced cart gives units back."""
        released = (loc for _, loc in self.cart.release.units)
        return list(dict.fromkeys([*self.locations, *released]))

    @property
    def field(self) -> str:
        """The request field a too-large transaction is blamed on."""
        return "replaces" if self.cart.replaces else "lines"

    def full_plans(self, ats: Mapping[tuple[str, str], int]) -> list[Plan]:
        return build_plans(self.lines, self.locations, ats, allow_split=self.request.allowSplit)

    def or_partial(
        self, plans: list[Plan], ats: Mapping[tuple[str, str], int]
    ) -> tuple[list[Plan], list[Shortfall]]:
        request = self.request
        return or_partial(
            plans,
            self.lines,
            self.locations,
            ats,
            allow_split=request.allowSplit,
            allow_partial=request.allowPartial,
        )

    def record(
        self,
        hold: HoldPlan,
        plans: list[Plan],
        held: Plan | None,
        shortfall: list[Shortfall],
        now: datetime,
    ) -> CartRecord:
        """The fulfilment option to store: the plans, the one held (its allocations placed as
        ``hold`` places them), the shortfall, and the hold's status and expiry."""
        request = self.request
        return CartRecord(
            ref=hold.ref,
            status=hold.status,
            request_hash=self.fingerprint,
            channel=request.channel,
            delivery_type=request.deliveryType,
            location_ref=request.locationRef,
            lines=tuple(ProductLine(p, q) for p, q in self.lines.items()),
            plans=tuple(plans),
            reserved_plan=held,
            allocations=hold.allocations,
            shortfall=tuple(shortfall),
            timer_minutes=self.cart.minutes,
            created_at=now,
            extended=self.extended if held else False,
            replaces=request.replaces,
            latency_ms=round((time.monotonic() - self.started) * 1000),
            expires_at=hold.expires_at,
        )
