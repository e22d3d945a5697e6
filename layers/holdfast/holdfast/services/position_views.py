"""How positions are shown: Virtual Positions, ledger records and the ledger's page tokens
(docs/behaviour.md §2, §3, §9)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Literal

from holdfast.domain import ledger as rules
from holdfast.domain.availability import displayed_quantity
from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Channel
from holdfast.domain.ledger import InventoryQuantity
from holdfast.domain.refs import vp_ref
from holdfast.errors import InvalidInput
from holdfast.models import QuantityView, VirtualPositionView

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
