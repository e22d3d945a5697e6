"""The load run itself: the retailer it sets up, the request mix, the client threads that fire
it, and what they know they did, so every unit is accounted for afterwards (``python -m
bench.load``; see bench/load.py)."""

from __future__ import annotations

import http.client
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlencode

from holdfast_cli.api_client import ApiClient
from holdfast_cli.console import is_terminal, progress_line

CHANNEL = "LOADTEST"


LOCATIONS = {
    "LOAD_DC": {"type": "DC", "deliveryTypes": ["HD"], "channels": [CHANNEL], "priority": 1},
    "LOAD_STORE": {
        "type": "STORE",
        "deliveryTypes": ["HD", "CC"],
        "channels": [CHANNEL],
        "priority": 2,
    },
}


MIX = {"vp_read": 40, "fo_create": 25, "fo_get": 10, "fo_cancel": 10, "order": 15}


NEEDS_A_HOLD = frozenset({"fo_get", "fo_cancel", "order"})


class LoadError(RuntimeError):
    """The run could not start (server, engine, or the retailer's setup)."""


@dataclass(frozen=True)
class Options:
    requests: int = 2_000
    clients: int = 30
    skus: int = 20
    stock: int = 30
    seed: int = 7
    api_url: str | None = None
    endpoint_url: str | None = None
    table: str | None = None
    timeout: float = 30.0
    token: str | None = None
    """A bearer token for a deployed API (``--token``, ``$HOLDFAST_TOKEN``)."""
    workers: int | None = None  # holdfast dev --workers (None: its default)
    engine_pid: int | None = None
    """The engine's process, when this machine runs it: its CPU is reported per request."""


@dataclass
class Result:
    kind: str
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    code: str | None = None


@dataclass
class Cart:
    ref: str
    lines: list[dict[str, Any]]


@dataclass
class Ledger:
    """What the clients know they did, to account for every unit afterwards."""

    holds: Counter[str] = field(default_factory=Counter)  # units held by active carts, per SKU
    ordered: Counter[str] = field(default_factory=Counter)  # units confirmed, per SKU
    carts: Counter[str] = field(default_factory=Counter)  # ACTIVE, NO_OPTIONS, cancelled, converted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, counter: Counter[str], cart: Cart, sign: int) -> None:
        with self.lock:
            for line in cart.lines:
                counter[line["productRef"]] += sign * line["quantity"]

    def count(self, outcome: str) -> None:
        with self.lock:
            self.carts[outcome] += 1


def call(api: ApiClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """``(status, parsed body)``; raises ``OSError``/``HTTPException`` when no answer came."""
    response = api.request(method, path, json_body=body)
    try:
        return response.status, response.json()
    except ValueError:
        return response.status, None


def _skus(run_id: str, count: int) -> list[str]:
    return [f"LOAD_{run_id}_{n:03d}" for n in range(count)]


def set_up_retailer(api: ApiClient, skus: Sequence[str], stock: int) -> None:
    """One channel (10 % buffer), two locations selling to it, ``stock`` units of every SKU
    at each."""
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"/channels/{CHANNEL}", {"buffer": {"type": "PERCENTAGE", "value": 10}}),
        *(("PUT", f"/locations/{ref}", body) for ref, body in LOCATIONS.items()),
    ]
    entities = [
        {
            "productRef": sku,
            "locationRef": location,
            "type": "DELTA",
            "quantity": stock,
            "sourceRef": f"LOAD-RECEIPT-{sku}-{location}",
        }
        for sku in skus
        for location in LOCATIONS
    ]
    calls += [
        ("POST", "/inventory/batch", {"entities": entities[i : i + 1000]})
        for i in range(0, len(entities), 1000)
    ]
    for method, path, body in calls:
        status, answer = call(api, method, path, body)
        if status != 200:
            raise LoadError(f"setting up: {method} {path} answered {status}: {answer}")
        for result in (answer or {}).get("results", []):
            if result["status"] != "APPLIED":
                raise LoadError(f"setting up: stock feed entity {result}")


class LoadClient(threading.Thread):
    """One shopper system: a connection, its own random choices and the carts it holds."""

    def __init__(self, number: int, run: LoadRun) -> None:
        super().__init__(name=f"load-client-{number}", daemon=True)
        self.number = number
        self.run_state = run
        self.rng = random.Random(run.options.seed * 1_000 + number)
        self.connection = ApiClient(
            run.api_url, timeout=run.options.timeout, token=run.options.token
        )
        self.active: list[Cart] = []
        self.known: list[str] = []
        self.results: list[Result] = []
        self.carts_made = 0

    def run(self) -> None:
        try:
            while self.run_state.take_ticket():
                self.results.append(self._one())
        finally:
            self.connection.close()

    def _one(self) -> Result:
        kinds, weights = zip(*MIX.items(), strict=False)
        kind = self.rng.choices(kinds, weights)[0]
        if kind in NEEDS_A_HOLD and not self.active:
            kind = "fo_create"
        method, path, body, after = getattr(self, f"_{kind}")()
        began = time.perf_counter()
        try:
            status, answer = call(self.connection, method, path, body)
        except (OSError, http.client.HTTPException) as error:
            return Result(kind, 0, time.perf_counter() - began, type(error).__name__)
        seconds = time.perf_counter() - began
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        if after is not None and status < 500:
            after(status, answer)
        return Result(kind, status, seconds, code)

    def _vp_read(self):
        products = self.rng.sample(self.run_state.skus, self.rng.randint(1, 5))
        query = {"channel": CHANNEL, "productRef": products}
        if self.rng.random() < 0.5:
            query["type"] = "AGGREGATE"
        return "GET", "/virtual-positions?" + urlencode(query, doseq=True), None, None

    def _fo_create(self):
        self.carts_made += 1
        products = self.rng.sample(self.run_state.skus, self.rng.randint(1, 2))
        cart = Cart(
            ref=f"load-{self.run_state.run_id}-{self.number}-{self.carts_made}",
            lines=[{"productRef": p, "quantity": self.rng.randint(1, 3)} for p in products],
        )
        body = {"ref": cart.ref, "channel": CHANNEL, "deliveryType": "HD", "lines": cart.lines}

        def after(status: int, answer: Any) -> None:
            if status == 201:
                self.known.append(cart.ref)
                outcome = answer.get("status")
                self.run_state.ledger.count(outcome)
                if outcome == "ACTIVE":
                    self.active.append(cart)
                    self.run_state.ledger.add(self.run_state.ledger.holds, cart, +1)

        return "POST", "/fulfilment-options", body, after

    def _fo_get(self):
        return "GET", f"/fulfilment-options/{self.rng.choice(self.known)}", None, None

    def _take_active(self) -> Cart:
        return self.active.pop(self.rng.randrange(len(self.active)))

    def _fo_cancel(self):
        cart = self._take_active()

        def after(status: int, answer: Any) -> None:
            if status == 200:
                self.run_state.ledger.count("cancelled")
                self.run_state.ledger.add(self.run_state.ledger.holds, cart, -1)

        return "DELETE", f"/fulfilment-options/{cart.ref}", None, after

    def _order(self):
        cart = self._take_active()
        body = {
            "ref": f"ORD-{cart.ref}",
            "channel": CHANNEL,
            "deliveryType": "HD",
            "fulfilmentOptionRef": cart.ref,
            "lines": cart.lines,
        }

        def after(status: int, answer: Any) -> None:
            if status == 201:
                self.run_state.ledger.count("converted")
                self.run_state.ledger.add(self.run_state.ledger.holds, cart, -1)
                self.run_state.ledger.add(self.run_state.ledger.ordered, cart, +1)

        return "POST", "/orders", body, after


class LoadRun:
    def __init__(self, options: Options, api_url: str) -> None:
        self.options = options
        self.api_url = api_url
        self.run_id = uuid.uuid4().hex[:8]
        self.skus = _skus(self.run_id, options.skus)
        self.ledger = Ledger()
        self._tickets = options.requests
        self._lock = threading.Lock()

    def take_ticket(self) -> bool:
        with self._lock:
            if self._tickets <= 0:
                return False
            self._tickets -= 1
            return True

    def fire(self, err: TextIO | None = None) -> tuple[list[Result], float]:
        """Run the clients until every ticket is used; on a terminal ``err``, a progress bar."""
        clients = [LoadClient(n, self) for n in range(self.options.clients)]
        began = time.perf_counter()
        for client in clients:
            client.start()
        show = err is not None and is_terminal(err)
        while any(client.is_alive() for client in clients):
            if show:
                self._progress(err, final=False)
            time.sleep(0.25)
        for client in clients:
            client.join()
        if show:
            self._progress(err, final=True)
        return [r for c in clients for r in c.results], time.perf_counter() - began

    def _progress(self, err: TextIO | None, *, final: bool) -> None:
        total = self.options.requests
        with self._lock:
            done = total - self._tickets
        text = f"{done}/{total} requests from {self.options.clients} clients"
        progress_line(err or sys.stderr, done=done, total=total, text=text, final=final)


def check_stock(api: ApiClient, run: LoadRun) -> dict[str, Any]:
    """Every unit accounted for, no position below zero, nothing ordered beyond stock."""
    negative, unaccounted, oversold = [], {}, {}
    for sku in run.skus:
        on_hand = 0
        for location in LOCATIONS:
            status, position = call(api, "GET", f"/inventory-positions/{sku}:{location}:DEFAULT")
            if status != 200:
                raise LoadError(f"reading {sku}:{location}: {status} {position}")
            on_hand += position["onHand"]
            if position["onHand"] < 0:
                negative.append(f"{sku}:{location}")
        stocked = run.options.stock * len(LOCATIONS)
        accounted = on_hand + run.ledger.holds[sku] + run.ledger.ordered[sku]
        if accounted != stocked:
            unaccounted[sku] = stocked - accounted
        if run.ledger.ordered[sku] > stocked:
            oversold[sku] = run.ledger.ordered[sku] - stocked
    return {
        "positions": len(run.skus) * len(LOCATIONS),
        "units_stocked": run.options.stock * len(LOCATIONS) * len(run.skus),
        "units_held": sum(run.ledger.holds.values()),
        "units_ordered": sum(run.ledger.ordered.values()),
        "negative_on_hand": negative,
        "oversold_units": sum(oversold.values()) + len(negative),
        "unaccounted_units": unaccounted,
        "carts": dict(sorted(run.ledger.carts.items())),
    }
