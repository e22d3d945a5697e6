"""Deliver the table's DynamoDB stream to the functions ``template.yaml`` attaches to it, the
way Lambda's event source mapping does, so TTL expiry works end to end on a local engine.

For every ``Type: DynamoDB`` event on the inventory table's stream the poller applies what the
template says about the mapping:

* ``FilterCriteria``: a record reaches the function only if it matches one of the patterns
  (the EventBridge-style subset :func:`matches_pattern` implements), tested on the record as
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
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TextIO

from holdfast_cli.local.template import TABLE_RESOURCE, functions

logger = logging.getLogger(__name__)

StartingPosition = Literal["LATEST", "TRIM_HORIZON"]
Invoke = Callable[[str, dict[str, Any]], Any]

IDLE_SECONDS = 0.5
"""Pause between polls when a pass read nothing."""
SHARD_REFRESH_SECONDS = 10.0
"""How often the shard list is re-read for new shards (also at once when a shard closes)."""
GET_RECORDS_LIMIT = 1000
LAMBDA_EVENT_VERSION = "1.1"


class UnsupportedPattern(ValueError):
    """A filter pattern uses an operator this local matcher does not implement."""


# -- the template's stream mappings ------------------------------------------------------


@dataclass(frozen=True)
class StreamMapping:
    """One ``Type: DynamoDB`` event of a function: what Lambda's event source mapping does."""

    function: str
    event: str
    batch_size: int = 100
    starting_position: StartingPosition = "LATEST"
    maximum_retry_attempts: int = -1
    """-1: retry until the record is too old (Lambda's default)."""
    maximum_record_age_seconds: int = -1
    """-1: records never get too old."""
    bisect_on_error: bool = False
    report_item_failures: bool = False
    filters: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Whether a Lambda-shaped record passes the mapping's filters (any one of them)."""
        return not self.filters or any(matches_pattern(p, record) for p in self.filters)

    @classmethod
    def from_event(cls, function: str, event: str, properties: Mapping[str, Any]) -> StreamMapping:
        criteria = properties.get("FilterCriteria") or {}
        filters = tuple(
            json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"]
            for f in criteria.get("Filters", [])
        )
        for pattern in filters:
            check_pattern(pattern)
        return cls(
            function=function,
            event=event,
            batch_size=int(properties.get("BatchSize", 100)),
            starting_position=properties.get("StartingPosition", "LATEST"),
            maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
            maximum_record_age_seconds=int(properties.get("MaximumRecordAgeInSeconds", -1)),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            report_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
            filters=filters,
        )


def stream_mappings(template: dict[str, Any] | None = None) -> list[StreamMapping]:
    """The template's event source mappings on the inventory table's stream."""
    found = []
    for spec in functions(template).values():
        for name, event in spec.events.items():
            if event.get("Type") == "DynamoDB" and _is_table_stream(
                event["Properties"].get("Stream")
            ):
                found.append(StreamMapping.from_event(spec.name, name, event["Properties"]))
    return found


def _is_table_stream(reference: Any) -> bool:
    """``!GetAtt InventoryTable.StreamArn`` in either of CloudFormation's spellings."""
    if not isinstance(reference, Mapping) or "Fn::GetAtt" not in reference:
        return False
    target = reference["Fn::GetAtt"]
    parts = target.split(".", 1) if isinstance(target, str) else list(target)
    return parts == [TABLE_RESOURCE, "StreamArn"]


# -- filter patterns ------------------------------------------------------------------------

_OPERATORS = frozenset({"exists", "prefix", "anything-but"})


def check_pattern(pattern: Mapping[str, Any]) -> None:
    """Raise :class:`UnsupportedPattern` for anything :func:`matches_pattern` cannot decide,
    so a template using more of the pattern language fails loudly instead of misfiltering."""
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            check_pattern(expected)
        elif isinstance(expected, list):
            for rule in expected:
                if isinstance(rule, Mapping):
                    if len(rule) != 1 or next(iter(rule)) not in _OPERATORS:
                        raise UnsupportedPattern(f"{key}: unsupported filter rule {rule!r}")
                elif isinstance(rule, (list, tuple)):
                    raise UnsupportedPattern(f"{key}: nested lists are not filter rules")
        else:
            raise UnsupportedPattern(
                f"{key}: pattern values are objects or lists, not {expected!r}"
            )


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    """Lambda/EventBridge event filtering, for the subset Holdfast uses.

    Every key of the pattern must match: an object matches the event's object at that key
    recursively; a list matches when the event's value (or, for an array, any element) equals
    one of the listed values, or satisfies one of ``{"exists": bool}``, ``{"prefix": str}``,
    ``{"anything-but": value | [values]}``. Equality is by JSON type: ``"1"`` is not ``1``.
    """
    if not isinstance(event, Mapping):
        return False
    for key, expected in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(expected, Mapping):
            if not matches_pattern(expected, value):
                return False
        elif not _matches_rules(expected, value, present):
            return False
    return True


def _matches_rules(rules: Sequence[Any], value: Any, present: bool) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping):
            ((operator, argument),) = rule.items()
            if operator == "exists":
                if bool(argument) == (present and not isinstance(value, Mapping)):
                    return True
            elif operator == "prefix":
                if present and any(isinstance(v, str) and v.startswith(argument) for v in values):
                    return True
            elif operator == "anything-but":
                excluded = argument if isinstance(argument, list) else [argument]
                if present and all(not any(_same(v, x) for x in excluded) for v in values):
                    return True
            else:
                raise UnsupportedPattern(f"unsupported filter rule {rule!r}")
        elif present and any(_same(v, rule) for v in values):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


# -- records ------------------------------------------------------------------------------


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


def _sequence(record: Mapping[str, Any]) -> str:
    return record["dynamodb"].get("SequenceNumber", "")


# -- delivery -----------------------------------------------------------------------------


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
        positions = {_sequence(record): index for index, record in enumerate(batch)}
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
            ", ".join(_sequence(r) for r in records),
        )
        self._note(f"stream → {self.mapping.function}: dropped {len(records)} records ({reason})")

    def _note(self, line: str) -> None:
        if self._log is not None:
            print(line, file=self._log, flush=True)


# -- polling ------------------------------------------------------------------------------


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

    # -- internals ------------------------------------------------------------------------

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
            shard.last_sequence = _sequence(records[-1])
        shard.iterator = page.get("NextShardIterator")
        if shard.iterator is None:
            shard.exhausted = True
            self._refreshed_at = 0.0  # a closed shard means children: look for them now
        return len(records)


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
