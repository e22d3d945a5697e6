"""Where the bench runs: the DynamoDB engine, a Lambda-like environment, fresh tables.

The handlers read their settings from the environment (``Settings.from_environment``) and
build their runtime lazily, so a table is "deployed" by setting ``TABLE_NAME`` and forgetting
the runtime. Everything the bench changes in ``os.environ`` is restored when it ends, so it
can run inside a test process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bench.capacity import TableSpec
from bench.recorder import CallRecorder, ItemImages
from holdfast.runtime import get_runtime, use_clock
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.aws_credentials import dynamodb_client
from holdfast_cli.local.engine import EngineError, LocalEngine
from holdfast_cli.local.environment import QUIET
from holdfast_cli.local.template import table_definition

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
        self.name = name
        self.spec = TableSpec.from_definition(table_definition())
        self._progress = progress
        self._engine = LocalEngine(
            name,
            endpoint_url=endpoint_url,
            memory_mb=512,
            environment={**QUIET, "CONFIG_CACHE_SECONDS": "30"},
            progress=progress,
        )
        self._admin: Any = None

    @property
    def endpoint_url(self) -> str | None:
        return self._engine.endpoint_url

    @property
    def version(self) -> str | None:
        return self._engine.version

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
            self._engine.start()
        except EngineError as error:
            raise BenchError(str(error)) from None
        self._engine.on_close(lambda: use_clock(None))
        self._admin = self._engine.client()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        use_clock(None)
        self._engine.close()

    @contextmanager
    def fresh_table(self, label: str) -> Iterator[Deployment]:
        """A new table from template.yaml, the runtime pointed at it, the local API over it;
        the table is deleted afterwards (a leftover table in an in-memory engine is harmless)."""

        def report(name: str, error: Exception) -> None:
            self._progress(f"could not delete table {name}: {error}")

        with self._engine.fresh_table(f"bench-{label}", on_delete_error=report) as name:
            try:
                yield Deployment(self, name)
            finally:
                use_clock(None)

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
