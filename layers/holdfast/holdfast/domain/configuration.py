"""Retailer configuration: channels, locations, products and hold timers (docs/behaviour.md §9).

These models are both the bodies of the configuration routes and what the domain rules read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_serializer, model_validator

from holdfast.domain.refs import Ref
from holdfast.domain.shards import MAX_COUNTER_SHARDS

MAX_STOCK = 10_000_000
"""Upper bound on any stock figure we accept (a count, a delta, a fixed buffer)."""

DeliveryType = Literal["HD", "CC"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BufferRule(_Strict):
    """How much of a position's onHand a channel keeps back as a safety buffer."""

    type: Literal["PERCENTAGE", "FIXED", "NONE"] = "NONE"
    value: Decimal = Field(default=Decimal(0), ge=0, le=MAX_STOCK, allow_inf_nan=False)

    @field_serializer("value")
    def _as_number(self, value: Decimal) -> int | float:
        """JSON shows the value as a number; arithmetic always uses the exact Decimal."""
        return int(value) if value == value.to_integral_value() else float(value)

    @model_validator(mode="after")
    def _check_value(self) -> BufferRule:
        if self.type == "PERCENTAGE" and self.value > 100:
            raise ValueError("a PERCENTAGE buffer is between 0 and 100")
        if self.type == "FIXED" and self.value != self.value.to_integral_value():
            raise ValueError("a FIXED buffer is a whole number of units")
        if self.type == "NONE" and self.value != 0:
            raise ValueError("a NONE buffer takes no value")
        return self


class ChannelConfig(_Strict):
    """A sales channel's availability rules."""

    buffer: BufferRule = BufferRule()
    excludedLocations: list[Ref] = Field(default_factory=list, max_length=1000)
    displayCap: StrictInt | None = Field(default=None, ge=1, le=MAX_STOCK)
    lowStockThreshold: StrictInt | None = Field(default=None, ge=0, le=MAX_STOCK)


class Channel(ChannelConfig):
    name: Ref


class LocationConfig(_Strict):
    """A store, DC or warehouse: what it serves, to which channels, in which order."""

    type: Literal["STORE", "DC", "WAREHOUSE"]
    deliveryTypes: list[DeliveryType] = Field(min_length=1, max_length=2)
    channels: list[Ref] = Field(default_factory=list, max_length=100)
    priority: StrictInt = Field(default=100, ge=0, le=1_000_000)


class Location(LocationConfig):
    ref: Ref


class ProductConfig(_Strict):
    category: Ref | None = None
    counterShards: dict[Ref, Annotated[StrictInt, Field(ge=1, le=MAX_COUNTER_SHARDS)]] = Field(
        default_factory=dict, max_length=1000
    )
    """Per location ref: how many items the position's onHand counter is split over, for a
    SKU whose holds would pass one item's write ceiling (about 500 holds/s). Default 1."""

    def counter_shards_at(self, location_ref: str) -> int:
        return self.counterShards.get(location_ref, 1)


class Product(ProductConfig):
    ref: Ref


TimerMinutes = StrictInt


class TimerConfig(_Strict):
    """Hold durations in minutes: product, then category, then global (1–120)."""

    globalMinutes: StrictInt = Field(default=15, ge=1, le=120)
    categories: dict[Ref, TimerMinutes] = Field(default_factory=dict, max_length=10_000)
    products: dict[Ref, TimerMinutes] = Field(default_factory=dict, max_length=10_000)

    @model_validator(mode="after")
    def _check_minutes(self) -> TimerConfig:
        for field in ("categories", "products"):
            for key, minutes in getattr(self, field).items():
                if not 1 <= minutes <= 120:
                    raise ValueError(f"{field}.{key}: a timer is 1 to 120 minutes")
        return self


class Configuration(BaseModel):
    """Everything the cached loader holds: channels, locations and timers."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    channels: dict[str, Channel] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)
    timers: TimerConfig = TimerConfig()

    def locations_selling_to(self, channel: Channel) -> list[Location]:
        """The configured locations that list the channel, minus its exclusions, by priority."""
        excluded = set(channel.excludedLocations)
        selling = [
            loc
            for loc in self.locations.values()
            if channel.name in loc.channels and loc.ref not in excluded
        ]
        return sorted(selling, key=lambda loc: (loc.priority, loc.ref))
