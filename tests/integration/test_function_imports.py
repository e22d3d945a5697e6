"""A function's cold start imports only what it runs: the stream and schedule functions none of
the HTTP stack, and each function only the services it calls.

Each check is a fresh interpreter with the deployed environment: import the handler module,
build the runtime and every service the module reaches (``get_runtime().<service>``), as its
first invocation does, then list ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cold_import import handler_modules, lambda_environment

HTTP_STACK = ("aws_lambda_powertools.event_handler", "holdfast.http")
SERVICES = {
    "holds": "holdfast.services.holds",
    "orders": "holdfast.services.orders",
    "inventory": "holdfast.services.inventory",
    "configuration": "holdfast.services.configuration",
    "signals": "holdfast.services.signals",
}

_LIST_MODULES = """
import importlib, json, sys
sys.path.insert(0, {code_uri!r})
importlib.import_module({module!r})
from holdfast.runtime import get_runtime
runtime = get_runtime()
for name in {services!r} or []:
    getattr(runtime, name)
print(json.dumps(sorted(sys.modules)))
"""


def modules_after_cold_start(path: str) -> set[str]:
    module = next(m for m in handler_modules() if m.path == path)
    result = subprocess.run(
        [sys.executable, "-c", module.script(_LIST_MODULES)],
        env=lambda_environment(module),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "path", ["functions/hold_expiry/app.py", "functions/demand_signals/app.py"]
)
def test_the_stream_and_schedule_functions_import_nothing_of_the_http_stack(path):
    loaded = modules_after_cold_start(path)

    assert [name for name in HTTP_STACK if name in loaded] == []


@pytest.mark.parametrize(
    ("path", "used"),
    [
        ("functions/hold_expiry/app.py", {"holds"}),
        ("functions/demand_signals/app.py", {"signals"}),
        ("functions/signals/app.py", {"signals"}),
        ("functions/availability/app.py", {"inventory"}),
        ("functions/configuration/app.py", {"configuration"}),
    ],
)
def test_a_function_imports_only_the_services_it_calls(path, used):
    loaded = modules_after_cold_start(path)

    assert {name for name, module in SERVICES.items() if module in loaded} == used


def test_the_signals_consumer_does_not_import_the_http_contract_models():
    assert "holdfast.models" not in modules_after_cold_start("functions/demand_signals/app.py")
