"""``holdfast dev`` serves Swagger UI at ``/swagger`` with no network but the server itself:
a real headless Chromium loads the page and sees every operation of ``docs/openapi.json``.

The browser test needs Debian's ``chromium`` (``make install-browser``); without it, it is
skipped locally and fails in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from holdfast_cli.api_client import ApiClient
from holdfast_cli.local.dev_server import serve
from holdfast_cli.openapi import OPENAPI_PATH

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
VIRTUAL_TIME_MS = 20_000
"""How long the page may run (virtual time) before its DOM is dumped."""
OFFLINE = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
"""Every host name but the dev server's fails to resolve: a CDN asset could not load."""


@pytest.fixture(scope="module")
def dev_server():
    with serve(engine="moto", port=0, stream=False, schedules=False, log=None) as server:
        yield server


def documented_operations() -> set[tuple[str, str]]:
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def rendered_dom(url: str, profile: Path) -> str:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={OFFLINE}",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--dump-dom",
        url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return finished.stdout


def require_browser() -> None:
    if CHROMIUM is None:
        message = "no chromium on PATH: `make install-browser` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_swagger_ui_lists_every_operation_in_a_real_browser_offline(dev_server, tmp_path):
    require_browser()
    dom = rendered_dom(f"{dev_server.url}/swagger", tmp_path / "profile")

    blocks = re.findall(
        r'class="opblock opblock-(get|put|post|delete)[^"]*".*?data-path="([^"]+)"', dom
    )
    assert {(method.upper(), unescape(path)) for method, path in blocks} == documented_operations()
    assert len(blocks) == len(documented_operations())
    assert "Plan a cart and hold its stock" in dom  # the summaries are shown


def test_the_swagger_page_carries_its_assets_and_links_no_cdn(dev_server):
    with ApiClient(dev_server.url) as api:
        response = api.request("GET", "/swagger")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.body
    assert "SwaggerUIBundle" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+stylesheet", page)


def test_the_swagger_document_points_try_it_out_at_this_server(dev_server):
    with ApiClient(dev_server.url) as api:
        document = api.request("GET", "/swagger", query={"format": "json"}).json()
    assert document["servers"][0]["url"] == dev_server.url
    assert {(m.upper(), p) for p, item in document["paths"].items() for m in item} == (
        documented_operations()
    )
