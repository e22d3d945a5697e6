"""The one cached loader every handler reads configuration through (docs/behaviour.md §9).

A change is seen at once by the process that wrote it (it invalidates its own cache) and by
every other process within ``CONFIG_CACHE_SECONDS`` (30 s at most).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from holdfast.domain.configuration import Channel, Configuration, Product
from holdfast.errors import NotFound
from holdfast.storage import InventoryTable


class ConfigurationCache:
    """The retailer's configuration (channels, locations, products, timers) as stored,
    cached per process. Not to be confused with :mod:`holdfast.settings` (this function's
    environment) or :mod:`holdfast.domain.configuration` (the models it holds)."""

    def __init__(
        self,
        table: InventoryTable,
        max_age_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._configuration: Configuration | None = None
        self._loaded_at = 0.0
        self._products: dict[str, tuple[float, Product | None]] = {}

    def current(self) -> Configuration:
        """Channels, locations and timers, from cache while younger than the max age."""
        with self._lock:
            now = self._monotonic()
            if self._configuration is None or now - self._loaded_at >= self._max_age:
                self._configuration = self._table.load_configuration()
                self._loaded_at = now
            return self._configuration

    def channel(self, name: str) -> Channel:
        channel = self.current().channels.get(name)
        if channel is None:
            raise NotFound(
                f"channel {name!r} is not configured",
                [{"field": "channel", "message": "unknown channel"}],
            )
        return channel

    def products(self, refs: Sequence[str]) -> dict[str, Product]:
        """Product settings (category) for ``refs``; unknown products are cached as absent."""
        now = self._monotonic()
        with self._lock:
            missing = [
                ref
                for ref in dict.fromkeys(refs)
                if ref not in self._products or now - self._products[ref][0] >= self._max_age
            ]
        if missing:
            found = self._table.get_products(missing)
            with self._lock:
                for ref in missing:
                    self._products[ref] = (now, found.get(ref))
        with self._lock:
            cached = {ref: self._products.get(ref, (now, None))[1] for ref in refs}
        return {ref: product for ref, product in cached.items() if product is not None}

    def invalidate(self) -> None:
        with self._lock:
            self._configuration = None
            self._products.clear()
