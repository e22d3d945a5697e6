"""Stock feeds, the ledger view, Virtual Positions and reconciliation (docs/behaviour.md §2, §3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import Clock, to_iso, truncate_to_millis
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
    encode_ledger_token,
    quantity_view,
    virtual_position_view,
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
        self._clock = clock
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
        try:
            product_ref, location_ref, catalogue = parse_ip_ref(ref)
        except ValueError as error:
            raise InvalidInput.field("ref", str(error)) from None
        after = decode_ledger_token(next_token) if next_token else None
        position_ref = ip_ref(product_ref, location_ref, catalogue)
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
        views = [view for view in views if status is None or view.status == status]
        newest = order == "newest"
        views.sort(key=lambda view: (view.createdAt, view.iqRef), reverse=newest)
        if after is not None:
            views = [
                v
                for v in views
                if ((v.createdAt, v.iqRef) < after if newest else (v.createdAt, v.iqRef) > after)
            ]
        page, more = views[:limit], len(views) > limit
        return InventoryPositionView(
            ref=record.ref,
            productRef=record.product_ref,
            locationRef=record.location_ref,
            catalogue=record.catalogue,
            onHand=record.on_hand,
            lastSnapshotAsOf=to_iso(record.snapshot_as_of) if record.snapshot_as_of else None,
            updatedAt=to_iso(record.updated_at) if record.updated_at else None,
            quantities=page,
            nextToken=encode_ledger_token(page[-1]) if more else None,
        )

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
        if location_refs:
            base_locations = list(dict.fromkeys(location_refs))
            aggregate_locations = [ref for ref in selling if ref in set(location_refs)]
        else:
            base_locations = selling
            aggregate_locations = selling
        wanted_locations = list(
            dict.fromkeys(
                [
                    *(base_locations if "BASE" in kinds else []),
                    *(aggregate_locations if "AGGREGATE" in kinds else []),
                ]
            )
        )
        products = list(dict.fromkeys(product_refs))
        reads = len(products) * len(wanted_locations)
        if reads > MAX_POSITIONS_READ:
            raise InvalidInput.field(
                "productRef",
                f"{len(products)} products over {len(wanted_locations)} locations is {reads} positions; one request "
                f"reads at most {MAX_POSITIONS_READ}: ask for fewer products, or name the locations (locationRef)",
            )
        counters = self._table.get_positions(
            [
                ip_ref(product, location, catalogue)
                for product in products
                for location in wanted_locations
            ]
        )

        def ats(product: str, location: str) -> int:
            record = counters.get(ip_ref(product, location, catalogue))
            return available_to_sell(record.on_hand if record else 0, channel, location)

        items: list[VirtualPositionView] = []
        for product in products:
            if "BASE" in kinds:
                for location in base_locations:
                    items.append(
                        virtual_position_view(
                            channel, product, location, "BASE", ats(product, location)
                        )
                    )
            if "AGGREGATE" in kinds:
                total = sum(ats(product, location) for location in aggregate_locations)
                items.append(virtual_position_view(channel, product, None, "AGGREGATE", total))
        return items

    def reconcile(self) -> tuple[int, list[Drift]]:
        """Every position's counter against its ledger (:func:`reconcile`)."""
        return reconcile(self._table)

    def _now(self) -> datetime:
        return truncate_to_millis(self._clock())
