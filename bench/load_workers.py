"""The load run at several ``holdfast dev --workers`` counts, beside the engine's own ceiling.

For each worker count N, on one DynamoDB Local shared by every run (or ``--endpoint-url``),
in a table of its own: the load run of :mod:`bench.load` against ``holdfast dev --workers N``,
then the **ceiling**: N processes issuing bare DynamoDB calls back to back for a few seconds,
as many in flight as the server lets into its handlers. The bare mix follows the load's: 40 %
consistent ``BatchGetItem`` of 1–5 keys (the reads), 60 % conditional ``UpdateItem`` of one
item (every hold, cancel and order writes). A request through the handlers makes one to three
such calls and the client's own HTTP work, so ``load_rps`` ÷ ``ceiling_calls_per_s`` says how
much of the engine's ceiling the service reaches at that concurrency.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TextIO

from bench.load import run_load
from bench.load_report import latency_summary
from bench.load_run import Options

DEFAULT_WORKERS = (1, 4, 8)
CEILING_SECONDS = 4.0
CEILING_ITEMS = 40


def compare(
    options: Options,
    worker_counts: Sequence[int] = DEFAULT_WORKERS,
    *,
    ceiling_seconds: float = CEILING_SECONDS,
    err: TextIO = sys.stderr,
) -> dict[str, Any]:
    """One load run and one ceiling per worker count; the rows and a flat summary."""
    from holdfast_cli.local.engine import LocalEngine

    local = None
    endpoint = options.endpoint_url
    if endpoint is None:
        print("load: starting DynamoDB Local (shared by every run) ...", file=err, flush=True)
        local = LocalEngine("dynamodb-local", memory_mb=512, lambda_environment=False).start()
        endpoint = local.endpoint_url or ""
    rows: dict[str, Any] = {}
    try:
        for workers in worker_counts:
            table = f"holdfast-load-{workers}w-{uuid.uuid4().hex[:6]}"
            run_options = replace(
                options,
                endpoint_url=endpoint,
                table=table,
                workers=workers,
                engine_pid=local.pid if local is not None else options.engine_pid,
            )
            print(f"load: --workers {workers}", file=err, flush=True)
            report = run_load(run_options, err=err)
            print(f"load: engine ceiling at concurrency {workers}", file=err, flush=True)
            ceiling = engine_ceiling(endpoint, table, workers, ceiling_seconds)
            rows[str(workers)] = {"load": report, "ceiling": ceiling}
            if local is None:
                _delete_table(endpoint, table)
    finally:
        if local is not None:
            local.close()
    return {"load_average": _load_average(), "by_workers": rows, **flatten(rows)}


def flatten(rows: dict[str, Any]) -> dict[str, Any]:
    """``load_p50_ms``, ``load_p99_ms``, ``load_rps`` and the ceiling's, keyed by workers."""
    flat: dict[str, dict[str, Any]] = {
        "load_rps": {},
        "load_p50_ms": {},
        "load_p95_ms": {},
        "load_p99_ms": {},
        "ceiling_calls_per_s": {},
        "ceiling_p50_ms": {},
        "ceiling_p99_ms": {},
        "load_rps_over_ceiling": {},
        "load_cores_busy": {},
        "load_ok": {},
    }
    for workers, row in rows.items():
        load, ceiling = row["load"], row["ceiling"]
        latency = load["latency"]["all"]
        flat["load_rps"][workers] = load["throughput_rps"]
        flat["load_p50_ms"][workers] = latency["p50_ms"]
        flat["load_p95_ms"][workers] = latency["p95_ms"]
        flat["load_p99_ms"][workers] = latency["p99_ms"]
        flat["ceiling_calls_per_s"][workers] = ceiling["calls_per_s"]
        flat["ceiling_p50_ms"][workers] = ceiling["latency"]["p50_ms"]
        flat["ceiling_p99_ms"][workers] = ceiling["latency"]["p99_ms"]
        flat["load_rps_over_ceiling"][workers] = round(
            load["throughput_rps"] / ceiling["calls_per_s"], 3
        )
        flat["load_cores_busy"][workers] = load.get("cpu_per_request", {}).get("cores_busy")
        flat["load_ok"][workers] = load["ok"]
    return flat


def engine_ceiling(endpoint: str, table: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """Bare calls per second from ``concurrency`` processes, each on a client of its own."""
    client = _client(endpoint)
    keys = [_key(n) for n in range(CEILING_ITEMS)]
    for key in keys:
        client.put_item(TableName=table, Item={**key, "n": {"N": "1000000000"}})
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 1.0  # every process starts together
    with context.Pool(concurrency) as pool:
        per_process = pool.starmap(
            _bare_calls, [(endpoint, table, start_at, seconds, n) for n in range(concurrency)]
        )
    latencies = [s for one in per_process for s in one]
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / seconds, 1),
        "latency": latency_summary(latencies),
        "mix": "40 % BatchGetItem of 1-5 keys (consistent), 60 % conditional UpdateItem of one item",
    }


def _bare_calls(
    endpoint: str, table: str, start_at: float, seconds: float, number: int
) -> list[float]:
    client = _client(endpoint)
    rng = random.Random(number)
    client.describe_table(TableName=table)  # connect before the clock starts
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while True:
        began = time.perf_counter()
        if began >= deadline:
            return latencies
        if rng.random() < 0.4:
            keys = [_key(n) for n in rng.sample(range(CEILING_ITEMS), rng.randint(1, 5))]
            client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        else:
            client.update_item(
                TableName=table,
                Key=_key(rng.randrange(CEILING_ITEMS)),
                UpdateExpression="ADD n :minus",
                ConditionExpression="n >= :one",
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":one": {"N": "1"}},
            )
        latencies.append(time.perf_counter() - began)


def _key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"LOADCEILING#{n:03d}"}, "sk": {"S": "COUNTER"}}


def _client(endpoint: str) -> Any:
    from holdfast_cli.local.aws_credentials import dynamodb_client

    return dynamodb_client(endpoint)


def _delete_table(endpoint: str, table: str) -> None:
    try:
        _client(endpoint).delete_table(TableName=table)
    except Exception:  # the run's figures stand; a leftover table on a shared engine is harmless
        pass


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def render(report: dict[str, Any]) -> str:
    lines = [
        f"load average at the end: {report['load_average']}",
        "workers   req/s    p50    p95    p99 | ceiling calls/s  p50  p99 | req/s ÷ ceiling  ok",
    ]
    for workers, row in report["by_workers"].items():
        load, ceiling = row["load"], row["ceiling"]
        latency = load["latency"]["all"]
        lines.append(
            f"{workers:>7} {load['throughput_rps']:>7} {latency['p50_ms']:>6} {latency['p95_ms']:>6} "
            f"{latency['p99_ms']:>6} | {ceiling['calls_per_s']:>15} {ceiling['latency']['p50_ms']:>4} "
            f"{ceiling['latency']['p99_ms']:>4} | {report['load_rps_over_ceiling'][workers]:>15}  {load['ok']}"
        )
    lines += [
        "",
        "CPU ms per request by process while the requests ran, and the cores they kept busy",
        "workers  clients   server  workers   engine  cores busy",
    ]
    for workers, row in report["by_workers"].items():
        cpu = row["load"].get("cpu_per_request", {})
        cells = [cpu.get(f"{n}_cpu_ms", "-") for n in ("clients", "server", "workers", "engine")]
        lines.append(
            f"{workers:>7} "
            + " ".join(f"{c:>8}" for c in cells)
            + f"  {cpu.get('cores_busy', '-'):>10}"
        )
    return "\n".join(lines)
