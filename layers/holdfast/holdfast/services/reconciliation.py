"""Reconciliation: every position's counter against the sum of its ledger
(docs/behaviour.md §2; ``holdfast reconcile``)."""

from __future__ import annotations

from dataclasses import dataclass

from holdfast.domain import ledger as rules
from holdfast.domain.ledger import InventoryQuantity
from holdfast.storage import InventoryTable, PositionRecord


@dataclass(frozen=True)
class Drift:
    """A position whose counter is not its ledger sum (``counter`` None: no counter item)."""

    position_ref: str
    counter: int | None
    ledger_sum: int


def reconcile(table: InventoryTable) -> tuple[int, list[Drift]]:
    """Recompute every IP's onHand from its ledger and compare with the counter.

    A scan is not a point-in-time read: on a live table a position's items can straddle
    two pages with a write in between. A position that seems to drift is read again with
    one consistent Query of its partition, and reported only if it still drifts. (Neither
    read is isolated from a transaction in flight: run it when writes are quiet, or run it
    twice, for a verdict.)
    """
    checked = 0
    drift: list[Drift] = []
    for position, ledger in table.scan_ledgers():
        checked += 1
        found = _drift(position, ledger)
        if found is not None:
            found = _drift(*table.get_ledger(found.position_ref))
        if found is not None:
            drift.append(found)
    return checked, drift


def _drift(position: PositionRecord | None, ledger: list[InventoryQuantity]) -> Drift | None:
    """The position's drift between its counter and its ledger sum, if any."""
    expected = rules.on_hand(ledger, position.snapshot_as_of if position else None)
    if position is not None and position.on_hand == expected:
        return None
    ref = position.ref if position else ledger[0].position_ref
    return Drift(ref, position.on_hand if position else None, expected)
