"""Demand signals (docs/behaviour.md §7), derived from the table's stream: a second consumer beside hold
expiry, so its failures and its pace never touch a hold or an order.

Each FO, order or position change becomes zero or more signals: stored in the table (with a
retention), published to EventBridge, and counted as CloudWatch metrics (EMF log lines).
"""

from collections import defaultdict
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.signals import Signal, SignalType
from holdfast.observability import correlate, event_correlation_id, lambda_entry, metrics
from holdfast.runtime import get_runtime

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)

METRICS = {
    SignalType.CONVERSION: "Conversions",
    SignalType.ABANDONED: "Expiries",
    SignalType.CANCELLED: "Cancellations",
    SignalType.OUT_OF_STOCK: "OutOfStockUnits",
    SignalType.LOW_STOCK: "LowStockCrossings",
}


cart_outcomes: dict[str, list[int]] = defaultdict(list)
"""This batch's held carts that ended, per channel: 1 converted by an order, 0 expired."""


def capture_record(record: DynamoDBStreamRecordModel) -> None:
    correlate(record.eventID)
    signals = get_runtime().signals.capture(
        _image(record.dynamodb.OldImage), _image(record.dynamodb.NewImage)
    )
    for signal in signals:
        count(signal)
    count_cart(signals)


def _image(image: object) -> dict[str, Any] | None:
    """A stream image as the default record model gives it: a dict, or None (no such image)."""
    return image if isinstance(image, dict) else None


def count_cart(signals: list[Signal]) -> None:
    """Once per change (a cart or an order, whatever its lines): the timer-fit figures and the
    per-channel conversion of held carts."""
    first = signals[0] if signals else None
    if first is None:
        return
    if first.type is SignalType.FO_CALL and any(s.heldQuantity for s in signals):
        if first.detail.get("timerMinutes") is not None:
            metrics.add_metric(
                name="HoldTimerSeconds",
                unit=MetricUnit.Seconds,
                value=first.detail["timerMinutes"] * 60,
            )
    elif first.type is SignalType.CONVERSION and first.detail.get("convertedFromHold"):
        if first.secondsToConvert is not None:
            metrics.add_metric(
                name="SecondsToConvert", unit=MetricUnit.Seconds, value=first.secondsToConvert
            )
        cart_outcomes[first.channel or "-"].append(1)
    elif first.type is SignalType.ABANDONED:
        cart_outcomes[first.channel or "-"].append(0)


def flush_cart_conversion() -> None:
    """``CartConversion`` by channel: one value per ended cart, so its Average is the channel's
    conversion rate (one log line per channel and batch)."""
    for channel, outcomes in cart_outcomes.items():
        by_channel = EphemeralMetrics()
        by_channel.add_dimension(name="channel", value=channel)
        for outcome in outcomes:
            by_channel.add_metric(name="CartConversion", unit=MetricUnit.Count, value=outcome)
        by_channel.flush_metrics()
    cart_outcomes.clear()


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


def capture_batch(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """DynamoDB stream batch → signals; failed records are reported so only they are retried
    (``ReportBatchItemFailures``)."""
    try:
        return process_partial_response(
            event=event, record_handler=capture_record, processor=processor, context=context
        )
    finally:
        flush_cart_conversion()


stream_handler = lambda_entry(capture_batch, event_correlation_id)
