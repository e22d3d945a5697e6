"""What every HTTP function shares: the resolver (validation, body limits, the error shape),
the ref path parameter, the correlation id and the handler entry.

Every error leaves as ``{"error": {"code", "message", "details", "correlationId"}}``
(docs/behaviour.md §9); every answer carries the ``x-correlation-id`` header.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from pydantic import BaseModel

from holdfast import retry
from holdfast.domain.refs import REF_PATTERN
from holdfast.errors import (
    HoldfastError,
    InvalidInput,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
    describe_problem,
)
from holdfast.models import ErrorResponse
from holdfast.observability import (
    CORRELATION_HEADER,
    correlate,
    lambda_entry,
    logger,
    request_correlation_id,
)
from holdfast.settings import Settings

THROTTLING_CODES = retry.NOT_NOW_ERRORS

RefPath = Annotated[str, Path(pattern=REF_PATTERN)]
"""A ref in the path (a channel name, a location, product, cart or order ref)."""


ERRORS: dict[int, str] = {
    404: "NOT_FOUND: nothing has this ref",
    409: "OUT_OF_STOCK (details name each short line) or CONFLICT (a ref reused with a different "
    "body, or a transition the current status does not allow)",
    413: "PAYLOAD_TOO_LARGE: the body is over the limit",
    415: "UNSUPPORTED_MEDIA_TYPE: bodies are application/json",
    422: "INVALID_INPUT: a parameter or body field is invalid (each named in details)",
    503: "UNAVAILABLE: DynamoDB is busy or did not answer; retry the same request",
}
"""The errors an operation documents, each answered in the ``ErrorResponse`` shape."""
BODY_ERRORS = (413, 415)
"""What any operation with a request body can also answer."""


def responses(
    description: str,
    *,
    status: int = 200,
    model: type[BaseModel] | None = None,
    example: Any = None,
    errors: Iterable[int] = (),
) -> dict[int, OpenAPIResponse]:
    """An operation's documented answers, for a route decorator's ``responses=``: its success
    (the route's return type, or ``model`` with an ``example``) and its errors in the error
    shape; every operation can answer 422 and 503, ``errors`` adds its own."""
    success: OpenAPIResponse = {"description": description}
    if model is not None:
        content: dict[str, Any] = {"model": model}
        if example is not None:
            content["examples"] = {"example": {"summary": "from the README", "value": example}}
        success["content"] = {content_types.APPLICATION_JSON: content}  # type: ignore[dict-item]
    return {status: success, **error_responses(*errors)}


def error_responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """422, 503 and ``codes``, each documented with the ``ErrorResponse`` shape."""
    return {
        code: {
            "description": ERRORS[code],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        }
        for code in sorted({422, 503, *codes})
    }


def error_body(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    correlation: str | None = None,
) -> dict[str, Any]:
    error = {"code": code, "message": message, "details": details or []}
    return {"error": {**error, "correlationId": correlation}}


def body_problem(event: Mapping[str, Any], max_bytes: int) -> HoldfastError | None:
    """Why a request body is refused before anything parses it: too large, not JSON (a
    form-encoded body would otherwise be parsed as a form), or not UTF-8."""
    body = event.get("body") or ""
    if not body:
        return None
    size = len(base64.b64decode(body)) if event.get("isBase64Encoded") else len(body.encode())
    if size > max_bytes:
        return PayloadTooLarge(
            f"the body is {size} bytes; the limit is {max_bytes}",
            [{"field": "body", "message": f"at most {max_bytes} bytes"}],
        )
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").strip().lower()
    if content_type and not content_type.startswith("application/json"):
        return UnsupportedMediaType(
            f"bodies are JSON: send Content-Type: application/json, not {content_type}",
            [{"field": "content-type", "message": "must be application/json"}],
        )
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(body).decode("utf-8")
        except UnicodeDecodeError:
            # JSON is UTF-8 (RFC 8259); Powertools would fail decoding it, a 500.
            return InvalidInput.field("body", "malformed JSON: not UTF-8 text")
    else:
        text = body
    if not text.lstrip().startswith("{"):
        # Every body here is an object; Powertools would unwrap a list to its first element.
        return InvalidInput.field("body", "must be a JSON object")
    return None


class HoldfastResolver(APIGatewayHttpResolver):
    """The HTTP API resolver with request validation, whose body checks run before any
    parsing (Powertools runs its validation ahead of every middleware)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(enable_validation=True)
        self._max_body_bytes = settings.max_body_bytes

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        correlation = request_correlation_id(event)
        correlate(correlation)
        problem = body_problem(event, self._max_body_bytes)
        if problem is not None:
            body = error_body(problem.code, problem.message, problem.details, correlation)
            result: dict[str, Any] = {
                "statusCode": problem.status,
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps(body),
                "isBase64Encoded": False,
            }
        else:
            self.context.update(correlation_id=correlation)
            result = super().resolve(event, context)
        result.setdefault("headers", {})[CORRELATION_HEADER] = correlation
        return result

    def error_response(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> Response[Any]:
        """An error in the shape every route answers, with this request's correlation id."""
        correlation = self.context.get("correlation_id")
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body=error_body(code, message, details, correlation),
        )


def http_handler(app: HoldfastResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler of an HTTP function: :func:`holdfast.observability.lambda_entry`
    around the resolver, which takes the correlation id from the request."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_entry(lambda_handler)


def create_resolver(settings: Settings | None = None) -> HoldfastResolver:
    """The resolver every HTTP function uses, with our error mapping installed.

    Over 40 lines: one small handler per kind of failure, registered together so the whole
    mapping from exception to status and code reads in one place."""
    settings = settings or Settings.from_environment()
    app = HoldfastResolver(settings)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        details = [describe_problem(problem) for problem in error.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return app.error_response(422, "INVALID_INPUT", message or "invalid request", details)

    @app.exception_handler(HoldfastError)
    def domain_error(error: HoldfastError) -> Response[Any]:
        return app.error_response(error.status, error.code, error.message, error.details)

    @app.not_found
    def route_not_found(error: NotFoundError) -> Response[Any]:
        event = app.current_event
        return app.error_response(
            404, "NOT_FOUND", f"no route for {event.http_method} {event.path}"
        )

    @app.exception_handler([ConnectionError, HTTPClientError])
    def dynamodb_unreachable(error: Exception) -> Response[Any]:
        # A timeout can come after a write committed: the client's retry is answered as a replay.
        logger.warning("DynamoDB unreachable", error=str(error))
        unavailable = Unavailable("the database did not answer in time; retry the same request")
        return app.error_response(unavailable.status, unavailable.code, unavailable.message)

    @app.exception_handler(ClientError)
    def dynamodb_refused(error: ClientError) -> Response[Any]:
        code = error.response.get("Error", {}).get("Code")
        if code in THROTTLING_CODES:
            logger.warning("DynamoDB throttled", code=code)
            return app.error_response(
                503, Unavailable.code, f"the database is busy ({code}); retry the same request"
            )
        answer: Response[Any] = unexpected(error)
        return answer

    @app.exception_handler(RecursionError)
    def nested_too_deeply(error: RecursionError) -> Response[Any]:
        # Thousands of nested brackets: Python's JSON parser gives up while Powertools parses
        # the body. Checked here rather than by parsing every body twice.
        if not app.current_event.body:
            answer: Response[Any] = unexpected(error)
            return answer
        problem = InvalidInput.field("body", "malformed JSON: nested too deeply")
        return app.error_response(problem.status, problem.code, problem.message, problem.details)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return app.error_response(
            500, "INTERNAL_ERROR", "an unexpected error occurred; it has been logged"
        )

    return app
