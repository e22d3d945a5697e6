"""The local stream poller shapes records and filters them as Lambda's event source mapping
does, and applies the mapping's batch, retry and failure rules from template.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from holdfast_cli.local.stream_mappings import (
    UnsupportedPattern,
    check_pattern,
    matches_pattern,
)
from holdfast_cli.local.stream_poller import StreamPoller, lambda_record
from tests.cli.stream_samples import (
    RECORD_TIME,
    STREAM_ARN,
    TIMER_IMAGE,
    RecordingFunction,
    seq,
    streams_record,
)


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
