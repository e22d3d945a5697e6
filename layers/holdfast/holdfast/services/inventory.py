"""Stock feeds (applied by :mod:`holdfast.services.feed`), the ledger view, Virtual Positions
and reconciliation (docs/behaviour.md §2, §3)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import Clock
from holdfast.domain.refs import ip_ref, parse_ip_ref
from holdfast.errors import InvalidInput, NotFound
from holdfast.models import (
    InventoryBatchResponse,
    InventoryPositionView,
    VirtualPositionView,
)
from holdfast.services.feed import StockFeed
from holdfast.services.position_views import (
    decode_ledger_token,
    ledger_page,
    position_view,
    quantity_view,
    virtual_position_views,
)
from holdfast.services.reconciliation import Drift, reconcile
from holdfast.storage import InventoryTable

LEDGER_PAGE = 100
"""Ledger records in one page of ``GET /inventory-positions/{ref}`` unless asked otherwise."""
MAX_POSITIONS_READ = 5_000
"""Positions one Virtual Positions request may read (products × locations): 50 BatchGetItem
calls, well inside API Gateway's 30 s, and an answer well inside Lambda's 6 MB."""


class InventoryService:
    def __init__(
        self, table: InventoryTable, config: ConfigurationCache, clock: Clock, concurrency: int = 8
    ) -> None:
        self._table = table
        self._config = config
        self._feed = StockFeed(table, clock, concurrency)

    def apply_batch(self, entities: Sequence[dict[str, Any]]) -> InventoryBatchResponse:
        """Apply a stock feed batch (:meth:`holdfast.services.feed.StockFeed.apply_batch`)."""
        return self._feed.apply_batch(entities)

    def position(
        self,
        ref: str,
        *,
        limit: int = LEDGER_PAGE,
        next_token: str | None = None,
        iq_type: str | None = None,
        status: Literal["ACTIVE", "INACTIVE"] | None = None,
        order: Literal["newest", "oldest"] = "newest",
    ) -> InventoryPositionView:
        """The IP with its counter and one page of its ledger (newest first by default), so
        the answer stays small however many holds a hot SKU has had. The whole matching ledger
        is read for each page: a back-office read, priced in docs/architecture.md."""
        position_ref = _position_ref(ref)
        after = decode_ledger_token(next_token) if next_token else None
        if iq_type is None:
            record, ledger = self._table.get_ledger(position_ref)
        else:
            record, ledger = self._table.get_quantities_of_type(position_ref, iq_type)
        if record is None:
            raise NotFound(
                f"inventory position {position_ref!r} does not exist",
                [{"field": "ref", "message": "unknown inventory position"}],
            )
        views = [quantity_view(iq, record.snapshot_as_of) for iq in ledger]
        page, more = ledger_page(views, status, order, after, limit)
        return position_view(record, page, more)

    def virtual_positions(
        self,
        channel_name: str,
        product_refs: Sequence[str],
        location_refs: Sequence[str] = (),
        kinds: Iterable[Literal["BASE", "AGGREGATE"]] = ("BASE", "AGGREGATE"),
        catalogue: str = "DEFAULT",
    ) -> list[VirtualPositionView]:
        """ATS per product × location (BASE) and per product over the channel's locations
        (AGGREGATE), from one batched read of the IP counters. Writes nothing."""
        configuration = self._config.current()
        channel = self._config.channel(channel_name)
        kinds = set(kinds)
        selling = [loc.ref for loc in configuration.locations_selling_to(channel)]
        base, aggregate = _shown_locations(selling, location_refs, kinds)
        products = list(dict.fromkeys(product_refs))
        wanted = list(dict.fromkeys([*base, *aggregate]))
        _check_positions_read(len(products), len(wanted))
        counters = self._table.get_positions(
            [ip_ref(product, location, catalogue) for product in products for location in wanted]
        )

        def ats(product: str, location: str) -> int:
            record = counters.get(ip_ref(product, location, catalogue))
            return available_to_sell(record.on_hand if record else 0, channel, location)

        return virtual_position_views(
            channel, products, base, aggregate if "AGGREGATE" in kinds else None, ats
        )

    def reconcile(self) -> tuple[int, list[Drift]]:
        """Every position's counter against its ledger (:func:`reconcile`)."""
        return reconcile(self._table)


def _position_ref(ref: str) -> str:
    """The position ``ref`` names (its catalogue may be left out), or a 400 naming ``ref``."""
    try:
        product_ref, location_ref, catalogue = parse_ip_ref(ref)
    except ValueError as error:
        raise InvalidInput.field("ref", str(error)) from None
    return ip_ref(product_ref, location_ref, catalogue)


def _shown_locations(
    selling: list[str], location_refs: Sequence[str], kinds: Collection[str]
) -> tuple[list[str], list[str]]:
    """The locations of the BASE positions asked for (those named, else every location selling
    to the channel) and those an AGGREGATE sums (the named ones that sell to it); empty for a
    kind not asked for."""
    if location_refs:
        base = list(dict.fromkeys(location_refs))
        aggregate = [ref for ref in selling if ref in set(location_refs)]
    else:
        base, aggregate = selling, selling
    return (base if "BASE" in kinds else [], aggregate if "AGGREGATE" in kinds else [])


def _check_positions_read(products: int, locations: int) -> None:
    """Refuse a Virtual Positions request that would read more than one request may."""
    reads = products * locations
    if reads > MAX_POSITIONS_READ:
        raise InvalidInput.field(
            "productRef",
            f"{products} products over {locations} locations is {reads} positions; one request "
            f"reads at most {MAX_POSITIONS_READ}: ask for fewer products, or name the locations (locationRef)",
        )
