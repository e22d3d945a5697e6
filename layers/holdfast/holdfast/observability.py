"""Logs, metrics and traces every function shares: one handler entry that gives each
invocation its correlation id, the cold-start metric and (when tracing is on) an X-Ray segment.

Tracing is on in AWS unless the stack turns it off (``POWERTOOLS_TRACE_DISABLED``). Powertools'
Tracer imports the X-Ray SDK even when disabled, so it is created only when tracing is on: a
function with tracing off, and every local run, never pays that import (docs/deploy.md).
"""

from __future__ import annotations

import functools
import os
import re
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])
CorrelationId = Callable[[Mapping[str, Any]], str | None]

logger = Logger()
metrics = Metrics()

CORRELATION_HEADER = "x-correlation-id"
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
"""What a caller's correlation id may be; anything else is replaced by the request id."""

# An invocation that counted nothing but its cold start is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def tracing_enabled(environment: Mapping[str, str] = os.environ) -> bool:
    """In a Lambda function (not a local run) whose stack has not turned tracing off."""
    disabled = environment.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower()
    return bool(environment.get("AWS_LAMBDA_FUNCTION_NAME")) and disabled not in ("true", "1")


class LazyTracer:
    """Powertools Tracer when tracing is on; otherwise nothing at all (no X-Ray SDK import)."""

    def __init__(self, enabled: bool) -> None:
        self.tracer: Tracer | None = None
        if enabled:
            from aws_lambda_powertools import Tracer

            self.tracer = Tracer()

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """``handler`` in an X-Ray subsegment whenever there is a tracer (a cheap wrapper,
        built per call so a test can hand in a tracer with a fake provider). Responses are not
        put in the trace: they hold carts and orders, and a segment is limited to 64 KB."""

        @functools.wraps(handler)
        def capture(event: Any, context: Any) -> Any:
            if self.tracer is None:
                return handler(event, context)
            traced = self.tracer.capture_lambda_handler(handler, capture_response=False)
            return traced(event, context)

        return cast(Handler, capture)

    def put_annotation(self, key: str, value: str) -> None:
        if self.tracer is not None:
            self.tracer.put_annotation(key=key, value=value)


tracer = LazyTracer(tracing_enabled())


def correlate(correlation_id: str) -> None:
    """Every log line from here on, and the trace, carry this id."""
    logger.set_correlation_id(correlation_id)
    tracer.put_annotation("correlation_id", correlation_id)


def request_correlation_id(event: Mapping[str, Any]) -> str:
    """An HTTP request's: the caller's ``x-correlation-id`` if it sent a usable one, else API
    Gateway's request id."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    sent = headers.get(CORRELATION_HEADER)
    if isinstance(sent, str) and CORRELATION_ID.fullmatch(sent):
        return sent
    request_id = (event.get("requestContext") or {}).get("requestId")
    return request_id if isinstance(request_id, str) and request_id else str(uuid.uuid4())


def event_correlation_id(event: Mapping[str, Any]) -> str | None:
    """A schedule event's id, or a stream batch's first record's eventID (each record
    then correlates its own lines with :func:`correlate`)."""
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        first = records[0].get("eventID")
        return first if isinstance(first, str) else None
    found = event.get("id")
    return found if isinstance(found, str) else None


def lambda_entry(handler: Handler, correlation_id: CorrelationId | None = None) -> Handler:
    """The handler as Lambda calls it: traced, with the Lambda context and the correlation id
    on every log line, and its metrics (the cold start's included) flushed at the end.

    ``correlation_id`` reads it from the event; without one the handler sets it itself
    (the HTTP resolver reads the request's)."""

    @functools.wraps(handler)
    def correlated(event: Mapping[str, Any], context: Any) -> Any:
        if correlation_id is not None:
            correlate(correlation_id(event) or str(uuid.uuid4()))
        return handler(event, context)

    logged = logger.inject_lambda_context(correlated)
    counted = metrics.log_metrics(logged, capture_cold_start_metric=True)
    traced = tracer.capture_lambda_handler(counted)

    @functools.wraps(handler)
    def entry(event: Mapping[str, Any], context: Any) -> Any:
        try:
            return traced(event, context)
        finally:
            metrics.clear_metrics()  # flush keeps them when metrics are disabled (local runs)

    return entry  # type: ignore[return-value]


def refused_oversell() -> None:
    """A cart or order refused for lack of stock: refusals write nothing, so no stream record
    tells of them; counted here, flushed with the invocation's metrics."""
    metrics.add_metric(name="OversellAttemptsRefused", unit=MetricUnit.Count, value=1)
