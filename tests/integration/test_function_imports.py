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
from holdfast_cli.local.template import functions

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
    "path",
    [
        "functions/hold_expiry/app.py",
        "functions/demand_signals/app.py",
        "functions/restock_suggestions/app.py",
    ],
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
        ("functions/restock_suggestions/app.py", {"signals"}),
        ("functions/availability/app.py", {"inventory"}),
        ("functions/configuration/app.py", {"configuration"}),
    ],
)
def test_a_function_imports_only_the_services_it_calls(path, used):
    loaded = modules_after_cold_start(path)

    assert {name for name, module in SERVICES.items() if module in loaded} == used


@pytest.mark.parametrize(
    "path",
    [
        "functions/fulfilment_options/app.py",
        "functions/orders/app.py",
        "functions/availability/app.py",
        "functions/inventory_feed/app.py",
    ],
)
def test_the_selling_functions_do_not_import_the_demand_reports(path):
    loaded = modules_after_cold_start(path)

    assert "holdfast.domain.demand" not in loaded
    assert "holdfast.signal_models" not in loaded


def test_the_signals_consumer_does_not_import_the_http_contract_models():
    assert "holdfast.models" not in modules_after_cold_start("functions/demand_signals/app.py")


_EVERY_HANDLER = """
import importlib, json, sys
entries = {{}}
for code_uri, module_name, handlers in {modules!r}:
    sys.path.insert(0, code_uri)
    module = importlib.import_module(module_name)
    for name in handlers:
        entries[code_uri + ":" + name] = getattr(module, name).__code__.co_qualname
    sys.path.pop(0)
    sys.modules.pop(module_name)
from holdfast import observability
print(json.dumps({{
    "entries": entries,
    "tracer": type(observability.tracer.tracer).__name__,
    "xray_sdk": "aws_xray_sdk.core" in sys.modules,
}}))
"""


def every_handler_imported(tracing: bool) -> dict:
    """One interpreter imports every handler module the template deploys."""
    modules = handler_modules()
    handlers: dict[str, set[str]] = {}
    for spec in functions().values():
        module, _, name = spec.handler.rpartition(".")
        handlers.setdefault(str(spec.code_uri / module), set()).add(name)
    listed = [
        (str(m.code_uri), m.module, sorted(handlers[str(m.code_uri / m.module)])) for m in modules
    ]
    result = subprocess.run(
        [sys.executable, "-c", _EVERY_HANDLER.format(modules=listed)],
        env=lambda_environment(modules[0], tracing=tracing),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_tracing_on_every_handler_is_traced_through_the_shared_entry():
    imported = every_handler_imported(tracing=True)

    assert imported["tracer"] == "Tracer"
    assert imported["xray_sdk"]
    assert len(imported["entries"]) == len(functions())
    assert set(imported["entries"].values()) == {"lambda_entry.<locals>.entry"}


def test_with_tracing_off_no_function_imports_the_xray_sdk():
    imported = every_handler_imported(tracing=False)

    assert imported["tracer"] == "NoneType"
    assert not imported["xray_sdk"]
