"""Stock feeds: batches of snapshots, deltas, corrections and returns."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from holdfast import api_examples
from holdfast.http import BODY_ERRORS, create_resolver, http_handler, responses
from holdfast.models import InventoryBatchRequest, InventoryBatchResponse
from holdfast.runtime import get_runtime

app = create_resolver()


@app.post(
    "/inventory/batch",
    operation_id="applyInventoryBatch",
    summary="Apply a batch of stock feed entities",
    description="Up to 5,000 entities, each applied on its own: LAST_ON_HAND (an absolute count "
    "with its asOf, superseding what came before it), DELTA and CORRECTION (+/- adjustments), "
    "RETURNED (+). DELTA, CORRECTION and RETURNED need a sourceRef, so a retried feed applies "
    "once. Each result is APPLIED, UNCHANGED (a replay), STALE or INVALID, with the new onHand.",
    tags=["inventory_feed"],
    responses=responses("one result per entity, in order", errors=BODY_ERRORS),
)
def apply_inventory_batch(
    batch: Annotated[
        InventoryBatchRequest,
        Body(openapi_examples=api_examples.body(api_examples.INVENTORY_BATCH)),
    ],
) -> InventoryBatchResponse:
    return get_runtime().inventory.apply_batch(batch.entities)


lambda_handler = http_handler(app)
