"""The stock feed: ``POST /inventory/batch`` applied entity by entity (docs/behaviour.md §2).

A feed event (DELTA, CORRECTION, RETURNED) and a count (LAST_ON_HAND) each read, plan
(:func:`~holdfast.domain.ledger.plan_adjustment`, :func:`~holdfast.domain.ledger.plan_snapshot`)
and commit the plan in one transaction; a refused commit is answered by the feed rules of
:mod:`holdfast.domain.ledger` (docs/decisions.md #6, #12 and #14).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import ValidationError

from holdfast import retry
from holdfast.domain import ledger as rules
from holdfast.domain import shards
from holdfast.domain.clock import Clock, to_iso, truncate_to_millis
from holdfast.domain.ledger import (
    FeedConflict,
    FeedPart,
    FeedRefusal,
    FenceRefusal,
    InventoryQuantity,
    IqStatus,
    IqType,
    SnapshotPlan,
)
from holdfast.domain.refs import ip_ref
from holdfast.domain.shards import Cover
from holdfast.errors import Unavailable, describe_problem
from holdfast.models import EntityResult, InventoryBatchResponse, InventoryUpdate
from holdfast.storage import InventoryTable, PositionKey, PositionRecord

SNAPSHOT_ATTEMPTS = 12
"""Rounds a snapshot waits (with jittered backoff) while a newer count holds the position's
fence; only concurrent snapshots of one position contend."""
SNAPSHOT_FENCE = timedelta(seconds=30)
"""How long a fence stands if the snapshot that set it never lands (its writer died)."""
FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of our clock a feed's ``asOf`` may be (clock skew between systems)."""

Group = list[tuple[int, InventoryUpdate]]
"""One position's entities, with their places in the batch, in batch order."""


class Adjusted(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    """Its IQ is already there: this event sent again, or another with its sourceRef."""
    STALE = "STALE"


class StockFeed:
    """Applies stock feed batches to the table."""

    def __init__(self, table: InventoryTable, clock: Clock, concurrency: int = 8) -> None:
        self._table = table
        self._clock = clock
        self._concurrency = concurrency

    def apply_batch(self, entities: Sequence[dict[str, Any]]) -> InventoryBatchResponse:
        """Apply each entity independently; entities for one position apply in batch order,
        positions in parallel. The answer has a result per entity, in request order."""
        results: list[EntityResult | None] = [None] * len(entities)
        by_position: dict[str, Group] = {}
        now = self._now()
        for index, raw in enumerate(entities):
            update = _valid_update(index, raw, now, results)
            if update is not None:
                position = ip_ref(update.productRef, update.locationRef, update.catalogue)
                by_position.setdefault(position, []).append((index, update))
        self._apply_groups(list(by_position.values()), results)
        self._report_on_hand(by_position, results)
        final = [result for result in results if result is not None]
        return InventoryBatchResponse(results=final, summary=dict(Counter(r.status for r in final)))

    def _apply_groups(self, groups: list[Group], results: list[EntityResult | None]) -> None:
        """Each position's entities in batch order; positions in parallel."""

        def apply_group(group: Group) -> None:
            for index, update in group:
                results[index] = self._apply_one(index, update)

        if len(groups) > 1 and self._concurrency > 1:
            with ThreadPoolExecutor(max_workers=min(self._concurrency, len(groups))) as pool:
                list(pool.map(apply_group, groups))
        else:
            for group in groups:
                apply_group(group)

    def _report_on_hand(
        self, by_position: dict[str, Group], results: list[EntityResult | None]
    ) -> None:
        """Each valid entity's result carries its position's onHand after the whole batch."""
        counters = self._table.get_positions(list(by_position))
        for position, group in by_position.items():
            record = counters.get(position)
            for index, _ in group:
                result = results[index]
                if result is not None and result.status != "INVALID":
                    result.onHand = record.on_hand if record else 0

    def _apply_one(self, index: int, update: InventoryUpdate) -> EntityResult:
        now = self._now()
        iq = InventoryQuantity(
            position_ref=ip_ref(update.productRef, update.locationRef, update.catalogue),
            type=IqType(update.type),
            quantity=update.quantity,
            status=IqStatus.ACTIVE,
            effective_at=truncate_to_millis(update.asOf) if update.asOf else now,
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
            if iq.type is IqType.LAST_ON_HAND:
                status, message = self._apply_snapshot(iq, update)
                return EntityResult(status=status, message=message, **echo)
            outcome, existing = self._record_adjustment(iq, update, now)
        except Unavailable as error:
            # This entity alone met lasting contention; the rest of the batch stands.
            return EntityResult(status="RETRY", message=error.message, **echo)
        return _adjustment_result(outcome, existing, update, echo)

    def _record_adjustment(
        self, iq: InventoryQuantity, update: InventoryUpdate, now: datetime
    ) -> tuple[Adjusted, InventoryQuantity | None]:
        """Record a feed adjustment, answering a refusal as the feed rules say
        (:func:`~holdfast.domain.ledger.why_refused`): a fence whose writer died is taken down
        and the event applied again; a decrease of a sharded position is sent again with the
        units it needs pulled back from the other shards (docs/decisions.md #12); an undated
        event that a count dated at or after now would swallow (a count from a clock running
        ahead) is dated just after that count: it happened after every count we hold, so it is
        never dropped (docs/decisions.md #14)."""
        cover = None
        for attempt in range(SNAPSHOT_ATTEMPTS):
            plan = rules.plan_adjustment(
                iq, update.productRef, update.locationRef, update.catalogue, now, cover
            )
            try:
                self._table.commit_adjustment(plan)
                return Adjusted.APPLIED, None
            except FeedConflict as conflict:
                if conflict.part is FeedPart.QUANTITY_EXISTS:
                    return Adjusted.DUPLICATE, self._recorded(iq)
            record = self._table.get_positions([iq.position_ref]).get(iq.position_ref)
            refusal = rules.why_refused(record, iq, now)
            if refusal is FeedRefusal.FENCE_LAPSED and record is not None:
                self._table.take_down_fence(record, now)  # then apply it again
            elif refusal is FeedRefusal.COUNTED:
                later = rules.after_counts(record) if update.asOf is None else None
                if later is None or later <= iq.effective_at:
                    return Adjusted.STALE, None
                iq = replace(iq, effective_at=later)
            else:
                cover = _fresh_cover(record, iq.quantity)
                if attempt:
                    retry.REPLAN.pause(attempt)
        raise Unavailable(
            f"{iq.position_ref}: its counter shards kept changing; send this entity again"
        )

    def _recorded(self, iq: InventoryQuantity) -> InventoryQuantity | None:
        """The IQ already recorded under ``iq``'s ref (a replay, or another event's)."""
        existing = self._table.get_quantities([(iq.position_ref, iq.type, iq.source_ref)])
        return existing[0] if existing else None

    def _apply_snapshot(
        self, snapshot: InventoryQuantity, update: InventoryUpdate
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
                answer = self._fence_refused(snapshot)
                if answer is not None:
                    return answer
                retry.REPLAN.pause(attempt + 1)  # a newer count is landing
                continue
            try:
                self._table.commit_snapshot(self._plan_count(snapshot, position, fence_id, now))
            except FeedConflict:
                continue  # a newer count took the fence, or an event took its lapsed fence down
            return "APPLIED", None
        raise Unavailable(
            f"a newer count of {snapshot.position_ref} is being applied (or its writer died and its "
            f"fence stands for up to {SNAPSHOT_FENCE.seconds} s); send this entity again"
        )

    def _fence_refused(
        self, snapshot: InventoryQuantity
    ) -> tuple[Literal["UNCHANGED", "STALE"], str] | None:
        """The answer to a count whose fence was refused, or ``None`` while a newer count is
        being applied (wait for it)."""
        current = self._table.get_positions([snapshot.position_ref]).get(snapshot.position_ref)
        refusal = rules.fence_refusal(current, snapshot)
        if refusal is FenceRefusal.ALREADY_APPLIED:
            return "UNCHANGED", "this snapshot is already applied"
        if refusal is FenceRefusal.STALE and current and current.snapshot_as_of:
            return (
                "STALE",
                f"asOf: the position already has a snapshot as of {to_iso(current.snapshot_as_of)}",
            )
        return None

    def _plan_count(
        self, snapshot: InventoryQuantity, position: PositionKey, fence_id: str, now: datetime
    ) -> SnapshotPlan:
        """Read the ledger under the fence and plan the count; a count that lowers a sharded
        position reads its shards for the cover (docs/decisions.md #12)."""
        record, ledger = self._table.get_snapshot_ledger(snapshot.position_ref)
        plan = rules.plan_snapshot(
            ledger,
            record.snapshot_as_of if record else None,
            snapshot,
            product_ref=position.product_ref,
            location_ref=position.location_ref,
            catalogue=position.catalogue,
            fence_id=fence_id,
            now=now,
        )
        if record is not None and record.counter_shards > 1 and plan.counter_delta < 0:
            counters = self._table.get_positions([record.ref])[record.ref]
            plan = plan.covered(shards.cover(counters.shard_values, plan.counter_delta))
        return plan

    def _now(self) -> datetime:
        return truncate_to_millis(self._clock())


def _fresh_cover(position: PositionRecord | None, delta: int) -> Cover | None:
    """The units a decrease of a sharded position pulls back from its other shards, from the
    shards as just read (docs/decisions.md #12); ``None`` for an unsharded position."""
    if position is None or position.counter_shards <= 1:
        return None
    return shards.cover(position.shard_values, delta)


def _valid_update(
    index: int, raw: Any, now: datetime, results: list[EntityResult | None]
) -> InventoryUpdate | None:
    """The entity as an update, or ``None`` with its INVALID result set."""
    try:
        update = InventoryUpdate.model_validate(raw)
    except ValidationError as error:
        details = [describe_problem(problem) for problem in error.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    else:
        if update.asOf is None or update.asOf <= now + FUTURE_TOLERANCE:
            return update
        details = [{"field": "asOf", "message": "is in the future"}]
        message = "asOf: is in the future"
    results[index] = EntityResult(
        index=index,
        status="INVALID",
        message=message,
        details=details,
        **_identifying_fields(raw),
    )
    return None


def _adjustment_result(
    outcome: Adjusted,
    existing: InventoryQuantity | None,
    update: InventoryUpdate,
    echo: dict[str, Any],
) -> EntityResult:
    if outcome is Adjusted.APPLIED:
        return EntityResult(status="APPLIED", **echo)
    if outcome is Adjusted.STALE:
        return EntityResult(
            status="STALE",
            message="asOf: at or before the position's last snapshot, which already counts it",
            **echo,
        )
    if existing is not None and existing.quantity != update.quantity:
        return EntityResult(
            status="INVALID",
            message=f"sourceRef: already used for a {existing.type} of {existing.quantity}",
            details=[{"field": "sourceRef", "message": "already used with a different quantity"}],
            **echo,
        )
    return EntityResult(status="UNCHANGED", message="already applied", **echo)


def _identifying_fields(raw: Any) -> dict[str, Any]:
    """The identifying fields of an entity that failed validation, where they are strings."""
    if not isinstance(raw, dict):
        return {}
    return {k: raw[k] for k in ("productRef", "locationRef", "type") if isinstance(raw.get(k), str)}
