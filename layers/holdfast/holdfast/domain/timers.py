"""Hold timers (docs/behaviour.md §4): product, then category, then the global default."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from holdfast.domain.configuration import Product, TimerConfig


def timer_minutes(product_ref: str, products: Mapping[str, Product], timers: TimerConfig) -> int:
    """Minutes a hold of ``product_ref`` lasts: its own timer, else its category's, else global."""
    if product_ref in timers.products:
        return timers.products[product_ref]
    product = products.get(product_ref)
    if product is not None and product.category in timers.categories:
        return timers.categories[product.category]
    return timers.globalMinutes


def hold_minutes(
    product_refs: Iterable[str], products: Mapping[str, Product], timers: TimerConfig
) -> int:
    """One cart's hold lasts as long as its shortest-timed product allows: a flash-sale item
    in the cart keeps its urgency."""
    return min(
        (timer_minutes(ref, products, timers) for ref in product_refs), default=timers.globalMinutes
    )
