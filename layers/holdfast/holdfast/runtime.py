"""What a function builds once per cold start: settings, the DynamoDB client, the services.

Built lazily on first use (not at import) so importing a handler stays cheap and tests can
point a fresh runtime at moto or DynamoDB Local with :func:`reset_runtime`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.clock import Clock, system_clock
from holdfast.settings import Settings
from holdfast.storage import InventoryTable

if TYPE_CHECKING:
    from holdfast.services.configuration import ConfigurationService
    from holdfast.services.holds import HoldService
    from holdfast.services.inventory import InventoryService
    from holdfast.services.orders import OrderService
    from holdfast.services.signals import SignalService


class Runtime:
    """Settings, the table and the configuration cache, built at once; each service on first
    use, importing its module then, so a function imports only the services it calls (the
    stream consumers none of the HTTP contract's)."""

    def __init__(self, settings: Settings, client: Any, clock: Clock) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.table = InventoryTable(client, settings.table_name)
        self.config = ConfigurationCache(self.table, settings.config_cache_seconds)

    @functools.cached_property
    def holds(self) -> HoldService:
        from holdfast.services.holds import HoldService

        return HoldService(self.table, self.config, self.clock)

    @functools.cached_property
    def orders(self) -> OrderService:
        from holdfast.services.orders import OrderService

        return OrderService(self.table, self.config, self.clock, self.holds)

    @functools.cached_property
    def inventory(self) -> InventoryService:
        from holdfast.services.inventory import InventoryService

        return InventoryService(self.table, self.config, self.clock, self.settings.feed_concurrency)

    @functools.cached_property
    def configuration(self) -> ConfigurationService:
        from holdfast.services.configuration import ConfigurationService

        return ConfigurationService(self.table, self.config, self.clock)

    @functools.cached_property
    def signals(self) -> SignalService:
        from holdfast.services.signals import SignalService
        from holdfast.signal_events import SignalPublisher
        from holdfast.storage.signals import SignalTable

        settings = self.settings
        return SignalService(
            SignalTable(self.client, settings.table_name, settings.signal_retention_days),
            SignalPublisher(
                _events_client() if settings.signal_event_bus else None, settings.signal_event_bus
            ),
            self.config,
            self.clock,
            self.table,
        )


def build_runtime(settings: Settings, clock: Clock = system_clock, client: Any = None) -> Runtime:
    """Wire the runtime for ``settings``; ``client`` and ``clock`` may be injected."""
    if client is None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=settings.dynamodb_endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=3,
                read_timeout=10,
                max_pool_connections=max(10, settings.feed_concurrency + 2),
                # DynamoDB validates every request itself; botocore's own walk of the
                # parameters cost about 5 % of each call's CPU (bench/README.md, the profile).
                parameter_validation=False,
            ),
        )
    return Runtime(settings, client, clock)


def _events_client() -> Any:
    """EventBridge, only for the function that publishes signals (created when a bus is set)."""
    return boto3.client("events", config=Config(retries={"mode": "standard", "max_attempts": 4}))


_clock: Clock = system_clock


def use_clock(clock: Clock | None) -> None:
    """Make the process-wide runtime tell time by ``clock`` (tests and simulations move time
    forward instead of sleeping); ``None`` restores the system clock."""
    global _clock
    _clock = clock or system_clock


def _current_time() -> datetime:
    return _clock()


@functools.cache
def get_runtime() -> Runtime:
    """The process-wide runtime, built from the environment on first use."""
    return build_runtime(Settings.from_environment(), clock=_current_time)


def reset_runtime() -> None:
    """Forget the process-wide runtime (tests, and the local dev server's engine switch)."""
    get_runtime.cache_clear()
