"""The retailer every bench table starts with, loaded through the public API.

One channel with a 10 % buffer, a DC and four stores (so a home-delivery cart reads five
positions, as it would at a real retailer), a hot SKU with more stock than any run can hold,
a SKU whose hold timer is one minute (to expire holds without waiting 15), and a grid of
20 products × 5 locations for Virtual Position reads.
"""

from __future__ import annotations

from typing import Any

from bench.engine import BenchError
from holdfast_cli.local.api import ApiResponse, LocalApi

CHANNEL = "ECOMMERCE"
MAIN_DC = "MAIN_DC"
STORES = [f"STORE_{n:02d}" for n in range(1, 5)]
LOCATIONS = [MAIN_DC, *STORES]
HOT_SKU = "BENCH_TEE_BLACK_M"
SHORT_TIMER_SKU = "BENCH_CAP_RED"
GRID_PRODUCTS = [f"BENCH_SKU_{n:02d}" for n in range(20)]
PLENTY = 5_000_000
"""Stock of the hot SKUs: no run holds a measurable part of it."""


def expect(response: ApiResponse, statuses: tuple[int, ...], what: str) -> ApiResponse:
    if response.status not in statuses:
        raise BenchError(f"{what} answered {response.status}: {response.body[:500]}")
    return response


def open_shop(api: LocalApi, *, grid: bool = True, sparse_grid: bool = False) -> None:
    """Configure the retailer and feed its stock (every entity must apply).

    With ``sparse_grid`` only the grid's first location has stock: reads still ask for all
    100 counters (missing ones read as 0), but the table stays small — moto copies every
    table a transaction touches, so a full grid makes each later write several times slower.
    """
    expect(
        api.put(f"/channels/{CHANNEL}", {"buffer": {"type": "PERCENTAGE", "value": 10}}),
        (200,),
        "PUT channel",
    )
    for priority, location in enumerate(LOCATIONS, start=1):
        body = {
            "type": "DC" if location == MAIN_DC else "STORE",
            "deliveryTypes": ["HD"] if location == MAIN_DC else ["HD", "CC"],
            "channels": [CHANNEL],
            "priority": priority,
        }
        expect(api.put(f"/locations/{location}", body), (200,), f"PUT location {location}")
    for product in (HOT_SKU, SHORT_TIMER_SKU):
        expect(
            api.put(f"/products/{product}", {"category": "BENCH"}), (200,), f"PUT product {product}"
        )
    timers = {"globalMinutes": 15, "products": {SHORT_TIMER_SKU: 1}}
    expect(api.put("/timers", timers), (200,), "PUT timers")
    entities = [snapshot(product, MAIN_DC, PLENTY) for product in (HOT_SKU, SHORT_TIMER_SKU)]
    if grid:
        stocked = LOCATIONS[:1] if sparse_grid else LOCATIONS
        entities += [snapshot(p, loc, 1_000) for p in GRID_PRODUCTS for loc in stocked]
    feed(api, entities)


def snapshot(product: str, location: str, quantity: int) -> dict[str, Any]:
    return {
        "productRef": product,
        "locationRef": location,
        "type": "LAST_ON_HAND",
        "quantity": quantity,
    }


def feed(api: LocalApi, entities: list[dict[str, Any]]) -> ApiResponse:
    response = expect(
        api.post("/inventory/batch", {"entities": entities}), (200,), "POST /inventory/batch"
    )
    refused = [r for r in response.json()["results"] if r["status"] != "APPLIED"]
    if refused:
        raise BenchError(f"the feed refused {len(refused)} entities, e.g. {refused[0]}")
    return response


def cart(ref: str, product: str = HOT_SKU, quantity: int = 1) -> dict[str, Any]:
    """A one-line home-delivery cart."""
    return {
        "ref": ref,
        "channel": CHANNEL,
        "deliveryType": "HD",
        "lines": [{"productRef": product, "quantity": quantity}],
    }


def order(
    ref: str, fulfilment_option_ref: str | None = None, product: str = HOT_SKU, quantity: int = 1
) -> dict[str, Any]:
    body = cart(ref, product, quantity)
    if fulfilment_option_ref:
        body["fulfilmentOptionRef"] = fulfilment_option_ref
    return body


def hold(api: LocalApi, ref: str, product: str = HOT_SKU) -> ApiResponse:
    """Hold one unit; the hold must be ACTIVE."""
    response = expect(
        api.post("/fulfilment-options", cart(ref, product)),
        (201,),
        f"POST /fulfilment-options {ref}",
    )
    if response.json()["status"] != "ACTIVE":
        raise BenchError(f"hold {ref} is {response.json()['status']}, not ACTIVE")
    return response


def virtual_positions_query() -> dict[str, Any]:
    """``GET /virtual-positions`` for the 20 × 5 grid (100 positions)."""
    return {"channel": CHANNEL, "productRef": GRID_PRODUCTS, "locationRef": LOCATIONS}
