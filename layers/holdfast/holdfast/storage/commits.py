"""Running one TransactWriteItems: all of it or none, "not now" retried, conflicts named.

A cancellation for contention or throttling alone is retried (:data:`holdfast.retry.COMMIT`);
a failed condition is a :class:`WriteConflict` naming the operations whose conditions did
not hold (docs/decisions.md #13).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from holdfast import retry
from holdfast.errors import Unavailable


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction (``"None"`` for items that were fine)."""
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


def _is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


CONDITION_FAILED = "ConditionalCheckFailed"
COMMIT_ATTEMPTS = 5
"""Tries of one transaction that DynamoDB cancelled for contention or throttling (each try
after the first waits :data:`holdfast.retry.COMMIT`); then the caller gets a 503 to retry."""


def _worth_retrying(error: ClientError) -> bool:
    """Cancelled only for contention or throttling (no condition failed), or throttled whole."""
    if _is_cancelled(error):
        codes = [code for code in cancellation_codes(error) if code not in ("None", "")]
        return bool(codes) and all(code in retry.NOT_NOW_CANCELLATIONS for code in codes)
    return error.response["Error"]["Code"] in retry.NOT_NOW_ERRORS


def _retry_reason(error: ClientError) -> str:
    codes = [code for code in cancellation_codes(error) if code not in ("None", "")]
    return ", ".join(sorted(set(codes))) or error.response["Error"]["Code"]


class WriteConflict(Exception):
    """A ledger transaction was cancelled; ``failed`` names the operations whose condition
    did not hold (``counter:{ipRef}``, ``iq:{iqRef}``, ``FO:{ref}``, ``ORDER:{ref}`` …)."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__(f"transaction cancelled by {', '.join(failed) or 'a conflict'}")
        self.failed = failed


Operation = tuple[str, dict[str, Any]]
"""One item of a transaction and the tag that names it in a :class:`WriteConflict`."""


def run(client: Any, operations: Sequence[Operation]) -> None:
    """Run ``operations`` as one TransactWriteItems, retrying "not now" (see the module)."""
    tags = [tag for tag, _ in operations]
    items = [op for _, op in operations]
    reason = ""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            client.transact_write_items(TransactItems=items)
            return
        except ClientError as error:
            if not _worth_retrying(error):
                if not _is_cancelled(error):
                    raise
                codes = cancellation_codes(error)
                if CONDITION_FAILED not in codes:
                    raise  # neither a condition nor contention: a bug, not a conflict
                raise WriteConflict(
                    [
                        tag
                        for tag, code in zip(tags, codes, strict=False)
                        if code == CONDITION_FAILED
                    ]
                ) from None
            reason = _retry_reason(error)
        if attempt < COMMIT_ATTEMPTS:
            retry.COMMIT.pause(attempt)
    raise Unavailable(
        f"the write met contention or throttling ({reason}) {COMMIT_ATTEMPTS} times; nothing was written, retry",
        [{"field": "body", "message": "retry with the same request: it is idempotent"}],
    )
