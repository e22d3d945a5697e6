"""Batches of stream records reach a function as Lambda's event source mapping delivers them:
batch size and filter, batch item failures, retries, bisection and the record age limit, as
template.yaml sets them for the hold-expiry function."""

from __future__ import annotations

import logging
from typing import Any

from holdfast_cli.local.stream_delivery import BatchDelivery, DeliveryStats
from holdfast_cli.local.stream_mappings import StreamMapping
from holdfast_cli.local.stream_poller import lambda_record
from tests.cli.stream_samples import RECORD_TIME, STREAM_ARN, RecordingFunction, seq, streams_record


def ttl_records(count: int, first: int = 1) -> list[dict[str, Any]]:
    return [
        lambda_record(streams_record(sequence=f"{n:021d}"), STREAM_ARN)
        for n in range(first, first + count)
    ]


def delivery(
    mapping: StreamMapping, function: RecordingFunction, stats: DeliveryStats | None = None
) -> BatchDelivery:
    return BatchDelivery(
        mapping,
        function,
        stats or DeliveryStats(),
        retry_delay=0,
        now=lambda: RECORD_TIME.timestamp(),
    )


def failure(sequence: int) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": f"{sequence:021d}"}]}


def test_batch_item_failures_retry_the_batch_from_the_first_failed_record(expiry_mapping):
    function = RecordingFunction(
        {
            "batchItemFailures": [
                {"itemIdentifier": "000000000000000000004"},
                {"itemIdentifier": "000000000000000000003"},
            ]
        }
    )

    delivery(expiry_mapping, function).deliver(ttl_records(4))

    assert function.calls == [seq(1, 2, 3, 4), seq(3, 4)]


def test_a_record_that_keeps_failing_is_dropped_after_maximum_retry_attempts_with_a_warning(
    expiry_mapping, caplog
):
    function = RecordingFunction(*[failure(2)] * 10)
    stats = DeliveryStats()

    with caplog.at_level(logging.WARNING, logger="holdfast_cli.local.stream_poller"):
        delivery(expiry_mapping, function, stats).deliver(ttl_records(2))

    assert function.calls == [seq(1, 2)] + [seq(2)] * 5  # the first try and 5 retries
    assert stats.records_dropped == 1
    assert stats.records_delivered == 1
    assert "dropping 1 stream records for HoldExpiryFunction (retries exhausted" in caplog.text


def test_an_identifier_that_names_no_record_fails_the_whole_batch(expiry_mapping):
    function = RecordingFunction({"batchItemFailures": [{"itemIdentifier": "nope"}]})

    delivery(expiry_mapping, function).deliver(ttl_records(2))

    assert function.calls == [seq(1, 2), seq(1, 2)]


def test_a_function_error_bisects_the_batch(expiry_mapping):
    function = RecordingFunction(RuntimeError("boom"))

    delivery(expiry_mapping, function).deliver(ttl_records(4))

    assert function.calls == [seq(1, 2, 3, 4), seq(1, 2), seq(3, 4)]


def test_batch_item_failures_are_ignored_without_report_batch_item_failures(expiry_mapping):
    mapping = StreamMapping(**{**expiry_mapping.__dict__, "report_item_failures": False})
    function = RecordingFunction(failure(1))

    delivery(mapping, function).deliver(ttl_records(2))

    assert function.calls == [seq(1, 2)]


def test_records_are_delivered_in_batches_of_batch_size_and_only_if_they_pass_the_filter(
    expiry_mapping,
):
    mapping = StreamMapping(**{**expiry_mapping.__dict__, "batch_size": 2})
    user_delete = lambda_record(streams_record(sequence=seq(9)[0], by_ttl=False), STREAM_ARN)
    function = RecordingFunction()

    delivery(mapping, function).deliver([*ttl_records(2), user_delete, *ttl_records(3, first=3)])

    assert function.calls == [seq(1, 2), seq(3, 4), seq(5)]


def test_records_older_than_maximum_record_age_are_dropped(expiry_mapping, caplog):
    old = lambda_record(streams_record(), STREAM_ARN)
    old["dynamodb"]["ApproximateCreationDateTime"] = RECORD_TIME.timestamp() - 3601
    function = RecordingFunction()

    with caplog.at_level(logging.WARNING, logger="holdfast_cli.local.stream_poller"):
        delivery(expiry_mapping, function).deliver([old, *ttl_records(1, first=5)])

    assert function.calls == [seq(5)]
    assert "older than MaximumRecordAgeInSeconds=3600" in caplog.text
