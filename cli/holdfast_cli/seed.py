"""The example retailer every local environment starts with (docs/behaviour.md §3's seed example).

Applied through the HTTP API (:class:`~holdfast_cli.local.api.LocalApi`), never by writing
items, so a broken route or handler makes the seed fail loudly instead of hiding it.

After :func:`seed` the example position ``ACME_SNEAKER_BLK_US9:MAIN_DC:DEFAULT`` has onHand 50
and ECOMMERCE (10 % buffer) shows 45. Once the fulfilment-option and order routes exist,
:func:`seed_cart_and_order` adds the worked example's hold of 2 (docs/behaviour.md §3) and order of 3: onHand 45, ATS 40.
"""

from __future__ import annotations

from typing import Any

from holdfast_cli.local.api import ApiResponse, LocalApi

PRODUCT = "ACME_SNEAKER_BLK_US9"
CATEGORY = "SNEAKERS"
MAIN_DC = "MAIN_DC"
STORE_SYDNEY = "STORE_SYDNEY"
EXAMPLE_POSITION = f"{PRODUCT}:{MAIN_DC}:DEFAULT"
CART_REF = "FO_1234"
ORDER_REF = "FUL_456"

CHANNELS: dict[str, dict[str, Any]] = {
    "MOBILE": {"buffer": {"type": "PERCENTAGE", "value": 5}},
    "ECOMMERCE": {"buffer": {"type": "PERCENTAGE", "value": 10}},
    "STORE": {"buffer": {"type": "PERCENTAGE", "value": 0}},
}

LOCATIONS: dict[str, dict[str, Any]] = {
    MAIN_DC: {
        "type": "DC",
        "deliveryTypes": ["HD"],
        "channels": ["ECOMMERCE", "MOBILE"],
        "priority": 1,
    },
    STORE_SYDNEY: {
        "type": "STORE",
        "deliveryTypes": ["HD", "CC"],
        "channels": ["ECOMMERCE", "MOBILE", "STORE"],
        "priority": 2,
    },
}

PRODUCTS: dict[str, dict[str, Any]] = {PRODUCT: {"category": CATEGORY}}

TIMERS: dict[str, Any] = {"globalMinutes": 15, "categories": {CATEGORY: 15}}

STOCK_FEED: dict[str, Any] = {
    "entities": [
        {"productRef": PRODUCT, "locationRef": MAIN_DC, "type": "LAST_ON_HAND", "quantity": 50},
        {"productRef": PRODUCT, "locationRef": STORE_SYDNEY, "type": "LAST_ON_HAND", "quantity": 6},
    ]
}

CART: dict[str, Any] = {
    "ref": CART_REF,
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": PRODUCT, "quantity": 2}],
}

ORDER: dict[str, Any] = {
    "ref": ORDER_REF,
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": PRODUCT, "quantity": 3}],
}

CART_AND_ORDER_ROUTES = frozenset({"POST /fulfilment-options", "POST /orders"})

ACCEPTED_FEED_RESULTS = frozenset({"APPLIED", "UNCHANGED"})


class SeedError(RuntimeError):
    """A seed call was refused: the route, the handler or the seed itself is broken."""


def seed(api: LocalApi) -> None:
    """Load the whole example retailer; raise :class:`SeedError` on the first refused call.

    Safe to run again on a seeded table: configuration is overwritten with the same values,
    the stock snapshots are re-counted, and the cart and order refs are idempotent.
    """
    seed_configuration(api)
    seed_stock(api)
    seed_cart_and_order(api)


def seed_configuration(api: LocalApi) -> None:
    """Channels with their buffers, the two locations, the product's category and the timers."""
    for name, body in CHANNELS.items():
        _expect_success(api.put(f"/channels/{name}", body), f"PUT /channels/{name}")
    for ref, body in LOCATIONS.items():
        _expect_success(api.put(f"/locations/{ref}", body), f"PUT /locations/{ref}")
    for ref, body in PRODUCTS.items():
        _expect_success(api.put(f"/products/{ref}", body), f"PUT /products/{ref}")
    _expect_success(api.put("/timers", TIMERS), "PUT /timers")


def seed_stock(api: LocalApi) -> None:
    """Stock snapshots: 50 at MAIN_DC, 6 at STORE_SYDNEY. Every entity must be applied."""
    response = _expect_success(api.post("/inventory/batch", STOCK_FEED), "POST /inventory/batch")
    refused = [
        result
        for result in response.json().get("results", [])
        if result.get("status") not in ACCEPTED_FEED_RESULTS
    ]
    if refused:
        raise SeedError(f"POST /inventory/batch refused seed entities: {refused}")


def seed_cart_and_order(api: LocalApi) -> None:
    """The worked example's cart hold (docs/behaviour.md §3) (FO_1234 holds 2) and order (FUL_456 reserves 3) on ECOMMERCE.

    A no-op until the template has the ``POST /fulfilment-options`` and ``POST /orders``
    routes; with them, MAIN_DC's onHand becomes 45 and its ECOMMERCE ATS 40.
    """
    if not has_cart_and_order_routes(api):
        return
    _expect_success(api.post("/fulfilment-options", CART), "POST /fulfilment-options")
    _expect_success(api.post("/orders", ORDER), "POST /orders")


def has_cart_and_order_routes(api: LocalApi) -> bool:
    """True once the template serves the routes :func:`seed_cart_and_order` needs."""
    return {route.route_key for route in api.routes} >= CART_AND_ORDER_ROUTES


def _expect_success(response: ApiResponse, call: str) -> ApiResponse:
    if not 200 <= response.status < 300:
        raise SeedError(f"{call} answered {response.status}: {response.body}")
    return response
