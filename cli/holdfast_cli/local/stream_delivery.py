"""Delivering a batch of stream records to one function as Lambda's event source mapping does.

A batch is invoked; an answer's ``batchItemFailures`` (``ReportBatchItemFailures``) or a
raised error makes it retry from the first failed record, split in two when the mapping
bisects on error, until ``MaximumRetryAttempts`` or ``MaximumRecordAgeInSeconds`` drops the
records with a logged warning. :mod:`holdfast_cli.local.stream_poller` reads the stream and
hands each mapping's records to its :class:`BatchDelivery`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from holdfast_cli.local.stream_mappings import StreamMapping

logger = logging.getLogger("holdfast_cli.local.stream_poller")

Invoke = Callable[[str, dict[str, Any]], Any]


def sequence_number(record: Mapping[str, Any]) -> str:
    return record["dynamodb"].get("SequenceNumber", "")


@dataclass
class DeliveryStats:
    """What the poller has done so far (read by tests and the dev server)."""

    records_read: int = 0
    records_delivered: int = 0
    invocations: int = 0
    retries: int = 0
    records_dropped: int = 0


class BatchDelivery:
    """Invokes one mapping's function with batches and applies its retry rules."""

    def __init__(
        self,
        mapping: StreamMapping,
        invoke: Invoke,
        stats: DeliveryStats,
        *,
        retry_delay: float = 0.2,
        stopping: threading.Event | None = None,
        log: TextIO | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.mapping = mapping
        self._invoke = invoke
        self._stats = stats
        self._retry_delay = retry_delay
        self._stopping = stopping or threading.Event()
        self._log = log
        self._now = now

    def deliver(self, records: Iterable[dict[str, Any]]) -> None:
        """Filter Lambda-shaped records and invoke the function in batches of BatchSize."""
        accepted = [record for record in records if self.mapping.accepts(record)]
        size = max(1, self.mapping.batch_size)
        for start in range(0, len(accepted), size):
            self._deliver_batch(accepted[start : start + size], attempt=0)

    def _deliver_batch(self, batch: list[dict[str, Any]], attempt: int) -> None:
        pending = self._drop_too_old(batch)
        while pending:
            try:
                response = self._invoke(self.mapping.function, {"Records": pending})
                self._stats.invocations += 1
                failed_from = self._first_failure(response, pending)
                problem = "reported batchItemFailures"
            except Exception as error:  # a function error: Lambda retries (or bisects) the batch
                self._stats.invocations += 1
                logger.warning(
                    "%s failed on %d stream records: %s: %s",
                    self.mapping.function,
                    len(pending),
                    type(error).__name__,
                    error,
                )
                if self.mapping.bisect_on_error and len(pending) > 1:
                    middle = len(pending) // 2
                    self._deliver_batch(pending[:middle], attempt + 1)
                    self._deliver_batch(pending[middle:], attempt + 1)
                    return
                failed_from = 0
                problem = f"raised {type(error).__name__}"
            delivered = len(pending) if failed_from is None else failed_from
            self._stats.records_delivered += delivered
            self._note(
                f"stream → {self.mapping.function}: {len(pending)} records"
                + ("" if failed_from is None else f", {len(pending) - failed_from} to retry")
            )
            if failed_from is None:
                return
            pending = self._drop_too_old(pending[failed_from:])
            attempt += 1
            limit = self.mapping.maximum_retry_attempts
            if (limit >= 0 and attempt > limit) or self._stopping.is_set():
                reason = "retries exhausted" if not self._stopping.is_set() else "poller stopping"
                self._drop(pending, f"{reason} after {attempt} attempts ({problem})")
                return
            self._stats.retries += 1
            self._stopping.wait(min(self._retry_delay * 2 ** (attempt - 1), 5.0))

    def _first_failure(self, response: Any, batch: Sequence[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or ``None`` when the batch succeeded.

        As Lambda does: only with ``ReportBatchItemFailures``; an identifier that is empty or
        names no record of the batch fails the whole batch.
        """
        if not self.mapping.report_item_failures or not isinstance(response, Mapping):
            return None
        failures = response.get("batchItemFailures") or []
        if not failures:
            return None
        positions = {sequence_number(record): index for index, record in enumerate(batch)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
            if not identifier or identifier not in positions:
                return 0
            indexes.append(positions[identifier])
        return min(indexes)

    def _drop_too_old(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        age_limit = self.mapping.maximum_record_age_seconds
        if age_limit < 0:
            return records
        now = self._now()
        fresh: list[dict[str, Any]] = []
        old: list[dict[str, Any]] = []
        for record in records:
            created = record["dynamodb"].get("ApproximateCreationDateTime", now)
            (fresh if now - created <= age_limit else old).append(record)
        self._drop(old, f"older than MaximumRecordAgeInSeconds={age_limit}")
        return fresh

    def _drop(self, records: Sequence[dict[str, Any]], reason: str) -> None:
        if not records:
            return
        self._stats.records_dropped += len(records)
        logger.warning(
            "dropping %d stream records for %s (%s): sequence numbers %s; a deployed mapping "
            "sends them to its on-failure destination",
            len(records),
            self.mapping.function,
            reason,
            ", ".join(sequence_number(r) for r in records),
        )
        self._note(f"stream → {self.mapping.function}: dropped {len(records)} records ({reason})")

    def _note(self, line: str) -> None:
        if self._log is not None:
            print(line, file=self._log, flush=True)
