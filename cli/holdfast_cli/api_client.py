"""The developer tools' one HTTP client for a Holdfast API (``holdfast dev`` or a deployed stage).

It answers in the shape of the in-process :class:`~holdfast_cli.local.api.LocalApi`
(``request(method, path, *, query, json_body, body, headers) -> ApiResponse``), so the flash
sale, the load run, the signal source and the tests drive either one the same way. One
keep-alive HTTP/1.1 connection per client (a thread or a shopper lane owns one), reopened
after a failure; ``token`` goes out as a bearer token. HTTP errors are answers (header
names in lower case); an ``OSError`` or ``http.client.HTTPException`` means no answer came.
"""

from __future__ import annotations

import http.client
import json
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

from holdfast_cli.local.api import ApiResponse


class ApiClient:
    """A Holdfast API at ``base_url`` (its path, e.g. a stage's ``/dev``, prefixes every call)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, token: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._authorization = {"Authorization": f"Bearer {token}"} if token else {}
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | str | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """Send one request and read its answer, whatever its status."""
        if isinstance(query, dict):
            query = urlencode(query, doseq=True)
        target = self.prefix + path + (f"?{query}" if query else "")
        sent_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent_headers.setdefault("content-type", "application/json")
        sent_headers |= self._authorization
        connection = self._open()
        try:
            connection.request(method, target, body, sent_headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.getheader("connection", "").lower() == "close":
            self.close()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return ApiResponse(response.status, headers, raw.decode())

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._connection = kind(self.host, self.port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
