"""Fluent-compatible GraphQL (``POST /graphql``) on the same services as the REST routes."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.graphql.context import GraphqlContext
from holdfast.graphql.endpoint import handle_event
from holdfast.graphql.mapping import GraphqlMapping
from holdfast.graphql.schema import executable_schema
from holdfast.runtime import get_runtime

logger = Logger()
metrics = Metrics()
mapping = GraphqlMapping.from_environment()
executable_schema()  # built at cold start, not on the first request


def refused_oversell() -> None:
    """The REST twin's metric: one EMF line when a cart is refused for lack of stock."""
    metrics.add_metric(name="OversellAttemptsRefused", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    metrics.clear_metrics()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle_event(
        event, GraphqlContext(get_runtime(), mapping, on_refused_oversell=refused_oversell)
    )
