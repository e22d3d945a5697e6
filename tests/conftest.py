"""Shared fixtures: a moto-backed table built from template.yaml, and the local API.

Unit and integration tests run on moto; anything about concurrency, transactions under
contention or streams also runs on DynamoDB Local (``tests/fixtures_dynamodb_local.py``).
"""

from __future__ import annotations

import os

from holdfast_cli.local.environment import lambda_environment

# Lambda's environment, set before any handler or Powertools import: the table on moto (no
# endpoint), and credentials of no real account whatever the developer has configured.
os.environ.update(
    {
        name: value
        for name, value in lambda_environment(
            "holdfast-test",
            None,
            extra={
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SECURITY_TOKEN": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            },
        ).items()
        if value is not None
    }
)
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from holdfast.runtime import use_clock
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.engine import LocalEngine

pytest_plugins = ["tests.fixtures_dynamodb_local"]


def pytest_collection_modifyitems(config, items):
    """``slow`` tests run only with HOLDFAST_LONG=1 (``make test-long``)."""
    if os.environ.get("HOLDFAST_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="long-running: make test-long (HOLDFAST_LONG=1)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def moto_table():
    """A fresh moto account with the template's table; the runtime rebuilt to use it.

    moto's TransactWriteItems is not thread-safe, so feeds apply one position at a time here.
    """
    with LocalEngine("moto", table=os.environ["TABLE_NAME"]) as engine:
        yield engine.client()


@pytest.fixture
def api(moto_table) -> LocalApi:
    """The HTTP API on moto: requests go through the real handlers."""
    return LocalApi()


@pytest.fixture
def local_table(dynamodb_local_endpoint):
    """A fresh table on DynamoDB Local (unique name), with the runtime pointed at it."""
    with (
        LocalEngine("endpoint", endpoint_url=dynamodb_local_endpoint) as engine,
        engine.fresh_table("holdfast"),
    ):
        yield boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint)


@pytest.fixture
def local_api(local_table) -> LocalApi:
    """The HTTP API on DynamoDB Local."""
    return LocalApi()


class FakeClock:
    """A clock tests move by hand: ``clock.advance(minutes=15)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    """Every service in this process tells time by a clock the test controls."""
    fake = FakeClock()
    use_clock(fake)
    yield fake
    use_clock(None)
