"""One retry policy: which DynamoDB answers mean "not now", and how long to wait before the
next try.

Every loop in the layer that tries again (a transaction cancelled for contention, a plan whose
stock moved, unprocessed batch keys, a count waiting for a newer one's fence) waits through a
:class:`Backoff` from here, so the waits are tuned in one place (docs/decisions.md #13).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

NOT_NOW_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
"""Whole-call errors that mean "not now": nothing was done, the same call may run again.
Still failing after our tries, they reach a client as a 503 to retry, never a 500."""

NOT_NOW_CANCELLATIONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
"""A transaction's per-item cancellation reasons that say "not now" rather than "no": another
transaction held an item, or capacity ran short. Nothing was written."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full jitter: before try ``n`` (n >= 2) wait a random time up to ``base`` × 2^(n−2),
    at most ``cap`` seconds, so contenders that collided once do not collide again in step."""

    base: float
    cap: float

    def delay(self, tries_so_far: int) -> float:
        """The wait after ``tries_so_far`` tries (1 after the first)."""
        return random.uniform(0, min(self.cap, self.base * 2 ** max(0, tries_so_far - 1)))

    def pause(self, tries_so_far: int) -> None:
        time.sleep(self.delay(tries_so_far))


COMMIT = Backoff(base=0.025, cap=0.4)
"""A transaction DynamoDB cancelled for contention or throttling: 5 tries wait 0.75 s at most."""
REPLAN = Backoff(base=0.01, cap=0.5)
"""A read-plan-commit round whose reads another writer changed (a hold's stock, a reshard's
shards, a count waiting for a newer count's fence): short, since each failed round is someone
else's progress."""
UNPROCESSED = Backoff(base=0.05, cap=1.0)
"""Keys or items a batch call left unprocessed (throttled partitions)."""
