"""The flash sale's scenario: one SKU at one location, its stock, and the shoppers decided up front.

What every run shares (:class:`Sale`), the options of a run, each shopper's plan from the
seeded RNG (who converts, how long each thinks), the clock that compresses the 1-minute hold
timer, and the retailer's set-up made through the API (:func:`configure`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from holdfast_cli.local.api import ApiResponse

if TYPE_CHECKING:
    from holdfast_cli.local.dev_server import Engine

CHANNEL = "ECOMMERCE"
LOCATION = "FLASH_DC"
CATEGORY = "FLASH_SALE"
TIMER_MINUTES = 1
"""The product's hold timer. In-process runs compress it to ``--timer-seconds``."""
MAX_STOCK = 9_999
"""Below the 10,000-unit line limit, so a reclaim probe (stock + 1 units) can never be held."""
RECLAIM_GRACE_SECONDS = 15
"""Over HTTP, how long past expiry the server's own paths (TTL stream, sweeper) get before
this tool makes the service reclaim. DynamoDB Local's TTL runs about every 10 s."""
GRAPHQL_HOLD = """mutation ($input: CreateFulfilmentOptionInput, $executionMode: ExecutionMode) {
  createFulfilmentOption(input: $input, executionMode: $executionMode) { id status } }"""
SIGNALS_FUNCTION = "DemandSignalsFunction"


@dataclass(frozen=True)
class Sale:
    """What every shopper of one run shares."""

    run_id: str
    sku: str
    stock: int
    channel: str = CHANNEL
    location: str = LOCATION
    protocol: str = "rest"
    """How shoppers add to cart: ``rest`` (``POST /fulfilment-options``) or ``graphql`` (the
    ``createFulfilmentOption`` mutation, docs/graphql.md); orders are REST either way."""

    @property
    def position_ref(self) -> str:
        return f"{self.sku}:{self.location}:DEFAULT"

    def cart(self, ref: str, quantity: int = 1) -> dict[str, Any]:
        return {
            "ref": ref,
            "channel": self.channel,
            "deliveryType": "HD",
            "lines": [{"productRef": self.sku, "quantity": quantity}],
        }

    def hold_request(self, ref: str) -> tuple[str, dict[str, Any]]:
        """The path and body of one shopper's add-to-cart, in the sale's protocol."""
        if self.protocol != "graphql":
            return "/fulfilment-options", self.cart(ref)
        products = [{"productRef": self.sku, "requestedQuantity": 1}]
        channel = [{"name": "channel", "type": "STRING", "value": self.channel}]
        variables = {
            "input": {
                "ref": ref,
                "type": "HD",
                "retailerId": 1,
                "products": products,
                "attributes": channel,
            },
            "executionMode": "AWAIT_ORCHESTRATION",
        }
        return "/graphql", {"query": GRAPHQL_HOLD, "variables": variables}

    def hold_status(self, response: ApiResponse) -> tuple[str | None, str | None]:
        """(the hold's status, None), or (None, what went wrong)."""
        if response.status not in (200, 201):
            return None, f"HTTP {response.status}: {response.body[:300]}"
        if self.protocol != "graphql":
            return response.json()["status"], None
        payload = response.json()
        option = (payload.get("data") or {}).get("createFulfilmentOption")
        if payload.get("errors") or not option:
            return None, f"GraphQL errors: {json.dumps(payload.get('errors'))[:300]}"
        return option["status"], None


@dataclass(frozen=True)
class ShopperPlan:
    """One shopper, decided up front by the seeded RNG so a run can be replayed."""

    index: int
    cart_ref: str
    order_ref: str
    converts: bool
    think_seconds: float


@dataclass
class Options:
    shoppers: int = 500
    stock: int = 50
    timer_seconds: float = 10.0
    convert_rate: float = 0.5
    concurrency: int = 16
    engine: Engine | None = None
    endpoint_url: str | None = None
    api_url: str | None = None
    token: str | None = None
    buffer_percent: float | None = None
    seed: int = 0
    keep_table: bool = False
    protocol: str = "rest"


class FlashSaleError(RuntimeError):
    """The sale could not be set up (engine, API, configuration)."""


def plan_shoppers(options: Options, sale: Sale, think_scale: float) -> list[ShopperPlan]:
    """Who converts and how long each thinks, from the seeded RNG."""
    rng = random.Random(options.seed)
    return [
        ShopperPlan(
            index=i,
            cart_ref=f"fs-{sale.run_id}-cart-{i:05d}",
            order_ref=f"fs-{sale.run_id}-order-{i:05d}",
            converts=rng.random() < options.convert_rate,
            think_seconds=rng.uniform(0.05, 0.3) * think_scale,
        )
        for i in range(options.shoppers)
    ]


class Client(Protocol):
    """The API a sale drives: in process (:class:`~holdfast_cli.local.api.LocalApi`) or over
    HTTP (:class:`~holdfast_cli.api_client.ApiClient`)."""

    def request(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, json_body: Any = None
    ) -> ApiResponse: ...


class FastClock:
    """Wall-clock time sped up ``speed`` times from ``origin`` (epoch seconds). Made of plain
    numbers, so forked workers tell the same time as the parent."""

    def __init__(self, speed: float, origin: float | None = None) -> None:
        self.speed = speed
        self.origin = time.time() if origin is None else origin

    def __call__(self) -> datetime:
        now = time.time()
        return datetime.fromtimestamp(self.origin + (now - self.origin) * self.speed, UTC)


def configure(api: Client, sale: Sale, buffer_percent: float | None, *, merge_timers: bool) -> None:
    """Channel, location, product and its timer, then the stock: all through the API (long:
    the calls are written out as data, in the order a retailer makes them)."""
    buffer = (
        {"type": "NONE"}
        if buffer_percent is None
        else {"type": "PERCENTAGE", "value": buffer_percent}
    )
    timers: dict[str, Any] = {"globalMinutes": 15, "categories": {}, "products": {}}
    if merge_timers:  # a running API has timers of its own: add ours, keep theirs
        current = api.request("GET", "/timers")
        if current.status == 200:
            timers = {**timers, **{k: v for k, v in current.json().items() if k in timers}}
    timers["categories"] = {**timers.get("categories", {}), CATEGORY: TIMER_MINUTES}
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"/channels/{sale.channel}", {"buffer": buffer}),
        (
            "PUT",
            f"/locations/{sale.location}",
            {
                "type": "DC",
                "deliveryTypes": ["HD"],
                "channels": [sale.channel],
                "priority": 1,
            },
        ),
        ("PUT", f"/products/{sale.sku}", {"category": CATEGORY}),
        ("PUT", "/timers", timers),
        (
            "POST",
            "/inventory/batch",
            {
                "entities": [
                    {
                        "productRef": sale.sku,
                        "locationRef": sale.location,
                        "type": "LAST_ON_HAND",
                        "quantity": sale.stock,
                    }
                ]
            },
        ),
    ]
    for method, path, body in calls:
        response = api.request(method, path, json_body=body)
        if not 200 <= response.status < 300:
            raise FlashSaleError(
                f"{method} {path} answered {response.status}: {response.body[:500]}"
            )
    results = response.json()["results"]
    if results[0]["status"] != "APPLIED":
        raise FlashSaleError(f"the stock snapshot was not applied: {results[0]}")
