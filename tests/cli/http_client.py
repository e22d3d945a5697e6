"""Talking to ``holdfast dev`` over real HTTP from the tests, through the tools' own client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from holdfast_cli.api_client import ApiClient


def call(
    url: str, method: str = "GET", body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    """``(status, parsed JSON body)``; HTTP errors are answers, not exceptions."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"content-type": content_type} if body is not None else {}
    with ApiClient(f"{parts.scheme}://{parts.netloc}", timeout=10) as client:
        response = client.request(method, path, body=body, headers=headers)
    return response.status, response.json()


def assert_error_shape(body: Any, code: str) -> None:
    """docs/behaviour.md §9: ``{"error": {"code", "message", "details": [...]}}``."""
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
