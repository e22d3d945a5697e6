"""Fault injection for tests: botocore event hooks on the default boto3 session, so every
client the runtime builds afterwards (``reset_runtime``) carries them.

- :meth:`Faults.timeout_after_commit`: the call reaches DynamoDB and succeeds, then the client
  sees a read timeout (the classic "did my write happen?");
- :meth:`Faults.cancel`: DynamoDB cancels a transaction for throttling or contention
  (``ThrottlingError``, ``TransactionConflict``), or throttles a whole call;
- :meth:`Faults.crash`: the process dies before (or after) a call: :class:`LambdaCrash` is a
  ``BaseException``, so no handler catches it and nothing after it runs.

Each fault fires ``times`` times on calls whose JSON body contains ``matching``; ``injected``
counts what fired, by kind.
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.exceptions import ReadTimeoutError

from holdfast.runtime import reset_runtime

INJECTED: Counter[str] = Counter()
"""Every fault fired in this test session, by kind."""


class LambdaCrash(BaseException):
    """The execution environment died here (timeout, out of memory, a host failure)."""


class _Tally(Counter):
    """A test's faults, also added to the session's :data:`INJECTED`."""

    def __setitem__(self, kind: str, count: int) -> None:
        INJECTED[kind] += count - self[kind]
        super().__setitem__(kind, count)


def _body(params: dict[str, Any]) -> str:
    body = params.get("body") or b""
    return body.decode() if isinstance(body, bytes) else str(body)


class Faults:
    def __init__(self) -> None:
        boto3.setup_default_session()
        self.injected = _Tally()
        self._serial = 0

    def _register(self, event: str, handler: Any) -> None:
        self._serial += 1
        boto3.DEFAULT_SESSION.events.register(
            event, handler, unique_id=f"holdfast-fault-{self._serial}"
        )
        reset_runtime()  # the next client is built from the session, with this hook

    def timeout_after_commit(self, operation: str, *, matching: str = "", times: int = 1) -> None:
        left = [times]

        def mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if left[0] > 0 and matching in _body(params):
                left[0] -= 1
                context["holdfast_timeout_after"] = True

        def fire(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            if context.pop("holdfast_timeout_after", False) and http_response.status_code < 300:
                self.injected["timeout after commit"] += 1
                raise ReadTimeoutError(endpoint_url="http://dynamodb.local")

        self._register(f"before-call.dynamodb.{operation}", mark)
        self._register(f"after-call.dynamodb.{operation}", fire)

    def cancel(self, operation: str, code: str, *, matching: str = "", times: int = 1) -> None:
        """Answer ``times`` calls with a cancellation (per-item ``code``) for TransactWriteItems,
        else with the whole-call error ``code``; nothing reaches the engine."""
        left = [times]

        def answer(params: dict[str, Any], **_: Any) -> Any:
            body = _body(params)
            if left[0] <= 0 or matching not in body:
                return None
            left[0] -= 1
            self.injected[code] += 1
            if operation == "TransactWriteItems":
                items = json.loads(body)["TransactItems"]
                parsed = {
                    "Error": {
                        "Code": "TransactionCanceledException",
                        "Message": f"Transaction cancelled [{code}]",
                    },
                    "CancellationReasons": [{"Code": code} for _ in items],
                }
            else:
                parsed = {
                    "Error": {
                        "Code": code,
                        "Message": "Rate of requests exceeds the allowed throughput.",
                    }
                }
            parsed["ResponseMetadata"] = {
                "HTTPStatusCode": 400,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            }
            return SimpleNamespace(status_code=400, headers={}, content=b""), parsed

        self._register(f"before-call.dynamodb.{operation}", answer)

    def crash(
        self, operation: str, *, matching: str = "", after: bool = False, times: int = 1
    ) -> None:
        """Die just before the call (nothing of it written) or, with ``after``, just after it
        succeeded (written, but nothing after it runs)."""
        left = [times]

        def die(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if left[0] > 0 and matching in _body(params):
                left[0] -= 1
                if after:
                    context["holdfast_crash_after"] = True
                else:
                    self.injected["crash before " + operation] += 1
                    raise LambdaCrash(operation)

        def die_after(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            if context.pop("holdfast_crash_after", False) and http_response.status_code < 300:
                self.injected["crash after " + operation] += 1
                raise LambdaCrash(operation)

        self._register(f"before-call.dynamodb.{operation}", die)
        if after:
            self._register(f"after-call.dynamodb.{operation}", die_after)

    def close(self) -> None:
        """Disarm every fault: a fresh default session, and clients built from it."""
        boto3.setup_default_session()
        reset_runtime()
