"""Fulfilment options: plan a cart, hold its stock, read, cancel and extend the hold."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)

from holdfast import api_examples
from holdfast.domain.refs import REF_PATTERN
from holdfast.http import (
    BODY_ERRORS,
    RefPath,
    create_resolver,
    error_responses,
    http_handler,
    responses,
)
from holdfast.models import FulfilmentOptionRequest, FulfilmentOptionView
from holdfast.observability import refused_oversell
from holdfast.runtime import get_runtime

app = create_resolver()

# 201 and a replayed 200 answer the same view.
FO_JSON: dict[str, OpenAPIResponseContentModel | OpenAPIResponseContentSchema] = {
    "application/json": {"model": FulfilmentOptionView}
}


@app.post(
    "/fulfilment-options",
    operation_id="createFulfilmentOption",
    summary="Plan a cart and hold its stock",
    description="Plans the cart over the channel's locations (every location that can serve the "
    "whole cart by priority; a SPLIT plan if allowed and needed; a PARTIAL plan if allowed) and "
    "holds the best one until expiresAt. status is ACTIVE, or NO_OPTIONS with nothing held. The "
    "same request again answers 200 with that option as it stands (its status now) and holds "
    "nothing more; the same ref with a different cart is a 409. replaces swaps a changed cart atomically.",
    tags=["fulfilment_options"],
    responses={
        201: {
            "description": "created: the cart's answer (its holds, or NO_OPTIONS)",
            "content": FO_JSON,
        },
        200: {
            "description": "the same request again: what it created, as it stands now",
            "content": FO_JSON,
        },
        **error_responses(404, 409, *BODY_ERRORS),
    },
)
def create_fulfilment_option(
    request: Annotated[
        FulfilmentOptionRequest,
        Body(openapi_examples=api_examples.body(api_examples.FULFILMENT_OPTION)),
    ],
) -> Response[FulfilmentOptionView]:
    view, created = get_runtime().holds.create(request)
    if created and view.status == "NO_OPTIONS":
        # A cart asked for more than the channel can sell: refused, not oversold.
        refused_oversell()
    return Response(201 if created else 200, content_types.APPLICATION_JSON, view)


@app.get(
    "/fulfilment-options/<ref>",
    operation_id="getFulfilmentOption",
    summary="Read a fulfilment option",
    description="The cart's plans and hold, with status ACTIVE, EXPIRED, CANCELLED, CONVERTED "
    "(with orderRef), REPLACED or NO_OPTIONS.",
    tags=["fulfilment_options"],
    responses=responses("the fulfilment option", errors=(404,)),
)
def get_fulfilment_option(ref: RefPath) -> FulfilmentOptionView:
    return get_runtime().holds.get(ref)


@app.delete(
    "/fulfilment-options/<ref>",
    operation_id="cancelFulfilmentOption",
    summary="Cancel a hold",
    description="Releases the cart's held stock now; the option becomes CANCELLED.",
    tags=["fulfilment_options"],
    responses=responses("the cancelled fulfilment option", errors=(404, 409)),
)
def cancel_fulfilment_option(ref: RefPath) -> FulfilmentOptionView:
    return get_runtime().holds.cancel(ref)


@app.post(
    "/fulfilment-options/<ref>/extend",
    operation_id="extendFulfilmentOption",
    summary="Extend a hold once",
    description="One more timer length, once, before the hold expires. With `requestId`, the same "
    "extension sent again answers 200 (a safe retry); another extension is a 409.",
    tags=["fulfilment_options"],
    responses=responses("the fulfilment option with its new expiresAt", errors=(404, 409)),
)
def extend_fulfilment_option(
    ref: RefPath,
    requestId: Annotated[
        str | None,
        Query(
            pattern=REF_PATTERN,
            description="names this extension, so a retry of it answers 200, not 409",
        ),
    ] = None,
) -> FulfilmentOptionView:
    return get_runtime().holds.extend(ref, requestId)


lambda_handler = http_handler(app)
