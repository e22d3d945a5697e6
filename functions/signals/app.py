"""Demand signals and the funnel report (SPEC §7): reads of what the stream consumer stored."""

import re
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AfterValidator, BeforeValidator

from holdfast.domain.clock import to_iso
from holdfast.domain.refs import REF_PATTERN
from holdfast.domain.signals import SignalType
from holdfast import api_examples
from holdfast.http import create_resolver, responses
from holdfast.models import FunnelResponse, SignalsResponse
from holdfast.runtime import get_runtime

logger = Logger()
app = create_resolver()

MAX_LIMIT = 1000
ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?")


def _iso_8601(value: object) -> object:
    """Only ISO 8601 text: pydantic alone would also read ``0.5`` as a Unix time."""
    if isinstance(value, str) and not ISO_8601.fullmatch(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-27T10:00:00Z")
    return value


def _plausible(value: datetime | None) -> datetime | None:
    """Signals exist from 1970 on; far-off years would only overflow the range arithmetic."""
    if value is not None and not 1970 <= value.year <= 9000:
        raise ValueError("must be a date-time between 1970 and 9000")
    return value


IsoTime = Annotated[datetime | None, BeforeValidator(_iso_8601), AfterValidator(_plausible)]
RefParameter = Annotated[str | None, Query(pattern=REF_PATTERN)]


@app.get(
    "/signals",
    operation_id="getSignals",
    summary="List demand signals",
    description="Signals derived from the table's stream (FO_CALL, OUT_OF_STOCK, CONVERSION, "
    "ABANDONED, CANCELLED, LOW_STOCK), oldest first, filtered by type, productRef, locationRef "
    "and channel over [from, to) (default the last 24 hours, at most 31 days). Pass nextToken "
    "back for the next page.",
    tags=["signals"],
    responses=responses("a page of signals"),
)
def get_signals(
    type: Annotated[SignalType | None, Query()] = None,
    productRef: RefParameter = None,
    locationRef: RefParameter = None,
    channel: RefParameter = None,
    from_: Annotated[IsoTime, Query(alias="from", description="start, inclusive (default: a day before to)")] = None,
    to: Annotated[IsoTime, Query(description="end, exclusive (default: now); at most 31 days after from")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    nextToken: Annotated[str | None, Query(max_length=2000)] = None,
) -> SignalsResponse:
    items, token = get_runtime().signals.query(
        start=from_,
        end=to,
        kind=type,
        product_ref=productRef,
        location_ref=locationRef,
        channel=channel,
        limit=limit,
        token=nextToken,
    )
    return SignalsResponse(items=items, nextToken=token)


@app.get(
    "/reports/funnel",
    operation_id="getFunnelReport",
    summary="The funnel per SKU",
    description="Per SKU over [from, to): FO calls, holds, orders, abandoned holds, refusals, "
    "conversion and abandonment rates, median seconds from hold to order, out-of-stock units.",
    tags=["signals"],
    responses=responses("the funnel rows", model=FunnelResponse, example=api_examples.FUNNEL),
)
def get_funnel(
    from_: Annotated[IsoTime, Query(alias="from", description="start, inclusive (default: a day before to)")] = None,
    to: Annotated[IsoTime, Query(description="end, exclusive (default: now); at most 31 days after from")] = None,
) -> FunnelResponse:
    service = get_runtime().signals
    start, end = service.time_range(from_, to)
    return FunnelResponse.model_validate({"items": service.funnel(start, end), "from": to_iso(start), "to": to_iso(end)})


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
