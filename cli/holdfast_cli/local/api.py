"""Call the real Lambda handlers the way API Gateway's HTTP API (payload 2.0) does.

Used by ``holdfast dev`` (behind a local HTTP server) and by the tests, so both exercise the
exact path a deployed request takes: event → handler → DynamoDB. ``/swagger`` answers the
Swagger UI page (:mod:`holdfast_cli.local.swagger`), which is no route of the deployed API.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from holdfast.observability import CORRELATION_HEADER, request_correlation_id
from holdfast_cli.local import swagger
from holdfast_cli.local.template import HttpRoute, http_routes, load_handler


@dataclass
class LambdaContext:
    """Enough of Lambda's context object for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.time() + 29

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http_event(
    route: HttpRoute | None,
    method: str,
    path: str,
    path_parameters: dict[str, str] | None = None,
    query_string: str = "",
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API v2 event, as the real service would send it (long: the
    event's fields written out in the order AWS documents them)."""
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    is_base64 = isinstance(body, bytes)
    if isinstance(body, bytes):
        raw = body
        try:
            body, is_base64 = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            body = base64.b64encode(raw).decode()
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key if route else "$default",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", "holdfast-local"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key if route else "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event


_INVOCATION_LOCK = threading.RLock()


class LocalApi:
    """Routes requests to the template's functions and returns their HTTP answers.

    Powertools keeps the current event on a class attribute of its resolvers, so, as in a
    Lambda execution environment, one process serves one request at a time: calls are
    serialized here. Concurrency tests run shoppers in several processes
    (:func:`holdfast_cli.local.process_map.map_in_processes`), each its own "execution environment".
    """

    def __init__(self) -> None:
        self.routes = http_routes()
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        """Invoke a function with any event (HTTP, stream, schedule), as Lambda would."""
        with _INVOCATION_LOCK:
            handler = self._handlers.get(function_name)
            if handler is None:
                handler = self._handlers[function_name] = load_handler(function_name)
            return handler(event, LambdaContext(function_name))

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | str | None = None,
        json_body: Any = None,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        if isinstance(query, dict):
            query = urlencode(query, doseq=True)
        if "?" in path and query is None:  # a URL's own query string, as a client sends it
            path, query = path.split("?", 1)
        headers = dict(headers or {})
        page = swagger.answer(method, path, query or "", {k.lower(): v for k, v in headers.items()})
        if page is not None:
            return ApiResponse(*page)
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("content-type", "application/json")
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                event = http_event(route, method, path, parameters, query or "", body, headers)
                result = self.invoke(route.function, event)
                return ApiResponse(
                    status=int(result.get("statusCode", 200)),
                    headers=result.get("headers") or {},
                    body=_decode(result),
                )
        correlation = request_correlation_id({"headers": headers})
        message = {
            "error": {
                "code": "NOT_FOUND",
                "message": f"no route for {method.upper()} {path}",
                "details": [],
                "correlationId": correlation,
            }
        }
        return ApiResponse(
            404,
            {"content-type": "application/json", CORRELATION_HEADER: correlation},
            json.dumps(message),
        )

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


def _decode(result: dict[str, Any]) -> str:
    body = result.get("body") or ""
    return base64.b64decode(body).decode() if result.get("isBase64Encoded") else body
