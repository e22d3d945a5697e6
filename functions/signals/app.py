"""Demand signals and the funnel report (SPEC §7): reads of what the stream consumer stored."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.clock import to_iso
from holdfast.domain.refs import REF_PATTERN
from holdfast.domain.signals import SignalType
from holdfast.http import create_resolver
from holdfast.models import FunnelResponse, SignalsResponse
from holdfast.runtime import get_runtime

logger = Logger()
app = create_resolver()

MAX_LIMIT = 1000
TimeParameter = Annotated[datetime | None, Query(description="ISO 8601; without a zone, UTC")]
RefParameter = Annotated[str | None, Query(pattern=REF_PATTERN)]


@app.get("/signals")
def get_signals(
    type: Annotated[SignalType | None, Query()] = None,
    productRef: RefParameter = None,
    locationRef: RefParameter = None,
    channel: RefParameter = None,
    from_: Annotated[datetime | None, Query(alias="from", description="start, inclusive (default: a day before to)")] = None,
    to: Annotated[datetime | None, Query(description="end, exclusive (default: now); at most 31 days after from")] = None,
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


@app.get("/reports/funnel")
def get_funnel(
    from_: Annotated[datetime | None, Query(alias="from", description="start, inclusive (default: a day before to)")] = None,
    to: Annotated[datetime | None, Query(description="end, exclusive (default: now); at most 31 days after from")] = None,
) -> FunnelResponse:
    service = get_runtime().signals
    start, end = service.time_range(from_, to)
    return FunnelResponse.model_validate({"items": service.funnel(start, end), "from": to_iso(start), "to": to_iso(end)})


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
