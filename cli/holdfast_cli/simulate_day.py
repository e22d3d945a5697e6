"""``holdfast simulate-day``: play one day of mixed shoppers through the real handlers with a
planted truth, then check that the demand reports recover it (docs/signals.md, "Proof").

The truth is decided up front by a seeded RNG: channels with their own conversion rates,
home delivery or click & collect at one of three stores, carts over twenty products with two
planted affinities (the partner joins the cart with a fixed probability), arrivals following
an hourly profile with an evening peak in ``--time-zone``, checkout times drawn from a
log-normal distribution inside the hold timer, some shoppers coming back after their hold
expired, and one product missing from one store. Time is simulated: a clock the handlers read
jumps from event to event (hold, order, sweep), so a day takes as long as its requests.

After the day the table's stream goes to ``DemandSignalsFunction`` through the template's
mapping (as in ``holdfast flash-sale``), and the reports are read through the same service as
``GET /reports/{name}``. Each check prints what was planted, what was found and the tolerance;
the command exits 1 if one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import math
import random
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from holdfast_cli.demand_report import time_zone

if TYPE_CHECKING:
    from holdfast_cli.local.dev_server import Engine

DESCRIPTION = (
    "Play a day of mixed shoppers (channels, HD/CC, stores, planted product affinities and "
    "checkout times) through the real handlers, then check that the demand reports recover "
    "the planted truth; exits 1 if one check fails."
)
EXIT_OK, EXIT_BROKEN, EXIT_ERROR = 0, 1, 2
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
CONVERSION_TOLERANCE = 0.02
MEDIAN_TOLERANCE = 0.10


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
    """The shoppers of the day, in arrival order, decided by ``seed`` alone."""
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


@dataclass(frozen=True)
class Check:
    name: str
    planted: Any
    found: Any
    tolerance: str
    ok: bool


def check(truth: Truth, reports: dict[str, Any], zone: ZoneInfo, days: float) -> list[Check]:
    """Each planted fact beside what the reports found."""
    checks = []
    channels: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in reports["channels"]["items"]:
        key = (row["channel"], row["deliveryType"])
        checks.append(
            Check(
                f"held / converted carts {key[0]} {key[1]}",
                [truth.held[key], truth.converted[key]],
                [row["heldCarts"], row["convertedCarts"]],
                "exact",
                [truth.held[key], truth.converted[key]]
                == [row["heldCarts"], row["convertedCarts"]],
            )
        )
        channels[row["channel"]][0] += row["heldCarts"]
        channels[row["channel"]][1] += row["convertedCarts"]
    for channel, rate in CONVERSION.items():
        held, converted = channels[channel]
        found = round(converted / held, 4) if held else None
        checks.append(
            Check(
                f"conversion rate {channel}",
                rate,
                found,
                f"±{CONVERSION_TOLERANCE:g}",
                found is not None and abs(found - rate) <= CONVERSION_TOLERANCE,
            )
        )
    pairs = reports["affinity"]["heldTogether"]
    top = (pairs[0]["productA"], pairs[0]["productB"]) if pairs else None
    checks.append(
        Check(
            "top pair held together",
            list(TOP_PAIR),
            list(top) if top else None,
            "first",
            top == TOP_PAIR,
        )
    )
    second = next(
        (p for p in pairs if (p["productA"], p["productB"]) == ("SKU_03", "SKU_04")), None
    )
    checks.append(
        Check(
            "second planted pair: lift above 1",
            "> 1",
            second and second["lift"],
            "> 1",
            bool(second and second["lift"] > 1),
        )
    )
    timing = reports["timing"]
    by_hour = Counter(moment.astimezone(zone).hour for moment in truth.held_at)
    found_hours = {row["slot"]: row["holds"] for row in timing["byHour"] if row["holds"]}
    checks.append(
        Check(
            "held carts by local hour",
            dict(sorted(by_hour.items())),
            found_hours,
            "exact",
            found_hours == dict(by_hour),
        )
    )
    peak = max(found_hours, key=lambda hour: found_hours[hour]) if found_hours else None
    checks.append(
        Check(
            "peak hour of holds",
            PEAK_HOUR,
            peak,
            "±1 h",
            peak is not None and abs(peak - PEAK_HOUR) <= 1,
        )
    )
    width = timing["bucketSeconds"]
    planted_buckets = Counter(int(t // width) * width for t in truth.thinks)
    found_buckets = {b["fromSeconds"]: b["orders"] for b in timing["secondsToConvert"]}
    checks.append(
        Check(
            "seconds to convert, per bucket",
            dict(sorted(planted_buckets.items())),
            found_buckets,
            "exact",
            found_buckets == dict(planted_buckets),
        )
    )
    median = _histogram_median(timing["secondsToConvert"])
    checks.append(
        Check(
            "median seconds to convert",
            THINK_MEDIAN,
            median,
            f"±{MEDIAN_TOLERANCE:.0%} (bucket midpoint)",
            median is not None
            and abs(median - THINK_MEDIAN) <= MEDIAN_TOLERANCE * THINK_MEDIAN + width / 2,
        )
    )
    checks.append(
        Check(
            "orders after the hold expired",
            truth.late_orders,
            timing["ordersAfterExpiry"],
            "exact",
            truth.late_orders == timing["ordersAfterExpiry"],
        )
    )
    restock = reports["restocking"]["items"]
    first = (restock[0]["productRef"], restock[0]["locationRef"]) if restock else None
    checks.append(
        Check(
            "top of restocking",
            list(SHORTAGE),
            list(first) if first else None,
            "first",
            first == SHORTAGE,
        )
    )
    unmet = round(truth.shortage_units / days, 3)
    found_unmet = restock[0]["unmetUnitsPerDay"] if first == SHORTAGE else None
    checks.append(
        Check(
            "unmet units a day of the shortage", unmet, found_unmet, "exact", unmet == found_unmet
        )
    )
    never = restock[0]["daysSinceLastAts"] if first == SHORTAGE else "-"
    checks.append(Check("the shortage never showed ATS", None, never, "exact", never is None))
    return checks


def _histogram_median(buckets: list[dict[str, Any]]) -> float | None:
    total = sum(b["orders"] for b in buckets)
    seen = 0
    for bucket in buckets:
        seen += bucket["orders"]
        if seen * 2 >= total and total:
            return (bucket["fromSeconds"] + bucket["toSeconds"]) / 2
    return None


def run_day(
    shoppers: int,
    seed: int,
    day: date,
    zone_name: str,
    engine: Engine | None,
    err: Any,
    endpoint_url: str | None = None,
) -> dict[str, Any]:
    """Set up the engine, play the day, deliver the signals, read the reports, check them."""
    from holdfast.runtime import use_clock
    from holdfast_cli.flash_sale import _deliver_signals
    from holdfast_cli.local.api import LocalApi
    from holdfast_cli.local.engine import EngineError, LocalEngine, engine_kind
    from holdfast_cli.local.environment import QUIET
    from holdfast_cli.signals import SignalSource

    zone = ZoneInfo(zone_name)
    plans = plan_day(shoppers, seed, day, zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    end = start + timedelta(
        days=1, hours=2
    )  # the last holds expire and late shoppers order after midnight
    try:
        backend = LocalEngine(
            engine_kind(None if endpoint_url else engine, endpoint_url),
            endpoint_url=endpoint_url,
            table=f"holdfast-day-{uuid.uuid4().hex[:8]}",
            environment={**QUIET, "CONFIG_CACHE_SECONDS": "30"},
        ).start()
    except EngineError as error:
        raise SimulationError(str(error)) from None
    clock = SimulatedClock(start - timedelta(hours=1))
    use_clock(clock)
    try:
        api = LocalApi()
        configure(api)
        print(
            f"holdfast simulate-day: {shoppers} shoppers on {endpoint_url or engine} ...",
            file=err,
            flush=True,
        )
        truth = play(api, clock, plans)
        _deliver_signals(backend, api)
        source = SignalSource(
            argparse.Namespace(
                api_url=None, token=None, table=backend.table, endpoint_url=backend.endpoint_url
            )
        )
        params: dict[str, dict[str, Any]] = {
            "timing": {"timeZone": zone_name, "bucketSeconds": 30},
            "affinity": {"minCount": 2},
        }
        reports = {
            name: source.report(name, start, end, params.get(name, {}))
            for name in ("channels", "locations", "affinity", "timing", "restocking")
        }
    finally:
        use_clock(None)
        if endpoint_url:  # an engine someone else runs: leave it as it was
            with contextlib.suppress(Exception):
                backend.client().delete_table(TableName=backend.table)
        backend.close()
    checks = check(truth, reports, zone, (end - start) / timedelta(days=1))
    return {
        "shoppers": shoppers,
        "seed": seed,
        "date": day.isoformat(),
        "timeZone": zone_name,
        "heldCarts": sum(truth.held.values()),
        "checks": [c.__dict__ for c in checks],
        "ok": all(c.ok for c in checks),
        "reports": reports,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shoppers", type=int, default=2000, help="shoppers in the day (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="decides every shopper (default 7)")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=date(2026, 11, 27),
        help="the day (default 2026-11-27)",
    )
    parser.add_argument(
        "--time-zone",
        type=time_zone,
        default="Europe/Paris",
        help="the shops' time zone (default Europe/Paris)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--engine",
        choices=("dynamodb-local", "moto"),
        default=None,
        help="start this engine in-process (default dynamodb-local; moto is slow past a few dozen shoppers)",
    )
    target.add_argument(
        "--endpoint-url",
        help="a DynamoDB already running (e.g. DynamoDB Local); a fresh table is made",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the checks and the reports as JSON"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.shoppers <= 100_000:
        print("holdfast simulate-day: --shoppers must be 1 to 100000", file=sys.stderr)
        return EXIT_ERROR
    try:
        result = run_day(
            args.shoppers,
            args.seed,
            args.date,
            args.time_zone,
            args.engine or "dynamodb-local",
            sys.stderr,
            endpoint_url=args.endpoint_url,
        )
    except SimulationError as error:
        print(f"holdfast simulate-day: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['shoppers']} shoppers, {result['heldCarts']} held carts, {result['date']} in {result['timeZone']}"
        )
        for c in result["checks"]:
            print(
                f"{'ok  ' if c['ok'] else 'FAIL'} {c['name']}: planted {c['planted']}, found {c['found']} ({c['tolerance']})"
            )
    return EXIT_OK if result["ok"] else EXIT_BROKEN
