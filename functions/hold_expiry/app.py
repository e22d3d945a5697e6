"""Hold expiry: release holds whose timers DynamoDB TTL deleted, and sweep overdue ones.

Two entry points, one release path (``HoldService.release_expired``), whose conditional
transaction lets exactly one release commit whichever path gets there first.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.observability import correlate, event_correlation_id, lambda_entry, logger, metrics
from holdfast.runtime import get_runtime
from holdfast.storage import timer_from_image

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)


def is_timer_expiry(record: DynamoDBStreamRecordModel) -> bool:
    """A TTL deletion (by the DynamoDB service, not a user) of a hold's timer item."""
    identity = record.userIdentity
    old = _old_image(record)
    return (
        record.eventName == "REMOVE"
        and identity is not None
        and identity.principalId == "dynamodb.amazonaws.com"
        and timer_from_image(old) is not None
    )


def _old_image(record: DynamoDBStreamRecordModel) -> dict[str, Any]:
    """The item before the change, deserialized (the default record model gives a dict)."""
    image = record.dynamodb.OldImage
    return image if isinstance(image, dict) else {}


def release_record(record: DynamoDBStreamRecordModel) -> None:
    correlate(record.eventID)
    timer = timer_from_image(_old_image(record))
    if timer is None or not is_timer_expiry(record):
        return
    fo_ref = timer.fo_ref
    released = get_runtime().holds.release_timer_deleted(fo_ref)
    logger.info("timer expired", fo_ref=fo_ref, released=released)
    if released:
        metrics.add_metric(name="HoldsExpired", unit=MetricUnit.Count, value=1)


def release_expired_timers(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """DynamoDB stream batch → release each expired hold; failed records are reported so
    only they are retried (``ReportBatchItemFailures``)."""
    return process_partial_response(
        event=event, record_handler=release_record, processor=processor, context=context
    )


def sweep_overdue_holds(event: dict, context: LambdaContext) -> dict:
    """Scheduled: release holds past ``expiresAt`` that TTL has not deleted yet."""
    overdue, released = get_runtime().holds.sweep()
    logger.info("sweep", overdue=overdue, released=released)
    metrics.add_metric(name="HoldsSwept", unit=MetricUnit.Count, value=released)
    return {"overdue": overdue, "released": released}


stream_handler = lambda_entry(release_expired_timers, event_correlation_id)
sweep_handler = lambda_entry(sweep_overdue_holds, event_correlation_id)
