"""``python -m bench.load``: a bounded load run of the local HTTP API.

Starts ``holdfast dev`` in its own process (on a DynamoDB Local it starts, or on
``--endpoint-url``), or uses a running API (``--api-url``), loads a retailer of its own
through the API (one channel, two locations, ``--skus`` products with ``--stock`` units at
each location), then fires ``--requests`` requests from ``--clients`` concurrent clients, each
a thread with one keep-alive HTTP connection:

========== ====== ==========================================================================
kind       share  request
========== ====== ==========================================================================
vp_read    40 %   ``GET /virtual-positions`` for 1–5 products (BASE and AGGREGATE)
fo_create  25 %   ``POST /fulfilment-options``: 1–2 lines of 1–3 units, a fresh ref
fo_get     10 %   ``GET /fulfilment-options/{ref}`` of one of this client's carts
fo_cancel  10 %   ``DELETE /fulfilment-options/{ref}`` of one of this client's active holds
order      15 %   ``POST /orders`` converting one of this client's active holds
========== ====== ==========================================================================

(a client with no active hold creates one instead). Stock is small on purpose, so carts run
out and are answered ``NO_OPTIONS``.

Afterwards it checks the ledger: ``holdfast reconcile`` (every counter = its ledger sum) when
it knows the table, no position below zero, no product with more units ordered than stocked,
and every unit accounted for (stock = onHand + units held by the clients' active carts +
units ordered). Exit 1 on any 5xx, connection error, drift, oversell or unaccounted unit.

``holdfast dev`` hands requests to the handlers one at a time (one Lambda execution
environment): the figures are one environment's, with tens of clients queueing on it.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field, replace
from typing import Any, TextIO
from urllib.parse import urlencode

from bench import process_cpu
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
START_TIMEOUT = 120.0
BANNER = re.compile(
    r"Holdfast API on (?P<url>http://\S+)\s+\(table (?P<table>\S+), DynamoDB (?P<endpoint>[^\s,)]+)"
)


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


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, Any]:
    values = sorted(s * 1000 for s in seconds)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(values[-1], 1),
    }


def summarize(results: Sequence[Result], elapsed: float) -> dict[str, Any]:
    classes = Counter("no answer" if r.status == 0 else f"{r.status // 100}xx" for r in results)
    refusals = Counter(f"{r.kind} {r.status} {r.code}" for r in results if 400 <= r.status < 500)
    no_answer = Counter(f"{r.kind} {r.code}" for r in results if r.status == 0)
    failures = classes["5xx"] + classes["no answer"]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r.seconds)
    return {
        "requests": len(results),
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(results) / elapsed, 1) if elapsed else None,
        "status_classes": dict(sorted(classes.items())),
        "error_rate": round(failures / len(results), 5) if results else 0.0,
        "refusals": dict(sorted(refusals.items())),
        "no_answer": dict(sorted(no_answer.items())),
        "latency": {
            "all": latency_summary([r.seconds for r in results]),
            **{kind: latency_summary(by_kind[kind]) for kind in MIX if kind in by_kind},
        },
    }


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


def reconcile(endpoint_url: str, table: str) -> dict[str, Any]:
    """``holdfast reconcile --json`` on the table."""
    from holdfast_cli.main import main as holdfast

    out = io.StringIO()
    with redirect_stdout(out):
        code = holdfast(["reconcile", "--endpoint-url", endpoint_url, "--table", table, "--json"])
    if code not in (0, 1):
        raise LoadError(f"holdfast reconcile failed (exit {code})")
    return json.loads(out.getvalue().strip().splitlines()[-1])


class DevProcess:
    """``holdfast dev --port 0 --empty --no-stream`` in its own process; its banner names the
    URL, the table and the DynamoDB endpoint."""

    def __init__(
        self, endpoint_url: str | None, table: str | None, workers: int | None = None
    ) -> None:
        command = [sys.executable, "-m", "holdfast_cli.main", "dev", "--port", "0", "--empty"]
        command.append("--no-stream")
        if workers:
            command += ["--workers", str(workers)]
        if endpoint_url:
            command += ["--endpoint-url", endpoint_url]
        if table:
            command += ["--table", table]
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the server; closed in stop())
        environment = {**os.environ}
        environment.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.log, text=True, env=environment
        )
        self.url = self.table = self.endpoint_url = ""

    def wait_ready(self) -> DevProcess:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = BANNER.search(line)
            if match:
                self.url, self.table = match["url"], match["table"]
                self.endpoint_url = match["endpoint"]
                threading.Thread(target=self._drain, daemon=True).start()
                return self
            if time.monotonic() > deadline:
                break
        self.stop()
        raise LoadError(f"holdfast dev did not start:\n{self.log_tail()}")

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def log_tail(self, lines: int = 20) -> str:
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # holdfast dev stops its DynamoDB Local on SIGTERM
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run_load(options: Options, *, err: TextIO = sys.stderr) -> dict[str, Any]:
    """Start (or use) the API, set up, fire, check; the report as one dict (``ok`` says
    whether every zero that must be zero is)."""
    dev = None
    api_url, endpoint_url, table = options.api_url, options.endpoint_url, options.table
    if not api_url:
        print("load: starting holdfast dev ...", file=err, flush=True)
        dev = DevProcess(options.endpoint_url, options.table, options.workers).wait_ready()
        api_url, endpoint_url, table = dev.url, dev.endpoint_url, dev.table
    try:
        run = LoadRun(options, api_url)
        setup = ApiClient(api_url, timeout=options.timeout, token=options.token)
        try:
            set_up_retailer(setup, run.skus, options.stock)
            print(
                f"load: {options.requests} requests from {options.clients} clients on {api_url} "
                f"({options.skus} SKUs x {len(LOCATIONS)} locations, {options.stock} units each)",
                file=err,
                flush=True,
            )
            server_pid = dev.process.pid if dev is not None else None
            before = process_cpu.sample(server_pid, options.engine_pid)
            results, elapsed = run.fire(err)
            cpu = process_cpu.per_request(
                before, process_cpu.sample(server_pid, options.engine_pid), len(results), elapsed
            )
            report: dict[str, Any] = {
                "target": api_url,
                "engine": endpoint_url or "unknown",
                "clients": options.clients,
                "workers": options.workers,
                **summarize(results, elapsed),
                "cpu_per_request": cpu,
                "stock": check_stock(setup, run),
            }
        finally:
            setup.close()
        if endpoint_url and endpoint_url.startswith("http") and table:
            drift = reconcile(endpoint_url, table)
            report["reconcile"] = {"positions_checked": drift["checked"], "drift": drift["drift"]}
        else:
            report["reconcile"] = "not run: give --endpoint-url and --table with --api-url"
    except BaseException:
        if dev is not None:
            print(dev.log_tail(), file=err)
        raise
    finally:
        if dev is not None:
            dev.stop()
    stock = report["stock"]
    reconciled = report["reconcile"]
    report["ok"] = (
        report["status_classes"].get("5xx", 0) == 0
        and report["status_classes"].get("no answer", 0) == 0
        and stock["oversold_units"] == 0
        and not stock["unaccounted_units"]
        and (not isinstance(reconciled, dict) or not reconciled["drift"])
    )
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['requests']} requests from {report['clients']} clients in {report['seconds']} s "
        f"({report['throughput_rps']} req/s) on {report['target']}",
        f"status: {report['status_classes']}  "
        f"error rate (5xx + no answer): {report['error_rate']:.2%}",
        f"refusals: {report['refusals'] or 'none'}",
        f"no answer: {report['no_answer'] or 'none'}",
        "latency (ms)   count    p50    p95    p99    max",
    ]
    for kind, figures in report["latency"].items():
        if figures["count"]:
            lines.append(
                f"  {kind:<11} {figures['count']:>6} {figures['p50_ms']:>6} {figures['p95_ms']:>6} "
                f"{figures['p99_ms']:>6} {figures['max_ms']:>6}"
            )
    stock = report["stock"]
    lines += [
        f"carts: {stock['carts']}",
        f"stock: {stock['units_stocked']} units, {stock['units_ordered']} ordered, "
        f"{stock['units_held']} held; oversold {stock['oversold_units']}, "
        f"unaccounted {stock['unaccounted_units'] or 0}",
    ]
    reconciled = report["reconcile"]
    if isinstance(reconciled, dict):
        lines.append(
            f"reconcile: {reconciled['positions_checked']} positions, "
            f"drift {len(reconciled['drift'])}"
        )
    else:
        lines.append(f"reconcile: {reconciled}")
    lines.append("OK" if report["ok"] else "FAILED: see above")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="A bounded load run of the local HTTP API: tens of concurrent clients, "
        "error rate and p50/p95/p99 per request kind, then the ledger checked. Exit 1 on any "
        "5xx, connection error, oversell, unaccounted unit or drift. See bench/README.md.",
    )
    parser.add_argument(
        "--requests",
        type=_positive,
        default=defaults.requests,
        help=f"requests in all (default {defaults.requests})",
    )
    parser.add_argument(
        "--clients",
        type=_positive,
        default=defaults.clients,
        help=f"concurrent clients, one keep-alive connection each (default {defaults.clients})",
    )
    parser.add_argument(
        "--skus",
        type=_positive,
        default=defaults.skus,
        help=f"products stocked for the run (default {defaults.skus})",
    )
    parser.add_argument(
        "--stock",
        type=_positive,
        default=defaults.stock,
        help=f"units of each product at each of the two locations (default {defaults.stock})",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="random seed of the clients' choices"
    )
    parser.add_argument("--api-url", help="load this running API instead of starting holdfast dev")
    parser.add_argument(
        "--endpoint-url",
        help="the DynamoDB holdfast dev uses (started with it, or "
        "the one behind --api-url, for reconcile)",
    )
    parser.add_argument("--table", help="the table (with --api-url: for reconcile)")
    parser.add_argument(
        "--token",
        default=os.environ.get("HOLDFAST_TOKEN") or None,
        help="with --api-url: a bearer token with every scope, e.g. $(holdfast token) "
        "(default $HOLDFAST_TOKEN)",
    )
    parser.add_argument(
        "--workers",
        type=_counts,
        default=None,
        metavar="N[,N]",
        help="holdfast dev --workers; several (default 1,4,8 when it starts holdfast dev) "
        "run one after another on one engine, each beside the engine's ceiling at that concurrency",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--output", metavar="FILE", help="also write the JSON report to FILE")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _counts(text: str) -> tuple[int, ...]:
    return tuple(_positive(part) for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    from bench import load_workers

    args = build_parser().parse_args(argv)
    options = Options(
        requests=args.requests,
        clients=args.clients,
        skus=args.skus,
        stock=args.stock,
        seed=args.seed,
        api_url=args.api_url,
        endpoint_url=args.endpoint_url,
        table=args.table,
        token=args.token,
    )
    workers = args.workers
    if workers is None and not args.api_url and not args.table:
        workers = load_workers.DEFAULT_WORKERS
    try:
        if (workers and len(workers) > 1) or (workers and not args.api_url and not args.table):
            report = load_workers.compare(options, workers)
            ok, text = all(report["load_ok"].values()), load_workers.render(report)
        else:
            report = run_load(replace(options, workers=workers[0] if workers else None))
            ok, text = report["ok"], render(report)
    except LoadError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w") as file:
            file.write(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2) if args.json else text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
