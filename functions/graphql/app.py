"""Fluent-compatible GraphQL (``POST /graphql``) on the same services as the REST routes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.graphql.context import GraphqlContext
from holdfast.graphql.endpoint import handle_event
from holdfast.graphql.mapping import GraphqlMapping
from holdfast.graphql.schema import executable_schema
from holdfast.observability import (
    CORRELATION_HEADER,
    correlate,
    lambda_entry,
    refused_oversell,
    request_correlation_id,
)
from holdfast.runtime import get_runtime

mapping = GraphqlMapping.from_environment()
executable_schema()  # built at cold start, not on the first request


def answer(event: dict, context: LambdaContext) -> dict[str, Any]:
    correlation = request_correlation_id(event)
    correlate(correlation)
    result = handle_event(
        event,
        GraphqlContext(get_runtime(), mapping, on_refused_oversell=refused_oversell),
        correlation,
    )
    result.setdefault("headers", {})[CORRELATION_HEADER] = correlation
    return result


lambda_handler = lambda_entry(answer)
