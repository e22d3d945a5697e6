"""The table's keys: every partition and sort key Holdfast writes, and the expiry index.

Single-table design (see docs/architecture.md for the access-pattern table):

=========================  =====================  ======================================
item                       pk                     sk
=========================  =====================  ======================================
Inventory Position         ``IP#{ipRef}``         ``#IP``
counter shard (1..N-1)     ``IP#{ipRef}#S{n}``    ``#IP``
Inventory Quantity         ``IP#{ipRef}``         ``IQ#{type}`` / ``IQ#{type}#{sourceRef}``
channel / location         ``CONFIG``             ``CHANNEL#{name}`` / ``LOCATION#{ref}``
timers                     ``CONFIG``             ``TIMERS``
product                    ``PRODUCT#{ref}``      ``#PRODUCT``
=========================  =====================  ======================================

Refs never contain ``#`` or ``:``, so keys cannot collide.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from holdfast.domain.refs import DEFAULT_CATALOGUE, ip_ref

CONFIG_PK = "CONFIG"
POSITION_ENTITY = "IP"
SHARD_ENTITY = "IP_SHARD"
IP_SK = "#IP"
PRODUCT_SK = "#PRODUCT"

TIMER_SK = "TIMER"
TIMER_ENTITY = "TIMER"
FO_KIND = "FO"
ORDER_KIND = "ORDER"
EXPIRY_INDEX = "HoldsByExpiry"
EXPIRY_SHARDS = 4
"""Timer items spread over this many index partitions, so the sweeper's index stays cool."""


def position_pk(position_ref: str) -> str:
    return f"IP#{position_ref}"


def shard_pk(position_ref: str, shard: int) -> str:
    """Shard 0 is the position's own partition; shards 1..N-1 have partitions of their own
    (their counter item and the holds they granted), so a hot SKU's hold writes spread over
    N items and N partitions."""
    pk = position_pk(position_ref)
    return pk if shard == 0 else f"{pk}#S{shard}"


def shard_key(position_ref: str, shard: int) -> dict[str, Any]:
    return key(shard_pk(position_ref, shard), IP_SK)


def quantity_sk(iq_type: str, source_ref: str | None) -> str:
    return f"IQ#{iq_type}" if source_ref is None else f"IQ#{iq_type}#{source_ref}"


def product_pk(product_ref: str) -> str:
    return f"PRODUCT#{product_ref}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def expiry_shard(fo_ref: str) -> str:
    return f"TIMER#{zlib.crc32(fo_ref.encode()) % EXPIRY_SHARDS}"


def document_key(kind: str, ref: str) -> dict[str, Any]:
    """``FO#{ref}`` / ``ORDER#{ref}`` with sk ``#FO`` / ``#ORDER``."""
    return key(f"{kind}#{ref}", f"#{kind}")


def timer_key(fo_ref: str) -> dict[str, Any]:
    return key(f"FO#{fo_ref}", TIMER_SK)


@dataclass(frozen=True, slots=True)
class PositionKey:
    """Which inventory position: one product at one location in one catalogue."""

    product_ref: str
    location_ref: str
    catalogue: str = DEFAULT_CATALOGUE

    @property
    def ref(self) -> str:
        return ip_ref(self.product_ref, self.location_ref, self.catalogue)


POSITION_IDENTITY = (
    "#ref = if_not_exists(#ref, :ref), productRef = if_not_exists(productRef, :product), "
    "locationRef = if_not_exists(locationRef, :location), catalogue = if_not_exists(catalogue, :catalogue), "
    "entity = if_not_exists(entity, :entity)"
)
"""The SET clause that creates a position's item on its first write and leaves an existing
item's identity alone; :func:`position_identity` gives its values (``#ref`` names ``ref``)."""


def position_identity(position: PositionKey) -> dict[str, Any]:
    return {
        ":ref": {"S": position.ref},
        ":product": {"S": position.product_ref},
        ":location": {"S": position.location_ref},
        ":catalogue": {"S": position.catalogue},
        ":entity": {"S": "IP"},
    }
