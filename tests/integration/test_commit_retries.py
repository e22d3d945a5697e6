"""``InventoryTable.commit`` under DynamoDB's "not now" answers (docs/decisions.md §13), with
botocore's Stubber: no engine, exact responses.

DynamoDB Local serializes transactions and never cancels one for ``TransactionConflict``
(measured: 16 threads × 60 contending transactions, 0 conflicts), so the real service's
contention answers are proved here, by stubbing them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from holdfast import retry, storage
from holdfast.domain.ledger import InventoryQuantity, IqStatus, IqType
from holdfast.errors import Unavailable
from holdfast.storage import CounterChange, InventoryTable, PositionKey, WriteConflict

NOW = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
IP = "SKU_1:MAIN_DC:DEFAULT"


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda seconds: None)
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield InventoryTable(client, "holdfast-test"), stubber
        stubber.assert_no_pending_responses()


def hold_writes(table: InventoryTable):
    iq = InventoryQuantity(IP, IqType.SOFT_RESERVE, -1, IqStatus.ACTIVE, NOW, NOW, "cart-1")
    writes = table.writes(NOW).create_quantity(iq)
    return writes.change_counter(CounterChange(PositionKey("SKU_1", "MAIN_DC"), -1, min_on_hand=1))


def add_cancellation(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def test_a_transaction_cancelled_for_a_conflict_is_run_again_and_commits(stubbed):
    table, stubber = stubbed
    add_cancellation(stubber, "None", "TransactionConflict")
    add_cancellation(stubber, "ThrottlingError", "None")
    stubber.add_response("transact_write_items", {})

    table.commit(hold_writes(table))


def test_a_failed_condition_is_a_write_conflict_at_once_naming_only_the_failed_condition(stubbed):
    table, stubber = stubbed
    add_cancellation(stubber, "TransactionConflict", "ConditionalCheckFailed")

    with pytest.raises(WriteConflict) as raised:
        table.commit(hold_writes(table))

    assert raised.value.failed == [f"counter:{IP}"]


def test_contention_that_never_clears_is_a_503_after_bounded_tries(stubbed, monkeypatch):
    table, stubber = stubbed
    waits: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waits.append)
    for _ in range(storage.COMMIT_ATTEMPTS):
        add_cancellation(stubber, "None", "TransactionConflict")

    with pytest.raises(Unavailable) as raised:
        table.commit(hold_writes(table))

    assert raised.value.status == 503
    assert "TransactionConflict" in raised.value.message
    assert len(waits) == storage.COMMIT_ATTEMPTS - 1
    assert all(0 <= wait <= 0.4 for wait in waits)


def test_throttling_of_the_whole_call_is_retried_then_a_503(stubbed):
    table, stubber = stubbed
    for _ in range(storage.COMMIT_ATTEMPTS):
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="ProvisionedThroughputExceededException",
            http_status_code=400,
        )

    with pytest.raises(Unavailable):
        table.commit(hold_writes(table))


def test_a_cancellation_that_is_neither_a_condition_nor_contention_is_not_swallowed(stubbed):
    table, stubber = stubbed
    add_cancellation(stubber, "ValidationError", "None")

    with pytest.raises(ClientError):
        table.commit(hold_writes(table))


def test_backoff_is_jittered_and_bounded():
    waits = [retry.COMMIT.delay(attempt) for attempt in range(1, 9) for _ in range(50)]
    assert min(waits) >= 0 and max(waits) <= 0.4
    assert len(set(waits)) > 100  # random, not a fixed schedule
