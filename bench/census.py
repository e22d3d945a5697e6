"""DynamoDB calls and capacity per operation, for every route and trigger, warm.

Each operation runs once unrecorded (a warm container: handler imported, configuration and
product caches loaded), then ``repeats`` times inside a recording window that prices every
call (see ``bench.capacity``). Anything an operation needs first (a hold to cancel, an order
to ship) is made before the window opens.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.capacity import READ_OPERATIONS, WRITE_OPERATIONS, Units
from bench.engine import BenchEngine, BenchError, Deployment
from bench.recorder import ApiCall
from bench.retailer import (
    GRID_PRODUCTS,
    HOT_SKU,
    LOCATIONS,
    MAIN_DC,
    SHORT_TIMER_SKU,
    cart,
    expect,
    hold,
    open_shop,
    order,
    snapshot,
    virtual_positions_query,
)
from holdfast.runtime import get_runtime

PRICES_USD_PER_MILLION = {"write_request_units": 0.625, "read_request_units": 0.125}
PRICES_NOTE = (
    "DynamoDB on-demand list prices, us-east-1, Standard table class: $0.625 per million write "
    "request units, $0.125 per million read request units. List prices change: re-check "
    "https://aws.amazon.com/dynamodb/pricing/on-demand/ before quoting."
)
VP_POSITIONS = len(GRID_PRODUCTS) * len(LOCATIONS)
TARGETS = {"fo_create": 2, "order_confirm": 2, "vp_read": math.ceil(VP_POSITIONS / 100)}
EXPIRY_LEAD = timedelta(minutes=2)
"""How far the clock jumps to expire a one-minute hold."""


@dataclass(frozen=True)
class Operation:
    name: str
    what: str
    act: Callable[[Deployment, int, Any], Any]
    check: Callable[[Any], None]
    prepare: Callable[[Deployment, int], Any] = lambda deployment, i: None


def _ok(statuses: tuple[int, ...], **fields: Any) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        if response.status not in statuses:
            raise BenchError(f"answered {response.status}: {response.body[:300]}")
        body = response.json()
        for name, value in fields.items():
            if body.get(name) != value:
                raise BenchError(f"{name} is {body.get(name)!r}, expected {value!r}")

    return check


def _feed_applied(response: Any) -> None:
    _ok((200,))(response)
    statuses = [r["status"] for r in response.json()["results"]]
    if statuses != ["APPLIED"]:
        raise BenchError(f"feed entity not applied: {response.json()['results']}")


def _held(name: str, product: str = HOT_SKU) -> Callable[[Deployment, int], str]:
    """Prepare a one-unit hold for the operation ``name`` to act on."""

    def prepare(deployment: Deployment, i: int) -> str:
        ref = f"census-{name}-{i:04d}"
        hold(deployment.api, ref, product)
        return ref

    return prepare


def _confirmed_order(deployment: Deployment, i: int) -> str:
    ref = f"census-ship-{i:04d}"
    expect(deployment.api.post("/orders", order(ref)), (201,), "POST /orders")
    return ref


def ttl_removal(fo_ref: str, table_name: str) -> dict[str, Any]:
    """A stream record as Lambda delivers DynamoDB TTL deleting a hold's timer item."""
    keys = {"pk": {"S": f"FO#{fo_ref}"}, "sk": {"S": "TIMER"}}
    return {
        "eventID": f"bench-{fo_ref}",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:000000000000:table/{table_name}/stream/2026-01-01T00:00:00.000",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "ApproximateCreationDateTime": 1767225600,
            "Keys": keys,
            "OldImage": {
                **keys,
                "entity": {"S": "TIMER"},
                "foRef": {"S": fo_ref},
                "ttl": {"N": "1767225600"},
            },
            "SequenceNumber": "100000000000000000001",
            "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def _release(deployment: Deployment, i: int, fo_ref: str) -> tuple[dict[str, Any], str]:
    with deployment.clock_ahead(EXPIRY_LEAD):
        answer = deployment.api.invoke(
            "HoldExpiryFunction", {"Records": [ttl_removal(fo_ref, deployment.table_name)]}
        )
    return answer, fo_ref


def _released(outcome: tuple[dict[str, Any], str]) -> None:
    answer, fo_ref = outcome
    if answer != {"batchItemFailures": []}:
        raise BenchError(f"the stream handler answered {answer!r}")
    stored = get_runtime().table.get_cart(fo_ref)
    if stored is None or stored.status != "EXPIRED":
        raise BenchError(f"hold {fo_ref} is {stored.status if stored else 'gone'}, not EXPIRED")


def _sweep(deployment: Deployment, i: int, fo_ref: str) -> dict[str, Any]:
    with deployment.clock_ahead(EXPIRY_LEAD):
        return deployment.api.invoke("HoldSweeperFunction", {})


def _expect_equal(expected: Any) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        if answer != expected:
            raise BenchError(f"answered {answer!r}, expected {expected!r}")

    return check


OPERATIONS = [
    Operation(
        "fo_create",
        "POST /fulfilment-options (1 line, 5 candidate locations)",
        lambda d, i, _: d.api.post("/fulfilment-options", cart(f"census-new-{i:04d}")),
        _ok((201,), status="ACTIVE"),
    ),
    Operation(
        "fo_get",
        "GET /fulfilment-options/{ref}",
        lambda d, i, ref: d.api.get(f"/fulfilment-options/{ref}"),
        _ok((200,), status="ACTIVE"),
        _held("fo_get"),
    ),
    Operation(
        "fo_cancel",
        "DELETE /fulfilment-options/{ref}",
        lambda d, i, ref: d.api.delete(f"/fulfilment-options/{ref}"),
        _ok((200,), status="CANCELLED"),
        _held("fo_cancel"),
    ),
    Operation(
        "fo_extend",
        "POST /fulfilment-options/{ref}/extend",
        lambda d, i, ref: d.api.post(f"/fulfilment-options/{ref}/extend"),
        _ok((200,), extended=True),
        _held("fo_extend"),
    ),
    Operation(
        "order_confirm",
        "POST /orders converting a 1-line hold",
        lambda d, i, ref: d.api.post("/orders", order(f"census-conv-{i:04d}", ref)),
        _ok((201,), convertedFromHold=True),
        _held("order_confirm"),
    ),
    Operation(
        "order_afresh",
        "POST /orders without a hold (1 line)",
        lambda d, i, _: d.api.post("/orders", order(f"census-afresh-{i:04d}")),
        _ok((201,), convertedFromHold=False),
    ),
    Operation(
        "order_ship",
        "POST /orders/{ref}/ship (1 allocation)",
        lambda d, i, ref: d.api.post(f"/orders/{ref}/ship"),
        _ok((200,), status="SHIPPED"),
        _confirmed_order,
    ),
    Operation(
        "vp_read",
        f"GET /virtual-positions ({len(GRID_PRODUCTS)} products x {len(LOCATIONS)} locations)",
        lambda d, i, _: d.api.get("/virtual-positions", query=virtual_positions_query()),
        _ok((200,)),
    ),
    Operation(
        "ip_read",
        "GET /inventory-positions/{ref} (the hot SKU's position and its ledger)",
        lambda d, i, _: d.api.get(f"/inventory-positions/{HOT_SKU}:{MAIN_DC}:DEFAULT"),
        _ok((200,)),
    ),
    Operation(
        "feed_delta",
        "POST /inventory/batch with 1 DELTA",
        lambda d, i, _: d.api.post(
            "/inventory/batch",
            {
                "entities": [
                    {
                        "productRef": GRID_PRODUCTS[1],
                        "locationRef": MAIN_DC,
                        "type": "DELTA",
                        "quantity": 1,
                        "sourceRef": f"census-delta-{i:04d}",
                    }
                ]
            },
        ),
        _feed_applied,
    ),
    Operation(
        "feed_snapshot",
        "POST /inventory/batch with 1 LAST_ON_HAND",
        lambda d, i, _: d.api.post(
            "/inventory/batch", {"entities": [snapshot(GRID_PRODUCTS[0], MAIN_DC, 1_000 + i)]}
        ),
        _feed_applied,
    ),
    Operation(
        "config_put",
        "PUT /channels/{name}",
        lambda d, i, _: d.api.put(
            "/channels/BENCH_SPARE", {"buffer": {"type": "FIXED", "value": i}}
        ),
        _ok((200,)),
    ),
    Operation(
        "release_expired",
        "stream: TTL deleted a 1-line hold's timer (HoldExpiryFunction)",
        _release,
        _released,
        _held("release", SHORT_TIMER_SKU),
    ),
    Operation(
        "sweep",
        "schedule: HoldSweeperFunction with 1 overdue 1-line hold (4 index shards)",
        _sweep,
        _expect_equal({"overdue": 1, "released": 1}),
        _held("sweep", SHORT_TIMER_SKU),
    ),
]


def _keep_configuration_warm() -> None:
    """Reload the configuration if it aged out (outside the recording window): the census
    is of warm containers."""
    configuration = get_runtime().config
    configuration.current()
    configuration.products([HOT_SKU, SHORT_TIMER_SKU])


@dataclass
class Tally:
    calls: list[ApiCall]

    @property
    def modeled(self) -> Units:
        total = Units()
        for call in self.calls:
            if call.modeled is not None:
                total = total + call.modeled
        return total

    def reported(self, operations: frozenset[str]) -> float | None:
        values = [
            c.reported for c in self.calls if c.operation in operations and c.reported is not None
        ]
        return sum(values) if values else None


def measure(deployment: Deployment, operation: Operation, repeats: int) -> list[Tally]:
    """Warm once, then record ``repeats`` runs of the operation."""
    context = operation.prepare(deployment, 0)
    operation.check(operation.act(deployment, 0, context))
    tallies = []
    for i in range(1, repeats + 1):
        context = operation.prepare(deployment, i)
        _keep_configuration_warm()
        with deployment.recorder.window(price=True) as calls:
            answer = operation.act(deployment, i, context)
        try:
            operation.check(answer)
        except BenchError as error:
            raise BenchError(f"{operation.name}: {error}") from None
        failed = [c.operation for c in calls if not c.succeeded]
        if failed:
            raise BenchError(f"{operation.name}: calls failed on the happy path: {failed}")
        tallies.append(Tally(calls))
    return tallies


def run(engine: BenchEngine, repeats: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """``calls_per_op``, ``wcu_per_op``, ``rcu_per_op`` and the cost of a hold's life."""
    calls_per_op: dict[str, Any] = {}
    wcu_per_op: dict[str, Any] = {}
    rcu_per_op: dict[str, Any] = {}
    with engine.fresh_table("census") as deployment:
        open_shop(deployment.api, sparse_grid=engine.copies_tables_on_write)
        for operation in OPERATIONS:
            progress(f"calls_per_op: {operation.name}")
            tallies = measure(deployment, operation, repeats)
            counts = [len(t.calls) for t in tallies]
            busiest = tallies[counts.index(max(counts))]
            entry: dict[str, Any] = {
                "calls": max(counts),
                "by_operation": dict(Counter(c.operation for c in busiest.calls)),
                "what": operation.what,
                "repeats": len(tallies),
            }
            if min(counts) != max(counts):
                entry["calls_range"] = [min(counts), max(counts)]
            transactions = [
                len(c.params["TransactItems"])
                for c in busiest.calls
                if c.operation == "TransactWriteItems"
            ]
            if transactions:
                entry["transaction_items"] = transactions
            if operation.name in TARGETS:
                entry["target"] = TARGETS[operation.name]
                entry["pass"] = entry["calls"] <= TARGETS[operation.name]
            if operation.name == "ip_read":
                entry["ledger_items"] = len(
                    deployment.api.get(f"/inventory-positions/{HOT_SKU}:{MAIN_DC}:DEFAULT").json()[
                        "quantities"
                    ]
                )
            if operation.name == "config_put":
                entry["next_request_extra_calls"] = _cache_refill_calls(deployment)
            calls_per_op[operation.name] = entry
            wcu_per_op[operation.name] = _capacity(tallies, write=True)
            rcu_per_op[operation.name] = _capacity(tallies, write=False)
    return {
        "calls_per_op": calls_per_op,
        "wcu_per_op": wcu_per_op,
        "rcu_per_op": rcu_per_op,
        "cost_per_million_fo_calls_usd": hold_life_cost(wcu_per_op, rcu_per_op),
    }


def _capacity(tallies: list[Tally], *, write: bool) -> dict[str, Any]:
    if write:
        modeled = statistics.mean(t.modeled.total_write for t in tallies)
        index = statistics.mean(t.modeled.index_write for t in tallies)
        reported = [t.reported(WRITE_OPERATIONS) for t in tallies]
        entry: dict[str, float | None] = {
            "modeled": round(modeled, 2),
            "modeled_index": round(index, 2),
        }
    else:
        modeled = statistics.mean(t.modeled.read for t in tallies)
        reported = [t.reported(READ_OPERATIONS) for t in tallies]
        entry = {"modeled": round(modeled, 2)}
    known = [r for r in reported if r is not None]
    entry["engine_reported"] = round(statistics.mean(known), 2) if known else None
    return entry


def _cache_refill_calls(deployment: Deployment) -> int:
    """Extra calls the next hold in the same container makes after a configuration PUT
    (the writer drops its cache at once)."""
    _keep_configuration_warm()
    with deployment.recorder.window() as warm:
        hold(deployment.api, "census-after-config-warm")
    deployment.api.put("/channels/BENCH_SPARE", {"buffer": {"type": "NONE"}})
    with deployment.recorder.window() as cold:
        hold(deployment.api, "census-after-config-cold")
    return len(cold) - len(warm)


def hold_life_cost(wcu_per_op: dict[str, Any], rcu_per_op: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB cost per million one-line holds, over the whole life of a hold: created, then
    either released at expiry or converted into an order."""
    lives = {
        "hold_then_expiry_release": ("fo_create", "release_expired"),
        "hold_then_conversion": ("fo_create", "order_confirm"),
    }
    entry: dict[str, Any] = {}
    for life, steps in lives.items():
        wru = sum(wcu_per_op[s]["modeled"] for s in steps)
        rru = sum(rcu_per_op[s]["modeled"] for s in steps)
        usd = (
            wru * PRICES_USD_PER_MILLION["write_request_units"]
            + rru * PRICES_USD_PER_MILLION["read_request_units"]
        )
        entry[life] = {
            "steps": list(steps),
            "write_request_units": wru,
            "read_request_units": rru,
            "usd": round(usd, 3),
        }
    entry["usd"] = max(v["usd"] for v in entry.values() if isinstance(v, dict))
    entry["prices_usd_per_million"] = PRICES_USD_PER_MILLION
    entry["prices_note"] = PRICES_NOTE
    entry["basis"] = (
        "modeled request units (bench/capacity.py: AWS's size rules on the real item images); "
        "TTL deletes, stream reads by Lambda and storage are not included"
    )
    return entry
