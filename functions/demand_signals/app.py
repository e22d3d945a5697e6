"""Demand signals (docs/behaviour.md §7), derived from the table's stream: a second consumer beside hold
expiry, so its failures and its pace never touch a hold or an order.

Each FO, order or position change becomes zero or more signals: stored in the table (with a
retention), published to EventBridge, and counted as CloudWatch metrics (EMF log lines).
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.signals import Signal, SignalType
from holdfast.runtime import get_runtime

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)

METRICS = {
    SignalType.CONVERSION: "Conversions",
    SignalType.ABANDONED: "Expiries",
    SignalType.CANCELLED: "Cancellations",
    SignalType.OUT_OF_STOCK: "OutOfStockUnits",
    SignalType.LOW_STOCK: "LowStockCrossings",
}


def capture_record(record: DynamoDBStreamRecordModel) -> None:
    signals = get_runtime().signals.capture(record.dynamodb.OldImage, record.dynamodb.NewImage)
    for signal in signals:
        count(signal)


def count(signal: Signal) -> None:
    if signal.type is SignalType.FO_CALL:
        if signal.outcome == "NO_OPTIONS":
            metrics.add_metric(name="Refusals", unit=MetricUnit.Count, value=1)
        elif signal.heldQuantity:
            metrics.add_metric(name="Holds", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="UnitsHeld", unit=MetricUnit.Count, value=signal.heldQuantity)
        return
    value = signal.quantity if signal.type is SignalType.OUT_OF_STOCK else 1
    metrics.add_metric(name=METRICS[signal.type], unit=MetricUnit.Count, value=value)


@metrics.log_metrics
@logger.inject_lambda_context
def stream_handler(event: dict, context: LambdaContext) -> dict:
    """DynamoDB stream batch → signals; failed records are reported so only they are retried
    (``ReportBatchItemFailures``)."""
    return process_partial_response(event=event, record_handler=capture_record, processor=processor, context=context)
