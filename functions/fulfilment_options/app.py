"""Fulfilment options: plan a cart, hold its stock, read, cancel and extend the hold."""

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.refs import REF_PATTERN
from holdfast.http import create_resolver
from holdfast.models import FulfilmentOptionRequest, FulfilmentOptionView
from holdfast.runtime import get_runtime

logger = Logger()
metrics = Metrics()
app = create_resolver()

RefPath = Annotated[str, Path(pattern=REF_PATTERN)]
# 201 and a replayed 200 answer the same view.
FO_JSON = {"application/json": {"model": FulfilmentOptionView}}


@app.post(
    "/fulfilment-options",
    responses={
        201: {"description": "created: the cart's answer (its holds, or NO_OPTIONS)", "content": FO_JSON},
        200: {"description": "the same request again: the answer it had", "content": FO_JSON},
    },
)
def create_fulfilment_option(request: FulfilmentOptionRequest) -> Response[FulfilmentOptionView]:
    view, created = get_runtime().holds.create(request)
    if created and view.status == "NO_OPTIONS":
        # A cart asked for more than the channel can sell: refused, not oversold.
        refused_oversell()
    return Response(201 if created else 200, content_types.APPLICATION_JSON, view)


@app.get("/fulfilment-options/<ref>")
def get_fulfilment_option(ref: RefPath) -> FulfilmentOptionView:
    return get_runtime().holds.get(ref)


@app.delete("/fulfilment-options/<ref>")
def cancel_fulfilment_option(ref: RefPath) -> FulfilmentOptionView:
    return get_runtime().holds.cancel(ref)


@app.post("/fulfilment-options/<ref>/extend")
def extend_fulfilment_option(
    ref: RefPath,
    requestId: Annotated[  # noqa: N803 (the API's field names are camelCase)
        str | None,
        Query(pattern=REF_PATTERN, description="names this extension, so a retry of it answers 200, not 409"),
    ] = None,
) -> FulfilmentOptionView:
    return get_runtime().holds.extend(ref, requestId)


def refused_oversell() -> None:
    """One EMF log line (no call, no latency), flushed at once: calls that refuse nothing
    print no empty metrics."""
    metrics.add_metric(name="OversellAttemptsRefused", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    metrics.clear_metrics()  # flush keeps them when metrics are disabled (local runs)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
