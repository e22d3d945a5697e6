"""pytest plugin: a real DynamoDB Local engine shared by the whole test session.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.fixtures_dynamodb_local"]``.

Fixtures
--------
``dynamodb_local_endpoint`` (session)
    The engine's endpoint URL. If ``$HOLDFAST_DYNAMODB_ENDPOINT`` is set, that engine is
    used as is (started by someone else, e.g. CI or ``python -m holdfast_cli.local.dynamodb_local``);
    otherwise a :class:`~holdfast_cli.local.engine.LocalEngine` starts DynamoDB Local on a free
    port for the session and stops it at its end. If Java or the jar (``npm ci``) is missing the
    test is skipped, or fails when ``$CI`` is set.
``dynamodb_local_client`` (session)
    A boto3 DynamoDB client for that endpoint, with dummy credentials.
``dynamodb_local_streams_client`` (session)
    The same for the ``dynamodbstreams`` API.
``dynamodb_local_table_name`` (function)
    A table name unique to the test; the table is deleted after the test if it was created.

The engine is shared (``-sharedDb``, in memory): tests must use their own table names
(``dynamodb_local_table_name``) and never assume an empty engine.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from holdfast_cli.local.dynamodb_local import local_client
from holdfast_cli.local.engine import EngineUnavailable, LocalEngine

#: Environment variable naming an already running engine to use instead of starting one.
ENV_ENDPOINT = "HOLDFAST_DYNAMODB_ENDPOINT"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """Endpoint URL of the session's DynamoDB Local engine (see the module docstring)."""
    external = os.environ.get(ENV_ENDPOINT, "").strip()
    if external:
        yield external.rstrip("/")
        return

    engine = LocalEngine("dynamodb-local", lambda_environment=False)
    try:
        engine.start()
    except EngineUnavailable as exc:
        if _running_in_ci():
            pytest.fail(f"DynamoDB Local is required in CI: {exc}", pytrace=False)
        pytest.skip(f"DynamoDB Local unavailable: {exc}")
    with engine:
        yield engine.endpoint_url


@pytest.fixture(scope="session")
def dynamodb_local_client(dynamodb_local_endpoint: str) -> Any:
    """boto3 ``dynamodb`` client for the session's engine (dummy credentials, us-east-1)."""
    return local_client(dynamodb_local_endpoint, "dynamodb")


@pytest.fixture(scope="session")
def dynamodb_local_streams_client(dynamodb_local_endpoint: str) -> Any:
    """boto3 ``dynamodbstreams`` client for the session's engine."""
    return local_client(dynamodb_local_endpoint, "dynamodbstreams")


@pytest.fixture
def dynamodb_local_table_name(
    request: pytest.FixtureRequest, dynamodb_local_client: Any
) -> Iterator[str]:
    """A table name unique to this test (``t-<test name>-<random>``, at most 255 chars).

    Whatever table the test created under that name is deleted afterwards, which keeps
    the shared in-memory engine small.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")[:200]
    name = f"t-{stem}-{uuid.uuid4().hex[:12]}"
    yield name
    try:
        dynamodb_local_client.delete_table(TableName=name)
    except dynamodb_local_client.exceptions.ResourceNotFoundException:
        pass
