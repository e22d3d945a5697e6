"""Stock feeds, the ledger view, Virtual Positions and reconciliation (docs/behaviour.md §2, §3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from holdfast import retry
from holdfast.configuration_cache import ConfigurationCache
from holdfast.domain import ledger as rules
from holdfast.domain import shards
from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import Clock, to_iso, truncate_to_millis
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.domain.refs import ip_ref, parse_ip_ref
from holdfast.errors import InvalidInput, NotFound, Unavailable, describe_problem
from holdfast.models import (
    EntityResult,
    InventoryBatchResponse,
    InventoryPositionView,
    InventoryUpdate,
    VirtualPositionView,
)
from holdfast.services.position_views import (
    decode_ledger_token,
    encode_ledger_token,
    quantity_view,
    virtual_position_view,
)
from holdfast.services.reconciliation import Drift, reconcile
from holdfast.storage import (
    AdjustmentOutcome,
    InventoryTable,
    PositionKey,
    PositionRecord,
    SnapshotOutcome,
)

SNAPSHOT_ATTEMPTS = 12
"""Rounds a snapshot waits (with jittered backoff) while a newer count holds the position's
fence; only concurrent snapshots of one position contend."""
SNAPSHOT_FENCE = timedelta(seconds=30)
"""How long a fence stands if the snapshot that set it never lands (its writer died)."""
FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of our clock a feed's ``asOf`` may be (clock skew between systems)."""

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
        self._concurrency = concurrency

    def apply_batch(self, entities: Sequence[dict[str, Any]]) -> InventoryBatchResponse:
        """Apply each entity independently; entities for one position apply in batch order,
        positions in parallel. The answer has a result per entity, in request order."""
        results: list[EntityResult | None] = [None] * len(entities)
        by_position: dict[str, list[tuple[int, InventoryUpdate]]] = {}
        now = self._now()
        for index, raw in enumerate(entities):
            try:
                update = InventoryUpdate.model_validate(raw)
            except ValidationError as error:
                details = [describe_problem(problem) for problem in error.errors()]
                results[index] = EntityResult(
                    index=index,
                    status="INVALID",
                    message="; ".join(f"{d['field']}: {d['message']}" for d in details),
                    details=details,
                    **_identifying_fields(raw),
                )
                continue
            if update.asOf is not None and update.asOf > now + FUTURE_TOLERANCE:
                results[index] = EntityResult(
                    index=index,
                    status="INVALID",
                    message="asOf: is in the future",
                    details=[{"field": "asOf", "message": "is in the future"}],
                    **_identifying_fields(raw),
                )
                continue
            position = ip_ref(update.productRef, update.locationRef, update.catalogue)
            by_position.setdefault(position, []).append((index, update))

        def apply_group(group: list[tuple[int, InventoryUpdate]]) -> None:
            for index, update in group:
                results[index] = self._apply_one(index, update)

        groups = list(by_position.values())
        if len(groups) > 1 and self._concurrency > 1:
            with ThreadPoolExecutor(max_workers=min(self._concurrency, len(groups))) as pool:
                list(pool.map(apply_group, groups))
        else:
            for group in groups:
                apply_group(group)

        counters = self._table.get_positions(list(by_position))
        for position, group in by_position.items():
            record = counters.get(position)
            for index, _ in group:
                result = results[index]
                if result is not None and result.status != "INVALID":
                    result.onHand = record.on_hand if record else 0
        final = [result for result in results if result is not None]
        return InventoryBatchResponse(results=final, summary=dict(Counter(r.status for r in final)))

    def _apply_one(self, index: int, update: InventoryUpdate) -> EntityResult:
        iq_type = IqType(update.type)
        position = ip_ref(update.productRef, update.locationRef, update.catalogue)
        now = self._now()
        effective = truncate_to_millis(update.asOf) if update.asOf else now
        iq = InventoryQuantity(
            position_ref=position,
            type=iq_type,
            quantity=update.quantity,
            status=IqStatus.ACTIVE,
            effective_at=effective,
            created_at=now,
            source_ref=update.sourceRef,
        )
        echo: dict[str, Any] = {
            "index": index,
            "productRef": update.productRef,
            "locationRef": update.locationRef,
            "type": update.type,
            "iqRef": iq.ref,
        }
        try:
            if iq_type is IqType.LAST_ON_HAND:
                status, message = self._apply_snapshot(iq, update, now)
                return EntityResult(status=status, message=message, **echo)
            outcome, existing = self._record_adjustment(iq, update, now)
        except Unavailable as error:
            # This entity alone met lasting contention; the rest of the batch stands.
            return EntityResult(status="RETRY", message=error.message, **echo)
        if outcome is AdjustmentOutcome.APPLIED:
            return EntityResult(status="APPLIED", **echo)
        if outcome is AdjustmentOutcome.STALE:
            return EntityResult(
                status="STALE",
                message="asOf: at or before the position's last snapshot, which already counts it",
                **echo,
            )
        if existing is not None and existing.quantity != update.quantity:
            return EntityResult(
                status="INVALID",
                message=f"sourceRef: already used for a {existing.type} of {existing.quantity}",
                details=[
                    {"field": "sourceRef", "message": "already used with a different quantity"}
                ],
                **echo,
            )
        return EntityResult(status="UNCHANGED", message="already applied", **echo)

    def _record_adjustment(
        self, iq: InventoryQuantity, update: InventoryUpdate, now: datetime
    ) -> tuple[AdjustmentOutcome, InventoryQuantity | None]:
        """Record a feed adjustment; a decrease of a sharded position is sent again with the
        units it needs pulled back from the other shards (docs/decisions.md #12). An undated
        event that a count dated at or after now would swallow (a count from a clock running
        ahead) is dated just after that count: it happened after every count we hold, so it is
        never dropped (docs/decisions.md #14)."""
        cover = None
        for attempt in range(SNAPSHOT_ATTEMPTS):
            outcome, existing = self._table.record_adjustment(
                iq, PositionKey(update.productRef, update.locationRef, update.catalogue), now, cover
            )
            if outcome is AdjustmentOutcome.AGAIN:
                continue  # a dead count's fence was in the way and is down now
            undated_and_stale = outcome is AdjustmentOutcome.STALE and update.asOf is None
            if outcome is not AdjustmentOutcome.SHARDED and not undated_and_stale:
                return outcome, existing  # the common path: no second read
            record = self._table.get_positions([iq.position_ref]).get(iq.position_ref)
            if undated_and_stale:
                later = _after_counts(record)
                if later is None or later <= iq.effective_at:
                    return outcome, existing
                iq = replace(iq, effective_at=later)
                continue
            cover = (
                shards.cover(record.shard_values, iq.quantity)
                if record and record.counter_shards > 1
                else None
            )
            if attempt:
                retry.REPLAN.pause(attempt)
        raise Unavailable(
            f"{iq.position_ref}: its counter shards kept changing; send this entity again"
        )

    def _apply_snapshot(
        self, snapshot: InventoryQuantity, update: InventoryUpdate, now: datetime
    ) -> tuple[Literal["APPLIED", "UNCHANGED", "STALE"], str | None]:
        """Fence the position at the count's time, read the ledger, supersede what the count
        includes and move the counter — all feed events dated after the count, and every hold,
        keep landing meanwhile."""
        position = PositionKey(update.productRef, update.locationRef, update.catalogue)
        for attempt in range(SNAPSHOT_ATTEMPTS):
            now = self._now()
            fence_id = self._table.fence_snapshot(
                position, snapshot.effective_at, now + SNAPSHOT_FENCE, now
            )
            if fence_id is None:
                current = self._table.get_positions([snapshot.position_ref]).get(
                    snapshot.position_ref
                )
                if (
                    current is not None
                    and current.snapshot_as_of is not None
                    and snapshot.effective_at <= current.snapshot_as_of
                ):
                    if (
                        snapshot.effective_at == current.snapshot_as_of
                        and current.snapshot_quantity == snapshot.quantity
                    ):
                        return "UNCHANGED", "this snapshot is already applied"
                    return (
                        "STALE",
                        f"asOf: the position already has a snapshot as of {to_iso(current.snapshot_as_of)}",
                    )
                retry.REPLAN.pause(attempt + 1)  # a newer count is landing
                continue
            record, ledger = self._table.get_snapshot_ledger(snapshot.position_ref)
            counted_as_of = record.snapshot_as_of if record else None
            plan = rules.plan_snapshot(
                ledger, counted_as_of, snapshot.quantity, snapshot.effective_at
            )
            cover = None
            if record is not None and record.counter_shards > 1 and plan.counter_delta < 0:
                counters = self._table.get_positions([record.ref])[record.ref]
                cover = shards.cover(counters.shard_values, plan.counter_delta)
            outcome = self._table.record_snapshot(
                snapshot,
                plan.superseded,
                plan.counter_delta,
                position,
                now,
                cover,
                fence_id,
            )
            if outcome is SnapshotOutcome.APPLIED:
                return "APPLIED", None
        raise Unavailable(
            f"a newer count of {snapshot.position_ref} is being applied (or its writer died and its "
            f"fence stands for up to {SNAPSHOT_FENCE.seconds} s); send this entity again"
        )

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


def _after_counts(position: PositionRecord | None) -> datetime | None:
    """Just after the latest count the position holds or is applying, if any."""
    times = (
        [t for t in (position.snapshot_as_of, position.fence_as_of) if t is not None]
        if position
        else []
    )
    return max(times) + timedelta(milliseconds=1) if times else None


def _identifying_fields(raw: Any) -> dict[str, Any]:
    """The identifying fields of an entity that failed validation, where they are strings."""
    if not isinstance(raw, dict):
        return {}
    return {k: raw[k] for k in ("productRef", "locationRef", "type") if isinstance(raw.get(k), str)}
