"""Pydantic models of the demand-signal answers (``GET /signals`` and ``/reports/*``,
docs/signals.md), apart from :mod:`holdfast.models` so the REST functions that sell do not
import the reports' domain at cold start."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from holdfast.domain.demand import (
    AffinityReport,
    ChannelRow,
    LocationsReport,
)
from holdfast.domain.funnel import FunnelRow
from holdfast.domain.restocking import RestockRow
from holdfast.domain.signals import Signal
from holdfast.domain.timing_report import TimingReport


class _View(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, as holdfast.models


class SignalsResponse(_View):
    """A page of demand signals (``GET /signals``), oldest first."""

    items: list[Signal]
    nextToken: str | None = None
    """Pass it back as ``nextToken`` for the next page; absent on the last page."""


class FunnelResponse(_View):
    """The funnel per SKU over ``[from, to)`` (``GET /reports/funnel``)."""

    items: list[FunnelRow]
    from_: str = Field(alias="from", serialization_alias="from")
    to: str


class _ReportRange(_View):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str


class ChannelsResponse(_ReportRange):
    """Carts, holds, orders, conversion and abandonment per channel × delivery type
    (``GET /reports/channels``)."""

    items: list[ChannelRow]


class LocationsResponse(_ReportRange, LocationsReport):
    """Locations in plans vs fulfilling orders, and out-of-stock demand per product × location
    (``GET /reports/locations``)."""


class AffinityResponse(_ReportRange, AffinityReport):
    """Product pairs held together and abandoned together (``GET /reports/affinity``)."""


class TimingResponse(_ReportRange, TimingReport):
    """Holds, conversions and abandonment by local hour and weekday; seconds to convert vs the
    timer (``GET /reports/timing``)."""


class RestockingResponse(_ReportRange):
    """Unmet demand per product × location, most first (``GET /reports/restocking``)."""

    items: list[RestockRow]
    published: int
    """``RESTOCK_SUGGESTED`` events published for rows at or above ``threshold``."""
