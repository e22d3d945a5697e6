"""The simulated day's shoppers: a planted truth decided up front by a seeded RNG, played
through the real handlers against a clock that jumps from event to event.

Channels with their own conversion rates, home delivery or click & collect at one of three
stores, carts over twenty products with two planted affinities (the partner joins the cart with
a fixed probability), arrivals following an hourly profile with an evening peak, checkout times
drawn from a log-normal distribution inside the hold timer, some shoppers coming back after
their hold expired, and one product missing from one store. ``holdfast simulate-day``
(:mod:`holdfast_cli.commands.simulate_day`) plays it and :mod:`.checks` compares the demand
reports with the truth.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CONVERSION = {"ECOMMERCE": 0.55, "MOBILE": 0.35, "MARKETPLACE": 0.75}
"""Planted share of held carts each channel converts."""
CHANNEL_SHARE = {"ECOMMERCE": 0.5, "MOBILE": 0.35, "MARKETPLACE": 0.15}
CLICK_AND_COLLECT = {"ECOMMERCE": 0.3, "MOBILE": 0.4, "MARKETPLACE": 0.0}
DCS = ("DC_NORTH", "DC_SOUTH")
PRODUCTS = tuple(f"SKU_{n:02d}" for n in range(1, 21))
PAIRS = {"SKU_01": ("SKU_02", 0.6), "SKU_03": ("SKU_04", 0.35)}
"""Planted affinities: when the first is in a cart, the second joins with this probability."""
TOP_PAIR = ("SKU_01", "SKU_02")
NOISE = 0.25
"""Chance that one more product, drawn at random, joins a cart."""
SHORTAGE = ("SKU_01", "STORE_MALL")
"""The best seller has no stock at the busiest store: the planted top of the restocking report."""
STORE_SHARE = {"STORE_CITY": 0.3, "STORE_MALL": 0.5, "STORE_AIRPORT": 0.2}
PEAK_HOUR = 20
TIMER_MINUTES = 10
THINK_MEDIAN, THINK_SIGMA = 120.0, 0.5
"""Seconds from hold to order of the shoppers who convert: log-normal, kept inside the timer."""
LATE_SHARE = 0.2
"""Share of the shoppers who do not convert in time that come back and order afresh."""


@dataclass
class Shopper:
    ref: str
    arrives: datetime
    channel: str
    delivery: str
    store: str | None
    products: list[str]
    think: float
    late: float
    """Seconds after the hold's expiry a late shopper orders afresh (0: never)."""
    held: bool = False
    converts: bool = False


@dataclass
class Truth:
    """What the day really was, counted by the simulation as it played it."""

    held: Counter = field(default_factory=Counter)
    converted: Counter = field(default_factory=Counter)
    held_at: list[datetime] = field(default_factory=list)
    thinks: list[float] = field(default_factory=list)
    late_orders: int = 0
    shortage_units: int = 0


def plan_day(shoppers: int, seed: int, day: date, zone: ZoneInfo) -> list[Shopper]:
    """The shoppers of the day, in arrival order, decided by ``seed`` alone (long: one
    draw after another, in the order that keeps a seed's day the same)."""
    rng = random.Random(seed)
    hours = [
        1 + 12 * math.exp(-((h - PEAK_HOUR) ** 2) / 2) + 3 * math.exp(-((h - 12) ** 2) / 4)
        for h in range(24)
    ]
    hours = [w * (0.15 if h < 7 else 1) for h, w in enumerate(hours)]
    popularity = [1 / (n + 1) ** 0.7 for n in range(len(PRODUCTS))]
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    plans = []
    for n in range(shoppers):
        hour = rng.choices(range(24), hours)[0]
        arrives = (midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3599))).astimezone(UTC)
        channel = rng.choices(list(CHANNEL_SHARE), list(CHANNEL_SHARE.values()))[0]
        collect = rng.random() < CLICK_AND_COLLECT[channel]
        base = rng.choices(PRODUCTS, popularity)[0]
        products = [base]
        if base in PAIRS and rng.random() < PAIRS[base][1]:
            products.append(PAIRS[base][0])
        if rng.random() < NOISE:
            extra = rng.choice(PRODUCTS)
            if extra not in products:
                products.append(extra)
        think = min(
            rng.lognormvariate(math.log(THINK_MEDIAN), THINK_SIGMA), TIMER_MINUTES * 60 - 10
        )
        late = rng.uniform(60, 1800) if rng.random() < LATE_SHARE else 0.0
        plans.append(
            Shopper(
                ref=f"cart-{n:05d}",
                arrives=arrives.replace(microsecond=0),
                channel=channel,
                delivery="CC" if collect else "HD",
                store=rng.choices(list(STORE_SHARE), list(STORE_SHARE.values()))[0]
                if collect
                else None,
                products=products,
                think=round(think, 3),
                late=round(late),
            )
        )
    return sorted(plans, key=lambda s: s.arrives)


class SimulatedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def configure(api: Any) -> None:
    channels = list(CONVERSION)
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"/channels/{c}", {"buffer": {"type": "NONE"}}) for c in channels
    ]
    for priority, dc in enumerate(DCS, 1):
        calls.append(
            (
                "PUT",
                f"/locations/{dc}",
                {"type": "DC", "deliveryTypes": ["HD"], "channels": channels, "priority": priority},
            )
        )
    for store in STORE_SHARE:
        calls.append(
            (
                "PUT",
                f"/locations/{store}",
                {"type": "STORE", "deliveryTypes": ["CC"], "channels": channels, "priority": 5},
            )
        )
    calls.append(("PUT", "/timers", {"globalMinutes": TIMER_MINUTES}))
    stock = [
        (p, loc, 100_000 if loc in DCS else 1_000) for p in PRODUCTS for loc in (*DCS, *STORE_SHARE)
    ]
    entities = [
        {
            "productRef": p,
            "locationRef": loc,
            "type": "LAST_ON_HAND",
            "quantity": 0 if (p, loc) == SHORTAGE else q,
        }
        for p, loc, q in stock
    ]
    calls.append(("POST", "/inventory/batch", {"entities": entities}))
    for method, path, body in calls:
        response = api.request(method, path, json_body=body)
        if not 200 <= response.status < 300:
            raise SimulationError(
                f"{method} {path} answered {response.status}: {response.body[:300]}"
            )


class SimulationError(RuntimeError):
    pass


def play(api: Any, clock: SimulatedClock, shoppers: list[Shopper]) -> Truth:
    """Every event of the day in time order: arrivals (a hold), orders, sweeps of expired holds."""
    truth = Truth()
    owed = dict.fromkeys(
        CONVERSION, 0.5
    )  # so each channel's rate is the planted one, to the nearest cart
    events: list[tuple[datetime, int, str, Shopper | None]] = [
        (s.arrives, n, "arrive", s) for n, s in enumerate(shoppers)
    ]
    heapq.heapify(events)
    sequence = len(events)
    while events:
        moment, _, kind, shopper = heapq.heappop(events)
        clock.now = moment
        follow_up: list[tuple[datetime, str, Shopper | None]] = []
        if shopper is None:  # only the sweeper's events have no shopper
            api.invoke("HoldSweeperFunction", {})
        elif kind == "arrive":
            follow_up = _arrive(api, shopper, owed, truth)
        else:
            _order(api, shopper, late=kind == "late")
            truth.late_orders += kind == "late"
        for at, next_kind, who in follow_up:
            sequence += 1
            heapq.heappush(events, (at, sequence, next_kind, who))
    return truth


def _arrive(
    api: Any, shopper: Shopper, owed: dict[str, float], truth: Truth
) -> list[tuple[datetime, str, Shopper | None]]:
    body = {
        "ref": shopper.ref,
        "channel": shopper.channel,
        "deliveryType": shopper.delivery,
        "lines": [{"productRef": p, "quantity": 1} for p in shopper.products],
    }
    if shopper.store:
        body["locationRef"] = shopper.store
    response = api.request("POST", "/fulfilment-options", json_body=body)
    if response.status not in (200, 201):
        raise SimulationError(
            f"POST /fulfilment-options answered {response.status}: {response.body[:300]}"
        )
    answer = response.json()
    if answer["status"] != "ACTIVE":
        if shopper.store == SHORTAGE[1] and SHORTAGE[0] in shopper.products:
            truth.shortage_units += 1
        return []
    shopper.held = True
    key = (shopper.channel, shopper.delivery)
    truth.held[key] += 1
    truth.held_at.append(shopper.arrives)
    owed[shopper.channel] += CONVERSION[
        shopper.channel
    ]  # error diffusion: the planted rate, cart by cart
    expires = datetime.fromisoformat(answer["expiresAt"].replace("Z", "+00:00"))
    if owed[shopper.channel] >= 1:
        owed[shopper.channel] -= 1
        shopper.converts = True
        truth.converted[key] += 1
        truth.thinks.append(shopper.think)
        return [(shopper.arrives + timedelta(seconds=shopper.think), "order", shopper)]
    events: list[tuple[datetime, str, Shopper | None]] = [
        (expires + timedelta(seconds=1), "sweep", None)
    ]
    if shopper.late:
        events.append((expires + timedelta(seconds=shopper.late), "late", shopper))
    return events


def _order(api: Any, shopper: Shopper, *, late: bool) -> None:
    body = {
        "ref": f"order-{shopper.ref}",
        "channel": shopper.channel,
        "deliveryType": shopper.delivery,
        "fulfilmentOptionRef": shopper.ref,
        "lines": [{"productRef": p, "quantity": 1} for p in shopper.products],
    }
    if shopper.store:
        body["locationRef"] = shopper.store
    response = api.request("POST", "/orders", json_body=body)
    if response.status not in (200, 201, 409):
        raise SimulationError(f"POST /orders answered {response.status}: {response.body[:300]}")
