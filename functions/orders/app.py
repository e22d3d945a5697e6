"""Orders: confirm (converting the cart's holds), then ship, cancel or return."""

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.refs import REF_PATTERN
from holdfast.errors import OutOfStock
from holdfast.http import create_resolver
from holdfast.models import OrderRequest, OrderView
from holdfast.runtime import get_runtime

logger = Logger()
metrics = Metrics()
app = create_resolver()

RefPath = Annotated[str, Path(pattern=REF_PATTERN)]
# 201 and a replayed 200 answer the same view.
ORDER_JSON = {"application/json": {"model": OrderView}}


@app.post(
    "/orders",
    responses={
        201: {"description": "created: the order is confirmed", "content": ORDER_JSON},
        200: {"description": "the same request again: the answer it had", "content": ORDER_JSON},
    },
)
def confirm_order(request: OrderRequest) -> Response[OrderView]:
    try:
        view, created = get_runtime().orders.confirm(request)
    except OutOfStock:
        # Refused orders write nothing, so no stream record tells of them: counted here.
        refused_oversell()
        raise
    return Response(201 if created else 200, content_types.APPLICATION_JSON, view)


@app.get("/orders/<ref>")
def get_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.get(ref)


@app.post("/orders/<ref>/ship")
def ship_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.ship(ref)


@app.post("/orders/<ref>/cancel")
def cancel_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.cancel(ref)


@app.post("/orders/<ref>/return")
def return_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.return_order(ref)


def refused_oversell() -> None:
    """One EMF log line (no call, no latency), flushed at once: calls that refuse nothing
    print no empty metrics."""
    metrics.add_metric(name="OversellAttemptsRefused", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    metrics.clear_metrics()  # flush keeps them when metrics are disabled (local runs)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
