"""Table changes as the stream delivers them, decoded into the records they are.

A stream record's ``OldImage`` and ``NewImage`` (already deserialized) become one typed
:data:`holdfast.domain.signals.TableChange`: a fulfilment option's, an order's or a counter's,
so the demand signals never read an attribute name or an entity string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from holdfast.domain.clock import from_iso
from holdfast.domain.signals import CartChange, CounterLevel, LevelChange, OrderChange, TableChange
from holdfast.storage.documents import cart_from, order_from
from holdfast.storage.keys import FO_KIND, ORDER_KIND, POSITION_ENTITY, SHARD_ENTITY


def table_change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> TableChange | None:
    """What one written item is (``None`` for a deletion, and for items the signals do not
    read: timers, ledger records, configuration, signals)."""
    if new is None:
        return None
    entity = new.get("entity")
    if entity == FO_KIND:
        return CartChange(cart_from(old) if old else None, cart_from(new))
    if entity == ORDER_KIND:
        return OrderChange(order_from(old) if old else None, order_from(new))
    if entity in (POSITION_ENTITY, SHARD_ENTITY):
        return LevelChange(_counter_level(old) if old else None, _counter_level(new))
    return None


def _counter_level(values: Mapping[str, Any]) -> CounterLevel:
    updated = values.get("updatedAt")
    return CounterLevel(
        product_ref=str(values.get("productRef", "")),
        location_ref=str(values.get("locationRef", "")),
        on_hand=int(values.get("onHand", 0)),
        updated_at=from_iso(updated) if isinstance(updated, str) and updated else None,
    )
