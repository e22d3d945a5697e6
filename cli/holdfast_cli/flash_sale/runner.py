"""One flash sale from start to end: engine (or API), set-up, shoppers, release, checks.

In process (DynamoDB Local, moto, or an engine at ``--endpoint-url``) the handlers run here
and in forked workers, and the clock runs ``60/T`` times faster so the 1-minute hold lasts
``--timer-seconds`` T; over HTTP (``--api-url``) the holds last the real minute and the
server's own sweeper and stream poller release them.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from holdfast_cli.api_client import ApiClient
from holdfast_cli.flash_sale.checks import (
    Report,
    active_holds,
    check_funnel,
    check_sale,
)
from holdfast_cli.flash_sale.scenario import (
    RECLAIM_GRACE_SECONDS,
    SIGNALS_FUNCTION,
    TIMER_MINUTES,
    Client,
    FastClock,
    FlashSaleError,
    Options,
    Sale,
    ShopperPlan,
    configure,
    plan_shoppers,
)
from holdfast_cli.flash_sale.shoppers import (
    Lane,
    Progress,
    ShopperOutcome,
    local_api,
    run_lane,
    share_progress,
    sweep_overdue_holds,
)

if TYPE_CHECKING:
    from holdfast_cli.local.engine import LocalEngine


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

    backend = _start_engine(options, sale, err)
    concurrency = 1 if backend.kind == "moto" else options.concurrency
    clock = FastClock(60.0 * TIMER_MINUTES / options.timer_seconds)
    use_clock(clock)
    try:
        api = local_api()
        configure(api, sale, options.buffer_percent, merge_timers=False)
        setting = _setting(
            options,
            sale,
            f"lasting {options.timer_seconds:g} s (clock x{clock.speed:g})",
            f"{concurrency} worker{'s' if concurrency > 1 else ''} on "
            f"{options.endpoint_url or backend.kind}",
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
            catch_up_signals=lambda: deliver_signals(backend, api),
        )
    finally:
        use_clock(None)
        local_api.cache_clear()
        backend.close()


def _start_engine(options: Options, sale: Sale, err: TextIO) -> LocalEngine:
    """The engine with the sale's table; an engine someone else runs gets its table deleted
    at the end unless ``keep_table``."""
    from holdfast_cli.local.engine import EngineError, LocalEngine, engine_kind
    from holdfast_cli.local.environment import QUIET

    kind = engine_kind(options.engine, options.endpoint_url)
    if kind == "moto" and options.concurrency != 1:
        print(
            "holdfast flash-sale: moto is not atomic under concurrency: shoppers take turns "
            "(concurrency 1); use dynamodb-local to prove concurrent holds",
            file=err,
        )
    table = f"holdfast-flash-sale-{sale.run_id}"
    where = options.endpoint_url or kind
    print(f"holdfast flash-sale: starting {where} (table {table}) ...", file=err, flush=True)
    began = time.monotonic()
    try:
        backend = LocalEngine(
            kind, endpoint_url=options.endpoint_url, table=table, environment=QUIET
        ).start()
    except EngineError as error:
        raise FlashSaleError(str(error)) from None
    if options.endpoint_url and not options.keep_table:
        backend.on_close(lambda: _delete_table(backend, table))
    print(
        f"holdfast flash-sale: engine ready in {time.monotonic() - began:.1f} s",
        file=err,
        flush=True,
    )
    return backend


def _delete_table(backend: LocalEngine, table: str) -> None:
    with contextlib.suppress(Exception):
        backend.client().delete_table(TableName=table)


def deliver_signals(backend: LocalEngine, api: Any) -> None:
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
    api = ApiClient(options.api_url or "", token=options.token)
    try:
        configure(api, sale, options.buffer_percent, merge_timers=True)
    except (OSError, http.client.HTTPException) as error:
        raise FlashSaleError(f"cannot reach the API at {options.api_url}: {error}") from None
    print(
        f"holdfast flash-sale: holds last the real {TIMER_MINUTES} minute over HTTP "
        "(--timer-seconds applies to in-process engines only)",
        file=err,
    )
    setting = _setting(
        options, sale, "", f"{options.concurrency} HTTP clients on {options.api_url}"
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


def _setting(options: Options, sale: Sale, timer: str, workers: str) -> str:
    """The report's first line: the sale as it is run."""
    return (
        f"{options.shoppers} shoppers, stock {sale.stock}, "
        f"{TIMER_MINUTES}-minute holds{' ' + timer if timer else ''}, "
        f"convert rate {options.convert_rate:g}, {workers}"
        + (", carts through GraphQL" if sale.protocol == "graphql" else "")
    )


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
    """The shoppers, then the release of every hold they left, then the checks."""
    sale_began = clock()
    progress = Progress(options.shoppers, err)
    share_progress(progress)
    plans = plan_shoppers(options, sale, think_scale)
    started = time.time()
    deadline = started + options.shoppers * 2.0 + release_deadline + 60
    lanes = _lanes(options, sale, plans, started, deadline, concurrency, in_process=in_process)
    outcomes = _run_lanes(lanes, over_http=bool(options.api_url))
    released_ok, probes = _wait_for_release(
        api, sale, progress, clock, in_process=in_process, deadline=time.time() + release_deadline
    )
    progress.draw(status="checking the ledger", final=True)
    report = check_sale(sale, api, outcomes, released_ok, in_process=in_process)
    check_funnel(report, api, sale, clock, probes, since=sale_began, catch_up=catch_up_signals)
    _time(report, outcomes, started)
    report.setting = setting
    return report


def _lanes(
    options: Options,
    sale: Sale,
    plans: list[ShopperPlan],
    started: float,
    deadline: float,
    concurrency: int,
    *,
    in_process: bool,
) -> list[Lane]:
    """The shoppers dealt into ``concurrency`` lanes, and a first lane that sweeps (in
    process) and draws the progress bar until every shopper has finished."""
    # About ten sweeps per hold length (deployed: a sweep a minute for 15-minute holds).
    sweep_every = max(0.25, options.timer_seconds / 10) if in_process else None
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
    if concurrency == 1 and in_process:
        # One process (moto): the only lane shops, sweeps and draws.
        return [replace(monitor, shoppers=tuple(plans), wait_for=0)]
    return [monitor] + [
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


def _run_lanes(lanes: list[Lane], *, over_http: bool) -> list[ShopperOutcome]:
    """Every lane at once (threads over HTTP, forked processes in process); the outcomes
    in shopper order."""
    if len(lanes) == 1:
        results = [run_lane(lanes[0])]
    elif over_http:
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="shopper") as pool:
            results = list(pool.map(run_lane, lanes))
    else:
        from holdfast_cli.local.process_map import map_in_processes

        # Forked before any thread of ours exists: the workers inherit the shared counters.
        results = map_in_processes(run_lane, lanes, processes=len(lanes))
    return sorted((o for lane in results for o in lane), key=lambda o: o.index)


def _time(report: Report, outcomes: list[ShopperOutcome], started: float) -> None:
    """How long the sale took, and how fast holds were answered while shoppers arrived."""
    holds_answered = [o.hold_answered_at for o in outcomes if o.hold_answered_at]
    shopping_seconds = max(holds_answered, default=started) - started
    report.seconds = round(time.time() - started, 2)
    report.shopping_seconds = round(shopping_seconds, 2)
    report.holds_per_second = (
        round(len(holds_answered) / shopping_seconds, 1) if shopping_seconds > 0 else 0.0
    )


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
            sweep_overdue_holds(progress)
        active = active_holds(api, sale)
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
