"""Domain errors. The HTTP layer maps each to a status code and the error shape of docs/behaviour.md §9."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HoldfastError(Exception):
    """Base class: every error a client can see has a stable ``code`` and a status."""

    code = "ERROR"
    status = 400

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(HoldfastError):
    """A request that names a bad field; nothing was written."""

    code = "INVALID_INPUT"
    status = 422

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [{"field": field, "message": message}])


class TooManyWrites(InvalidInput):
    """The request is well formed but would need more items in one transaction than DynamoDB
    takes (100); nothing was written."""

    @classmethod
    def needing(cls, items: int, field: str, advice: str) -> TooManyWrites:
        message = f"this request would write {items} items in one transaction; DynamoDB takes at most 100: {advice}"
        return cls(message, [{"field": field, "message": message}])


class NotFound(HoldfastError):
    code = "NOT_FOUND"
    status = 404


class Conflict(HoldfastError):
    """A ref reused with a different body, or a state transition that is not allowed."""

    code = "CONFLICT"
    status = 409


class OutOfStock(HoldfastError):
    """The channel's available-to-sell does not cover the named lines."""

    code = "OUT_OF_STOCK"
    status = 409


class Unavailable(HoldfastError):
    """DynamoDB kept answering "not now" (contention, throttling, a timeout). Every write is
    idempotent by its ref, so the client retries the same request."""

    code = "UNAVAILABLE"
    status = 503


class UnsupportedMediaType(HoldfastError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415


class PayloadTooLarge(HoldfastError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


REF_RULE = "must be 1-128 characters of A-Z a-z 0-9 _ . - starting with a letter or digit (':' and '#' are separators)"


def describe_problem(problem: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic (or Powertools) validation problem as ``{"field", "message"}``.

    The field is the dotted path to the bad value; where a model validator names the field in
    its message (``"quantity: must be ..."``) that name is appended to the path.
    """
    location = [
        str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")
    ]
    message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
    kind = problem.get("type")
    if kind == "json_invalid":
        return {
            "field": "body",
            "message": f"malformed JSON: {problem.get('ctx', {}).get('error', 'decode error')}",
        }
    if kind == "missing" and not location:
        return {"field": "body", "message": "a JSON body is required"}
    if kind == "string_pattern_mismatch":
        message = REF_RULE
    field = ".".join(location)
    if kind == "value_error" and ": " in message:
        inner, message = message.split(": ", 1)
        field = f"{field}.{inner}" if field else inner
    return {"field": field or "body", "message": message}
