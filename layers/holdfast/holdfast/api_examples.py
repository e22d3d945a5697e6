"""The README's request and answer examples, as the OpenAPI document shows them.

Route decorators put these in ``docs/openapi.json`` (Swagger UI's "Try it out" starts from
them; schemathesis sends them to ``holdfast dev`` in its examples phase), so they must stay
valid requests for the example retailer ``holdfast dev`` loads.
"""

from __future__ import annotations

from typing import Any

PRODUCT = "ACME_SNEAKER_BLK_US9"
CART = "cart-abc123-20261127"
ORDER = "ORD-20261127-0001"


def body(value: dict[str, Any]) -> dict[str, Any]:
    """``openapi_examples`` for a request body: one example, named after its source."""
    return {"readme": {"summary": "from the README", "value": value}}


INVENTORY_BATCH: dict[str, Any] = {
    "entities": [
        {
            "productRef": PRODUCT,
            "locationRef": "MAIN_DC",
            "type": "LAST_ON_HAND",
            "quantity": 60,
            "asOf": "2026-11-27T06:00:00Z",
        },
        {
            "productRef": PRODUCT,
            "locationRef": "STORE_SYDNEY",
            "type": "DELTA",
            "quantity": 4,
            "sourceRef": "RCPT-8812",
        },
    ]
}

FULFILMENT_OPTION: dict[str, Any] = {
    "ref": CART,
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "lines": [{"productRef": PRODUCT, "quantity": 2}],
    "allowSplit": False,
    "allowPartial": False,
}

ORDER_REQUEST: dict[str, Any] = {
    "ref": ORDER,
    "channel": "ECOMMERCE",
    "deliveryType": "HD",
    "fulfilmentOptionRef": CART,
    "lines": [{"productRef": PRODUCT, "quantity": 2}],
}

VIRTUAL_POSITIONS: dict[str, Any] = {
    "items": [
        {
            "ref": f"{PRODUCT}:*:ECOMMERCE",
            "type": "AGGREGATE",
            "channel": "ECOMMERCE",
            "productRef": PRODUCT,
            "locationRef": None,
            "quantity": 45,
        }
    ]
}

FUNNEL: dict[str, Any] = {
    "items": [
        {
            "productRef": PRODUCT,
            "foCalls": 200,
            "holds": 32,
            "orders": 17,
            "abandoned": 15,
            "refused": 168,
            "conversionRate": 0.5312,
            "abandonmentRate": 0.4688,
            "medianSecondsToConvert": 23.546,
            "outOfStock": 168,
        }
    ],
    "from": "2026-11-27T00:00:00.000Z",
    "to": "2026-11-28T00:00:00.000Z",
}

CHANNEL: dict[str, Any] = {
    "buffer": {"type": "PERCENTAGE", "value": 10},
    "excludedLocations": [],
    "displayCap": None,
    "lowStockThreshold": None,
}
LOCATION: dict[str, Any] = {
    "type": "DC",
    "deliveryTypes": ["HD"],
    "channels": ["ECOMMERCE", "MOBILE"],
    "priority": 1,
}
PRODUCT_CONFIG: dict[str, Any] = {"category": "SNEAKERS"}
TIMERS: dict[str, Any] = {
    "globalMinutes": 15,
    "categories": {"SNEAKERS": 5},
    "products": {PRODUCT: 10},
}
