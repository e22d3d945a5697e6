"""Stock feeds: batches of snapshots, deltas, corrections and returns."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.http import create_resolver
from holdfast.models import InventoryBatchRequest, InventoryBatchResponse
from holdfast.runtime import get_runtime

logger = Logger()
app = create_resolver()


@app.post("/inventory/batch")
def apply_inventory_batch(batch: InventoryBatchRequest) -> InventoryBatchResponse:
    return get_runtime().inventory.apply_batch(batch.entities)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
