"""Holds, orders, cancels, ships, receipts and sweeps all at once on two SKUs,
on DynamoDB Local: zero oversells, counter = ledger sum, every unit accounted for, and no
client ever sees a 5xx.

Why processes and not threads: the deployed path is event → Powertools handler → services →
DynamoDB, and Powertools keeps the current event on a class attribute, so one process serves
one request at a time (as one Lambda execution environment does; ``LocalApi`` serializes
calls). Real concurrency through the real handlers therefore needs several processes
(``workers.map_in_processes``), each with its own handlers, runtime and boto3 client. Every
worker runs a different shopper script, and some run with their clock 20 minutes ahead: to
them every hold is overdue, so their sweeps and reclaims race the other workers' conversions
and cancels of the very same holds — the race between the expiry paths and the cart is real,
not simulated.

The second SKU's counter is split over four shards. While the shoppers run, a separate process
reads every counter in one ``TransactGetItems`` (an atomic snapshot) over and over, and each
sample must show onHand at or above the channel's floor and the shard invariant: an oversell
that a later release or rebalance would tidy up before the end of the run is still caught.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from holdfast.domain.availability import min_on_hand_for
from holdfast.domain.configuration import Channel
from holdfast.runtime import get_runtime, use_clock
from holdfast.storage import shard_key
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.process_map import map_in_processes
from tests.figures import record_figures

pytestmark = pytest.mark.dynamodb_local

SKUS = ("MIX_HOODIE_GRY_L", "MIX_BEANIE_NVY")
DC = "MIX_DC"
STOCK = 6
BUFFER = {"type": "PERCENTAGE", "value": 10}
SHARDS = {SKUS[0]: 1, SKUS[1]: 4}


def configure(api: LocalApi) -> None:
    assert api.put("/channels/ECOMMERCE", {"buffer": BUFFER}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert api.put(f"/locations/{DC}", location).status == 200
    assert api.put("/timers", {"globalMinutes": 15}).status == 200
    stock = [
        {"productRef": sku, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": STOCK}
        for sku in SKUS
    ]
    assert api.post("/inventory/batch", {"entities": stock}).status == 200
    for sku, shards in SHARDS.items():
        if shards > 1:
            assert api.put(f"/products/{sku}", {"counterShards": {DC: shards}}).status == 200


def sample_counters(endpoint: str, table: str, floor: int, stop: Any, answers: Any) -> None:
    """In its own process: read every counter atomically until ``stop``; answer (samples,
    violations). onHand never below ``floor``; shards 1.. never negative; shard 0 negative only
    while they are all empty."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    keys = [(sku, shard) for sku, shards in SHARDS.items() for shard in range(shards)]
    items = [
        {"Get": {"TableName": table, "Key": shard_key(f"{sku}:{DC}:DEFAULT", shard)}}
        for sku, shard in keys
    ]
    samples, violations = 0, []
    while not stop.is_set():
        try:
            responses = client.transact_get_items(TransactItems=items)["Responses"]
        except ClientError:
            continue  # cancelled by a write in flight: take the next sample
        values: dict[str, list[int]] = {}
        for (sku, _), response in zip(keys, responses, strict=False):
            values.setdefault(sku, []).append(
                int(response.get("Item", {}).get("onHand", {}).get("N", "0"))
            )
        samples += 1
        for sku, counters in values.items():
            shard_ok = all(v >= 0 for v in counters[1:]) and (
                counters[0] >= 0 or not any(counters[1:])
            )
            if sum(counters) < floor or not shard_ok:
                violations.append((sku, counters))
        time.sleep(0.005)
    answers.send((samples, violations[:10]))


@pytest.mark.parametrize(
    ("shoppers", "processes"),
    [
        pytest.param(42, 6, id="42-shoppers"),
        pytest.param(
            int(os.environ.get("HOLDFAST_MIXED_SHOPPERS", "420")),
            12,
            id="long",
            marks=[pytest.mark.slow, pytest.mark.timeout(1800)],
        ),
    ],
)
def test_mixed_shoppers_sweepers_and_feeds_never_oversell_and_account_for_every_unit(
    local_api, shoppers, processes
):
    configure(local_api)
    channel = Channel(name="ECOMMERCE", buffer=BUFFER)
    floor = min_on_hand_for(1, channel, DC) - 1  # each decrement is conditioned on ATS >= q
    context = multiprocessing.get_context("fork")
    stop, (answers, answer) = context.Event(), context.Pipe(duplex=False)
    sampler = context.Process(
        target=sample_counters,
        args=(os.environ["DYNAMODB_ENDPOINT_URL"], os.environ["TABLE_NAME"], floor, stop, answer),
    )
    sampler.start()  # before the shoppers: no thread of this process runs while they fork

    try:
        outcomes = map_in_processes(shopper, range(shoppers), processes=processes)
    finally:
        stop.set()
        samples, violations = (
            answers.recv() if answers.poll(30) else (0, ["the sampler never answered"])
        )
        sampler.join(10)

    calls = [call for calls in outcomes for call in calls]
    statuses = Counter(status for _, status in calls)
    assert not [c for c in calls if c[1] >= 500], "a client saw a 5xx"
    assert set(statuses) <= {200, 201, 409}, statuses
    assert violations == [], f"oversold during the run: {violations}"
    assert samples >= 10, f"only {samples} samples of the counters during the run"
    table = get_runtime().table
    for sku in SKUS:
        position = f"{sku}:{DC}:DEFAULT"
        view = local_api.get(f"/inventory-positions/{position}", query={"limit": 1000}).json()
        active = {
            (q["type"], q["sourceRef"]): q["quantity"]
            for q in view["quantities"]
            if q["status"] == "ACTIVE"
        }
        holds = {ref for (kind, ref) in active if kind == "SOFT_RESERVE"}
        reserved = {ref for (kind, ref) in active if kind == "RESERVED"}
        sold = -sum(q for (kind, _), q in active.items() if kind == "SALE")
        fo_refs = {f"{kind}-{i:03d}" for i in range(shoppers) for kind in ("keep", "drop", "late")}
        active_fos = {
            ref
            for ref in fo_refs
            if (d := table.get_cart(ref))
            and d.status == "ACTIVE"
            and any(a.product_ref == sku for a in d.allocations)
        }
        orders = {ref: table.get_order(ref) for ref in (f"order-{i:03d}" for i in range(shoppers))}
        confirmed = {
            ref
            for ref, o in orders.items()
            if o and o.status == "CONFIRMED" and any(a.product_ref == sku for a in o.allocations)
        }
        assert holds == active_fos, (
            "SOFT_RESERVE IQs and ACTIVE carts disagree: a hold released twice or never"
        )
        assert reserved == confirmed, "RESERVED IQs and CONFIRMED orders disagree"
        # Every unit is on hand, held, reserved or sold (each receipt shopper adds one unit).
        held_units = -sum(
            q for (kind, _), q in active.items() if kind in ("SOFT_RESERVE", "RESERVED")
        )
        sku_receipts = sum(1 for i in range(shoppers) if i % 7 == 5 and SKUS[i % 2] == sku)
        assert view["onHand"] + held_units + sold == STOCK + sku_receipts, (
            view["onHand"],
            held_units,
            sold,
        )
        assert view["onHand"] >= floor, (
            f"{sku}: onHand {view['onHand']} below the channel's floor: oversold"
        )
    assert any(action == "hold refused" or status == 409 for action, status in calls), (
        "the stock never ran out"
    )
    checked, drift = get_runtime().inventory.reconcile()
    assert checked == len(SKUS) and drift == []
    record_figures(
        f"mixed-concurrency-{shoppers}",
        {
            "shoppers": shoppers,
            "processes": processes,
            "calls": len(calls),
            "statuses": {str(k): v for k, v in statuses.items()},
            "holds refused": sum(action == "hold refused" for action, _ in calls),
            "oversells": 0,
            "drift": len(drift),
            "server_errors": 0,
            "counter samples during the run": samples,
        },
    )


# -- the shoppers (module level: they run in worker processes) --------------------------------


@functools.cache
def worker_api() -> LocalApi:
    return LocalApi()


def cart(ref: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": sku, "quantity": quantity}],
    }


def order(ref: str, sku: str, quantity: int, fo_ref: str | None = None) -> dict[str, Any]:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": sku, "quantity": quantity}],
    }
    if fo_ref:
        body["fulfilmentOptionRef"] = fo_ref
    return body


def shopper(i: int) -> list[tuple[str, int]]:
    """One of seven scripts, on SKU ``i % 2``; answers (action, HTTP status) per call."""
    api = worker_api()
    sku = SKUS[i % 2]
    calls: list[tuple[str, int]] = []

    def call(action: str, response) -> Any:
        answer = response.json() if response.body else None
        refused = action == "hold" and response.status == 201 and answer["status"] == "NO_OPTIONS"
        calls.append(("hold refused" if refused else action, response.status))
        return answer

    role = i % 7
    if role == 0:  # hold, then order from the cart
        held = call("hold", api.post("/fulfilment-options", cart(f"keep-{i:03d}", sku, 1)))
        if held["status"] == "ACTIVE":
            call("order", api.post("/orders", order(f"order-{i:03d}", sku, 1, f"keep-{i:03d}")))
    elif role == 1:  # hold two, change of mind
        call("hold", api.post("/fulfilment-options", cart(f"drop-{i:03d}", sku, 2)))
        call("cancel", api.delete(f"/fulfilment-options/drop-{i:03d}"))
    elif role == 2:  # buy without a cart, then it ships
        confirmed = call("order", api.post("/orders", order(f"order-{i:03d}", sku, 1)))
        if confirmed and confirmed.get("status") == "CONFIRMED":
            call("ship", api.post(f"/orders/order-{i:03d}/ship"))
    elif role == 3:  # buy without a cart, then cancel the order
        confirmed = call("order", api.post("/orders", order(f"order-{i:03d}", sku, 1)))
        if confirmed and confirmed.get("status") == "CONFIRMED":
            call("cancel", api.post(f"/orders/order-{i:03d}/cancel"))
    elif role == 4:  # a sweeper whose clock is 20 minutes ahead: every hold looks overdue
        with clock_ahead(minutes=20):
            api.invoke("HoldSweeperFunction", {"source": "aws.events"})
            calls.append(("sweep", 200))
            held = call(
                "hold", api.post("/fulfilment-options", cart(f"late-{i:03d}", sku, 1))
            )  # may reclaim
            if held["status"] == "ACTIVE":
                call("order", api.post("/orders", order(f"order-{i:03d}", sku, 1, f"late-{i:03d}")))
    elif role == 5:  # a receipt of one unit, delivered twice
        receipt = {
            "productRef": sku,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": 1,
            "sourceRef": f"rcpt-{i:03d}",
        }
        for _ in range(2):
            answer = call("receipt", api.post("/inventory/batch", {"entities": [receipt]}))
            assert answer["results"][0]["status"] in ("APPLIED", "UNCHANGED"), answer
    else:  # hold, then order the cart twice (a double click)
        held = call("hold", api.post("/fulfilment-options", cart(f"keep-{i:03d}", sku, 1)))
        if held["status"] == "ACTIVE":
            first = api.post("/orders", order(f"order-{i:03d}", sku, 1, f"keep-{i:03d}"))
            again = api.post("/orders", order(f"order-{i:03d}", sku, 1, f"keep-{i:03d}"))
            calls += [("order", first.status), ("order", again.status)]
            if first.status == 201:
                assert (
                    again.status == 200
                    and again.json()["allocations"] == first.json()["allocations"]
                )
    return calls


class clock_ahead:
    """Tell time ``minutes`` ahead of the real clock in this worker, for the block."""

    def __init__(self, minutes: int) -> None:
        self.offset = timedelta(minutes=minutes)

    def __enter__(self) -> None:
        use_clock(lambda: datetime.now(UTC) + self.offset)

    def __exit__(self, *exc: object) -> None:
        use_clock(None)
