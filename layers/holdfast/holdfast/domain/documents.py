"""Fulfilment options and orders as decided and stored: typed, frozen records.

:mod:`holdfast.storage.documents` encodes them to the table's items (and decodes items and
stream images back); services and the demand signals read their fields. Their lines, plans
and shortfall are shown in the API's shape by the ``*_json`` functions here, which the stored
body, the answers and the signals share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holdfast.domain.holds import HeldCart
from holdfast.domain.planning import Allocation, Plan, Shortfall


@dataclass(frozen=True, slots=True)
class ProductLine:
    """A line of a cart or an order as stored: a product and its quantity."""

    product_ref: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CartRecord:
    """A stored fulfilment option (FO): the cart's answer and where its hold stands."""

    ref: str
    status: str
    request_hash: str
    """The request's fingerprint, to tell a retry from another request under this ref."""
    channel: str
    delivery_type: str
    location_ref: str | None
    lines: tuple[ProductLine, ...]
    """The cart's lines, each product once (merged)."""
    plans: tuple[Plan, ...]
    reserved_plan: Plan | None
    allocations: tuple[Allocation, ...]
    """The units held, each with the counter shard whose partition keeps its record."""
    shortfall: tuple[Shortfall, ...]
    timer_minutes: int
    created_at: datetime
    extended: bool = False
    """Whether the hold was extended, by itself or as the cart it replaces."""
    replaces: str | None = None
    latency_ms: int | None = None
    """How long the service took to decide the answer (the demand signals' FO-call latency)."""
    expires_at: datetime | None = None
    order_ref: str | None = None
    updated_at: datetime | None = None
    """When the cart last changed status (the item's ``updatedAt``)."""
    extended_by: str | None = None
    """The request id of this cart's own extension, so the same extension sent again answers
    the extended hold."""
    extension_noted: bool = False
    """Whether this cart's own extension is recorded (``extendedBy`` in the body, null when it
    came without a request id); a replacement of an extended cart has ``extended`` alone."""

    @property
    def held(self) -> HeldCart:
        """The cart as hold plans see it: what a release or a replacement gives back."""
        return HeldCart(self.ref, self.allocations, self.expires_at)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A stored order: its lines as sent, the units reserved for it, and where it stands."""

    ref: str
    status: str
    request_hash: str
    channel: str
    delivery_type: str
    location_ref: str | None
    fulfilment_option_ref: str | None
    lines: tuple[ProductLine, ...]
    """The order's lines as the request listed them (a product may appear twice)."""
    allocations: tuple[Allocation, ...]
    converted_from_hold: bool
    seconds_to_convert: float | None
    created_at: datetime
    updated_at: datetime | None = None
    """When the order last changed status (the item's ``updatedAt``)."""


def lines_json(lines: Iterable[ProductLine]) -> list[dict[str, Any]]:
    """Lines as the API shows them (and the stored body keeps them)."""
    return [{"productRef": line.product_ref, "quantity": line.quantity} for line in lines]


def plan_json(plan: Plan) -> dict[str, Any]:
    """A plan as the API shows it (and the stored body keeps it): its items by location."""
    return {
        "type": plan.type,
        "fulfilments": [
            {
                "locationRef": location,
                "items": [
                    {"productRef": a.product_ref, "quantity": a.quantity} for a in allocations
                ],
            }
            for location, allocations in plan.by_location().items()
        ],
    }


def shortfall_json(shortfall: Iterable[Shortfall]) -> list[dict[str, Any]]:
    """What each short line asked for and what there was, as the API shows it."""
    return [
        {"productRef": s.product_ref, "requested": s.requested, "available": s.available}
        for s in shortfall
    ]
