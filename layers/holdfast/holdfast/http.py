"""The shared API Gateway HTTP API resolver: validation, body limits and the error shape.

Every error leaves as ``{"error": {"code", "message", "details"}}`` (SPEC §9).
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from holdfast.errors import HoldfastError, PayloadTooLarge, UnsupportedMediaType, describe_problem
from holdfast.settings import Settings

logger = Logger()


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details or []}},
    )


def create_resolver(settings: Settings | None = None) -> APIGatewayHttpResolver:
    """The resolver every HTTP function uses, with our error mapping installed."""
    settings = settings or Settings.from_environment()
    app = APIGatewayHttpResolver(enable_validation=True)

    def check_body(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        """Bodies are JSON (a form-encoded body would otherwise be parsed as a form) and
        bounded in size."""
        body = app.current_event.body or ""
        content_type = app.current_event.headers.get("content-type", "").strip().lower()
        if body and content_type and not content_type.startswith("application/json"):
            raise UnsupportedMediaType(
                f"bodies are JSON: send Content-Type: application/json, not {content_type}",
                [{"field": "content-type", "message": "must be application/json"}],
            )
        size = len(base64.b64decode(body)) if app.current_event.is_base64_encoded else len(body.encode())
        if size > settings.max_body_bytes:
            raise PayloadTooLarge(
                f"the body is {size} bytes; the limit is {settings.max_body_bytes}",
                [{"field": "body", "message": f"at most {settings.max_body_bytes} bytes"}],
            )
        return next_middleware(app)

    app.use(middlewares=[check_body])

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        details = [describe_problem(problem) for problem in error.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(422, "INVALID_INPUT", message or "invalid request", details)

    @app.exception_handler(HoldfastError)
    def domain_error(error: HoldfastError) -> Response:
        return error_response(error.status, error.code, error.message, error.details)

    @app.not_found
    def route_not_found(error: NotFoundError) -> Response:
        event = app.current_event
        return error_response(404, "NOT_FOUND", f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "INTERNAL_ERROR", "an unexpected error occurred; it has been logged")

    return app
