"""The HTTP front end of the local API: a socket server that hands each request to the handlers.

It reads a request the way API Gateway's HTTP API would accept it (a Content-Length body of
at most Lambda's 6 MB, headers joined by comma), has it answered in this process or by a
worker process (:mod:`holdfast_cli.local.worker_pool`), and writes the handler's response.
Its own errors (a body too large, a protocol error, a crashed worker) come in the service's
error shape (docs/behaviour.md §9) so clients handle one.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.worker_pool import WorkerFailed, WorkerPool

HOST = "127.0.0.1"
MAX_BODY_BYTES = 6 * 1024 * 1024
"""Lambda's synchronous payload limit: a larger body never reaches a deployed handler."""

_FORWARDED_HEADERS_SKIPPED = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive"}
)


class LocalHttpServer(ThreadingHTTPServer):
    """Serves :class:`RequestHandler` in a thread per connection; :meth:`answer` runs the
    handlers one request at a time in this process, or in the worker pool when there is one."""

    daemon_threads = True
    # socketserver's listen backlog is 5: tens of clients connecting at once were reset.
    request_queue_size = 128
    api: LocalApi
    pool: WorkerPool | None = None
    log: TextIO | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handler_lock = threading.Lock()
        self.log_lock = threading.Lock()

    def answer(
        self, method: str, path: str, query: str, body: bytes | None, headers: dict[str, str]
    ) -> Any:
        if self.pool is not None:
            return self.pool.request(method, path, query=query, body=body, headers=headers)
        with self.handler_lock:
            return self.api.request(method, path, query=query, body=body, headers=headers)

    def log_line(self, line: str) -> None:
        if self.log is not None:
            with self.log_lock:
                print(line, file=self.log, flush=True)


class RequestHandler(BaseHTTPRequestHandler):
    """One connection: each request read, answered through the server, logged in one line."""

    server: LocalHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "holdfast-dev"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, CONNECT, PROPFIND, ...) reaches the routes too and gets
        their 404 in the error shape, as API Gateway answers a route it does not have,
        instead of http.server's 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        began = time.perf_counter()
        status = self._answer()
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.server.log_line(f"{self.command} {self.path} {status} {elapsed_ms:.1f} ms")

    def _answer(self) -> int:
        path, _, query = self.path.partition("?")
        refused = self._refused_body()
        if refused is not None:
            return refused
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        try:
            response = self.server.answer(self.command, path, query, body, headers)
        except WorkerFailed as error:
            self.log_error("%s", error)
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "the local server failed; see its log"
            )
        except Exception:
            self.log_error("%s", traceback.format_exc())
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "the local server failed; see its log"
            )
        response_headers = {
            k: v for k, v in response.headers.items() if k.lower() not in _FORWARDED_HEADERS_SKIPPED
        }
        self._write(response.status, response_headers, response.body.encode())
        return response.status

    def _refused_body(self) -> int | None:
        """The status of the error answered to a body API Gateway would not take (chunked,
        a bad or too large Content-Length), or ``None`` when the body may be read."""
        if self.headers.get("transfer-encoding", "").lower() not in ("", "identity"):
            return self._error(
                HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length", close=True
            )
        try:
            length = int(self.headers.get("content-length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            return self._error(
                HTTPStatus.BAD_REQUEST, "Content-Length is not a valid length", close=True
            )
        if length > MAX_BODY_BYTES:
            # Not read: the connection is closed instead of draining megabytes.
            return self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length} bytes; the limit is {MAX_BODY_BYTES}",
                [{"field": "body", "message": f"at most {MAX_BODY_BYTES} bytes"}],
                close=True,
            )
        return None

    def _error(
        self,
        status: HTTPStatus,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        close: bool = False,
    ) -> int:
        """Answer in the error shape of docs/behaviour.md §9 (API Gateway's own errors are not that shape,
        but ours should be, so clients handle one)."""
        body = {"error": {"code": status.name, "message": message, "details": details or []}}
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            body["error"]["code"] = "PAYLOAD_TOO_LARGE"
        if close:
            self.close_connection = True
        self._write(int(status), {"content-type": "application/json"}, json.dumps(body).encode())
        return int(status)

    def _write(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors (bad request line, unsupported method) in the error shape too."""
        status = HTTPStatus(code)
        self.close_connection = True
        self._error(status, message or status.phrase, close=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by the one line :meth:`_dispatch` writes with the timing."""

    def log_error(self, format: str, *args: Any) -> None:
        self.server.log_line("error: " + (format % args))
