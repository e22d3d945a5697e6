"""A flash sale: C shoppers at once, each holding one unit of the same SKU.

Shoppers are forked worker processes (``holdfast_cli.local.process_map.map_in_processes``), each its
own "execution environment" with its own handlers, runtime and client, as Lambda would run
them. The comparison is the most a single item takes on this engine: a conditional
``UpdateItem`` (``ADD n -1`` if ``n >= 1``) on one counter, from the same processes on the
same client. A third side holds a second SKU whose counter is split over ``--shards`` items
(docs/decisions.md #12), to show its hottest item's writes falling with the shard count.
A fourth side replays a hold's own DynamoDB calls bare (its ``BatchGetItem`` and its
``TransactWriteItems`` with a fresh ref of the same length), so holds ÷ that side is what
the handler path costs at this concurrency, beside what the calls alone sustain.
Every worker runs the same schedule of timed slots — a short warm-up of each side, then the
sides in rotating order — starting each slot together at a barrier, so the sides alternate
and share whatever the machine is doing. A slot's throughput is the operations completed in
it over the time from its first start to its last finish.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.capacity import TableSpec
from bench.engine import BenchEngine, BenchError, Deployment
from bench.overhead import replay
from bench.recorder import ApiCall, CallRecorder, written_keys
from bench.retailer import HOT_SKU, MAIN_DC, PLENTY, cart, expect, open_shop, snapshot
from holdfast.runtime import get_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.process_map import map_in_processes

HOLDS = "holds"
UPDATES = "conditional_updates"
SHARDED_HOLDS = "sharded_holds"
HOLD_CALLS = "hold_calls"
SIDES = (HOLDS, UPDATES, SHARDED_HOLDS, HOLD_CALLS)
SHARDED_SKU = "BENCH_TEE_WHITE_M"
"""The same drop, on a position whose counter is split over ``Schedule.shards`` items."""
COUNTER_KEY = {"pk": {"S": "BENCH#FLASH_COUNTER"}, "sk": {"S": "#COUNTER"}}
BARRIER_TIMEOUT = 120.0
WARM_UP_SECONDS = 1.0


@dataclass(frozen=True)
class Schedule:
    rounds: int
    slot_seconds: float
    table_name: str
    spec: TableSpec
    shards: int = 4

    def slots(self) -> list[tuple[int, str]]:
        """(round, side) in the order every worker runs them; round -1 warms up (not counted)."""
        order = [(-1, side) for side in SIDES]
        for round_index in range(self.rounds):
            turn = round_index % len(SIDES)
            order += [(round_index, side) for side in SIDES[turn:] + SIDES[:turn]]
        return order


# Set in the parent just before the workers are forked; they inherit both.
_schedule: Schedule | None = None
_barrier: Any = None


def _conditional_update(client: Any, table_name: str) -> bool:
    try:
        client.update_item(
            TableName=table_name,
            Key=COUNTER_KEY,
            UpdateExpression="ADD n :minus",
            ConditionExpression="n >= :one",
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":one": {"N": "1"}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _calls_ref(kind: str, index: int, n: int) -> str:
    """Refs of one length for the recorded hold and its replays."""
    return f"flash-{kind}-{index:03d}-{n:08d}"


def _replay_hold(client: Any, calls: list[ApiCall], recorded: str, ref: str) -> bool:
    try:
        replay(client, calls, {recorded: ref})
    except client.exceptions.TransactionCanceledException:
        return False
    return True


def _hold(api: LocalApi, ref: str, product: str = HOT_SKU) -> bool:
    response = api.post("/fulfilment-options", cart(ref, product))
    return response.status == 201 and response.json()["status"] == "ACTIVE"


def shopper(index: int) -> dict[str, Any]:
    """One worker process: warm up, then run every slot of the schedule."""
    schedule, barrier = _schedule, _barrier
    assert schedule is not None and barrier is not None, "run through flash_sale.run"
    try:
        return _shop(index, schedule, barrier)
    except BaseException:
        barrier.abort()  # the other shoppers stop waiting for this one
        raise


def _shop(index: int, schedule: Schedule, barrier: Any) -> dict[str, Any]:
    api = LocalApi()
    client = get_runtime().table._client
    recorder = CallRecorder.attach(client, schedule.spec)
    warm_holds = int(_hold(api, f"flash-warm-{index}"))  # cold start: imports, client, caches
    recorded = _calls_ref("warm", index, 0)
    with recorder.window() as hold_calls:  # a warm hold's calls, replayed by HOLD_CALLS
        warm_holds += _hold(api, recorded)
    warm_sharded = int(_hold(api, f"flash-warm-sharded-{index}", SHARDED_SKU))
    _conditional_update(client, schedule.table_name)
    slots = []
    replayed = 0
    for round_index, side in schedule.slots():
        barrier.wait(BARRIER_TIMEOUT)
        done = failed = 0
        seconds = (
            min(WARM_UP_SECONDS, schedule.slot_seconds)
            if round_index < 0
            else schedule.slot_seconds
        )
        with recorder.window() as calls:
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                if side == HOLDS:
                    ok = _hold(api, f"flash-r{round_index + 1}-{index}-{done + failed}")
                elif side == SHARDED_HOLDS:
                    ok = _hold(
                        api, f"flash-s-r{round_index + 1}-{index}-{done + failed}", SHARDED_SKU
                    )
                elif side == HOLD_CALLS:
                    replayed += 1
                    ok = _replay_hold(
                        client, hold_calls, recorded, _calls_ref("call", index, replayed)
                    )
                else:
                    ok = _conditional_update(client, schedule.table_name)
                done, failed = done + ok, failed + (not ok)
            end = time.monotonic()
        keys = Counter("|".join(key) for key in written_keys(calls, schedule.spec))
        slots.append(
            {
                "round": round_index,
                "side": side,
                "done": done,
                "failed": failed,
                "start": start,
                "end": end,
                "writes": dict(keys),
            }
        )
    return {
        "pid": os.getpid(),
        "warm_holds": warm_holds,
        "warm_sharded": warm_sharded,
        "shards": schedule.shards,
        "slots": slots,
    }


def run(
    engine: BenchEngine,
    concurrency: int,
    rounds: int,
    slot_seconds: float,
    progress: Callable[[str], None],
    shards: int = 4,
) -> dict[str, Any]:
    """``flash_sale_throughput_ratio`` and ``hot_item_writes``."""
    global _schedule, _barrier
    if not engine.shares_state_across_processes:
        reason = (
            "moto keeps its tables in each process's memory: forked shoppers cannot share a table"
        )
        return {
            "flash_sale_throughput_ratio": {"skipped": reason},
            "hot_item_writes": {"skipped": reason},
        }
    with engine.fresh_table("flash") as deployment:
        open_shop(deployment.api, grid=False)
        deployment.api.post(
            "/inventory/batch", {"entities": [snapshot(SHARDED_SKU, MAIN_DC, PLENTY)]}
        )
        expect(
            deployment.api.put(
                f"/products/{SHARDED_SKU}",
                {"category": "BENCH", "counterShards": {MAIN_DC: shards}},
            ),
            (200,),
            f"PUT product {SHARDED_SKU}",
        )
        deployment.client.put_item(
            TableName=deployment.table_name, Item={**COUNTER_KEY, "n": {"N": str(10**12)}}
        )
        _schedule = Schedule(rounds, slot_seconds, deployment.table_name, engine.spec, shards)
        _barrier = multiprocessing.get_context("fork").Barrier(concurrency)
        progress(
            f"flash_sale: {concurrency} shoppers, {rounds} rounds of {slot_seconds:g} s per side, {shards} shards"
        )
        try:
            workers = map_in_processes(shopper, range(concurrency), processes=concurrency)
        finally:
            _schedule, _barrier = None, None
        if len({w["pid"] for w in workers}) != concurrency:
            raise BenchError(
                "a worker process ran two shoppers: the concurrency was lower than asked"
            )
        return _summarize(deployment, workers, concurrency, rounds, slot_seconds)


def _summarize(
    deployment: Deployment,
    workers: list[dict[str, Any]],
    concurrency: int,
    rounds: int,
    slot_seconds: float,
) -> dict[str, Any]:
    per_round: dict[str, list[float]] = {side: [] for side in SIDES}
    writes: dict[str, Counter[str]] = {side: Counter() for side in SIDES}
    busy_seconds: dict[str, float] = dict.fromkeys(SIDES, 0.0)
    done: dict[str, int] = dict.fromkeys(SIDES, 0)
    failed: dict[str, int] = dict.fromkeys(SIDES, 0)
    warm_up: dict[str, int] = dict.fromkeys(SIDES, 0)
    for slot_index in range(len(workers[0]["slots"])):
        slots = [w["slots"][slot_index] for w in workers]
        side = slots[0]["side"]
        if slots[0]["round"] < 0:
            warm_up[side] += sum(s["done"] for s in slots)
            continue
        span = max(s["end"] for s in slots) - min(s["start"] for s in slots)
        completed = sum(s["done"] for s in slots)
        per_round[side].append(completed / span)
        busy_seconds[side] += span
        done[side] += completed
        failed[side] += sum(s["failed"] for s in slots)
        for s in slots:
            writes[side].update(s["writes"])
    holds_per_s = statistics.median(per_round[HOLDS])
    updates_per_s = statistics.median(per_round[UPDATES])
    sharded_per_s = statistics.median(per_round[SHARDED_HOLDS])
    calls_per_s = statistics.median(per_round[HOLD_CALLS])

    # The hot positions' counters must have moved by exactly the holds that succeeded.
    position = f"{HOT_SKU}:{MAIN_DC}:DEFAULT"
    sharded = f"{SHARDED_SKU}:{MAIN_DC}:DEFAULT"
    counters = get_runtime().table.get_positions(
        [position, sharded], {sharded: schedule_shards(workers)}
    )
    holds_total = (
        done[HOLDS]
        + warm_up[HOLDS]
        + done[HOLD_CALLS]
        + warm_up[HOLD_CALLS]
        + sum(w["warm_holds"] for w in workers)
    )
    sharded_total = (
        done[SHARDED_HOLDS] + warm_up[SHARDED_HOLDS] + sum(w["warm_sharded"] for w in workers)
    )

    throughput = {
        "ratio": round(holds_per_s / updates_per_s, 3),
        "holds_per_s": round(holds_per_s, 1),
        "conditional_updates_per_s": round(updates_per_s, 1),
        "per_round": {side: [round(v, 1) for v in values] for side, values in per_round.items()},
        "concurrency": concurrency,
        "rounds": rounds,
        "slot_seconds": slot_seconds,
        "holds": done[HOLDS],
        "holds_failed": failed[HOLDS],
        "updates": done[UPDATES],
        "updates_failed": failed[UPDATES],
        "counter_matches_holds": counters[position].on_hand == PLENTY - holds_total,
        "sharded_holds_per_s": round(sharded_per_s, 1),
        "sharded_ratio": round(sharded_per_s / updates_per_s, 3),
        "sharded_counter_matches_holds": counters[sharded].on_hand == PLENTY - sharded_total,
        "shards": len(counters[sharded].shard_values),
        "sharded_holds": done[SHARDED_HOLDS],
        "sharded_holds_failed": failed[SHARDED_HOLDS],
        "hold_calls_per_s": round(calls_per_s, 1),
        "holds_over_calls": round(holds_per_s / calls_per_s, 3),
        "hold_calls_failed": failed[HOLD_CALLS],
    }
    hot = _hot_items(writes, busy_seconds, done)
    if HOLDS in hot and SHARDED_HOLDS in hot:
        hot["hottest_item_reduction"] = round(
            hot[HOLDS]["hottest_item_writes_per_operation"]
            / hot[SHARDED_HOLDS]["hottest_item_writes_per_operation"],
            2,
        )
    hot["hot_position_after_sale"] = _ledger_read(deployment, position)
    return {"flash_sale_throughput_ratio": throughput, "hot_item_writes": hot}


def schedule_shards(workers: list[dict[str, Any]]) -> int:
    return max(1, max((w.get("shards", 1) for w in workers), default=1))


def _ledger_read(deployment: Deployment, position: str) -> dict[str, Any]:
    """What reading the hot position costs once the sale has left a ledger entry per hold
    (``GET /inventory-positions/{ref}``; a LAST_ON_HAND feed reads the same partition)."""
    with deployment.recorder.window(price=True) as calls:
        response = deployment.api.get(f"/inventory-positions/{position}")
    if response.status != 200:
        raise BenchError(f"GET /inventory-positions/{position} answered {response.status}")
    return {
        "ledger_entries": len(response.json()["quantities"]),
        "query_pages": sum(c.operation == "Query" for c in calls),
        "modeled_rcu": sum(c.modeled.read for c in calls if c.modeled),
    }


def _hot_items(
    writes: dict[str, Counter[str]], busy_seconds: dict[str, float], done: dict[str, int]
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for side, counter in writes.items():
        total = sum(counter.values())
        if not total:
            continue
        ((hottest, hottest_writes),) = counter.most_common(1)
        partitions: Counter[str] = Counter()
        for key, count in counter.items():
            partitions[key.split("|")[1]] += count
        ((hot_partition, partition_writes),) = partitions.most_common(1)
        report[side] = {
            "item_writes": total,
            "distinct_items": len(counter),
            "hottest_item": hottest.split("|", 1)[1],
            "hottest_item_writes": hottest_writes,
            "hottest_item_share": round(hottest_writes / total, 3),
            "hottest_item_writes_per_s": round(hottest_writes / busy_seconds[side], 1),
            "hottest_item_writes_per_operation": round(hottest_writes / max(1, done[side]), 3),
            "hottest_partition": hot_partition,
            "hottest_partition_share": round(partition_writes / total, 3),
        }
    report["note"] = (
        "item writes counted from the recorded TransactWriteItems/UpdateItem parameters; "
        "a hold writes its FO, its timer, a SOFT_RESERVE IQ and the position's counter, so "
        "every hold lands one write on the same counter item and two on its partition; on the "
        "sharded SKU the counter write lands on one of N items (plus rebalancing moves)"
    )
    return report
