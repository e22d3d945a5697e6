"""Daily restocking suggestions: the restocking report over the day before each scheduled run,
with ``RESTOCK_SUGGESTED`` published to the signal bus for every product × location whose
unmet demand reaches ``RESTOCK_THRESHOLD`` units a day (docs/signals.md, "Reports").

EventBridge Scheduler names the run's scheduled time in the event (``scheduledTime``); the day
ends there, so a retried run covers the same day and publishes the same events, whose ids name
product, location and range, and which consumers therefore drop.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.clock import to_iso
from holdfast.observability import event_correlation_id, lambda_entry, logger, metrics
from holdfast.runtime import get_runtime
from holdfast.services.demand_reports import DemandReports, Filters

DAY = timedelta(days=1)


def scheduled_time(event: dict[str, Any], now: datetime) -> datetime:
    """The run's scheduled time from the event, to the second; ``now`` when the event has none
    (an invocation by hand) or names none we can read."""
    named = event.get("scheduledTime") if isinstance(event, dict) else None
    try:
        moment = datetime.fromisoformat(named) if isinstance(named, str) else None
    except ValueError:
        moment = None
    if moment is None:
        logger.warning("no scheduledTime in the event: the day ends now", scheduled=named)
        moment = now
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def suggest_restocking(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled: the restocking report over ``[scheduled time - 1 day, scheduled time)``."""
    runtime = get_runtime()
    threshold = runtime.settings.restock_threshold
    end = scheduled_time(event, runtime.clock())
    start = end - DAY
    if threshold is None:
        logger.warning("RESTOCK_THRESHOLD is not set: nothing to suggest")
        return {"from": to_iso(start), "to": to_iso(end), "rows": 0, "published": 0}
    rows, published = DemandReports(runtime.signals).restocking(start, end, Filters(), threshold)
    suggested = sum(1 for row in rows if row.restockSuggested)
    logger.info(
        "restocking", rows=len(rows), suggested=suggested, published=published, to=to_iso(end)
    )
    metrics.add_metric(name="RestockSuggested", unit=MetricUnit.Count, value=suggested)
    return {
        "from": to_iso(start),
        "to": to_iso(end),
        "threshold": threshold,
        "rows": len(rows),
        "suggested": suggested,
        "published": published,
    }


schedule_handler = lambda_entry(suggest_restocking, event_correlation_id)
