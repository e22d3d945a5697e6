"""Deliver the table's stream to the demand-signals function as Lambda would (the template's
mapping: filter, batch size, partial failures), on moto or DynamoDB Local, when a test asks."""

from __future__ import annotations

from typing import Any

import boto3

from holdfast_cli.local.stream_poller import StreamPoller, stream_mappings

SIGNALS_FUNCTION = "DemandSignalsFunction"


def signals_mapping():
    (mapping,) = [m for m in stream_mappings() if m.function == SIGNALS_FUNCTION]
    return mapping


class SignalDelivery:
    """A stream poller read by hand: :meth:`catch_up` delivers everything written so far."""

    def __init__(self, invoke: Any, table: str, endpoint_url: str | None = None) -> None:
        self.poller = StreamPoller(
            invoke,
            dynamodb=boto3.client("dynamodb", endpoint_url=endpoint_url),
            streams=boto3.client("dynamodbstreams", endpoint_url=endpoint_url),
            table=table,
            mappings=[signals_mapping()],
            starting_position="TRIM_HORIZON",
            retry_delay=0.0,
        )

    def catch_up(self) -> int:
        """Poll until a pass reads nothing; answers the records read."""
        total = 0
        while read := self.poller.poll_once():
            total += read
        return total
