"""Availability reads: the ledger of one position and Virtual Positions per channel."""

from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.refs import REF_PATTERN
from holdfast.http import create_resolver
from holdfast.models import InventoryPositionView, VirtualPositionsResponse
from holdfast.runtime import get_runtime

logger = Logger()
app = create_resolver()

MAX_PRODUCTS = 100
MAX_LOCATIONS = 50


@app.get("/inventory-positions/<ref>")
def get_inventory_position(
    ref: Annotated[str, Path(min_length=3, max_length=400, description="productRef:locationRef[:catalogue]")],
) -> InventoryPositionView:
    return get_runtime().inventory.position(ref)


@app.get("/virtual-positions")
def get_virtual_positions(
    channel: Annotated[str, Query(pattern=REF_PATTERN)],
    productRef: Annotated[list[Annotated[str, Query(pattern=REF_PATTERN)]], Query(min_length=1, max_length=MAX_PRODUCTS)],
    locationRef: Annotated[list[Annotated[str, Query(pattern=REF_PATTERN)]] | None, Query(max_length=MAX_LOCATIONS)] = None,
    type: Annotated[Literal["BASE", "AGGREGATE"] | None, Query()] = None,
) -> VirtualPositionsResponse:
    kinds = (type,) if type else ("BASE", "AGGREGATE")
    items = get_runtime().inventory.virtual_positions(channel, productRef, locationRef or (), kinds)
    return VirtualPositionsResponse(items=items)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
