"""Cold-start cost of each handler module, against a minimal handler on the same fixed stack.

Each run is a fresh interpreter, with the handler's folder first on ``sys.path`` and the
environment Lambda and the template give a function, so nothing is cached in memory (``.pyc``
files are, as in a deployed package). The floor is the smallest handler the stack allows: a
boto3 DynamoDB client, a Powertools HTTP resolver with validation and one route taking one
pydantic body model, a Logger and Metrics (:data:`FLOOR`). A handler's run imports its module
and then builds what its first request would (the runtime and every service the module
reaches with ``get_runtime().<service>``), since the floor makes its client at import.

Handlers run with the stack's ``Tracing`` off, the import a retailer who turns it off pays; what
tracing adds is ``tracer_import_ms``, the Tracer's own cost after the floor, measured in its own
interpreter every round (docs/deploy.md).

Floor runs are spread between handler runs, every round; the figure per handler is its best
time over the best floor time. For the worst handler over the target, one more interpreter
runs the floor first and then the handler under ``-X importtime``, naming what it adds.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from holdfast_cli.local.template import PROJECT_ROOT, functions, global_environment

TARGET = 1.15

FLOOR = """
import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, Field


class Body(BaseModel):
    ref: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)


logger = Logger()
metrics = Metrics()
client = boto3.client("dynamodb")
app = APIGatewayHttpResolver(enable_validation=True)


@app.post("/items")
def create(body: Body) -> dict:
    return body.model_dump()
"""
"""The minimal handler on the fixed stack every Holdfast HTTP function needs."""

_BASELINE = f"""
import time
start = time.perf_counter()
exec(compile({FLOOR!r}, "floor", "exec"), {{"__name__": "floor"}})
print(repr(time.perf_counter() - start))
"""

GRAPHQL_FLOOR = (
    FLOOR
    + """
import graphql

schema = graphql.build_schema("type Query { ok: Boolean }")
"""
)
"""The floor of a GraphQL function: the same stack plus the GraphQL library it cannot do
without (graphql-core, the lightest measured, docs/decisions.md) and a one-field schema."""

GRAPHQL_MODULE = "functions/graphql/app.py"

_GRAPHQL_BASELINE = f"""
import time
start = time.perf_counter()
exec(compile({GRAPHQL_FLOOR!r}, "floor", "exec"), {{"__name__": "floor"}})
print(repr(time.perf_counter() - start))
"""

_HANDLER = """
import importlib, sys, time
sys.path.insert(0, {code_uri!r})
start = time.perf_counter()
importlib.import_module({module!r})
if {services!r} is not None:
    from holdfast.runtime import get_runtime
    runtime = get_runtime()
    for name in {services!r}:
        getattr(runtime, name)
print(repr(time.perf_counter() - start))
"""

_TRACER = f"""
import time
exec(compile({FLOOR!r}, "floor", "exec"), {{"__name__": "floor"}})
start = time.perf_counter()
from aws_lambda_powertools import Tracer
Tracer()
print(repr(time.perf_counter() - start))
"""
"""What a function with tracing on adds: Powertools Tracer with the X-Ray SDK, which patches
botocore (the rest of the floor already imported)."""

_WARM_UP = """
import importlib, sys
for code_uri, module in {paths!r}:
    sys.path.insert(0, code_uri)
    importlib.import_module(module)
    sys.path.pop(0)
    sys.modules.pop(module)
"""

_MARK = "holdfast-bench: handler import starts"
_BREAKDOWN = """
import importlib, sys
exec(compile({floor!r}, "floor", "exec"), {{"__name__": "floor"}})
sys.stderr.write({mark!r} + "\\n")
sys.stderr.flush()
sys.path.insert(0, {code_uri!r})
importlib.import_module({module!r})
if {services!r} is not None:
    from holdfast.runtime import get_runtime
    runtime = get_runtime()
    for name in {services!r}:
        getattr(runtime, name)
"""

_RUNTIME_USE = re.compile(r"get_runtime\(\)\.(\w+)")
_CONTEXT_USE = re.compile(r"\bruntime\.(holds|orders|inventory|configuration|signals)\b")


@dataclass(frozen=True)
class HandlerModule:
    path: str  # relative to the project, e.g. functions/orders/app.py
    code_uri: Path
    module: str
    function_names: tuple[str, ...]

    def services(self) -> list[str] | None:
        """The runtime attributes the module reaches (``get_runtime().holds`` ...), or
        ``None`` if it never builds a runtime."""
        source = (PROJECT_ROOT / self.path).read_text(encoding="utf-8")
        if "get_runtime" not in source:
            return None
        used = set(_RUNTIME_USE.findall(source))
        if "holdfast.graphql" in source:  # its resolvers reach the services through a context
            for resolver in (PROJECT_ROOT / "layers/holdfast/holdfast/graphql").glob("*.py"):
                used |= set(_CONTEXT_USE.findall(resolver.read_text(encoding="utf-8")))
        return sorted(used)

    def script(self, template: str, **extra: Any) -> str:
        return template.format(
            code_uri=str(self.code_uri), module=self.module, services=self.services(), **extra
        )


def handler_modules() -> list[HandlerModule]:
    """Every distinct handler module template.yaml deploys."""
    found: dict[Path, HandlerModule] = {}
    for spec in functions().values():
        module = spec.handler.rpartition(".")[0]
        file = spec.code_uri / f"{module.replace('.', '/')}.py"
        known = found.get(file)
        names = (*(known.function_names if known else ()), spec.name)
        found[file] = HandlerModule(
            str(file.relative_to(PROJECT_ROOT)), spec.code_uri, module, names
        )
    return list(found.values())


def lambda_environment(module: HandlerModule, tracing: bool = False) -> dict[str, str]:
    """What a deployed function's process sees (template Globals + Lambda's own variables),
    with the stack's ``Tracing`` parameter off unless ``tracing``."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": module.function_names[0],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(module.code_uri),
        "TABLE_NAME": "holdfast-bench-cold",
        "CONFIG_CACHE_SECONDS": "30",
        **global_environment(),
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
    }
    if os.environ.get("PYTHONPATH"):
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return environment


def _run(script: str, environment: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *flags, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import failed: {result.stderr.strip()[-800:]}")
    return result


def _seconds(script: str, environment: dict[str, str]) -> float:
    return float(_run(script, environment).stdout.strip().splitlines()[-1])


def additions(module: HandlerModule, top: int = 6) -> dict[str, Any]:
    """What importing the handler adds after the baseline, by top-level package (self time:
    a module's own code, e.g. the pydantic models it defines, not what it imports)."""
    script = module.script(_BREAKDOWN, mark=_MARK, floor=FLOOR)
    lines = _run(script, lambda_environment(module), "-X", "importtime").stderr.splitlines()
    started = False
    by_package: dict[str, int] = defaultdict(int)
    count = 0
    for line in lines:
        if _MARK in line:
            started = True
            continue
        if not started or not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not self_us.isdigit():
            continue
        count += 1
        by_package[name.split(".")[0]] += int(self_us)
    ranked = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)
    return {
        "modules_added": count,
        "self_ms_by_package": {name: round(us / 1000, 1) for name, us in ranked[:top]},
    }


def run(rounds: int, progress: Callable[[str], None]) -> dict[str, Any]:
    modules = handler_modules()
    baseline_env = lambda_environment(modules[0])
    # Warm-up (not timed): one interpreter imports every handler, writing the .pyc files all
    # later interpreters read, as a deployed package ships them.
    progress("cold_import_ratio: warm-up (writes .pyc files)")
    _run(_WARM_UP.format(paths=[(str(m.code_uri), m.module) for m in modules]), baseline_env)
    times: dict[str, list[float]] = {m.path: [] for m in modules}
    baseline: list[float] = []
    tracer: list[float] = []
    graphql_baseline: list[float] = []
    # A baseline run before every half of the handlers: never more than a few runs apart.
    stride = max(1, math.ceil(len(modules) / 2))
    for round_index in range(rounds):
        progress(f"cold_import_ratio: round {round_index + 1}/{rounds}")
        shift = round_index % len(modules)
        for position, module in enumerate(modules[shift:] + modules[:shift]):
            if position % stride == 0:
                baseline.append(_seconds(_BASELINE, baseline_env))
            times[module.path].append(_seconds(module.script(_HANDLER), lambda_environment(module)))
        tracer.append(_seconds(_TRACER, lambda_environment(modules[0], tracing=True)))
        graphql_baseline.append(_seconds(_GRAPHQL_BASELINE, baseline_env))
    best_baseline = min(baseline)
    handlers: dict[str, Any] = {}
    for module in modules:
        best = min(times[module.path])
        ratio = best / best_baseline
        handlers[module.path] = {
            "functions": list(module.function_names),
            "best_ms": round(best * 1000, 1),
            "ratio": round(ratio, 3),
            "floor_best_ms": round(best_baseline * 1000, 1),
            "builds": module.services(),
            "pass": ratio <= TARGET,
        }
    if GRAPHQL_MODULE in handlers:
        # Judged against the floor of its own kind of function; its ratio to the REST
        # floor stays reported.
        entry, floor = handlers[GRAPHQL_MODULE], min(graphql_baseline)
        entry["graphql_floor_best_ms"] = round(floor * 1000, 1)
        entry["ratio_over_graphql_floor"] = round(entry["best_ms"] / 1000 / floor, 3)
        entry["pass"] = entry["ratio_over_graphql_floor"] <= TARGET
    worst_path = max(handlers, key=lambda path: _judged_ratio(handlers[path]))
    worst = handlers[worst_path]
    if not worst["pass"]:
        progress(f"cold_import_ratio: what {worst_path} adds (-X importtime)")
        worst["adds"] = additions(next(m for m in modules if m.path == worst_path))
    return {
        "ratio": _judged_ratio(worst),
        "target": TARGET,
        "pass": all(h["pass"] for h in handlers.values()),
        "baseline": "a minimal handler: boto3 DynamoDB client, APIGatewayHttpResolver(enable_validation=True) "
        "with one route taking one pydantic body model, Logger, Metrics (bench/cold_import.py FLOOR)",
        "baseline_best_ms": round(best_baseline * 1000, 1),
        "rounds": rounds,
        "handlers": handlers,
        "tracing": "off in the handlers' runs (POWERTOOLS_TRACE_DISABLED=true, the Tracing "
        "parameter disabled): the Tracer is not created, the X-Ray SDK not imported",
        "tracer_import_ms": round(min(tracer) * 1000, 1),
        "tracer_share_of_floor": round(min(tracer) / best_baseline, 3),
    }


def _judged_ratio(entry: dict[str, Any]) -> float:
    """The ratio a handler's target is checked on: to its own kind's floor."""
    ratio: float = entry.get("ratio_over_graphql_floor", entry["ratio"])
    return ratio
