"""Swagger UI for ``holdfast dev`` at ``/swagger``, working offline.

The page is the one Powertools' ``enable_swagger`` serves, with the Swagger UI script and
stylesheet that ship inside the ``aws-lambda-powertools`` package inlined (no CDN). Its
document is ``docs/openapi.json`` (kept equal to the handlers' by a test), with the first
server pointed at the address the page was loaded from, so "Try it out" calls this server.
``/swagger?format=json`` answers the document itself.

The deployed API has no such route: it is a development aid, outside template.yaml.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from holdfast_cli.local.template import PROJECT_ROOT

PATH = "/swagger"
DOCUMENT_PATH = PROJECT_ROOT / "docs" / "openapi.json"


def answer(
    method: str, path: str, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], str] | None:
    """(status, headers, body) for a Swagger UI request, or None for any other path."""
    if path.rstrip("/") != PATH or method.upper() not in ("GET", "HEAD"):
        return None
    document = _document_for(headers.get("host"))
    if parse_qs(query).get("format") == ["json"]:
        return 200, {"content-type": "application/json"}, json.dumps(document)
    return 200, {"content-type": "text/html; charset=utf-8"}, page(json.dumps(document))


def page(spec: str) -> str:
    """Powertools' Swagger UI page with its bundled assets inlined."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    script, stylesheet = _assets()
    return generate_swagger_html(spec, script, stylesheet, "", None)


@functools.cache
def _assets() -> tuple[str, str]:
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as bundled

    folder = Path(bundled.__file__).parent
    return (
        (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (folder / "swagger-ui.min.css").read_text(encoding="utf-8"),
    )


def _document_for(host: str | None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    if host:
        servers = document.get("servers") or [{}]
        servers[0] = {"url": f"http://{host}", "description": "this holdfast dev server"}
        document["servers"] = servers
    return document
