"""Where the bench runs: the DynamoDB engine, a Lambda-like environment, fresh tables.

The handlers read their settings from the environment (``Settings.from_environment``) and
build their runtime lazily, so a table is "deployed" by setting ``TABLE_NAME`` and forgetting
the runtime. Everything the bench changes in ``os.environ`` is restored when it ends, so it
can run inside a test process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bench.capacity import TableSpec
from bench.recorder import CallRecorder, ItemImages
from holdfast.runtime import get_runtime, reset_runtime, use_clock
from holdfast_cli.aws_environment import dynamodb_client, local_defaults
from holdfast_cli.local_api import LocalApi
from holdfast_cli.template import create_table, table_definition

EngineName = Literal["dynamodb-local", "moto", "endpoint"]


class BenchError(RuntimeError):
    """The bench could not set up or a call it relies on was refused."""


class BenchEngine:
    """Starts (and stops) the engine and gives each measure a fresh table.

    ``dynamodb-local`` starts DynamoDB Local from node_modules on a free port; ``moto`` mocks
    AWS in this process (numbers mean little: moto is a Python dictionary, and forked workers
    do not share it); ``endpoint`` uses an engine someone else runs.
    """

    def __init__(
        self,
        name: EngineName,
        endpoint_url: str | None = None,
        progress: Callable[[str], None] = print,
    ) -> None:
        if (name == "endpoint") != (endpoint_url is not None):
            raise ValueError("an endpoint URL goes with the 'endpoint' engine only")
        self.name = name
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.version: str | None = None
        self.spec = TableSpec.from_definition(table_definition())
        self._progress = progress
        self._cleanups: list[Callable[[], None]] = []
        self._saved_environment: dict[str, str | None] = {}
        self._admin: Any = None

    @property
    def copies_tables_on_write(self) -> bool:
        """moto deep-copies a table on every transaction: keep its tables small."""
        return self.name == "moto"

    @property
    def shares_state_across_processes(self) -> bool:
        """Forked workers see the same tables (false on moto: each process has its copy)."""
        return self.name != "moto"

    def __enter__(self) -> BenchEngine:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        if self.name == "moto":
            from moto import mock_aws

            mock = mock_aws()
            mock.start()
            self._cleanups.append(mock.stop)
            self.version = _package_version("moto")
        elif self.name == "dynamodb-local":
            from holdfast_cli.dynamodb_local import (
                DynamoDBLocal,
                DynamoDBLocalError,
                dynamodb_local_version,
            )

            self._progress("starting DynamoDB Local")
            local = DynamoDBLocal(memory_mb=512)
            self._cleanups.append(local.stop)
            try:
                local.start()
            except DynamoDBLocalError as error:
                raise BenchError(f"DynamoDB Local did not start: {error}") from None
            self.endpoint_url = local.endpoint_url
            self.version = dynamodb_local_version(local.jar)
        self._set_environment(
            {
                "DYNAMODB_ENDPOINT_URL": self.endpoint_url,  # None on moto: nothing may bypass the mock
                "POWERTOOLS_SERVICE_NAME": "holdfast",
                "POWERTOOLS_METRICS_NAMESPACE": "Holdfast",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "CONFIG_CACHE_SECONDS": "30",
                "FEED_CONCURRENCY": "1" if self.name == "moto" else None,
                **local_defaults(),
            }
        )
        self._admin = dynamodb_client(self.endpoint_url)

    def close(self) -> None:
        use_clock(None)
        while self._cleanups:
            self._cleanups.pop()()
        self._restore_environment()
        reset_runtime()

    def _set_environment(self, values: dict[str, str | None]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()

    @contextmanager
    def fresh_table(self, label: str) -> Iterator[Deployment]:
        """A new table from template.yaml, the runtime pointed at it, the local API over it;
        the table is deleted afterwards."""
        name = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        create_table(self._admin, name)
        self._set_environment({"TABLE_NAME": name})
        reset_runtime()
        try:
            yield Deployment(self, name)
        finally:
            use_clock(None)
            reset_runtime()
            try:
                self._admin.delete_table(TableName=name)
            except Exception as error:  # a leftover table in an in-memory engine is harmless
                self._progress(f"could not delete table {name}: {error}")

    def admin_client(self) -> Any:
        return self._admin


class Deployment:
    """One table with the service over it: the local API, the runtime's client, a recorder."""

    def __init__(self, engine: BenchEngine, table_name: str) -> None:
        self.engine = engine
        self.table_name = table_name
        self.api = LocalApi()
        self._images = ItemImages(dynamodb_client(engine.endpoint_url), engine.spec)

    @property
    def client(self) -> Any:
        """The boto3 client the service itself uses (built on first use, once per runtime)."""
        return get_runtime().table._client

    @property
    def recorder(self) -> CallRecorder:
        return CallRecorder.attach(self.client, self.engine.spec, self._images)

    @contextmanager
    def clock_ahead(self, delta: timedelta) -> Iterator[None]:
        """The service's clock runs ``delta`` ahead inside the block (for expiry)."""
        use_clock(lambda: datetime.now(UTC) + delta)
        try:
            yield
        finally:
            use_clock(None)


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
