"""Availability reads: the ledger of one position and Virtual Positions per channel."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from holdfast import api_examples
from holdfast.domain.ledger import IqType
from holdfast.domain.refs import REF_PATTERN
from holdfast.http import create_resolver, http_handler, responses
from holdfast.models import InventoryPositionView, VirtualPositionsResponse
from holdfast.runtime import get_runtime
from holdfast.services.inventory import LEDGER_PAGE

app = create_resolver()

MAX_PRODUCTS = 100
MAX_LOCATIONS = 50
MAX_LEDGER_PAGE = 1000


@app.get(
    "/inventory-positions/<ref>",
    operation_id="getInventoryPosition",
    summary="Read an inventory position and its ledger",
    description="The position's onHand and its whole ledger (every inventory quantity with its "
    "type, signed quantity, status and times). The ref is productRef:locationRef, optionally "
    ":catalogue (DEFAULT when left out).",
    tags=["availability"],
    responses=responses("the position with its ledger", errors=(404,)),
)
def get_inventory_position(
    ref: Annotated[
        str, Path(min_length=3, max_length=400, description="productRef:locationRef[:catalogue]")
    ],
    limit: Annotated[
        int, Query(ge=1, le=MAX_LEDGER_PAGE, description="ledger records in this page")
    ] = LEDGER_PAGE,
    nextToken: Annotated[
        str | None, Query(max_length=2000, description="from the previous page")
    ] = None,
    type: Annotated[IqType | None, Query(description="only ledger records of this type")] = None,
    status: Annotated[
        Literal["ACTIVE", "INACTIVE"] | None,
        Query(description="only records that count (ACTIVE) or not"),
    ] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="by creation time")] = "newest",
) -> InventoryPositionView:
    return get_runtime().inventory.position(
        ref, limit=limit, next_token=nextToken, iq_type=type, status=status, order=order
    )


@app.get(
    "/virtual-positions",
    operation_id="getVirtualPositions",
    summary="Availability to sell per channel (Virtual Positions)",
    description="BASE: one Virtual Position per product and location (the channel's selling "
    "locations when no locationRef is given). AGGREGATE: per product, summed over the locations "
    "selling to the channel, minus its exclusions. Reads only the counters; quantities are capped "
    "by the channel's displayCap. productRef repeats (1-100), locationRef too (0-50).",
    tags=["availability"],
    responses=responses(
        "the Virtual Positions asked for",
        model=VirtualPositionsResponse,
        example=api_examples.VIRTUAL_POSITIONS,
        errors=(404,),
    ),
)
def get_virtual_positions(
    channel: Annotated[str, Query(pattern=REF_PATTERN)],
    productRef: Annotated[
        list[Annotated[str, Query(pattern=REF_PATTERN)]],
        Query(min_length=1, max_length=MAX_PRODUCTS),
    ],
    locationRef: Annotated[
        list[Annotated[str, Query(pattern=REF_PATTERN)]] | None, Query(max_length=MAX_LOCATIONS)
    ] = None,
    type: Annotated[Literal["BASE", "AGGREGATE"] | None, Query()] = None,
) -> VirtualPositionsResponse:
    kinds: tuple[Literal["BASE", "AGGREGATE"], ...] = (type,) if type else ("BASE", "AGGREGATE")
    items = get_runtime().inventory.virtual_positions(channel, productRef, locationRef or (), kinds)
    return VirtualPositionsResponse(items=items)


lambda_handler = http_handler(app)
