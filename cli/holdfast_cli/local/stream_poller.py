"""Deliver the table's DynamoDB stream to the functions ``template.yaml`` attaches to it, the
way Lambda's event source mapping does, so TTL expiry works end to end on a local engine.

For every ``Type: DynamoDB`` event on the inventory table's stream the poller applies what the
template says about the mapping:

* ``FilterCriteria``: a record reaches the function only if it matches one of the patterns
  (the EventBridge-style subset :func:`~holdfast_cli.local.stream_mappings.matches_pattern` implements), tested on the record as
  Lambda shapes it (``userIdentity: {"type", "principalId"}``, not the Streams API's casing);
* ``BatchSize``: at most that many records per invocation;
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: the answer's ``batchItemFailures``
  make the batch be retried from the first failed record;
* ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds``: beyond them the records are
  dropped with a logged warning (a deployed mapping sends them to its on-failure
  destination; locally the log is that destination);
* ``BisectBatchOnFunctionError``: a batch whose invocation raises is split in two;
* ``StartingPosition``: ``LATEST`` or ``TRIM_HORIZON`` (tests override it).

``MaximumBatchingWindowInSeconds`` is not waited for: whatever one ``GetRecords`` answers is
delivered at once. Shards are followed as DynamoDB splits them: a child shard is read from
its start once its parent is exhausted.

Typical use (``holdfast dev`` does this)::

    poller = StreamPoller.for_table(endpoint_url, table, invoke=LocalApi().invoke).start()
    ...
    poller.stop()
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from holdfast_cli.local.stream_delivery import (
    BatchDelivery,
    DeliveryStats,
    Invoke,
    sequence_number,
)
from holdfast_cli.local.stream_mappings import StartingPosition, StreamMapping, stream_mappings

__all__ = ["BatchDelivery", "DeliveryStats", "StreamPoller", "lambda_record", "stream_mappings"]

logger = logging.getLogger(__name__)


IDLE_SECONDS = 0.5
"""Pause between polls when a pass read nothing."""
SHARD_REFRESH_SECONDS = 10.0
"""How often the shard list is re-read for new shards (also at once when a shard closes)."""
GET_RECORDS_LIMIT = 1000
LAMBDA_EVENT_VERSION = "1.1"


def lambda_record(
    record: Mapping[str, Any], stream_arn: str, region: str = "us-east-1"
) -> dict[str, Any]:
    """A Streams API record (as boto3 returns it) in the shape Lambda gives a function.

    ``ApproximateCreationDateTime`` becomes epoch seconds, binary attributes base64 text (the
    event is JSON), and ``userIdentity {"Type", "PrincipalId"}`` becomes ``{"type",
    "principalId"}``; it is left out when the change was not made by a service (TTL).
    """
    change = record["dynamodb"]
    converted: dict[str, Any] = {}
    created = change.get("ApproximateCreationDateTime")
    if created is not None:
        converted["ApproximateCreationDateTime"] = (
            created.timestamp() if isinstance(created, datetime) else float(created)
        )
    for name in ("Keys", "NewImage", "OldImage"):
        if name in change:
            converted[name] = {k: _json_attribute(v) for k, v in change[name].items()}
    for name in ("SequenceNumber", "SizeBytes", "StreamViewType"):
        if name in change:
            converted[name] = change[name]
    event: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": LAMBDA_EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "eventSourceARN": stream_arn,
        "dynamodb": converted,
    }
    identity = record.get("userIdentity") or record.get("UserIdentity")
    if identity:
        event["userIdentity"] = {
            "type": identity.get("Type", identity.get("type")),
            "principalId": identity.get("PrincipalId", identity.get("principalId")),
        }
    return event


def _json_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": _b64(content)}
    if kind == "BS":
        return {"BS": [_b64(item) for item in content]}
    if kind == "M":
        return {"M": {k: _json_attribute(v) for k, v in content.items()}}
    if kind == "L":
        return {"L": [_json_attribute(item) for item in content]}
    return {kind: content}


def _b64(content: bytes | str) -> str:
    return (
        base64.b64encode(content).decode() if isinstance(content, (bytes, bytearray)) else content
    )


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None
    last_sequence: str | None = None
    exhausted: bool = False


class StreamPoller:
    """Reads the table's stream in a background thread and delivers it to the mappings.

    :param invoke: ``invoke(function_name, event)``, e.g. :meth:`LocalApi.invoke`.
    :param dynamodb: a boto3 ``dynamodb`` client (for ``DescribeTable``).
    :param streams: a boto3 ``dynamodbstreams`` client.
    :param table: the table whose ``LatestStreamArn`` is read.
    :param mappings: default: :func:`stream_mappings` of ``template.yaml``.
    :param starting_position: overrides the mappings' ``StartingPosition`` (tests read from
        ``TRIM_HORIZON`` to see what happened before the poller started).
    :param log: where one line per invocation goes (``holdfast dev`` passes stderr).
    """

    def __init__(
        self,
        invoke: Invoke,
        *,
        dynamodb: Any,
        streams: Any,
        table: str,
        mappings: Sequence[StreamMapping] | None = None,
        starting_position: StartingPosition | None = None,
        idle_seconds: float = IDLE_SECONDS,
        retry_delay: float = 0.2,
        log: TextIO | None = None,
    ) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self.table = table
        self.mappings = list(stream_mappings() if mappings is None else mappings)
        self.starting_position: StartingPosition = starting_position or (
            "TRIM_HORIZON"
            if any(m.starting_position == "TRIM_HORIZON" for m in self.mappings)
            else "LATEST"
        )
        self._idle_seconds = idle_seconds
        self.stats = DeliveryStats()
        self._stopping = threading.Event()
        self._region = getattr(getattr(streams, "meta", None), "region_name", None) or "us-east-1"
        self._deliveries = [
            BatchDelivery(
                m, invoke, self.stats, retry_delay=retry_delay, stopping=self._stopping, log=log
            )
            for m in self.mappings
        ]
        self._shards: dict[str, _Shard] = {}
        self._refreshed_at = 0.0
        self._thread: threading.Thread | None = None
        self.stream_arn: str | None = None

    @classmethod
    def for_table(
        cls, endpoint_url: str, table: str, invoke: Invoke, **options: Any
    ) -> StreamPoller:
        """A poller with its own clients for a local engine at ``endpoint_url``."""
        from holdfast_cli.local.dynamodb_local import local_client

        return cls(
            invoke,
            dynamodb=local_client(endpoint_url, "dynamodb"),
            streams=local_client(endpoint_url, "dynamodbstreams"),
            table=table,
            **options,
        )

    @property
    def functions(self) -> list[str]:
        return list(dict.fromkeys(m.function for m in self.mappings))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> StreamPoller:
        """Position on the stream now (so every change after ``start`` returns is seen),
        then poll in a daemon thread. Raises if the table has no stream."""
        if self._thread is not None:
            return self
        self._open()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-poller-{self.table}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; an invocation in progress finishes first. Safe to call twice."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def poll_once(self) -> int:
        """One pass over the readable shards; answers how many records were read."""
        if self.stream_arn is None:
            self._open()
        if time.monotonic() - self._refreshed_at >= SHARD_REFRESH_SECONDS:
            self._refresh_shards(initial=False)
        read = 0
        for shard in list(self._shards.values()):
            if shard.exhausted or self._parent_unfinished(shard) or self._stopping.is_set():
                continue
            read += self._read(shard)
        return read

    def _open(self) -> None:
        table = self._dynamodb.describe_table(TableName=self.table)["Table"]
        self.stream_arn = table.get("LatestStreamArn")
        if not self.stream_arn:
            raise ValueError(f"table {self.table!r} has no stream")
        self._refresh_shards(initial=True)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                read = self.poll_once()
                failures = 0
            except Exception as error:
                if _error_code(error) == "ResourceNotFoundException":
                    logger.warning("stream of table %s is gone; the poller stops", self.table)
                    return
                failures += 1
                logger.warning("stream poll failed (%s: %s); retrying", type(error).__name__, error)
                self._stopping.wait(min(0.5 * 2**failures, 10.0))
                continue
            if not read:
                self._stopping.wait(self._idle_seconds)

    def _refresh_shards(self, *, initial: bool) -> None:
        self._refreshed_at = time.monotonic()
        for description in self._describe_shards():
            shard_id = description["ShardId"]
            if shard_id in self._shards:
                continue
            closed = "EndingSequenceNumber" in description.get("SequenceNumberRange", {})
            shard = _Shard(shard_id, description.get("ParentShardId"), None)
            if initial and self.starting_position == "LATEST":
                if closed:
                    shard.exhausted = True  # everything in it happened before we started
                else:
                    shard.iterator = self._iterator(shard_id, "LATEST")
            else:
                # TRIM_HORIZON, or a shard that appeared after the start: read it whole.
                shard.iterator = self._iterator(shard_id, "TRIM_HORIZON")
            self._shards[shard_id] = shard

    def _describe_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        options: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._streams.describe_stream(**options)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            options["ExclusiveStartShardId"] = last

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str | None:
        options: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            options["SequenceNumber"] = sequence
        return self._streams.get_shard_iterator(**options).get("ShardIterator")

    def _parent_unfinished(self, shard: _Shard) -> bool:
        """Lambda reads a parent shard to its end before its children."""
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is not None and not parent.exhausted

    def _read(self, shard: _Shard) -> int:
        if shard.iterator is None:
            shard.exhausted = True
            return 0
        try:
            page = self._streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
        except Exception as error:
            code = _error_code(error)
            if code == "ExpiredIteratorException":
                shard.iterator = (
                    self._iterator(shard.shard_id, "AFTER_SEQUENCE_NUMBER", shard.last_sequence)
                    if shard.last_sequence
                    else self._iterator(shard.shard_id, self.starting_position)
                )
                return 0
            if code == "TrimmedDataAccessException":
                shard.iterator = self._iterator(shard.shard_id, "TRIM_HORIZON")
                return 0
            raise
        records = page.get("Records", [])
        if records:
            self.stats.records_read += len(records)
            converted = [lambda_record(r, self.stream_arn or "", self._region) for r in records]
            for delivery in self._deliveries:
                delivery.deliver(converted)
            shard.last_sequence = sequence_number(records[-1])
        shard.iterator = page.get("NextShardIterator")
        if shard.iterator is None:
            shard.exhausted = True
            self._refreshed_at = 0.0  # a closed shard means children: look for them now
        return len(records)


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
