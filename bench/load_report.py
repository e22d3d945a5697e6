"""A load run's figures: latency percentiles per kind of request, status classes, refusals,
and the report as text."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from bench.load_run import MIX, Result


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
