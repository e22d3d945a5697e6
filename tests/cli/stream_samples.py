"""Stream records for the local stream poller's tests: a hold timer's TTL removal as boto3's
GetRecords returns it from DynamoDB Local 2.6.1, and a stand-in function that records the
batches it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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
    """A record as boto3's GetRecords returns it from DynamoDB Local 2.6.1, and a stand-in function that records the
    batches it is given."""
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


def seq(*numbers: int) -> list[str]:
    return [f"{n:021d}" for n in numbers]


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
