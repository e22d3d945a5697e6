"""A fulfilment option request as the hold path works with it, and stored carts as plans see them.

:class:`AskedCart` is the request resolved against configuration before any stock is read:
the cart to plan (:class:`holdfast.domain.holds.Cart`), its candidate locations, and the
answer body stored with the fulfilment option.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Product
from holdfast.domain.holds import Cart, HeldCart
from holdfast.domain.planning import Allocation, Plan, Shortfall, build_plans, or_partial
from holdfast.models import FulfilmentOptionRequest
from holdfast.services.availability import allocation_dicts, allocations_of, plan_dict
from holdfast.storage import Document

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

    def body(
        self,
        plans: list[Plan],
        held: Plan | None,
        allocations: Iterable[Allocation],
        shortfall: list[Shortfall],
        now: datetime,
    ) -> dict[str, Any]:
        """The stored answer: the plans, the one held (its allocations placed), the shortfall."""
        request = self.request
        return {
            "requestHash": self.fingerprint,
            "channel": request.channel,
            "deliveryType": request.deliveryType,
            "locationRef": request.locationRef,
            "lines": [{"productRef": p, "quantity": q} for p, q in self.lines.items()],
            "plans": [plan_dict(plan) for plan in plans],
            "reservedPlan": plan_dict(held) if held else None,
            "allocations": allocation_dicts(allocations),
            "shortfall": [
                {"productRef": s.product_ref, "requested": s.requested, "available": s.available}
                for s in shortfall
            ],
            "timerMinutes": self.cart.minutes,
            "createdAt": to_iso(now),
            "extended": self.extended if held else False,
            "replaces": request.replaces,
            "latencyMs": round((time.monotonic() - self.started) * 1000),
        }


def held_cart(document: Document) -> HeldCart:
    """A stored fulfilment option as the hold plans see it."""
    return HeldCart(document.ref, tuple(allocations_of(document.body)), document.expires_at)
