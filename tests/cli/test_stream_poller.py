"""The local stream poller shapes records and filters them as Lambda's event source mapping
does, and applies the mapping's batch, retry and failure rules from template.yaml."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from holdfast_cli.local.stream_mappings import (
    StreamMapping,
    UnsupportedPattern,
    check_pattern,
    matches_pattern,
    stream_mappings,
)
from holdfast_cli.local.stream_poller import (
    BatchDelivery,
    DeliveryStats,
    StreamPoller,
    lambda_record,
)

STREAM_ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/holdfast/stream/2026-11-27T09:59:51.583"
# Recent, whole seconds: the poller drops records older than the template's record age.
RECORD_TIME = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
TIMER_IMAGE = {
    "pk": {"S": "FO#cart-1"},
    "sk": {"S": "TIMER"},
    "entity": {"S": "TIMER"},
    "foRef": {"S": "cart-1"},
    "ttl": {"N": "1795773587"},
}


def streams_record(
    event_name: str = "REMOVE",
    *,
    sequence: str = "000000000000000000002",
    old: dict[str, Any] | None = TIMER_IMAGE,
    new: dict[str, Any] | None = None,
    by_ttl: bool = True,
) -> dict[str, Any]:
    """A record as boto3's GetRecords returns it from DynamoDB Local 2.6.1."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": RECORD_TIME,
        "Keys": {"pk": TIMER_IMAGE["pk"], "sk": TIMER_IMAGE["sk"]},
        "SequenceNumber": sequence,
        "SizeBytes": 32,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    record: dict[str, Any] = {
        "awsRegion": "ddblocal",
        "dynamodb": change,
        "eventID": f"event-{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
    }
    if by_ttl:
        record["userIdentity"] = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    return record


@pytest.fixture(scope="module")
def expiry_mapping() -> StreamMapping:
    (mapping,) = [m for m in stream_mappings() if m.function == "HoldExpiryFunction"]
    return mapping


# -- the template's mapping -----------------------------------------------------------------


def test_the_template_attaches_the_expiry_function_to_the_table_stream_with_its_rules(
    expiry_mapping,
):
    assert (expiry_mapping.function, expiry_mapping.event) == ("HoldExpiryFunction", "TimerDeleted")
    assert expiry_mapping.batch_size == 100
    assert expiry_mapping.starting_position == "LATEST"
    assert expiry_mapping.maximum_retry_attempts == 5
    assert expiry_mapping.maximum_record_age_seconds == 3600
    assert expiry_mapping.bisect_on_error is True
    assert expiry_mapping.report_item_failures is True
    assert len(expiry_mapping.filters) == 1


# -- record conversion ------------------------------------------------------------------------


def test_a_ttl_removal_becomes_the_record_lambda_delivers():
    event = lambda_record(streams_record(), STREAM_ARN)

    assert event == {
        "eventID": "event-000000000000000000002",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": RECORD_TIME.timestamp(),
            "Keys": {"pk": {"S": "FO#cart-1"}, "sk": {"S": "TIMER"}},
            "OldImage": TIMER_IMAGE,
            "SequenceNumber": "000000000000000000002",
            "SizeBytes": 32,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
    }


def test_the_converted_record_parses_with_powertools_stream_model():
    parsed = DynamoDBStreamRecordModel.model_validate(lambda_record(streams_record(), STREAM_ARN))

    assert (
        parsed.userIdentity is not None
        and parsed.userIdentity.principalId == "dynamodb.amazonaws.com"
    )
    assert parsed.dynamodb.OldImage["foRef"] == "cart-1"
    assert parsed.dynamodb.NewImage is None
    assert parsed.dynamodb.ApproximateCreationDateTime == RECORD_TIME


def test_a_user_deletion_has_no_user_identity():
    assert "userIdentity" not in lambda_record(streams_record(by_ttl=False), STREAM_ARN)


def test_binary_attributes_become_base64_text_as_in_lambdas_json_event():
    image = {**TIMER_IMAGE, "blob": {"B": b"\x00\x01"}, "nested": {"M": {"blobs": {"BS": [b"hi"]}}}}
    event = lambda_record(streams_record(old=image), STREAM_ARN)

    assert event["dynamodb"]["OldImage"]["blob"] == {"B": "AAE="}
    assert event["dynamodb"]["OldImage"]["nested"] == {"M": {"blobs": {"BS": ["aGk="]}}}


# -- filtering ------------------------------------------------------------------------------


def test_only_ttl_removals_of_hold_timers_pass_the_templates_filter(expiry_mapping):
    def passes(record: dict[str, Any]) -> bool:
        return expiry_mapping.accepts(lambda_record(record, STREAM_ARN))

    assert passes(streams_record())
    assert not passes(streams_record(by_ttl=False)), "a user's DeleteItem is not an expiry"
    assert not passes(streams_record("INSERT", old=None, new=TIMER_IMAGE, by_ttl=False))
    assert not passes(streams_record("MODIFY", new=TIMER_IMAGE, by_ttl=False))
    assert not passes(streams_record(old={**TIMER_IMAGE, "entity": {"S": "FO"}})), "not a timer"
    assert not passes(streams_record(old=None)), "no old image to tell what was deleted"


def test_patterns_match_nested_objects_and_lists_of_allowed_values():
    pattern = {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"NewImage": {"status": {"S": ["ACTIVE"]}}},
    }

    assert matches_pattern(
        pattern, {"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "ACTIVE"}}}}
    )
    assert not matches_pattern(
        pattern, {"eventName": "REMOVE", "dynamodb": {"NewImage": {"status": {"S": "ACTIVE"}}}}
    )
    assert not matches_pattern(
        pattern, {"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "EXPIRED"}}}}
    )
    assert not matches_pattern(pattern, {"eventName": "MODIFY", "dynamodb": {}})
    assert not matches_pattern(pattern, {"eventName": "MODIFY"})


def test_pattern_values_compare_by_json_type_and_match_any_element_of_an_array():
    assert not matches_pattern({"n": ["1"]}, {"n": 1})
    assert not matches_pattern({"flag": [1]}, {"flag": True})
    assert matches_pattern({"n": [1]}, {"n": 1.0})
    assert matches_pattern({"tags": ["b"]}, {"tags": ["a", "b"]})
    assert matches_pattern({"gone": [None]}, {"gone": None})
    assert not matches_pattern({"gone": [None]}, {})


def test_exists_prefix_and_anything_but_rules():
    assert matches_pattern({"a": [{"exists": True}]}, {"a": "x"})
    assert not matches_pattern({"a": [{"exists": True}]}, {})
    assert matches_pattern({"a": [{"exists": False}]}, {"b": 1})
    assert matches_pattern({"ref": [{"prefix": "FO#"}]}, {"ref": "FO#cart"})
    assert not matches_pattern({"ref": [{"prefix": "FO#"}]}, {"ref": "IP#x"})
    assert matches_pattern({"s": [{"anything-but": ["A", "B"]}]}, {"s": "C"})
    assert not matches_pattern({"s": [{"anything-but": "A"}]}, {"s": "A"})


def test_a_pattern_the_local_matcher_cannot_decide_is_refused_up_front():
    with pytest.raises(UnsupportedPattern):
        check_pattern({"n": [{"numeric": [">", 0]}]})
    with pytest.raises(UnsupportedPattern):
        check_pattern({"eventName": "REMOVE"})
    check_pattern({"eventName": ["REMOVE"], "x": {"y": [{"exists": True}]}})


# -- batches, failures and retries ---------------------------------------------------------


class RecordingFunction:
    """A stand-in function: answers from a script, one answer (or exception) per call."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        self.calls.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        answer = self.answers.pop(0) if self.answers else {"batchItemFailures": []}
        if isinstance(answer, Exception):
            raise answer
        return answer


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


def seq(*numbers: int) -> list[str]:
    return [f"{n:021d}" for n in numbers]


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


# -- shards ----------------------------------------------------------------------------------


class FakeStreams:
    """Enough of the Streams API: shards with records, closed shards and a child shard."""

    def __init__(
        self, shards: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]]
    ) -> None:
        self.shards = shards
        self.records = records
        self.reads: list[str] = []

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"LatestStreamArn": STREAM_ARN}}

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": self.shards}}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, **_: Any
    ) -> dict[str, Any]:
        start = len(self.records[ShardId]) if ShardIteratorType == "LATEST" else 0
        return {"ShardIterator": f"{ShardId}|{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split("|")
        self.reads.append(shard_id)
        page = self.records[shard_id][int(position) :]
        closed = any(
            s["ShardId"] == shard_id and "EndingSequenceNumber" in s["SequenceNumberRange"]
            for s in self.shards
        )
        answer: dict[str, Any] = {"Records": page}
        if not closed:
            answer["NextShardIterator"] = f"{shard_id}|{int(position) + len(page)}"
        return answer


def shard(shard_id: str, parent: str | None = None, closed: bool = False) -> dict[str, Any]:
    numbers = {"StartingSequenceNumber": "1", **({"EndingSequenceNumber": "9"} if closed else {})}
    return {
        "ShardId": shard_id,
        "SequenceNumberRange": numbers,
        **({"ParentShardId": parent} if parent else {}),
    }


def test_from_trim_horizon_a_parent_shard_is_read_before_its_child(expiry_mapping):
    fake = FakeStreams(
        [shard("child", parent="parent"), shard("parent", closed=True)],
        {
            "parent": [streams_record(sequence=seq(1)[0])],
            "child": [streams_record(sequence=seq(2)[0])],
        },
    )
    function = RecordingFunction()
    poller = StreamPoller(
        function,
        dynamodb=fake,
        streams=fake,
        table="t",
        mappings=[expiry_mapping],
        starting_position="TRIM_HORIZON",
    )

    poller.poll_once()
    poller.poll_once()

    assert function.calls == [seq(1), seq(2)]
    assert fake.reads[0] == "parent"
    assert poller.stats.records_read == 2


def test_from_latest_only_changes_after_the_start_are_delivered(expiry_mapping):
    fake = FakeStreams(
        [shard("old", closed=True), shard("open")],
        {"old": [streams_record()], "open": [streams_record()]},
    )
    function = RecordingFunction()
    poller = StreamPoller(
        function, dynamodb=fake, streams=fake, table="t", mappings=[expiry_mapping]
    )

    assert poller.poll_once() == 0
    fake.records["open"].append(streams_record(sequence=seq(7)[0]))
    assert poller.poll_once() == 1

    assert function.calls == [seq(7)]
