"""Stream records as Lambda delivers them, for the tests that feed the expiry function."""

from __future__ import annotations

from typing import Any


def timer_deleted_by_ttl(
    fo_ref: str, sequence: int | None = None, *, by_service: bool = True
) -> dict[str, Any]:
    """DynamoDB TTL's deletion of a hold's timer item. ``sequence`` orders records the way a
    shard does (default: one per ref); ``by_service=False`` is a deletion someone else made."""
    record: dict[str, Any] = {
        "eventID": f"evt-{fo_ref}" if sequence is None else f"evt-{fo_ref}-{sequence}",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/holdfast/stream/2026-01-01T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1767225600,
            "Keys": {"pk": {"S": f"FO#{fo_ref}"}, "sk": {"S": "TIMER"}},
            "OldImage": {
                "pk": {"S": f"FO#{fo_ref}"},
                "sk": {"S": "TIMER"},
                "entity": {"S": "TIMER"},
                "foRef": {"S": fo_ref},
                "ttl": {"N": "1767225600"},
            },
            "SequenceNumber": f"{abs(hash(fo_ref)) % 10**12:012d}"
            if sequence is None
            else f"{sequence:021d}",
            "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    if by_service:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record
