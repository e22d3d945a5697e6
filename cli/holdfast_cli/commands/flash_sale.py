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
The scenario, the shoppers, the checks and the run live in :mod:`holdfast_cli.flash_sale`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from holdfast_cli.console import is_terminal, print_table, verdict
from holdfast_cli.flash_sale.runner import run_sale
from holdfast_cli.flash_sale.scenario import MAX_STOCK, FlashSaleError, Options
from holdfast_cli.local.engine import STARTED_ENGINES

DESCRIPTION = (
    "Replay the flash-sale story (docs/behaviour.md §8): many shoppers hold one SKU at once, some confirm, "
    "the rest abandon and their holds expire. Prints holds, orders, oversells, expiries and the "
    "final ledger check; exits 1 if anything was oversold or the ledger disagrees."
)
EXIT_OK, EXIT_BROKEN, EXIT_ERROR = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, one declaration each (long, and read top to bottom like --help)."""
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
        choices=STARTED_ENGINES,
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
    options = Options(**{option.name: getattr(args, option.name) for option in fields(Options)})
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
