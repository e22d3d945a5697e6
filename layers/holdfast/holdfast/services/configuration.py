"""Configuration routes: channels, locations, products and timers (SPEC §9)."""

from __future__ import annotations

from holdfast.config_loader import ConfigLoader
from holdfast.domain.clock import Clock
from holdfast.domain.configuration import (
    Channel,
    ChannelConfig,
    Location,
    LocationConfig,
    Product,
    ProductConfig,
    TimerConfig,
)
from holdfast.errors import NotFound
from holdfast.storage import InventoryTable


class ConfigurationService:
    def __init__(self, table: InventoryTable, config: ConfigLoader, clock: Clock) -> None:
        self._table = table
        self._config = config
        self._clock = clock

    def put_channel(self, name: str, body: ChannelConfig) -> Channel:
        self._table.put_configuration("CHANNEL", name, body, self._clock())
        self._config.invalidate()
        return Channel(name=name, **body.model_dump())

    def put_location(self, ref: str, body: LocationConfig) -> Location:
        self._table.put_configuration("LOCATION", ref, body, self._clock())
        self._config.invalidate()
        return Location(ref=ref, **body.model_dump())

    def put_product(self, ref: str, body: ProductConfig) -> Product:
        product = Product(ref=ref, **body.model_dump())
        self._table.put_product(product, self._clock())
        self._config.invalidate()
        return product

    def put_timers(self, body: TimerConfig) -> TimerConfig:
        self._table.put_configuration("TIMERS", None, body, self._clock())
        self._config.invalidate()
        return body

    def channel(self, name: str) -> Channel:
        return self._config.channel(name)

    def location(self, ref: str) -> Location:
        location = self._config.current().locations.get(ref)
        if location is None:
            raise NotFound(f"location {ref!r} is not configured", [{"field": "ref", "message": "unknown location"}])
        return location

    def product(self, ref: str) -> Product:
        product = self._config.products([ref]).get(ref)
        if product is None:
            raise NotFound(f"product {ref!r} is not configured", [{"field": "ref", "message": "unknown product"}])
        return product

    def timers(self) -> TimerConfig:
        return self._config.current().timers
