"""``python -m bench.profiling`` (``make profile``): where a hold's and an order's CPU goes.

On a fresh table of the bench's retailer (DynamoDB Local by default, so the engine's own work
is in another process and out of the profile; ``--engine moto`` profiles moto too), it warms
the handlers up, then runs ``--requests`` one-line holds (``POST /fulfilment-options``) and as
many conversions (``POST /orders`` of a hold made beforehand, untimed) through the real
handlers under cProfile, and writes to ``--output-dir`` (default ``profiles/``, gitignored):

- ``hold.prof``, ``order.prof``: the raw profiles (``python -m pstats``, snakeviz ...);
- ``hold.txt``, ``order.txt``: the top functions by own time and by cumulative time, and
  own time per layer (handler layer, services/storage/domain, Powertools, pydantic, botocore,
  the local harness ...), in ms per request;
- ``hold.svg``, ``order.svg``: flame graphs by py-spy (``py-spy`` on the PATH, or
  ``uv tool run py-spy``) sampling this process during a second, unprofiled run, unless
  ``--no-flame`` or py-spy cannot attach.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from bench.engine import BenchEngine, EngineName
from bench.retailer import cart, expect, hold, open_shop, order

LAYERS: list[tuple[str, str]] = [
    (
        "handler layer (http, runtime, settings, models, functions)",
        "/holdfast/http.py|/holdfast/runtime.py|/holdfast/settings.py|/holdfast/models.py|/functions/",
    ),
    ("services, storage, domain", "/holdfast/"),
    ("powertools", "aws_lambda_powertools"),
    ("pydantic", "pydantic"),
    ("botocore / boto3 / urllib3", "botocore|boto3|urllib3"),
    ("local harness (holdfast_cli)", "holdfast_cli"),
    ("moto", "moto"),
    ("json", "/json/"),
]


def layer_of(filename: str) -> str:
    for name, patterns in LAYERS:
        if any(pattern in filename for pattern in patterns.split("|")):
            return name
    return "other (stdlib, builtins)"


def by_layer(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Own (not cumulative) time per layer, ms per request."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[layer_of(filename)] += own
    return {
        k: round(v * 1000 / requests, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])
    }


def write_report(stats: pstats.Stats, requests: int, path: Path, title: str) -> dict[str, float]:
    layers = by_layer(stats, requests)
    out = io.StringIO()
    total = sum(layers.values())
    out.write(f"{title}: {requests} requests, {total:.3f} ms of profiled CPU per request\n\n")
    out.write("own time per layer, ms per request\n")
    for name, ms in layers.items():
        out.write(f"  {ms:8.3f}  {name}\n")
    for order_by in ("tottime", "cumulative"):
        out.write(f"\n---- top functions by {order_by} ----\n")
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(order_by).print_stats(45)
    path.write_text(out.getvalue(), encoding="utf-8")
    return layers


def _py_spy() -> list[str] | None:
    if shutil.which("py-spy"):
        return ["py-spy"]
    if shutil.which("uv"):
        return ["uv", "tool", "run", "py-spy"]
    return None


def flame(command: list[str], svg: Path, body: Callable[[], None], err: Any) -> str:
    """Run ``body`` while py-spy samples this process; the outcome in words."""
    spy = subprocess.Popen(
        [
            *command,
            "record",
            "--pid",
            str(os.getpid()),
            "--rate",
            "250",
            "--output",
            str(svg),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)  # uv may fetch py-spy; then it attaches
    if spy.poll() is not None:
        return f"py-spy did not attach: {(spy.stderr.read() if spy.stderr else '').strip()[-300:]}"
    body()
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.kill()
        return "py-spy did not finish"
    return str(svg) if svg.exists() else f"py-spy wrote nothing (exit {spy.returncode})"


def _each(one: Callable[[int, str], object], requests: int, side: str) -> None:
    """``one`` for each request number, on ``side``."""
    for i in range(requests):
        one(i, side)


def run(
    engine_name: EngineName, requests: int, output: Path, with_flame: bool, err: Any
) -> dict[str, Any]:
    output.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    with (
        BenchEngine(
            engine_name, None, lambda m: print(f"[profile] {m}", file=err, flush=True)
        ) as engine,
        engine.fresh_table("profile") as deployment,
    ):
        api = deployment.api
        open_shop(api, grid=False)
        for i in range(20):  # warm: handlers imported, models built, caches loaded
            hold(api, f"pw-{i:07d}")
            expect(
                api.post("/orders", order(f"ow-{i:07d}", f"pw-{i:07d}")),
                (201,),
                "warm-up order",
            )
        holds: dict[str, Callable[[int, str], object]] = {
            "hold": lambda i, side: expect(
                api.post("/fulfilment-options", cart(f"p{side}-{i:07d}")), (201,), "hold"
            ),
            "order": lambda i, side: expect(
                api.post("/orders", order(f"o{side}-{i:07d}", f"c{side}-{i:07d}")),
                (201,),
                "order",
            ),
        }
        for side in ("a", "b"):  # the holds the conversions convert, made untimed
            for i in range(requests):
                hold(api, f"c{side}-{i:07d}")
        spy = _py_spy() if with_flame else None
        for name, one in holds.items():
            profile = cProfile.Profile(time.process_time)  # CPU, not waiting on the engine
            cpu = time.process_time()
            profile.enable()
            for i in range(requests):
                one(i, "a")
            profile.disable()
            cpu_ms = (time.process_time() - cpu) * 1000 / requests
            profile.dump_stats(output / f"{name}.prof")
            layers = write_report(
                pstats.Stats(profile), requests, output / f"{name}.txt", f"POST {name}"
            )
            summary[name] = {
                "cpu_ms_per_request_under_cprofile": round(cpu_ms, 3),
                "own_ms_by_layer": layers,
                "report": str(output / f"{name}.txt"),
            }
            if spy:
                summary[name]["flame_graph"] = flame(
                    spy,
                    output / f"{name}.svg",
                    functools.partial(_each, one, requests, "b"),
                    err,
                )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profiling", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--engine", choices=["dynamodb-local", "moto"], default="dynamodb-local")
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="holds and conversions profiled (default 300 each)",
    )
    parser.add_argument(
        "--output-dir", default="profiles", help="where the profiles go (default profiles/)"
    )
    parser.add_argument(
        "--no-flame", dest="flame", action="store_false", help="skip py-spy's flame graphs"
    )
    args = parser.parse_args(argv)
    err = sys.stderr
    with redirect_stdout(sys.stderr):  # the handlers' logs
        summary = run(args.engine, args.requests, Path(args.output_dir), args.flame, err)
    for name, entry in summary.items():
        print(
            f"{name}: {entry['cpu_ms_per_request_under_cprofile']} ms CPU per request under cProfile -> {entry['report']}"
        )
        for layer, ms in entry["own_ms_by_layer"].items():
            print(f"  {ms:8.3f} ms  {layer}")
        if "flame_graph" in entry:
            print(f"  flame graph: {entry['flame_graph']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
