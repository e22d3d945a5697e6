"""Orders: confirm (converting the cart's holds), then ship, cancel or return."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)

from holdfast import api_examples
from holdfast.errors import OutOfStock
from holdfast.http import (
    BODY_ERRORS,
    RefPath,
    create_resolver,
    error_responses,
    http_handler,
    responses,
)
from holdfast.models import OrderRequest, OrderView
from holdfast.observability import refused_oversell
from holdfast.runtime import get_runtime

app = create_resolver()

# 201 and a replayed 200 answer the same view.
ORDER_JSON: dict[str, OpenAPIResponseContentModel | OpenAPIResponseContentSchema] = {
    "application/json": {"model": OrderView}
}


@app.post(
    "/orders",
    operation_id="confirmOrder",
    summary="Confirm an order",
    description="With an ACTIVE hold for the same lines (fulfilmentOptionRef) the holds become "
    "the order: onHand and availability do not move, convertedFromHold is true. Otherwise the "
    "order reserves afresh under the same rule, or answers 409 OUT_OF_STOCK naming each short "
    "line. The same order ref twice is one order.",
    tags=["orders"],
    responses={
        201: {"description": "created: the order is confirmed", "content": ORDER_JSON},
        200: {
            "description": "the same request again: what it created, as it stands now",
            "content": ORDER_JSON,
        },
        **error_responses(404, 409, *BODY_ERRORS),
    },
)
def confirm_order(
    request: Annotated[
        OrderRequest, Body(openapi_examples=api_examples.body(api_examples.ORDER_REQUEST))
    ],
) -> Response[OrderView]:
    try:
        view, created = get_runtime().orders.confirm(request)
    except OutOfStock:
        # Refused orders write nothing, so no stream record tells of them: counted here.
        refused_oversell()
        raise
    return Response(201 if created else 200, content_types.APPLICATION_JSON, view)


@app.get(
    "/orders/<ref>",
    operation_id="getOrder",
    summary="Read an order",
    description="The order's lines, allocations and status (CONFIRMED, SHIPPED, CANCELLED, RETURNED).",
    tags=["orders"],
    responses=responses("the order", errors=(404,)),
)
def get_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.get(ref)


@app.post(
    "/orders/<ref>/ship",
    operation_id="shipOrder",
    summary="Ship an order",
    description="Its reservations become sales; onHand does not change.",
    tags=["orders"],
    responses=responses("the shipped order", errors=(404, 409)),
)
def ship_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.ship(ref)


@app.post(
    "/orders/<ref>/cancel",
    operation_id="cancelOrder",
    summary="Cancel an order before shipping",
    description="Its reservations are released: the stock is available again.",
    tags=["orders"],
    responses=responses("the cancelled order", errors=(404, 409)),
)
def cancel_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.cancel(ref)


@app.post(
    "/orders/<ref>/return",
    operation_id="returnOrder",
    summary="Return a shipped order",
    description="The units come back as RETURNED stock.",
    tags=["orders"],
    responses=responses("the returned order", errors=(404, 409)),
)
def return_order(ref: RefPath) -> OrderView:
    return get_runtime().orders.return_order(ref)


lambda_handler = http_handler(app)
