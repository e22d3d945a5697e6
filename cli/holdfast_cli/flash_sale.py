"""``holdfast flash-sale``: replay the flash-sale story of docs/behaviour.md §8 and check its promises.

One SKU at one location with ``--stock`` units; ``--shoppers`` shoppers add it to their
carts at once (``POST /fulfilment-options``, one unit each); a ``--convert-rate`` share of
those who got a hold confirm an order for their cart after a short think; the rest abandon,
and their holds expire and come back. At the end: orders ≤ stock, zero oversells, every unit
either sold or back on hand, counter = ledger sum.

Everything goes through the public API, so the story tests the deployed code path:

* in-process engines (``dynamodb-local``, started and stopped here; any DynamoDB at
  ``--endpoint-url``; or ``moto``): the real handlers through
  :class:`~holdfast_cli.local.api.LocalApi`, shoppers in ``--concurrency`` forked worker
  processes (one request at a time per process, as in Lambda). Time runs ``60/T`` times
  faster than the wall clock for every service (:func:`holdfast.runtime.use_clock`), so the
  product's 1-minute hold timer lasts ``--timer-seconds`` T. One extra worker plays the
  scheduled sweeper (``HoldService.sweep``) and draws the progress bar;
* ``--api-url``: a running Holdfast API over HTTP (e.g. ``holdfast dev``), shoppers in
  ``--concurrency`` threads. Its clock cannot be sped up: holds last the real 1 minute and
  are released by that server's sweeper or stream poller (after a grace period this tool
  asks for more than the stock once, which makes the service reclaim expired holds).

moto is not atomic under concurrency, so there the shoppers take turns (concurrency 1).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import heapq
import itertools
import json
import multiprocessing
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from holdfast_cli.console import is_terminal, print_table, progress_line, verdict
from holdfast_cli.local.api import ApiResponse

if TYPE_CHECKING:
    from holdfast_cli.local.dev_server import Engine
    from holdfast_cli.local.engine import LocalEngine

DESCRIPTION = (
    "Replay the flash-sale story (docs/behaviour.md §8): many shoppers hold one SKU at once, some confirm, "
    "the rest abandon and their holds expire. Prints holds, orders, oversells, expiries and the "
    "final ledger check; exits 1 if anything was oversold or the ledger disagrees."
)
ENGINES = ("dynamodb-local", "moto")
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
EXIT_OK, EXIT_BROKEN, EXIT_ERROR = 0, 1, 2
GRAPHQL_HOLD = """mutation ($input: CreateFulfilmentOptionInput, $executionMode: ExecutionMode) {
  createFulfilmentOption(input: $input, executionMode: $executionMode) { id status } }"""
SIGNALS_FUNCTION = "DemandSignalsFunction"


# -- the shape of a run -------------------------------------------------------------------


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
class ShopperOutcome:
    index: int
    cart_ref: str
    hold: str = "NOT_TRIED"
    """``ACTIVE`` (held), ``NO_OPTIONS`` (refused) or ``ERROR``."""
    order: str | None = None
    """``CONFIRMED``, ``OUT_OF_STOCK``, ``ERROR`` or ``None`` (abandoned / never held)."""
    converted: bool = False
    """The order converted this shopper's hold (rather than reserving afresh)."""
    hold_answered_at: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Lane:
    """Work for one worker (process or thread): shoppers to run, and duties.

    Each lane runs its own little event loop (:func:`run_lane`): its shoppers arrive one
    after another, each confirmation is due ``think_seconds`` after its hold was granted; a
    lane with ``sweep_every`` also sweeps overdue holds, one with ``draw_progress`` redraws
    the progress bar, and one with ``wait_for`` keeps doing its duties until that many
    shoppers have finished.
    """

    sale: Sale
    shoppers: tuple[ShopperPlan, ...]
    started: float
    api_url: str | None = None
    token: str | None = None
    sweep_every: float | None = None
    draw_progress: bool = False
    wait_for: int = 0
    deadline: float = float("inf")


class Client(Protocol):
    def request(self, method: str, path: str, *, json_body: Any = None) -> ApiResponse: ...


class HttpClient:
    """The few calls a shopper makes, over HTTP with urllib (no dependency)."""

    def __init__(self, base_url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token

    def request(self, method: str, path: str, *, json_body: Any = None) -> ApiResponse:
        data = None if json_body is None else json.dumps(json_body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return ApiResponse(
                    response.status, dict(response.headers), response.read().decode()
                )
        except urllib.error.HTTPError as error:
            with error:
                return ApiResponse(error.code, dict(error.headers), error.read().decode())


class FastClock:
    """Wall-clock time sped up ``speed`` times from ``origin`` (epoch seconds). Made of plain
    numbers, so forked workers tell the same time as the parent."""

    def __init__(self, speed: float, origin: float | None = None) -> None:
        self.speed = speed
        self.origin = time.time() if origin is None else origin

    def __call__(self) -> datetime:
        now = time.time()
        return datetime.fromtimestamp(self.origin + (now - self.origin) * self.speed, UTC)


# -- progress shared by the workers -------------------------------------------------------

_FIELDS = ("finished", "holds", "refused", "orders", "order_refused", "errors", "swept")


class Progress:
    """Counters in shared memory: forked workers inherit them and add to them."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self._values = multiprocessing.get_context("fork").Array("q", len(_FIELDS))
        self._out = out
        self._tty = is_terminal(out)
        self._last_line_at = 0.0

    def add(self, name: str, amount: int = 1) -> None:
        with self._values.get_lock():
            self._values[_FIELDS.index(name)] += amount

    def get(self, name: str) -> int:
        return self._values[_FIELDS.index(name)]

    def snapshot(self) -> dict[str, int]:
        with self._values.get_lock():
            return dict(zip(_FIELDS, self._values[:], strict=True))

    def draw(self, *, status: str | None = None, final: bool = False) -> None:
        """A bar on a terminal (redrawn in place), else a line every few seconds."""
        now = time.monotonic()
        if not self._tty and not final and now - self._last_line_at < 2.0:
            return
        self._last_line_at = now
        values = self.snapshot()
        done = min(values["finished"], self.total)
        width = 24
        filled = width * done // max(self.total, 1)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} shoppers  "
            f"holds {values['holds']}  refused {values['refused']}  orders {values['orders']}"
        )
        if values["order_refused"]:
            line += f"  orders refused {values['order_refused']}"
        if values["errors"]:
            line += f"  errors {values['errors']}"
        if status:
            line += f"  | {status}"
        if self._tty:
            progress_line(
                self._out, done=done, total=self.total, text=line.split("] ", 1)[1], final=final
            )
        else:
            self._out.write(line + "\n")
        self._out.flush()


_progress: Progress | None = None
"""Set by the parent before workers fork; they inherit it (shared memory cannot be pickled)."""


# -- what a lane does ---------------------------------------------------------------------


@functools.cache
def _local_api() -> Any:
    from holdfast_cli.local.api import LocalApi

    return LocalApi()


def _client(lane: Lane) -> Client:
    return HttpClient(lane.api_url, token=lane.token) if lane.api_url else _local_api()


def run_lane(lane: Lane) -> list[ShopperOutcome]:
    """Run one lane to its end (module level, so worker processes can be sent it).

    Shoppers arrive in order, as fast as the lane can serve them; a confirmation (or a duty)
    that is due goes before the next arrival, as a shopper at checkout does not wait for
    someone else's add-to-cart.
    """
    progress = _progress
    assert progress is not None, "the parent sets the shared progress before starting lanes"
    client = _client(lane)
    outcomes = {plan.index: ShopperOutcome(plan.index, plan.cart_ref) for plan in lane.shoppers}
    unfinished = set(outcomes)
    arrivals = collections.deque(lane.shoppers)
    sequence = itertools.count()
    timed: list[tuple[float, int, str, ShopperPlan | None]] = []
    if lane.sweep_every:
        timed.append((lane.started + lane.sweep_every, next(sequence), "sweep", None))
    if lane.draw_progress:
        timed.append((lane.started, next(sequence), "progress", None))
    heapq.heapify(timed)
    try:
        while arrivals or timed:
            if not unfinished and not (lane.wait_for and progress.get("finished") < lane.wait_for):
                break
            now = time.time()
            if now > lane.deadline:
                raise TimeoutError("the sale ran past its deadline")
            if timed and timed[0][0] <= now:
                _, _, kind, plan = heapq.heappop(timed)
            elif arrivals:
                kind, plan = "hold", arrivals.popleft()
            else:
                time.sleep(min(timed[0][0] - now, 0.25))
                continue
            if kind == "hold":
                assert plan is not None
                if _hold(client, lane.sale, plan, outcomes[plan.index], progress):
                    heapq.heappush(
                        timed, (time.time() + plan.think_seconds, next(sequence), "order", plan)
                    )
                else:
                    unfinished.discard(plan.index)
                    progress.add("finished")
            elif kind == "order":
                assert plan is not None
                _order(client, lane.sale, plan, outcomes[plan.index], progress)
                unfinished.discard(plan.index)
                progress.add("finished")
            elif kind == "sweep":
                _sweep(progress)
                heapq.heappush(
                    timed, (time.time() + (lane.sweep_every or 1.0), next(sequence), kind, None)
                )
            elif kind == "progress":
                progress.draw()
                heapq.heappush(timed, (time.time() + 0.2, next(sequence), kind, None))
    finally:
        for index in unfinished:  # a lane that broke down still lets the others finish
            outcomes[index].error = (
                outcomes[index].error or "the lane stopped before this shopper finished"
            )
            progress.add("finished")
            progress.add("errors")
    return list(outcomes.values())


def _hold(
    client: Client, sale: Sale, plan: ShopperPlan, outcome: ShopperOutcome, progress: Progress
) -> bool:
    """Add to cart; answers whether the shopper goes on to confirm."""
    path, body = sale.hold_request(plan.cart_ref)
    try:
        response = client.request("POST", path, json_body=body)
    except Exception as error:  # one shopper's failure is a finding, not the end of the run
        return _failed(outcome, progress, "hold", f"{type(error).__name__}: {error}")
    outcome.hold_answered_at = time.time()
    status, problem = sale.hold_status(response)
    if problem is not None or status is None:
        return _failed(outcome, progress, "hold", problem or "the answer has no status")
    outcome.hold = status
    if outcome.hold == "ACTIVE":
        progress.add("holds")
        return plan.converts
    progress.add("refused")
    return False


def _order(
    client: Client, sale: Sale, plan: ShopperPlan, outcome: ShopperOutcome, progress: Progress
) -> None:
    body = {**sale.cart(plan.order_ref), "fulfilmentOptionRef": plan.cart_ref}
    try:
        response = client.request("POST", "/orders", json_body=body)
    except Exception as error:
        _failed(outcome, progress, "order", f"{type(error).__name__}: {error}")
        return
    if response.status in (200, 201):
        outcome.order = "CONFIRMED"
        outcome.converted = bool(response.json().get("convertedFromHold"))
        progress.add("orders")
    elif response.status == 409 and response.json()["error"]["code"] == "OUT_OF_STOCK":
        outcome.order = "OUT_OF_STOCK"
        progress.add("order_refused")
    else:
        _failed(outcome, progress, "order", f"HTTP {response.status}: {response.body[:300]}")


def _failed(outcome: ShopperOutcome, progress: Progress, step: str, message: str) -> bool:
    if step == "hold":
        outcome.hold = "ERROR"
    else:
        outcome.order = "ERROR"
    outcome.error = f"{step}: {message}"
    progress.add("errors")
    return False


def _sweep(progress: Progress) -> None:
    """What the scheduled sweeper function does, called directly (its handler would print
    metrics to stdout)."""
    from holdfast.runtime import get_runtime

    try:
        _, released = get_runtime().holds.sweep()
    except Exception as error:
        print(
            f"holdfast flash-sale: sweep failed: {type(error).__name__}: {error}", file=sys.stderr
        )
        return
    progress.add("swept", released)


# -- the run ------------------------------------------------------------------------------


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


@dataclass
class Report:
    """What the run found; :meth:`as_json` is the ``--json`` answer."""

    stock: int
    shoppers: int
    holds: int
    refused: int
    orders: int
    oversells: int
    expired: int
    released: int
    final_on_hand: int
    ledger_consistent: bool
    seconds: float
    """Wall time from the first shopper to the last check."""
    holds_per_second: float
    """``POST /fulfilment-options`` answered per second while shoppers were arriving."""
    order_refused: int = 0
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    setting: str = ""
    shopping_seconds: float = 0.0
    funnel: dict[str, Any] | None = None
    """The SKU's row of ``GET /reports/funnel`` once the demand-signals consumer caught up."""
    funnel_expected: dict[str, Any] | None = None
    """What the funnel must say, from the shoppers' answers (reclaim probes included)."""
    funnel_agrees: bool | None = None
    """The funnel's foCalls, holds, orders, abandoned, refused and outOfStock equal this run's
    figures (``None``: not checked)."""

    def as_json(self) -> dict[str, Any]:
        keys = (
            "stock",
            "shoppers",
            "holds",
            "refused",
            "orders",
            "oversells",
            "expired",
            "released",
            "final_on_hand",
            "ledger_consistent",
            "seconds",
            "holds_per_second",
            "funnel",
            "funnel_agrees",
        )
        values = asdict(self)
        return {key: values[key] for key in keys}

    @property
    def ok(self) -> bool:
        return (
            self.oversells == 0
            and self.ledger_consistent
            and not self.errors
            and self.funnel_agrees is not False
        )

    def rows(self) -> list[tuple[str, Any]]:
        """The counts of the summary, name and value."""
        rows: list[tuple[str, Any]] = [
            ("shoppers", self.shoppers),
            ("holds granted", self.holds),
            ("holds refused", self.refused),
            ("orders", self.orders),
            ("oversells", self.oversells),
            ("holds expired", self.expired),
            ("units released", self.released),
            ("final onHand", self.final_on_hand),
            ("ledger consistent", "yes" if self.ledger_consistent else "NO"),
        ]
        if self.order_refused:
            rows.insert(4, ("orders refused", self.order_refused))
        return rows

    def table(self) -> str:
        rows = self.rows()
        width = max(len(name) for name, _ in rows)
        lines = [f"Flash sale: {self.setting}"]
        lines += [f"  {name:<{width}}  {value:>6}" for name, value in rows]
        return "\n".join(lines + self.notes())

    def notes(self) -> list[str]:
        """The lines under the counts: timing, the funnel check, problems and errors."""
        lines = [
            f"  took {self.seconds:.1f} s (shopping {self.shopping_seconds:.1f} s, "
            f"{self.holds_per_second:.1f} hold requests/s)"
        ]
        if self.funnel_agrees is not None:
            lines.append(
                "  funnel (GET /reports/funnel): "
                + ("agrees" if self.funnel_agrees else "DISAGREES")
                + (
                    ""
                    if self.funnel is None
                    else " — " + ", ".join(f"{k} {self.funnel.get(k)}" for k in FUNNEL_CHECKED)
                )
            )
            if not self.funnel_agrees:
                lines.append(f"  expected: {self.funnel_expected}")
        lines += [f"  problem: {problem}" for problem in self.problems]
        lines += [f"  error: {error}" for error in self.errors[:10]]
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more errors")
        return lines


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


def run_sale(options: Options, *, err: TextIO | None = None) -> Report:
    """Set up an engine (unless ``api_url``), run the sale, check the ledger, clean up.
    Progress and notes go to ``err`` (default stderr)."""
    err = err or sys.stderr
    run_id = uuid.uuid4().hex[:8]
    sale = Sale(
        run_id=run_id,
        sku=f"FLASH_SNEAKER_{run_id.upper()}",
        stock=options.stock,
        protocol=options.protocol,
    )
    if options.api_url:
        return _run_over_http(options, sale, err)
    return _run_in_process(options, sale, err)


def _run_in_process(options: Options, sale: Sale, err: TextIO) -> Report:
    from holdfast.runtime import use_clock
    from holdfast_cli.local.aws_credentials import dynamodb_client
    from holdfast_cli.local.engine import EngineError, LocalEngine, engine_kind
    from holdfast_cli.local.environment import QUIET

    engine = None if options.endpoint_url else (options.engine or "dynamodb-local")
    concurrency = 1 if engine == "moto" else options.concurrency
    if engine == "moto" and options.concurrency != 1:
        print(
            "holdfast flash-sale: moto is not atomic under concurrency: shoppers take turns "
            "(concurrency 1); use dynamodb-local to prove concurrent holds",
            file=err,
        )
    table = f"holdfast-flash-sale-{sale.run_id}"
    where = engine or options.endpoint_url
    print(f"holdfast flash-sale: starting {where} (table {table}) ...", file=err, flush=True)
    began = time.monotonic()
    try:
        backend = LocalEngine(
            engine_kind(engine, options.endpoint_url),
            endpoint_url=options.endpoint_url,
            table=table,
            environment=QUIET,
        ).start()
    except EngineError as error:
        raise FlashSaleError(str(error)) from None
    print(
        f"holdfast flash-sale: engine ready in {time.monotonic() - began:.1f} s",
        file=err,
        flush=True,
    )
    clock = FastClock(60.0 * TIMER_MINUTES / options.timer_seconds)
    speed = clock.speed
    use_clock(clock)
    try:
        api = _local_api()
        _configure(api, sale, options.buffer_percent, merge_timers=False)
        setting = (
            f"{options.shoppers} shoppers, stock {sale.stock}, "
            f"{TIMER_MINUTES}-minute holds lasting {options.timer_seconds:g} s (clock x{speed:g}), "
            f"convert rate {options.convert_rate:g}, "
            f"{concurrency} worker{'s' if concurrency > 1 else ''} on {where}"
            + (", carts through GraphQL" if sale.protocol == "graphql" else "")
        )
        return _shop_and_settle(
            options,
            sale,
            api,
            err,
            clock,
            concurrency=concurrency,
            in_process=True,
            think_scale=options.timer_seconds,
            release_deadline=options.timer_seconds * 3 + 30,
            setting=setting,
            catch_up_signals=lambda: _deliver_signals(backend, api),
        )
    finally:
        use_clock(None)
        if options.endpoint_url and not options.keep_table:
            with contextlib.suppress(Exception):
                dynamodb_client(options.endpoint_url).delete_table(TableName=table)
        _local_api.cache_clear()
        backend.close()


def _deliver_signals(backend: LocalEngine, api: Any) -> None:
    """What the deployed stream mapping does for the demand-signals function, done after the
    sale (workers are forked; a poller thread must not run while they start): the whole
    stream of this sale's table, from its start, through the template's filter and batches."""
    import boto3

    from holdfast_cli.local.stream_poller import StreamPoller, stream_mappings

    mappings = [m for m in stream_mappings() if m.function == SIGNALS_FUNCTION]
    poller = StreamPoller(
        api.invoke,
        dynamodb=boto3.client("dynamodb", endpoint_url=backend.endpoint_url),
        streams=boto3.client("dynamodbstreams", endpoint_url=backend.endpoint_url),
        table=backend.table or "",
        mappings=mappings,
        starting_position="TRIM_HORIZON",
    )
    while poller.poll_once():
        pass
    if poller.stats.records_dropped:
        raise FlashSaleError(
            f"the demand-signals function dropped {poller.stats.records_dropped} records"
        )


def _run_over_http(options: Options, sale: Sale, err: TextIO) -> Report:
    api = HttpClient(options.api_url or "", token=options.token)
    try:
        _configure(api, sale, options.buffer_percent, merge_timers=True)
    except (OSError, urllib.error.URLError) as error:
        raise FlashSaleError(f"cannot reach the API at {options.api_url}: {error}") from None
    print(
        f"holdfast flash-sale: holds last the real {TIMER_MINUTES} minute over HTTP "
        "(--timer-seconds applies to in-process engines only)",
        file=err,
    )
    setting = (
        f"{options.shoppers} shoppers, stock {sale.stock}, {TIMER_MINUTES}-minute holds, "
        f"convert rate {options.convert_rate:g}, "
        f"{options.concurrency} HTTP clients on {options.api_url}"
        + (", carts through GraphQL" if sale.protocol == "graphql" else "")
    )
    return _shop_and_settle(
        options,
        sale,
        api,
        err,
        FastClock(1.0),
        concurrency=options.concurrency,
        in_process=False,
        think_scale=min(10.0, TIMER_MINUTES * 60.0),
        release_deadline=TIMER_MINUTES * 60 + 180,
        setting=setting,
    )


def _configure(
    api: Client, sale: Sale, buffer_percent: float | None, *, merge_timers: bool
) -> None:
    """Channel, location, product and its timer, then the stock: all through the API."""
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


def _shop_and_settle(
    options: Options,
    sale: Sale,
    api: Client,
    err: TextIO,
    clock: FastClock,
    *,
    concurrency: int,
    in_process: bool,
    think_scale: float,
    release_deadline: float,
    setting: str,
    catch_up_signals: Callable[[], None] | None = None,
) -> Report:
    global _progress
    sale_began = clock()
    progress = _progress = Progress(options.shoppers, err)
    plans = plan_shoppers(options, sale, think_scale)
    started = time.time()
    deadline = started + options.shoppers * 2.0 + release_deadline + 60
    # About ten sweeps per hold length (deployed: a sweep a minute for 15-minute holds).
    sweep_every = max(0.25, options.timer_seconds / 10) if in_process else None
    if concurrency == 1 and in_process:
        # One process (moto): the only lane also sweeps and draws.
        only = Lane(
            sale,
            tuple(plans),
            started,
            sweep_every=sweep_every,
            draw_progress=True,
            deadline=deadline,
        )
        results = [run_lane(only)]
    else:
        lanes = [
            Lane(
                sale,
                tuple(plans[i::concurrency]),
                started,
                options.api_url,
                options.token,
                deadline=deadline,
            )
            for i in range(concurrency)
        ]
        monitor = Lane(
            sale,
            (),
            started,
            options.api_url,
            options.token,
            sweep_every=sweep_every,
            draw_progress=True,
            wait_for=options.shoppers,
            deadline=deadline,
        )
        if options.api_url:
            with ThreadPoolExecutor(len(lanes) + 1, thread_name_prefix="shopper") as pool:
                results = list(pool.map(run_lane, [monitor, *lanes]))
        else:
            from holdfast_cli.local.process_map import map_in_processes

            # Forked before any thread of ours exists: the workers inherit the shared counters.
            results = map_in_processes(run_lane, [monitor, *lanes], processes=len(lanes) + 1)
    outcomes = sorted((o for lane in results for o in lane), key=lambda o: o.index)
    holds_answered = [o.hold_answered_at for o in outcomes if o.hold_answered_at]
    shopping_seconds = max(holds_answered, default=started) - started

    released_ok, probes = _wait_for_release(
        api, sale, progress, clock, in_process=in_process, deadline=time.time() + release_deadline
    )
    progress.draw(status="checking the ledger", final=True)
    report = _check(sale, api, outcomes, released_ok, in_process=in_process)
    report.funnel_expected = _expected_funnel(report, sale, probes)
    report.funnel = _settled_funnel(
        api, sale, report.funnel_expected, clock, since=sale_began, catch_up=catch_up_signals
    )
    report.funnel_agrees = report.funnel is not None and all(
        report.funnel.get(k) == v for k, v in report.funnel_expected.items()
    )
    report.seconds = round(time.time() - started, 2)
    report.shopping_seconds = round(shopping_seconds, 2)
    report.holds_per_second = (
        round(len(holds_answered) / shopping_seconds, 1) if shopping_seconds > 0 else 0.0
    )
    report.setting = setting
    return report


def _active_holds(api: Client, sale: Sale) -> list[dict[str, Any]]:
    position = _position(api, sale, "?type=SOFT_RESERVE&status=ACTIVE&limit=1000")
    return list(position["quantities"])


def _position(api: Client, sale: Sale, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"/inventory-positions/{sale.position_ref}{query}")
    if response.status != 200:
        raise FlashSaleError(
            f"GET /inventory-positions/{sale.position_ref} answered {response.status}: "
            f"{response.body[:300]}"
        )
    return response.json()


def _wait_for_release(
    api: Client,
    sale: Sale,
    progress: Progress,
    clock: FastClock,
    *,
    in_process: bool,
    deadline: float,
) -> tuple[bool, int]:
    """Until no hold is ACTIVE in the ledger: sweep (in-process), or over HTTP let the
    server's sweeper and stream poller work, then ask for more than the stock so the
    service reclaims what is overdue. Answers whether every hold was released in time, and how
    many reclaim probes (NO_OPTIONS carts of stock + 1 units) it sent."""
    probes = itertools.count(1)
    sent = 0
    next_probe = 0.0
    while True:
        if in_process:
            _sweep(progress)
        active = _active_holds(api, sale)
        if not active:
            return True, sent
        now = time.time()
        if now > deadline:
            return False, sent
        latest = max(
            (datetime.fromisoformat(q["expiresAt"]) for q in active if q.get("expiresAt")),
            default=clock(),
        )
        remaining = (latest - clock()).total_seconds() / clock.speed
        progress.draw(
            status=f"{len(active)} holds active, last expires in {max(remaining, 0):.1f} s"
        )
        if not in_process and remaining < -RECLAIM_GRACE_SECONDS and now >= next_probe:
            # Still counted well after expiry: a request that cannot be met reclaims them.
            probe = sale.cart(f"fs-{sale.run_id}-reclaim-{next(probes)}", sale.stock + 1)
            api.request("POST", "/fulfilment-options", json_body=probe)
            sent += 1
            next_probe = now + RECLAIM_GRACE_SECONDS
        time.sleep(0.25 if in_process else 1.0)


FUNNEL_CHECKED = ("foCalls", "holds", "orders", "abandoned", "refused", "outOfStock")
SIGNALS_SETTLE_SECONDS = 60.0
"""Over HTTP, how long the server's demand-signals consumer gets to catch up."""


def _expected_funnel(report: Report, sale: Sale, probes: int) -> dict[str, int]:
    """The SKU's funnel as this run's answers tell it: every shopper's cart is one FO call of
    one unit; a reclaim probe is one more call, refused, of stock + 1 units."""
    return {
        "foCalls": report.holds + report.refused + probes,
        "holds": report.holds,
        "orders": report.orders,
        "abandoned": report.expired,
        "refused": report.refused + probes,
        "outOfStock": report.refused + probes * (sale.stock + 1),
    }


def _settled_funnel(
    api: Client,
    sale: Sale,
    expected: dict[str, int],
    clock: FastClock,
    *,
    since: datetime,
    catch_up: Callable[[], None] | None,
) -> dict[str, Any] | None:
    """The SKU's row of ``GET /reports/funnel`` over the sale, once the demand signals are in:
    in-process, ``catch_up`` delivers the table's stream to the signals function first; over
    HTTP the server's own consumer is given up to a minute to agree."""
    if catch_up is not None:
        catch_up()
    deadline = time.time() + (0 if catch_up is not None else SIGNALS_SETTLE_SECONDS)
    row: dict[str, Any] | None = None
    while True:
        window = {
            "from": (since - timedelta(minutes=1)).isoformat(),
            "to": (clock() + timedelta(minutes=1)).isoformat(),
        }
        if isinstance(api, HttpClient):
            response = api.request("GET", "/reports/funnel?" + urllib.parse.urlencode(window))
        else:  # the local API takes its query apart
            response = api.request("GET", "/reports/funnel", query=window)  # type: ignore[call-arg]
        if response.status != 200:
            raise FlashSaleError(
                f"GET /reports/funnel answered {response.status}: {response.body[:300]}"
            )
        rows = [r for r in response.json()["items"] if r["productRef"] == sale.sku]
        row = rows[0] if rows else None
        if (row and all(row.get(k) == v for k, v in expected.items())) or time.time() >= deadline:
            return row
        time.sleep(1.0)


def _check(
    sale: Sale,
    api: Client,
    outcomes: Sequence[ShopperOutcome],
    released_ok: bool,
    *,
    in_process: bool,
) -> Report:
    """The numbers a retailer would check, from the answers and from the ledger."""
    position = _position(api, sale)
    quantities = position["quantities"]
    holds = sum(o.hold == "ACTIVE" for o in outcomes)
    refused = sum(o.hold == "NO_OPTIONS" for o in outcomes)
    orders = sum(o.order == "CONFIRMED" for o in outcomes)
    converted = {o.cart_ref for o in outcomes if o.order == "CONFIRMED" and o.converted}
    soft = [q for q in quantities if q["type"] == "SOFT_RESERVE"]
    released = [q for q in soft if q["status"] == "INACTIVE" and q["sourceRef"] not in converted]
    reserved_units = -sum(
        q["quantity"] for q in quantities if q["type"] == "RESERVED" and q["status"] == "ACTIVE"
    )
    ledger_sum = sum(q["quantity"] for q in quantities if q["status"] == "ACTIVE")
    on_hand = position["onHand"]

    problems = []
    if not released_ok:
        problems.append("some holds were still ACTIVE at the deadline")
    if on_hand != ledger_sum:
        problems.append(f"counter onHand {on_hand} != ledger sum {ledger_sum}")
    if len(soft) != holds:
        problems.append(
            f"{holds} holds answered ACTIVE but the ledger has {len(soft)} SOFT_RESERVE records"
        )
    if reserved_units != orders:
        problems.append(f"{orders} orders confirmed but the ledger reserves {reserved_units} units")
    if on_hand != sale.stock - orders:
        problems.append(f"final onHand {on_hand} != stock {sale.stock} - orders {orders}")
    if any(q["status"] == "ACTIVE" for q in soft):
        problems.append("SOFT_RESERVE records still ACTIVE")
    if in_process:
        problems += _check_in_process(outcomes, converted)

    return Report(
        stock=sale.stock,
        shoppers=len(outcomes),
        holds=holds,
        refused=refused,
        orders=orders,
        oversells=max(0, orders - sale.stock, reserved_units - sale.stock),
        expired=len({q["sourceRef"] for q in released}),
        released=-sum(q["quantity"] for q in released),
        final_on_hand=on_hand,
        ledger_consistent=not problems,
        seconds=0.0,
        holds_per_second=0.0,
        order_refused=sum(o.order == "OUT_OF_STOCK" for o in outcomes),
        errors=[f"shopper {o.index}: {o.error}" for o in outcomes if o.error],
        problems=problems,
    )


def _check_in_process(outcomes: Sequence[ShopperOutcome], converted: set[str]) -> list[str]:
    """With the table at hand: reconcile every position, and the FO status stored (not just
    computed on read) is EXPIRED for every hold that was not converted."""
    from holdfast.runtime import get_runtime

    runtime = get_runtime()
    problems = []
    checked, drift = runtime.inventory.reconcile()
    if drift:
        problems.append(f"reconcile: {len(drift)} of {checked} positions drift: {drift[:3]}")
    for outcome in outcomes:
        if outcome.hold != "ACTIVE" or outcome.cart_ref in converted:
            continue
        document = runtime.table.get_document("FO", outcome.cart_ref)
        if document is None or document.status != "EXPIRED":
            problems.append(
                f"{outcome.cart_ref} is stored as "
                f"{document.status if document else 'missing'}, not EXPIRED"
            )
            break
    return problems


# -- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Options()
    parser.add_argument(
        "--shoppers",
        type=_bounded(int, 1, 100_000),
        default=defaults.shoppers,
        metavar="N",
        help=f"shoppers who try to add one unit to their cart (default {defaults.shoppers})",
    )
    parser.add_argument(
        "--stock",
        type=_bounded(int, 0, MAX_STOCK),
        default=defaults.stock,
        metavar="S",
        help=f"units on hand at the start (default {defaults.stock})",
    )
    parser.add_argument(
        "--timer-seconds",
        type=_bounded(float, 0.5, 3600),
        default=defaults.timer_seconds,
        metavar="T",
        help="how long the 1-minute hold lasts in wall time: in-process engines "
        f"run their clock 60/T times faster (default {defaults.timer_seconds:g})",
    )
    parser.add_argument(
        "--convert-rate",
        type=_bounded(float, 0, 1),
        default=defaults.convert_rate,
        metavar="R",
        help="share of shoppers with a hold who confirm an order "
        f"(default {defaults.convert_rate:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=_bounded(int, 1, 256),
        default=defaults.concurrency,
        metavar="C",
        help="worker processes (HTTP client threads with --api-url) "
        f"(default {defaults.concurrency})",
    )
    parser.add_argument(
        "--buffer-percent",
        type=_bounded(float, 0, 100),
        default=None,
        metavar="P",
        help="ECOMMERCE buffer; default none, so exactly the stock is sellable",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of who converts and when (default 0)"
    )
    parser.add_argument(
        "--protocol",
        choices=["rest", "graphql"],
        default=defaults.protocol,
        help="how shoppers add to cart: POST /fulfilment-options (rest, default) or the "
        "createFulfilmentOption mutation on POST /graphql; orders are REST either way",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="DynamoDB engine to start: dynamodb-local (default) or moto (concurrency 1)",
    )
    target.add_argument(
        "--endpoint-url",
        help="use a DynamoDB already running at this URL (a new table, "
        "deleted afterwards unless --keep-table)",
    )
    target.add_argument(
        "--api-url", help="drive a running Holdfast API over HTTP instead (e.g. holdfast dev)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("HOLDFAST_TOKEN") or None,
        help="with --api-url: a bearer token with every scope, e.g. $(holdfast token) "
        "(default $HOLDFAST_TOKEN)",
    )
    parser.add_argument(
        "--keep-table", action="store_true", help="with --endpoint-url, keep the sale's table"
    )
    parser.add_argument(
        "--json", action="store_true", help="print only one JSON object with the results"
    )
    parser.set_defaults(run=run)


def _bounded(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {kind.__name__}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    options = Options(
        shoppers=args.shoppers,
        stock=args.stock,
        timer_seconds=args.timer_seconds,
        convert_rate=args.convert_rate,
        concurrency=args.concurrency,
        engine=args.engine,
        endpoint_url=args.endpoint_url,
        api_url=args.api_url,
        token=args.token,
        buffer_percent=args.buffer_percent,
        seed=args.seed,
        keep_table=args.keep_table,
        protocol=args.protocol,
    )
    out = sys.stdout
    try:
        # Whatever a handler or library prints must not spoil the answer on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            report = run_sale(options)
    except FlashSaleError as error:
        print(f"holdfast flash-sale: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("holdfast flash-sale: interrupted", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report.as_json()), file=out)
        for line in (*report.problems, *report.errors[:10]):
            print(f"holdfast flash-sale: {line}", file=sys.stderr)
    elif is_terminal(out):
        print_table(
            out,
            title=f"Flash sale: {report.setting}",
            columns=("", ""),
            rows=report.rows(),
            styles=[
                "bold red" if name == "oversells" and value else None
                for name, value in report.rows()
            ],
            plain="",
        )
        verdict(out, "\n".join(line.strip() for line in report.notes()), ok=report.ok)
    else:
        print(report.table(), file=out)
    return EXIT_OK if report.ok else EXIT_BROKEN
