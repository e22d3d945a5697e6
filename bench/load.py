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

``holdfast dev`` serves with a pool of worker processes (``--workers``), one request at a time
each, as Lambda's execution environments do; ``--workers 1,4,8`` runs once per count, side by
side with the engine's own ceiling (bench/load_workers.py).

The run lives in bench/load_run.py (the retailer, the mix, the clients, the accounting), its
figures in bench/load_report.py, and the ``holdfast dev`` process in bench/dev_process.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout
from dataclasses import replace
from typing import Any, TextIO

from bench import process_cpu
from bench.dev_process import DevProcess
from bench.load_report import render, summarize
from bench.load_run import LOCATIONS, LoadError, LoadRun, Options, check_stock, set_up_retailer
from holdfast_cli.api_client import ApiClient


def reconcile(endpoint_url: str, table: str) -> dict[str, Any]:
    """``holdfast reconcile --json`` on the table."""
    from holdfast_cli.main import main as holdfast

    out = io.StringIO()
    with redirect_stdout(out):
        code = holdfast(["reconcile", "--endpoint-url", endpoint_url, "--table", table, "--json"])
    if code not in (0, 1):
        raise LoadError(f"holdfast reconcile failed (exit {code})")
    return json.loads(out.getvalue().strip().splitlines()[-1])


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
