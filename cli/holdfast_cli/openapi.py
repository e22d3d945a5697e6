"""``holdfast openapi``: one OpenAPI 3.1 document for the whole HTTP API.

Each HTTP function's resolver describes its own routes: the route decorators give each
operation its summary, description, operationId, tags, examples and documented errors, and
Powertools builds the schemas from the signatures and the pydantic models. Powertools'
``OpenAPIMerge`` merges them into one document; what only the template knows is added here:
the JWT and scope each route needs (API Gateway answers 401/403 before any function runs),
the servers, and the tags' descriptions. ``docs/openapi.json`` is its output, and
``tests/integration/test_openapi.py`` keeps the two equal::

    uv run holdfast openapi -o docs/openapi.json
"""

from __future__ import annotations

import argparse
import json
import os
import tomllib
from typing import Any

from holdfast.observability import CORRELATION_HEADER
from holdfast_cli.local.template import (
    PROJECT_ROOT,
    FunctionSpec,
    _import_file,
    functions,
    global_environment,
    load_template,
)
from holdfast_cli.openapi_graphql import graphql_part, serves_graphql

OPENAPI_PATH = PROJECT_ROOT / "docs" / "openapi.json"
TITLE = "Holdfast"
LOCAL_URL = "http://127.0.0.1:3000"
API_RESOURCE = "HttpApi"
ERROR_SCHEMA = "ErrorResponse"
HANDLER_ENVIRONMENT = {"TABLE_NAME": "holdfast", **global_environment()}
"""What importing a handler needs (its resolver reads the settings); no handler is called."""
SERVERS = [
    {
        "url": LOCAL_URL,
        "description": "holdfast dev: the handlers on this machine, with no authorizer",
    },
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "A deployed stack (its ApiUrl output)",
        "variables": {
            "apiId": {"default": "API_ID", "description": "the HTTP API's id"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev", "description": "the stack's Stage parameter"},
        },
    },
]


class DocumentError(Exception):
    """The resolvers and the template disagree about the API."""


def build_document(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The merged document: every HTTP function's routes and schemas, with security (long:
    the merge, then the template's security and the GraphQL route, step by step)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    template = template or load_template()
    for name, value in HANDLER_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    version = project_version()
    routes = template_routes(template)
    specs = http_functions(template)
    authorizers = _api_auth(template).get("Authorizers", {})
    merge = OpenAPIMerge(
        title=TITLE,
        version=version,
        description=" ".join(template.get("Description", "").split()),
        servers=SERVERS,  # type: ignore[arg-type]  # plain dicts: the merge dumps models to them
        tags=[_tag(spec, template) for spec in specs],  # type: ignore[misc]
        security_schemes={name: _security_scheme(name) for name in authorizers},  # type: ignore[misc]
        on_conflict="error",
    )
    schemas: dict[str, Any] = {}
    for spec in specs:
        if serves_graphql(spec.name, routes):
            part = graphql_part()
        else:
            part = json.loads(
                _resolver_of(spec).get_openapi_json_schema(title=TITLE, version=version)
            )
        for path, operations in part.get("paths", {}).items():
            for method in operations:
                route = f"{method.upper()} {path}"
                if routes.get(route, (None,))[0] != spec.name:
                    raise DocumentError(
                        f"{spec.name} serves {route}, which template.yaml does not route to it"
                    )
        # The merge keeps the last of two schemas with one name: refuse two that differ.
        _merge_schemas(schemas, part.get("components", {}).get("schemas", {}))
        merge.add_schema(part)
    document = merge.get_openapi_schema()
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    documented = {
        f"{method.upper()} {path}" for path, operations in paths.items() for method in operations
    }
    missing = sorted(set(routes) - documented)
    if missing:
        raise DocumentError(
            f"template.yaml routes {', '.join(missing)}, which no function's resolver serves"
        )

    for path, operations in paths.items():
        for method, operation in operations.items():
            authorizer, scopes = routes[f"{method.upper()} {path}"][1:]
            _describe_errors(operation, secured=authorizer is not None)
            _correlate(operation)
            operation["security"] = [{authorizer: scopes}] if authorizer else []
    document["components"]["schemas"] = _distinct_titles(_reachable(schemas, paths))
    document["components"]["parameters"] = {CORRELATION: CORRELATION_PARAMETER}
    document["components"]["headers"] = {CORRELATION: CORRELATION_RESPONSE_HEADER}
    return document


def _distinct_titles(schemas: dict[str, Any]) -> dict[str, Any]:
    """A model that reads differently from how it is written has two schemas, ``X-Input`` and
    ``X-Output``, both titled ``X``: client generators name classes after titles, so each
    gets its own (``XInput``, ``XOutput``)."""
    for name, schema in schemas.items():
        if name.endswith(("-Input", "-Output")):
            schema["title"] = name.replace("-", "")
    return schemas


def render(document: dict[str, Any]) -> str:
    """The document as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def project_version() -> str:
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def http_functions(template: dict[str, Any] | None = None) -> list[FunctionSpec]:
    return [spec for spec in functions(template).values() if "HttpApi" in spec.event_types()]


def template_routes(template: dict[str, Any]) -> dict[str, tuple[str, str | None, list[str]]]:
    """``"METHOD /path"`` → (function, authorizer or None, scopes), as API Gateway will
    enforce them: an event's own ``Auth`` over the API's default authorizer and its scopes."""
    auth = _api_auth(template)
    routes: dict[str, tuple[str, str | None, list[str]]] = {}
    for spec in functions(template).values():
        for event in spec.events.values():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            event_auth = properties.get("Auth") or {}
            authorizer = event_auth.get("Authorizer", auth.get("DefaultAuthorizer"))
            if authorizer in (None, "NONE"):
                routes[f"{properties['Method'].upper()} {properties['Path']}"] = (
                    spec.name,
                    None,
                    [],
                )
                continue
            default_scopes = (
                auth.get("Authorizers", {}).get(authorizer, {}).get("AuthorizationScopes", [])
            )
            scopes = list(event_auth.get("AuthorizationScopes", default_scopes))
            routes[f"{properties['Method'].upper()} {properties['Path']}"] = (
                spec.name,
                authorizer,
                scopes,
            )
    return routes


def _api_auth(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"][API_RESOURCE]["Properties"].get("Auth") or {}


def _resolver_of(spec: FunctionSpec) -> Any:
    """The HTTP resolver the function's handler module builds at import."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    module_file = spec.handler.rpartition(".")[0].replace(".", "/")
    module = _import_file(f"holdfast_openapi_{spec.name}", spec.code_uri / f"{module_file}.py")
    resolvers = [
        value for value in vars(module).values() if isinstance(value, APIGatewayHttpResolver)
    ]
    if len(resolvers) != 1:
        raise DocumentError(
            f"{spec.name}: expected one HTTP resolver in its handler module, found {len(resolvers)}"
        )
    return resolvers[0]


def _merge_schemas(into: dict[str, Any], schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        if name in into and into[name] != schema:
            raise DocumentError(f"two different schemas are both named {name!r}")
        into[name] = schema


CORRELATION = "CorrelationId"
CORRELATION_PARAMETER = {
    "name": CORRELATION_HEADER,
    "in": "header",
    "required": False,
    "description": "Your id for this request (1–128 of A–Z a–z 0–9 . _ : / + = @ -): it comes "
    "back in the x-correlation-id header and in any error's correlationId, and is on every log "
    "line and trace of the request. Without it (or with one that does not match), API "
    "Gateway's request id is used.",
    "schema": {"type": "string"},
}
CORRELATION_RESPONSE_HEADER = {
    "description": "The request's correlation id: the one sent, or API Gateway's request id",
    "schema": {"type": "string"},
}


def _correlate(operation: dict[str, Any]) -> None:
    """Every route takes ``x-correlation-id`` and every answer a function gives carries it
    (API Gateway's own 401/403 do not)."""
    parameters = operation.setdefault("parameters", [])
    parameters.append({"$ref": f"#/components/parameters/{CORRELATION}"})
    for status, response in operation.get("responses", {}).items():
        if status not in ("401", "403"):
            response.setdefault("headers", {})[CORRELATION_HEADER] = {
                "$ref": f"#/components/headers/{CORRELATION}"
            }


def _describe_errors(operation: dict[str, Any], *, secured: bool) -> None:
    """Each route documents its own errors (``holdfast.http.responses``); ``default`` covers
    any other the shared resolver answers, and API Gateway answers 401/403 before any
    function runs."""
    responses = operation.setdefault("responses", {})
    responses["default"] = {
        "description": "Any other error the function answers, in the same shape: INTERNAL_ERROR "
        "(500) is a bug, and is logged",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        },
    }
    if secured:
        responses["401"] = {
            "description": "API Gateway: no token, or one that is expired or not from the issuer and audience"
        }
        responses["403"] = {"description": "API Gateway: the token lacks the route's scope"}


def _tag(spec: FunctionSpec, template: dict[str, Any]) -> dict[str, str]:
    """A function's routes share its tag: its folder's name, described by the template."""
    description = template["Resources"][spec.name]["Properties"].get("Description", "")
    return {"name": spec.code_uri.name, "description": description}


def _security_scheme(name: str) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            f"API Gateway's JWT authorizer {name}: a token from the stack's JwtIssuer whose aud (or "
            "client_id) is one of its JwtAudience, sent as 'Authorization: Bearer <token>'. Each "
            "operation lists the scope it needs. holdfast dev checks no token."
        ),
    }


def _reachable(schemas: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """Only the schemas the paths refer to, directly or through other schemas."""
    prefix = "#/components/schemas/"
    found: set[str] = set()
    pending = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in found:
                found.add(ref[len(prefix) :])
                pending.append(schemas[ref[len(prefix) :]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {name: schemas[name] for name in sorted(found)}


if __name__ == "__main__":
    from holdfast_cli.commands import openapi as command

    _parser = argparse.ArgumentParser(
        prog="python -m holdfast_cli.openapi", description=command.DESCRIPTION
    )
    command.add_arguments(_parser)
    _args = _parser.parse_args()
    raise SystemExit(_args.run(_args))
