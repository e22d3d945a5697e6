"""Count the DynamoDB writes the handlers make, to prove a refused request wrote nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from holdfast.runtime import reset_runtime

WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


class WriteCounter:
    """Counts the DynamoDB writes that succeed, from any client of boto3's default session
    (the handlers' included). A conditional write whose condition fails writes nothing and is
    not counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, http_response: Any, model: Any, **_: Any) -> None:
        if model.name in WRITE_OPERATIONS and http_response.status_code < 300:
            self.count += 1


@contextmanager
def counting_writes() -> Iterator[WriteCounter]:
    """Hook boto3's default session and rebuild the handlers' runtime from it, so their client
    reports its writes to the counter. Enter it after ``holdfast dev`` has started: moto
    replaces the default session while its mock runs."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    counter = WriteCounter()
    session.events.register("after-call.dynamodb", counter)
    reset_runtime()
    try:
        yield counter
    finally:
        session.events.unregister("after-call.dynamodb", counter)
        reset_runtime()
