"""How positions are shown: Virtual Positions, a position with a page of its ledger, ledger
records and the ledger's page tokens (docs/behaviour.md §2, §3, §9)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from holdfast.domain import ledger as rules
from holdfast.domain.availability import displayed_quantity
from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Channel
from holdfast.domain.ledger import InventoryQuantity
from holdfast.domain.refs import vp_ref
from holdfast.errors import InvalidInput
from holdfast.models import InventoryPositionView, QuantityView, VirtualPositionView
from holdfast.storage import PositionRecord

AGGREGATE_LOCATION = "*"
"""The location part of an AGGREGATE VP ref: not a valid ref, so it names no real location."""


def virtual_position_view(
    channel: Channel,
    product: str,
    location: str | None,
    kind: Literal["BASE", "AGGREGATE"],
    ats: int,
) -> VirtualPositionView:
    """A Virtual Position: the channel's displayed quantity of the product at a location, or
    over all of them (AGGREGATE)."""
    return VirtualPositionView(
        ref=vp_ref(product, location or AGGREGATE_LOCATION, channel.name),
        type=kind,
        channel=channel.name,
        productRef=product,
        locationRef=location,
        quantity=displayed_quantity(ats, channel),
    )


def virtual_position_views(
    channel: Channel,
    products: Sequence[str],
    base_locations: Sequence[str],
    aggregate_locations: Sequence[str] | None,
    ats: Callable[[str, str], int],
) -> list[VirtualPositionView]:
    """Per product: a BASE position per location of ``base_locations``, then (unless
    ``aggregate_locations`` is ``None``) the AGGREGATE of the ATS over those locations."""
    items: list[VirtualPositionView] = []
    for product in products:
        for location in base_locations:
            items.append(
                virtual_position_view(channel, product, location, "BASE", ats(product, location))
            )
        if aggregate_locations is not None:
            total = sum(ats(product, location) for location in aggregate_locations)
            items.append(virtual_position_view(channel, product, None, "AGGREGATE", total))
    return items


def position_view(
    record: PositionRecord, page: list[QuantityView], more: bool
) -> InventoryPositionView:
    """The IP with its counter and one page of its ledger (``more``: another page follows)."""
    return InventoryPositionView(
        ref=record.ref,
        productRef=record.product_ref,
        locationRef=record.location_ref,
        catalogue=record.catalogue,
        onHand=record.on_hand,
        lastSnapshotAsOf=to_iso(record.snapshot_as_of) if record.snapshot_as_of else None,
        updatedAt=to_iso(record.updated_at) if record.updated_at else None,
        quantities=page,
        nextToken=encode_ledger_token(page[-1]) if more else None,
    )


def ledger_page(
    views: list[QuantityView],
    status: Literal["ACTIVE", "INACTIVE"] | None,
    order: Literal["newest", "oldest"],
    after: tuple[str, str] | None,
    limit: int,
) -> tuple[list[QuantityView], bool]:
    """One page of ledger records of ``status`` (any, if ``None``), in ``order`` of creation,
    starting after the token's ``(createdAt, iqRef)``; and whether more follow."""
    views = [view for view in views if status is None or view.status == status]
    newest = order == "newest"
    views.sort(key=lambda view: (view.createdAt, view.iqRef), reverse=newest)
    if after is not None:
        views = [
            v
            for v in views
            if ((v.createdAt, v.iqRef) < after if newest else (v.createdAt, v.iqRef) > after)
        ]
    return views[:limit], len(views) > limit


def quantity_view(iq: InventoryQuantity, snapshot_as_of: datetime | None) -> QuantityView:
    """One ledger record as ``GET /inventory-positions/{ref}`` shows it; ACTIVE when it counts
    toward onHand (a record the latest count superseded does not)."""
    counted = rules.counts_toward_on_hand(iq, snapshot_as_of)
    return QuantityView(
        iqRef=iq.ref,
        type=str(iq.type),
        quantity=iq.quantity,
        status="ACTIVE" if counted else "INACTIVE",
        asOf=to_iso(iq.effective_at),
        createdAt=to_iso(iq.created_at),
        sourceRef=iq.source_ref,
        expiresAt=to_iso(iq.expires_at) if iq.expires_at else None,
    )


def encode_ledger_token(view: QuantityView) -> str:
    """The ``nextToken`` that resumes a ledger page after ``view``."""
    return base64.urlsafe_b64encode(json.dumps([view.createdAt, view.iqRef]).encode()).decode()


def decode_ledger_token(token: str) -> tuple[str, str]:
    try:
        created_at, iq_ref = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(created_at, str) and isinstance(iq_ref, str):
            return created_at, iq_ref
    except (ValueError, TypeError, UnicodeError):
        pass
    raise InvalidInput.field("nextToken", "is not a token this route gave out")
