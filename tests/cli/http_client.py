"""A few lines of urllib for talking to ``holdfast dev`` over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(
    url: str, method: str = "GET", body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    """``(status, parsed JSON body)``; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def assert_error_shape(body: Any, code: str) -> None:
    """docs/behaviour.md §9: ``{"error": {"code", "message", "details": [...]}}``."""
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
