"""``python -m bench``: run the measures, print one JSON object or a table on stdout.

Progress goes to stderr, and so does anything the handlers print while the bench runs
(Powertools logs and metrics write to stdout), so ``--json`` output is exactly one object.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from datetime import UTC, datetime
from typing import Any, TextIO

from bench import census, cold_import, flash_sale, load_workers, overhead
from bench.engine import BenchEngine, EngineName
from bench.report import render
from holdfast_cli.console import console_for, is_terminal

OVERHEAD_MEASURES = list(overhead.MEASURES)
CENSUS_MEASURES = ["calls_per_op", "wcu_per_op", "rcu_per_op", "cost_per_million_fo_calls_usd"]
FLASH_MEASURES = ["flash_sale_throughput_ratio", "hot_item_writes"]
IMPORT_MEASURES = ["cold_import_ratio"]
LOAD_MEASURES = ["load_by_workers"]
MEASURES = OVERHEAD_MEASURES + CENSUS_MEASURES + IMPORT_MEASURES + FLASH_MEASURES + LOAD_MEASURES

ENGINE_NOTES = {
    "moto": "moto is an in-process Python mock: its latencies, ratios and capacity reports say "
    "little about DynamoDB; only the call counts carry over. Flash-sale measures are skipped.",
    "dynamodb-local": "DynamoDB Local is a Java/SQLite emulator on this machine: absolute times "
    "are not DynamoDB's; ratios measured side by side are the figures to compare.",
    "endpoint": "an engine at the given endpoint; ratios are measured side by side on it.",
}
CAPACITY_NOTE = (
    "wcu_per_op/rcu_per_op 'modeled' apply DynamoDB's published size rules to the item images "
    "each call touched (read before and after it on a separate client); 'engine_reported' is the "
    "engine's ReturnConsumedCapacity=TOTAL. DynamoDB Local 2.6.1 returns ConsumedCapacity for every "
    "call, but prices a TransactWriteItems on the transaction's total size (two small Puts cost 4 "
    "WCU, like one), and moto returns none for transactions: cost uses the modeled figures."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Holdfast's benchmark: every figure is a ratio measured side by side in one run "
        "(or a count), so a noisy machine hits both sides alike. See bench/README.md.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables"
    )
    parser.add_argument(
        "--samples",
        type=_positive,
        default=50,
        help="interleaved pairs per overhead measure (default 50)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        help="flash-sale shoppers (forked processes, default 8)",
    )
    parser.add_argument(
        "--only",
        type=_names,
        default=MEASURES,
        metavar="NAME[,NAME]",
        help=f"measures to run, from: {', '.join(MEASURES)}",
    )
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument(
        "--engine",
        choices=["dynamodb-local", "moto"],
        default=None,
        help="dynamodb-local (default; started and stopped by the bench) or moto (numbers mean little)",
    )
    engine.add_argument("--endpoint-url", help="use an already running DynamoDB-compatible engine")
    parser.add_argument(
        "--import-rounds",
        type=_positive,
        default=5,
        help="cold imports per handler, best of N (default 5)",
    )
    parser.add_argument(
        "--flash-rounds",
        type=_positive,
        default=3,
        help="flash-sale rounds, each one slot per side (default 3)",
    )
    parser.add_argument(
        "--flash-seconds", type=float, default=2.0, help="seconds per flash-sale slot (default 2)"
    )
    parser.add_argument(
        "--shards",
        type=_positive,
        default=4,
        help="counter shards of the flash sale's sharded SKU (default 4)",
    )
    parser.add_argument(
        "--load-workers",
        type=_counts,
        default=load_workers.DEFAULT_WORKERS,
        metavar="N[,N]",
        help="holdfast dev --workers counts of load_by_workers (default 1,4,8)",
    )
    parser.add_argument(
        "--load-requests",
        type=_positive,
        default=600,
        help="requests per load run in load_by_workers (default 600, from 30 clients)",
    )
    parser.add_argument("--output", metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument(
        "--repeats",
        type=_positive,
        default=None,
        help="recorded runs per operation in calls_per_op (default min(3, samples))",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _counts(text: str) -> tuple[int, ...]:
    return tuple(_positive(part) for part in text.split(",") if part.strip())


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MEASURES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown measure {', '.join(unknown) or '(none)'}; choose from {', '.join(MEASURES)}"
        )
    return [n for n in MEASURES if n in names]


class Progress:
    """Timestamped progress lines on stderr; on a terminal the time is dimmed and the step
    in bold (rich honours ``NO_COLOR``), piped it is plain text."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._start = time.monotonic()
        self._console = console_for(stream) if is_terminal(stream) else None

    def __call__(self, message: str) -> None:
        stamp = f"[bench {time.monotonic() - self._start:6.1f}s]"
        if self._console is None:
            print(f"{stamp} {message}", file=self._stream, flush=True)
            return
        from rich.markup import escape

        self._console.print(f"[dim]{stamp}[/dim] [bold]{escape(message)}[/bold]")


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run the requested measures; answer the report (measures, targets, notes, errors)."""
    started = time.monotonic()
    engine_name: EngineName = "endpoint" if args.endpoint_url else (args.engine or "dynamodb-local")
    wanted = set(args.only)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    meta: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": _load_average(),
        "samples": args.samples,
        "concurrency": args.concurrency,
    }

    def attempt(names: list[str], measure: Callable[[], dict[str, Any]]) -> None:
        try:
            results.update({k: v for k, v in measure().items() if k in wanted})
        except Exception as error:  # one broken measure must not hide the others
            progress(f"FAILED {', '.join(names)}: {type(error).__name__}: {error}")
            for name in names:
                errors[name] = f"{type(error).__name__}: {error}"

    if wanted & set(IMPORT_MEASURES):
        attempt(
            IMPORT_MEASURES,
            lambda: {"cold_import_ratio": cold_import.run(args.import_rounds, progress)},
        )
    needs_engine = wanted - set(IMPORT_MEASURES)
    if needs_engine:
        with BenchEngine(engine_name, args.endpoint_url, progress) as engine:
            meta["engine"] = {
                "name": engine_name,
                "version": engine.version,
                "note": ENGINE_NOTES[engine_name],
            }
            if engine.endpoint_url and engine_name == "endpoint":
                meta["engine"]["endpoint_url"] = engine.endpoint_url
            if wanted & set(CENSUS_MEASURES):
                repeats = args.repeats or min(3, args.samples)
                chosen = [n for n in CENSUS_MEASURES if n in wanted]
                attempt(chosen, lambda: census.run(engine, repeats, progress))
            for name in OVERHEAD_MEASURES:
                if name in wanted:
                    attempt(
                        [name],
                        functools.partial(overhead.run, engine, [name], args.samples, progress),
                    )
            if wanted & set(FLASH_MEASURES):
                chosen = [n for n in FLASH_MEASURES if n in wanted]
                attempt(
                    chosen,
                    lambda: flash_sale.run(
                        engine,
                        args.concurrency,
                        args.flash_rounds,
                        args.flash_seconds,
                        progress,
                        args.shards,
                    ),
                )
            if "load_by_workers" in wanted:
                attempt(LOAD_MEASURES, lambda: {"load_by_workers": _load(engine, args, progress)})
    meta["load_average_at_end"] = _load_average()
    meta["duration_s"] = round(time.monotonic() - started, 1)
    report: dict[str, Any] = {"meta": meta}
    report.update({name: results[name] for name in MEASURES if name in results})
    report.update(cpu_per_request(results))
    report.update(
        {
            k: v
            for k, v in results.get("load_by_workers", {}).items()
            if k.startswith("load_") and k != "load_average"
        }
    )
    report["targets"] = targets(results)
    report["notes"] = _notes(results)
    report["errors"] = errors
    return report


def _load(
    engine: BenchEngine, args: argparse.Namespace, progress: Callable[[str], None]
) -> dict[str, Any]:
    """``holdfast dev --workers N`` under load at each N, beside the engine's ceiling."""
    if not engine.endpoint_url:
        return {"skipped": "needs an engine holdfast dev can reach over HTTP (not moto)"}
    from bench.load_run import Options

    progress(
        f"load_by_workers: {args.load_requests} requests from 30 clients at --workers "
        f"{','.join(map(str, args.load_workers))}"
    )
    # On a fresh engine of its own unless one was given: the measures before it leave the
    # bench's engine with thousands of items and tables made and dropped, and its ceiling a
    # third of a fresh one's.
    options = Options(requests=args.load_requests, clients=30, endpoint_url=args.endpoint_url)
    return load_workers.compare(options, args.load_workers, ceiling_seconds=3.0, err=sys.stderr)


def cpu_per_request(results: dict[str, Any]) -> dict[str, Any]:
    """This process's CPU per hold through the handler and per bare call, from the same
    interleaved run as ``fo_create_overhead`` (the engine's own CPU is in another process)."""
    hold = results.get("fo_create_overhead")
    if not hold or "request_cpu_ms" not in hold:
        return {}
    figures = {
        "handler_cpu_ms_per_hold": hold["request_cpu_ms"],
        "bare_cpu_ms_per_call": hold["bare_cpu_ms"],
        "handler_cpu_ratio": hold["cpu_ratio"],
    }
    if "calls_cpu_ms" in hold:
        figures["hold_calls_cpu_ms"] = hold["calls_cpu_ms"]
        figures["handler_cpu_over_calls"] = hold["calls_cpu_ratio"]
        figures["holdfast_cpu_ms_per_hold"] = round(
            hold["request_cpu_ms"] - hold["calls_cpu_ms"], 3
        )
    conversion = results.get("order_confirm_overhead")
    if conversion and "request_cpu_ms" in conversion:
        figures["handler_cpu_ms_per_order"] = conversion["request_cpu_ms"]
        figures["order_cpu_ratio"] = conversion["cpu_ratio"]
        if "calls_cpu_ms" in conversion:
            figures["order_calls_cpu_ms"] = conversion["calls_cpu_ms"]
            figures["order_cpu_over_calls"] = conversion["calls_cpu_ratio"]
    return figures


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure with a target, and whether it meets it."""
    checks = []
    for op, entry in results.get("calls_per_op", {}).items():
        if "target" in entry:
            checks.append(
                {
                    "name": f"calls_per_op.{op}",
                    "value": entry["calls"],
                    "limit": entry["target"],
                    "pass": entry["pass"],
                }
            )
    graphql = results.get("graphql_fo_create_overhead")
    if graphql:
        checks.append(
            {
                "name": "graphql_fo_create_overhead",
                "value": graphql["ratio"],
                "limit": graphql["target"],
                "pass": graphql["ratio"] <= graphql["target"],
            }
        )
    for path, entry in results.get("cold_import_ratio", {}).get("handlers", {}).items():
        checks.append(
            {
                "name": f"cold_import_ratio[{path}]",
                "value": entry.get("ratio_over_graphql_floor", entry["ratio"]),
                "limit": cold_import.TARGET,
                "pass": entry["pass"],
            }
        )
    return checks


def _notes(results: dict[str, Any]) -> list[str]:
    notes = []
    if (
        "wcu_per_op" in results
        or "rcu_per_op" in results
        or "cost_per_million_fo_calls_usd" in results
    ):
        notes.append(CAPACITY_NOTE)
    if "cost_per_million_fo_calls_usd" in results:
        notes.append(census.PRICES_NOTE)
    return notes


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = sys.stdout
    progress = Progress(sys.stderr)
    with redirect_stdout(sys.stderr):
        report = run(args, progress)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(json.dumps(report, indent=2) + "\n")
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(render(report))
    out.flush()
    return 1 if report["errors"] else 0
