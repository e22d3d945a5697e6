"""What the service costs on top of the DynamoDB call it cannot avoid.

For each route, a warm-up request through the real handler is recorded; the exact
parameters of its essential DynamoDB call are then replayed bare, on the same client, with
fresh refs of the same length (so item sizes and conditions match). Requests and bare calls
alternate — A,B then B,A — so a noisy neighbour hits both sides alike; the figure is the
median request latency over the median bare-call latency.

A route that must read before it writes (a hold reads its counters, a conversion its hold)
cannot be faster than its two calls, so the writes also get a third side: every call the
request made, replayed bare in the same order (``calls_*`` figures). Request ÷ calls is what
Holdfast itself adds: validation, planning, encoding, Powertools and the response.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.engine import BenchEngine, BenchError, Deployment
from bench.recorder import ApiCall
from bench.retailer import cart, expect, hold, open_shop, order, virtual_positions_query
from holdfast_cli.local.api import ApiResponse

WARM_UPS = 3


class Timings:
    """Wall seconds and this process's CPU seconds, one entry per call. CPU time is what the
    Python side spends (client, handler, service); the engine's work runs in another
    process (DynamoDB Local) and is not in it."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []


def interleaved(
    samples: int, request: Callable[[int], Any], bare: Callable[[int], Any]
) -> tuple[Timings, Timings]:
    """Timings per request and per bare call, alternating which goes first."""
    request_times, bare_times = rotated(samples, [request, bare])
    return request_times, bare_times


def rotated(samples: int, sides: list[Callable[[int], Any]]) -> list[Timings]:
    """Timings per side, each sample running every side once, the first side rotating."""
    timings = [Timings() for _ in sides]
    for i in range(samples):
        turn = i % len(sides)
        for index in [*range(turn, len(sides)), *range(turn)]:
            cpu = time.process_time()
            start = time.perf_counter()
            sides[index](i)
            timings[index].wall.append(time.perf_counter() - start)
            timings[index].cpu.append(time.process_time() - cpu)
    return timings


def over_calls(request: Timings, calls: Timings, operations: list[str]) -> dict[str, Any]:
    """The request against every call it made, replayed bare in the same order."""
    request_cpu, calls_cpu = statistics.fmean(request.cpu), statistics.fmean(calls.cpu)
    calls_median = statistics.median(calls.wall)
    return {
        "calls_replayed": operations,
        "calls_median_ms": round(calls_median * 1000, 2),
        "calls_ratio": round(statistics.median(request.wall) / calls_median, 3),
        "calls_cpu_ms": round(calls_cpu * 1000, 3),
        "calls_cpu_ratio": round(request_cpu / calls_cpu, 3) if calls_cpu else None,
    }


def replay(client: Any, calls: list[ApiCall], replacements: dict[str, str]) -> None:
    """Recorded calls again, bare and in order, with ``replacements`` applied to their refs."""
    for call in calls:
        params = _with_refs(call.params, replacements) if replacements else call.params
        method = "".join(f"_{c.lower()}" if c.isupper() else c for c in call.operation)
        getattr(client, method.lstrip("_"))(**params)


def summarize(request: Timings, bare: Timings, **detail: Any) -> dict[str, Any]:
    request_times, bare_times = request.wall, bare.wall
    request_median = statistics.median(request_times)
    bare_median = statistics.median(bare_times)
    request_cpu, bare_cpu = statistics.fmean(request.cpu), statistics.fmean(bare.cpu)
    return {
        "ratio": round(request_median / bare_median, 3),
        "paired_ratio_median": round(
            statistics.median(r / b for r, b in zip(request_times, bare_times, strict=False)), 3
        ),
        "request_median_ms": round(request_median * 1000, 2),
        "bare_median_ms": round(bare_median * 1000, 2),
        "request_p90_ms": round(_quantile(request_times, 0.9) * 1000, 2),
        "bare_p90_ms": round(_quantile(bare_times, 0.9) * 1000, 2),
        "request_cpu_ms": round(request_cpu * 1000, 3),
        "bare_cpu_ms": round(bare_cpu * 1000, 3),
        "cpu_ratio": round(request_cpu / bare_cpu, 3) if bare_cpu else None,
        "samples": len(request_times),
        **detail,
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ref(kind: str, side: str, i: int) -> str:
    """Refs of one fixed length, so a replayed item is exactly as big as the recorded one."""
    return f"bench-{kind}-{side}{i:06d}"


def _with_refs(params: dict[str, Any], replacements: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(params)
    for old, new in replacements.items():
        assert len(old) == len(new), (old, new)
        text = text.replace(old, new)
    return json.loads(text)


def _only(calls: list[ApiCall], operation: str, what: str) -> ApiCall:
    found = [c for c in calls if c.operation == operation]
    if len(found) != 1:
        raise BenchError(
            f"{what} made {len(found)} {operation} calls ({[c.operation for c in calls]}); expected one"
        )
    return found[0]


def _transaction_shape(call: ApiCall) -> str:
    actions = [next(iter(entry)) for entry in call.params["TransactItems"]]
    return f"TransactWriteItems ({len(actions)} items: {', '.join(actions)})"


def fo_create_overhead(deployment: Deployment, samples: int) -> dict[str, Any]:
    """``POST /fulfilment-options`` (one line) ÷ the ``TransactWriteItems`` it issues."""
    api, client = deployment.api, deployment.client
    recorder = deployment.recorder
    for i in range(WARM_UPS):
        hold(api, _ref("fo", "w", i))
    recorded = _ref("fo", "w", WARM_UPS)
    with recorder.window() as calls:
        hold(api, recorded)
    template = _only(calls, "TransactWriteItems", "POST /fulfilment-options")
    bare_params = [
        _with_refs(template.params, {recorded: _ref("fo", "b", i)})
        for i in range(samples + WARM_UPS)
    ]
    for params in bare_params[samples:]:
        client.transact_write_items(**params)
    for i in range(WARM_UPS):
        replay(client, calls, {recorded: _ref("fo", "x", i)})

    answers: list[ApiResponse] = []
    request, bare, replayed = rotated(
        samples,
        [
            lambda i: answers.append(api.post("/fulfilment-options", cart(_ref("fo", "a", i)))),
            lambda i: client.transact_write_items(**bare_params[i]),
            lambda i: replay(client, calls, {recorded: _ref("fo", "c", i)}),
        ],
    )
    _check_holds(answers)
    return summarize(
        request,
        bare,
        bare_call=_transaction_shape(template),
        request_calls=[c.operation for c in calls],
        **over_calls(request, replayed, [c.operation for c in calls]),
    )


def _check_holds(answers: list[ApiResponse]) -> None:
    bad = [a for a in answers if a.status != 201 or a.json()["status"] != "ACTIVE"]
    if bad:
        raise BenchError(
            f"{len(bad)} holds failed while timing, e.g. {bad[0].status} {bad[0].body[:300]}"
        )


def order_confirm_overhead(deployment: Deployment, samples: int) -> dict[str, Any]:
    """``POST /orders`` converting a hold ÷ the ``TransactWriteItems`` it issues. Every
    conversion, timed or bare, converts a hold of its own made beforehand (untimed)."""
    api, client = deployment.api, deployment.client
    recorder = deployment.recorder
    count = samples + WARM_UPS
    for side in ("a", "b", "c"):
        for i in range(count):
            hold(api, _ref("fo", side, i))
    for i in range(WARM_UPS):
        hold(api, _ref("fo", "w", i))
        expect(
            api.post("/orders", order(_ref("or", "w", i), _ref("fo", "w", i))),
            (201,),
            "warm-up order",
        )
    recorded_fo, recorded_order = _ref("fo", "w", WARM_UPS), _ref("or", "w", WARM_UPS)
    hold(api, recorded_fo)
    with recorder.window() as calls:
        expect(api.post("/orders", order(recorded_order, recorded_fo)), (201,), "recorded order")
    template = _only(calls, "TransactWriteItems", "POST /orders (conversion)")
    bare_params = [
        _with_refs(
            template.params, {recorded_fo: _ref("fo", "b", i), recorded_order: _ref("or", "b", i)}
        )
        for i in range(count)
    ]
    for params in bare_params[samples:]:
        client.transact_write_items(**params)

    def calls_of(i: int) -> dict[str, str]:
        return {recorded_fo: _ref("fo", "c", i), recorded_order: _ref("or", "c", i)}

    for i in range(samples, count):
        replay(client, calls, calls_of(i))

    answers: list[ApiResponse] = []
    request, bare, replayed = rotated(
        samples,
        [
            lambda i: answers.append(
                api.post("/orders", order(_ref("or", "a", i), _ref("fo", "a", i)))
            ),
            lambda i: client.transact_write_items(**bare_params[i]),
            lambda i: replay(client, calls, calls_of(i)),
        ],
    )
    bad = [a for a in answers if a.status != 201 or not a.json()["convertedFromHold"]]
    if bad:
        raise BenchError(
            f"{len(bad)} conversions failed while timing, e.g. {bad[0].status} {bad[0].body[:300]}"
        )
    return summarize(
        request,
        bare,
        bare_call=_transaction_shape(template),
        request_calls=[c.operation for c in calls],
        **over_calls(request, replayed, [c.operation for c in calls]),
    )


def vp_read_overhead(deployment: Deployment, samples: int) -> dict[str, Any]:
    """``GET /virtual-positions`` for 20 products × 5 locations ÷ the ``BatchGetItem`` of
    those 100 counters."""
    api, client = deployment.api, deployment.client
    query = virtual_positions_query()
    for _ in range(WARM_UPS):
        expect(api.get("/virtual-positions", query=query), (200,), "GET /virtual-positions")
    with deployment.recorder.window() as calls:
        expect(api.get("/virtual-positions", query=query), (200,), "GET /virtual-positions")
    template = _only(calls, "BatchGetItem", "GET /virtual-positions")
    keys = sum(len(r["Keys"]) for r in template.params["RequestItems"].values())
    for _ in range(WARM_UPS):
        client.batch_get_item(**template.params)

    answers: list[ApiResponse] = []
    times = interleaved(
        samples,
        lambda i: answers.append(api.get("/virtual-positions", query=query)),
        lambda i: client.batch_get_item(**template.params),
    )
    bad = [a for a in answers if a.status != 200]
    if bad:
        raise BenchError(
            f"{len(bad)} reads failed while timing: {bad[0].status} {bad[0].body[:300]}"
        )
    return summarize(
        *times,
        bare_call=f"BatchGetItem ({keys} keys, consistent)",
        request_calls=[c.operation for c in calls],
    )


GRAPHQL_CREATE = """mutation ($input: CreateFulfilmentOptionInput, $executionMode: ExecutionMode) {
  createFulfilmentOption(input: $input, executionMode: $executionMode) { id status
    plans { edges { node { ref status type splitCount
      fulfilments { fulfilmentType locationRef items { productRef availableQuantity requestedQuantity } } } } } } }"""
GRAPHQL_FO_CREATE_TARGET = 1.2


def graphql_fo_create(ref: str) -> dict[str, Any]:
    """The GraphQL twin of :func:`bench.retailer.cart`, as a storefront sends it."""
    body = cart(ref)
    products = [
        {"productRef": line["productRef"], "requestedQuantity": line["quantity"]}
        for line in body["lines"]
    ]
    variables = {
        "input": {
            "ref": ref,
            "type": body["deliveryType"],
            "retailerId": 1,
            "products": products,
            "attributes": [{"name": "channel", "type": "STRING", "value": body["channel"]}],
        },
        "executionMode": "AWAIT_ORCHESTRATION",
    }
    return {"query": GRAPHQL_CREATE, "variables": variables}


def graphql_fo_create_overhead(deployment: Deployment, samples: int) -> dict[str, Any]:
    """The ``createFulfilmentOption`` mutation ÷ ``POST /fulfilment-options``, the same
    one-line hold, interleaved; both must make the same DynamoDB calls."""
    api, recorder = deployment.api, deployment.recorder
    for i in range(WARM_UPS):
        hold(api, _ref("gq", "w", i))
        _check_graphql_hold(api.post("/graphql", graphql_fo_create(_ref("gq", "v", i))))
    with recorder.window() as rest_calls:
        hold(api, _ref("gq", "w", WARM_UPS))
    with recorder.window() as graphql_calls:
        _check_graphql_hold(api.post("/graphql", graphql_fo_create(_ref("gq", "v", WARM_UPS))))
    rest_ops, graphql_ops = [c.operation for c in rest_calls], [c.operation for c in graphql_calls]
    if rest_ops != graphql_ops:
        raise BenchError(f"the mutation made {graphql_ops}, POST /fulfilment-options {rest_ops}")

    answers: list[ApiResponse] = []
    times = interleaved(
        samples,
        lambda i: answers.append(api.post("/graphql", graphql_fo_create(_ref("gq", "a", i)))),
        lambda i: answers.append(api.post("/fulfilment-options", cart(_ref("gq", "b", i)))),
    )
    for answer in answers:
        if answer.json().get("data") is not None:
            _check_graphql_hold(answer)
    _check_holds([a for a in answers if "data" not in a.json()])
    return summarize(
        *times,
        bare_call="POST /fulfilment-options (its REST twin)",
        request_calls=graphql_ops,
        target=GRAPHQL_FO_CREATE_TARGET,
    )


def _check_graphql_hold(answer: ApiResponse) -> None:
    payload = answer.json() if answer.status == 200 else {}
    option = (payload.get("data") or {}).get("createFulfilmentOption") or {}
    if payload.get("errors") or option.get("status") != "ACTIVE":
        raise BenchError(f"a GraphQL hold failed: {answer.status} {answer.body[:300]}")


MEASURES: dict[str, Callable[[Deployment, int], dict[str, Any]]] = {
    "fo_create_overhead": fo_create_overhead,
    "graphql_fo_create_overhead": graphql_fo_create_overhead,
    "order_confirm_overhead": order_confirm_overhead,
    "vp_read_overhead": vp_read_overhead,
}


def run(
    engine: BenchEngine, names: list[str], samples: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The requested overhead measures, each on a fresh table."""
    results: dict[str, Any] = {}
    for name in names:
        with engine.fresh_table(name.removesuffix("_overhead").replace("_", "-")) as deployment:
            open_shop(
                deployment.api,
                grid=name == "vp_read_overhead",
                sparse_grid=engine.copies_tables_on_write,
            )
            progress(f"{name}: {samples} interleaved pairs")
            results[name] = MEASURES[name](deployment, samples)
    return results
