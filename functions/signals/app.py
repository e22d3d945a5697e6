"""Demand signals, the funnel and the demand reports (docs/behaviour.md §7, docs/signals.md):
reads of what the stream consumer stored (restocking with a threshold also publishes
``RESTOCK_SUGGESTED``)."""

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import AfterValidator, BeforeValidator

from holdfast import api_examples
from holdfast.domain.clock import to_iso
from holdfast.domain.refs import REF_PATTERN
from holdfast.domain.signals import SignalType
from holdfast.http import create_resolver, http_handler, responses
from holdfast.runtime import get_runtime
from holdfast.services.demand_reports import DemandReports, Filters
from holdfast.signal_models import (
    AffinityResponse,
    ChannelsResponse,
    FunnelResponse,
    LocationsResponse,
    RestockingResponse,
    SignalsResponse,
    TimingResponse,
)

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
From = Annotated[
    IsoTime, Query(alias="from", description="start, inclusive (default: a day before to)")
]
To = Annotated[
    IsoTime, Query(description="end, exclusive (default: now); at most 31 days after from")
]
DeliveryType = Annotated[str | None, Query(pattern="^(HD|CC)$", description="HD or CC")]


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone, e.g. Europe/Paris") from None
    return value


TimeZone = Annotated[
    Annotated[str, AfterValidator(_time_zone)],
    Query(max_length=64, description="IANA time zone of the hours and weekdays"),
]


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
    from_: Annotated[
        IsoTime, Query(alias="from", description="start, inclusive (default: a day before to)")
    ] = None,
    to: Annotated[
        IsoTime, Query(description="end, exclusive (default: now); at most 31 days after from")
    ] = None,
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
    from_: Annotated[
        IsoTime, Query(alias="from", description="start, inclusive (default: a day before to)")
    ] = None,
    to: Annotated[
        IsoTime, Query(description="end, exclusive (default: now); at most 31 days after from")
    ] = None,
) -> FunnelResponse:
    service = get_runtime().signals
    start, end = service.time_range(from_, to)
    return FunnelResponse.model_validate(
        {"items": service.funnel(start, end), "from": to_iso(start), "to": to_iso(end)}
    )


def _reports(
    start: datetime | None, end: datetime | None
) -> tuple[DemandReports, dict, datetime, datetime]:
    service = get_runtime().signals
    start, end = service.time_range(start, end)
    return DemandReports(service), {"from": to_iso(start), "to": to_iso(end)}, start, end


@app.get(
    "/reports/channels",
    operation_id="getChannelsReport",
    summary="FO calls, holds, conversion and abandonment per channel and delivery type",
    description="Per channel × delivery type (HD/CC) over [from, to): FO calls, carts held, orders, abandoned and cancelled holds, conversion and abandonment rates (docs/signals.md).",
    tags=["signals"],
    responses=responses("the report"),
)
def get_channels_report(
    from_: From = None,
    to: To = None,
    channel: RefParameter = None,
    deliveryType: DeliveryType = None,
) -> ChannelsResponse:
    reports, span, start, end = _reports(from_, to)
    items = reports.channels(start, end, Filters(channel, deliveryType))
    return ChannelsResponse.model_validate({"items": items, **span})


@app.get(
    "/reports/locations",
    operation_id="getLocationsReport",
    summary="Locations in plans vs locations that fulfil, and out-of-stock intensity",
    description="Which locations appear in plans and which fulfil orders, and unmet demand per product × location (docs/signals.md).",
    tags=["signals"],
    responses=responses("the report"),
)
def get_locations_report(
    from_: From = None,
    to: To = None,
    channel: RefParameter = None,
    deliveryType: DeliveryType = None,
    productRef: RefParameter = None,
) -> LocationsResponse:
    reports, span, start, end = _reports(from_, to)
    report = reports.locations(start, end, Filters(channel, deliveryType, productRef))
    return LocationsResponse.model_validate({**report.model_dump(), **span})


@app.get(
    "/reports/affinity",
    operation_id="getAffinityReport",
    summary="Product pairs held and abandoned together",
    description="Pairs of products most often held together and most often abandoned together, with support and lift, at least minCount carts (docs/signals.md).",
    tags=["signals"],
    responses=responses("the report"),
)
def get_affinity_report(
    from_: From = None,
    to: To = None,
    channel: RefParameter = None,
    deliveryType: DeliveryType = None,
    minCount: Annotated[
        int, Query(ge=1, le=1_000_000, description="the fewest carts a pair must be in")
    ] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> AffinityResponse:
    reports, span, start, end = _reports(from_, to)
    report = reports.affinity(start, end, Filters(channel, deliveryType), minCount, limit)
    return AffinityResponse.model_validate({**report.model_dump(), **span})


@app.get(
    "/reports/timing",
    operation_id="getTimingReport",
    summary="Holds, conversions and abandonment by hour and weekday; seconds to convert vs the timer",
    description="Counts by local hour of day and day of week in timeZone, and the distribution of seconds from hold to order against the timer length (docs/signals.md).",
    tags=["signals"],
    responses=responses("the report"),
)
def get_timing_report(
    from_: From = None,
    to: To = None,
    channel: RefParameter = None,
    deliveryType: DeliveryType = None,
    timeZone: TimeZone = "UTC",
    bucketSeconds: Annotated[
        int, Query(ge=1, le=86_400, description="width of the seconds-to-convert buckets")
    ] = 60,
) -> TimingResponse:
    reports, span, start, end = _reports(from_, to)
    report = reports.timing(start, end, Filters(channel, deliveryType), timeZone, bucketSeconds)
    return TimingResponse.model_validate({**report.model_dump(), **span})


@app.get(
    "/reports/restocking",
    operation_id="getRestockingReport",
    summary="Unmet units a day and days since ATS, per product × location",
    description="Sorted by unmet units a day; with threshold, publishes RESTOCK_SUGGESTED for each row at or above it (docs/signals.md).",
    tags=["signals"],
    responses=responses("the report"),
)
def get_restocking_report(
    from_: From = None,
    to: To = None,
    channel: RefParameter = None,
    deliveryType: DeliveryType = None,
    productRef: RefParameter = None,
    threshold: Annotated[
        float | None,
        Query(
            ge=0,
            le=1_000_000,
            description="unmet units a day at or above which RESTOCK_SUGGESTED is published",
        ),
    ] = None,
) -> RestockingResponse:
    reports, span, start, end = _reports(from_, to)
    items, published = reports.restocking(
        start, end, Filters(channel, deliveryType, productRef), threshold
    )
    return RestockingResponse.model_validate({"items": items, "published": published, **span})


lambda_handler = http_handler(app)
