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
import json
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from holdfast_cli.demand_report import time_zone
from holdfast_cli.local.engine import STARTED_ENGINES, LocalEngine, StartedEngine
from holdfast_cli.simulated_day.checks import check
from holdfast_cli.simulated_day.shoppers import (
    SimulatedClock,
    SimulationError,
    configure,
    plan_day,
    play,
)

DESCRIPTION = (
    "Play a day of mixed shoppers (channels, HD/CC, stores, planted product affinities and "
    "checkout times) through the real handlers, then check that the demand reports recover "
    "the planted truth; exits 1 if one check fails."
)
EXIT_OK, EXIT_BROKEN, EXIT_ERROR = 0, 1, 2


def run_day(
    shoppers: int,
    seed: int,
    day: date,
    zone_name: str,
    engine: StartedEngine | None,
    err: Any,
    endpoint_url: str | None = None,
) -> dict[str, Any]:
    """Set up the engine, play the day, deliver the signals, read the reports, check them."""
    from holdfast.runtime import use_clock
    from holdfast_cli.flash_sale.runner import deliver_signals
    from holdfast_cli.local.api import LocalApi

    zone = ZoneInfo(zone_name)
    plans = plan_day(shoppers, seed, day, zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    # The last holds expire and late shoppers order after midnight.
    end = start + timedelta(days=1, hours=2)
    backend = _start_engine(engine, endpoint_url)
    clock = SimulatedClock(start - timedelta(hours=1))
    use_clock(clock)
    try:
        api = LocalApi()
        configure(api)
        where = endpoint_url or engine
        print(f"holdfast simulate-day: {shoppers} shoppers on {where} ...", file=err, flush=True)
        truth = play(api, clock, plans)
        deliver_signals(backend, api)
        reports = _read_reports(backend, start, end, zone_name)
    finally:
        use_clock(None)
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


def _start_engine(engine: StartedEngine | None, endpoint_url: str | None) -> LocalEngine:
    """An engine with a fresh table; on an engine someone else runs, the table is deleted
    at the end, leaving it as it was."""
    from holdfast_cli.local.engine import EngineError, LocalEngine, engine_kind
    from holdfast_cli.local.environment import QUIET

    try:
        backend = LocalEngine(
            engine_kind(None if endpoint_url else engine, endpoint_url),
            endpoint_url=endpoint_url,
            table=f"holdfast-day-{uuid.uuid4().hex[:8]}",
            environment={**QUIET, "CONFIG_CACHE_SECONDS": "30"},
        ).start()
    except EngineError as error:
        raise SimulationError(str(error)) from None
    if endpoint_url:

        def delete_table() -> None:
            with contextlib.suppress(Exception):
                backend.client().delete_table(TableName=backend.table)

        backend.on_close(delete_table)
    return backend


def _read_reports(
    backend: LocalEngine, start: datetime, end: datetime, zone_name: str
) -> dict[str, Any]:
    """The demand reports over the day, read through the service behind GET /reports/{name}."""
    from holdfast_cli.signal_source import SignalSource

    source = SignalSource(
        argparse.Namespace(
            api_url=None, token=None, table=backend.table, endpoint_url=backend.endpoint_url
        )
    )
    params: dict[str, dict[str, Any]] = {
        "timing": {"timeZone": zone_name, "bucketSeconds": 30},
        "affinity": {"minCount": 2},
    }
    return {
        name: source.report(name, start, end, params.get(name, {}))
        for name in ("channels", "locations", "affinity", "timing", "restocking")
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
        choices=STARTED_ENGINES,
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
