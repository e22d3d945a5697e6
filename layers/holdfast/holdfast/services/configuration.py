"""Configuration routes: channels, locations, products and timers (docs/behaviour.md §9)."""

from __future__ import annotations

from holdfast import retry
from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain import shards
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
from holdfast.errors import Conflict, NotFound
from holdfast.services.availability import StockReader
from holdfast.storage import InventoryTable, PositionKey, PositionRecord

RESHARD_ATTEMPTS = 12


class ConfigurationService:
    def __init__(self, table: InventoryTable, config: ConfigurationCache, clock: Clock) -> None:
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
        """Store a product's settings; positions whose counter shard count changed are
        resharded at once (a dropped shard's units move back into shard 0)."""
        product = Product(ref=ref, **body.model_dump())
        previous = self._table.get_products([ref]).get(ref)
        self._table.put_product(product, self._clock())
        self._config.invalidate()
        locations = set(product.counterShards) | set(previous.counterShards if previous else {})
        for location in sorted(locations):
            wanted = product.counter_shards_at(location)
            if previous is None or previous.counter_shards_at(location) != wanted:
                self._reshard(PositionKey(ref, location), wanted)
        return product

    def _reshard(self, position: PositionKey, count: int) -> None:
        """Give the position ``count`` counter shards: read, plan the dropped shards' units
        back into shard 0 (:func:`holdfast.domain.shards.collapse`), commit, then spread."""
        position_ref = position.ref
        for attempt in range(RESHARD_ATTEMPTS):
            now = self._clock()
            record = self._table.get_positions([position_ref]).get(position_ref) or PositionRecord(
                position_ref, position.product_ref, position.location_ref, position.catalogue, 0
            )
            if record.counter_shards != count:
                collapse = shards.collapse(record.shard_values, count)
                if not self._table.commit_reshard(record, count, collapse, now):
                    retry.REPLAN.pause(attempt + 1)  # a hold moved a shard meanwhile: read again
                    continue
            if count > 1:
                spread = self._table.get_positions([position_ref], {position_ref: count})[
                    position_ref
                ]
                StockReader(self._table).rebalance([spread], now)
            return
        raise Conflict(
            f"{position_ref}: could not change its counter shards under contention; retry"
        )

    def put_timers(self, body: TimerConfig) -> TimerConfig:
        self._table.put_configuration("TIMERS", None, body, self._clock())
        self._config.invalidate()
        return body

    def channel(self, name: str) -> Channel:
        return self._config.channel(name)

    def location(self, ref: str) -> Location:
        location = self._config.current().locations.get(ref)
        if location is None:
            raise NotFound(
                f"location {ref!r} is not configured",
                [{"field": "ref", "message": "unknown location"}],
            )
        return location

    def product(self, ref: str) -> Product:
        product = self._config.products([ref]).get(ref)
        if product is None:
            raise NotFound(
                f"product {ref!r} is not configured",
                [{"field": "ref", "message": "unknown product"}],
            )
        return product

    def timers(self) -> TimerConfig:
        return self._config.current().timers
