"""Read ``template.yaml``: the table definition and the functions with their triggers.

The local server, the tests and the flash-sale tool all build what they need from the
template, so none of them can drift from what is deployed.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
TABLE_RESOURCE = "InventoryTable"


class _CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (``!Ref`` …) as plain dicts."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    if isinstance(node, yaml.MappingNode):
        return {name: loader.construct_mapping(node, deep=True)}
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node for !{suffix}", node.start_mark
    )


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


@functools.cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CloudFormationLoader)


def table_definition(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """``CreateTable`` arguments (less the name) for the template's inventory table."""
    properties = (template or load_template())["Resources"][TABLE_RESOURCE]["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "StreamSpecification" in properties:
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            **properties["StreamSpecification"],
        }
    if "GlobalSecondaryIndexes" in properties:
        definition["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(template: dict[str, Any] | None = None) -> str | None:
    properties = (template or load_template())["Resources"][TABLE_RESOURCE]["Properties"]
    spec = properties.get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def global_environment(template: dict[str, Any] | None = None) -> dict[str, str]:
    """The variables the template's Globals give every function with a literal value (the
    service name, the metrics namespace); those set from parameters or resources are left out."""
    globals_ = (template or load_template()).get("Globals", {}).get("Function", {})
    variables = globals_.get("Environment", {}).get("Variables", {})
    return {name: value for name, value in variables.items() if isinstance(value, str) and value}


def create_table(client: Any, table_name: str) -> None:
    """Create the table as the template defines it (key schema, stream, TTL) and wait for it."""
    client.create_table(TableName=table_name, **table_definition())
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    attribute = ttl_attribute()
    if attribute:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # API Gateway form, e.g. /inventory-positions/{ref}
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        found = self._pattern.match(path)
        return {k: unquote(v) for k, v in found.groupdict().items()} if found else None


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_uri: Path
    handler: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    condition: str | None = None
    """The template condition the function is deployed under (none: always)."""

    def event_types(self) -> set[str]:
        return {event["Type"] for event in self.events.values()}


def functions(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    template = template or load_template()
    found = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        found[name] = FunctionSpec(
            name=name,
            code_uri=PROJECT_ROOT / properties["CodeUri"],
            handler=properties["Handler"],
            events=properties.get("Events", {}),
            condition=resource.get("Condition"),
        )
    return found


def http_routes(template: dict[str, Any] | None = None) -> list[HttpRoute]:
    routes = []
    for spec in functions(template).values():
        for event in spec.events.values():
            if event["Type"] == "HttpApi":
                properties = event["Properties"]
                routes.append(
                    HttpRoute(properties["Method"].upper(), properties["Path"], spec.name)
                )
    return routes


def load_handler(function_name: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import the handler the template names for ``function_name``, as a Lambda cold start
    would: each call imports the handler module afresh."""
    spec = functions()[function_name]
    module_file, _, attribute = spec.handler.rpartition(".")
    module_name = f"holdfast_function_{function_name}_{next(_environments)}"
    module = _import_file(module_name, spec.code_uri / f"{module_file.replace('.', '/')}.py")
    return getattr(module, attribute)


_environments = itertools.count(1)


def _import_file(module_name: str, path: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    assert module_spec and module_spec.loader, path
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    return module
