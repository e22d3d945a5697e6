"""The REST functions never import graphql-core: only GraphqlFunction pays its import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from holdfast_cli.local.template import PROJECT_ROOT, functions

PROBE = """
import importlib.util, json, sys
loaded = {}
for name, path in json.loads(sys.argv[1]).items():
    spec = importlib.util.spec_from_file_location(f"handler_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded[name] = "graphql" in sys.modules
print(json.dumps(loaded))
"""


def test_no_rest_function_imports_graphql_core() -> None:
    handlers = {
        name: str(spec.code_uri / f"{spec.handler.rpartition('.')[0]}.py")
        for name, spec in functions().items()
        if name != "GraphqlFunction"
    }
    handlers["GraphqlFunction"] = str(
        PROJECT_ROOT / "functions/graphql/app.py"
    )  # last: the control
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "layers/holdfast"), str(PROJECT_ROOT)]),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(handlers)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded.pop("GraphqlFunction") is True
    assert loaded == dict.fromkeys(loaded, False)
