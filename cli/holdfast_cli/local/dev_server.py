"""The local API assembled: engine, HTTP front end, workers, stream poller and scheduler.

What ``holdfast dev`` serves: the HTTP API on localhost, answered by the real Lambda handlers.

Each request becomes an API Gateway HTTP API (payload 2.0) event through
:class:`~holdfast_cli.local.api.LocalApi` (the socket side is :mod:`holdfast_cli.local.http_front`), exactly as in the tests, against one of three
engines:

``dynamodb-local`` (default)
    a DynamoDB Local started in memory for this server and stopped with it;
``moto``
    an in-process moto mock (fast, nothing to install, but not atomic: no concurrency claims);
an ``--endpoint-url``
    any DynamoDB already running (e.g. ``python -m holdfast_cli.local.dynamodb_local``).

Concurrency is Lambda's: with ``workers=N`` (the CLI's ``--workers``, default 4) requests are
served by N forked worker processes (:mod:`holdfast_cli.local.worker_pool`), each one execution
environment with its own handlers, runtime and client, one request at a time each. Without
workers (the default of :func:`serve`, and always on moto, whose state lives in this process)
requests reach the handlers one at a time in this process, as in one execution environment:
the Powertools resolver keeps the current event in class-level state, and moto is not
thread-safe. Reading and writing sockets is concurrent either way. The stream poller and the
scheduler run once, in this process.

Hold expiry runs as deployed: a :class:`~holdfast_cli.local.stream_poller.StreamPoller` delivers
the table's stream (TTL deletions of hold timers) to the function the template attaches to
it, and a :class:`~holdfast_cli.local.scheduler.Scheduler` runs the scheduled sweeper. On moto only
the sweeper runs: moto never expires TTL items.

Programmatic use (tests)::

    server = serve(engine="moto", port=0)  # seeded, serving in a thread
    ApiClient(server.url).request("GET", "/timers")
    server.shutdown()  # stops the engine, restores os.environ

The engine, environment and table alone (``holdfast flash-sale``) are
:class:`~holdfast_cli.local.engine.LocalEngine`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.engine import (
    STARTED_ENGINES,
    EngineError,
    LocalEngine,
    StartedEngine,
    engine_kind,
)
from holdfast_cli.local.http_front import HOST, LocalHttpServer, RequestHandler
from holdfast_cli.local.scheduler import Scheduler
from holdfast_cli.local.stream_poller import StreamPoller
from holdfast_cli.local.worker_pool import WorkerPool
from holdfast_cli.seed import seed

Engine = StartedEngine
ENGINES = STARTED_ENGINES
DEFAULT_TABLE = "holdfast-local"
DEFAULT_PORT = 3000
DEFAULT_WORKERS = 4


class DevServerError(RuntimeError):
    """The server could not start (engine, table or port); the message says why."""


class DevServer:
    """A running local API: :attr:`url`, :meth:`wait`, :meth:`shutdown` (idempotent).

    Also a context manager that shuts down on exit.
    """

    def __init__(
        self,
        httpd: LocalHttpServer,
        teardown: Callable[[], None],
        endpoint_url: str | None,
        table: str,
    ) -> None:
        self._httpd = httpd
        self._teardown = teardown
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._stop_lock = threading.Lock()
        #: The DynamoDB endpoint the handlers use (``None`` on moto).
        self.endpoint_url = endpoint_url
        self.table = table
        #: Delivers the table's stream to the template's stream functions (``None`` when off).
        self.stream_poller: StreamPoller | None = None
        #: Runs the template's scheduled functions (``None`` when off).
        self.scheduler: Scheduler | None = None
        #: One line per background worker (poller, schedules), or why it is off.
        self.background: list[str] = []

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> DevServer:
        """Serve in a background thread (``serve`` already does this)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.2},
                name="holdfast-dev",
                daemon=True,
            )
            self._thread.start()
        return self

    def wait(self) -> None:
        """Block until :meth:`shutdown`; Ctrl-C raises ``KeyboardInterrupt`` here."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def shutdown(self) -> None:
        """Stop serving, then stop the engine (Java, or the moto mock) and restore the
        environment the server changed."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join()
            self._httpd.server_close()
        finally:
            with self._httpd.handler_lock:  # let a request already in a handler finish
                self._teardown()

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def serve(
    engine: Engine | None = None,
    *,
    endpoint_url: str | None = None,
    table: str = DEFAULT_TABLE,
    port: int = DEFAULT_PORT,
    load_seed: bool = True,
    log: TextIO | None = None,
    stream: bool = True,
    schedules: bool = True,
    sweep_seconds: float | None = None,
    workers: int | None = None,
) -> DevServer:
    """Start the local API and return it, already serving in a background thread.

    :param engine: ``"dynamodb-local"`` (the default without ``endpoint_url``) or ``"moto"``.
    :param endpoint_url: an already running DynamoDB to use instead of starting an engine.
    :param table: the table name; created from ``template.yaml`` if it does not exist.
    :param port: TCP port on 127.0.0.1; ``0`` picks a free one (see :attr:`DevServer.url`).
    :param load_seed: apply :func:`holdfast_cli.seed.seed` before serving.
    :param log: where the one-line-per-request log goes (the CLI passes ``sys.stderr``);
        ``None``, the default, for silence. Stream deliveries and scheduled runs log there too.
    :param stream: poll the table's stream and invoke the functions the template attaches to
        it (TTL expiry of holds). Ignored on moto, which never expires TTL items.
    :param schedules: run the template's scheduled functions (the hold sweeper).
    :param sweep_seconds: run them this often instead of at the template's rate.
    :param workers: serve requests in this many worker processes, each an execution
        environment of its own; ``None``, the default, serves them one at a time in this
        process (which shares its clock with the caller: see :func:`holdfast.runtime.use_clock`).
        Ignored on moto, whose state lives in this process.

    Sets ``TABLE_NAME``, ``DYNAMODB_ENDPOINT_URL`` and the Lambda/Powertools variables in
    ``os.environ`` (restored by :meth:`DevServer.shutdown`) and rebuilds the runtime. Raises
    :class:`DevServerError` if the port is taken or the engine or table cannot be reached,
    :class:`~holdfast_cli.seed.SeedError` if a seed call is refused; nothing is left running.
    """
    kind = engine_kind(engine, endpoint_url)
    try:
        # Bind first: a taken port should fail before Java starts.
        httpd = LocalHttpServer((HOST, port), RequestHandler)
    except OSError as error:
        raise DevServerError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
    httpd.log = log
    local = LocalEngine(kind, endpoint_url=endpoint_url, table=table)
    background: list[str] = []
    try:
        local.start()
        httpd.api = LocalApi()
        if load_seed:
            seed(httpd.api)
        # Before any thread starts: fork copies only the calling thread.
        httpd.pool = _start_workers(httpd.api, local, workers, background)
        poller, scheduler = _start_background(
            httpd.api,
            local,
            background,
            stream=stream,
            schedules=schedules,
            sweep_seconds=sweep_seconds,
            log=log,
        )
    except BaseException as error:
        try:
            httpd.server_close()
        finally:
            local.close()
        if isinstance(error, EngineError):
            raise DevServerError(str(error)) from None
        raise
    server = DevServer(httpd, local.close, local.endpoint_url, table)
    server.stream_poller, server.scheduler, server.background = poller, scheduler, background
    return server.start()


def _start_workers(
    api: LocalApi, local: LocalEngine, workers: int | None, background: list[str]
) -> WorkerPool | None:
    if workers is None:
        return None
    if local.kind == "moto":
        background.append("workers: 1, in this process (moto's tables live in this process)")
        return None
    pool = WorkerPool(api, workers)
    local.on_close(pool.close)
    background.append(
        f"workers: {pool.size} processes, one request at a time each (pids {', '.join(map(str, pool.pids))})"
    )
    return pool


def _start_background(
    api: LocalApi,
    local: LocalEngine,
    background: list[str],
    *,
    stream: bool,
    schedules: bool,
    sweep_seconds: float | None,
    log: TextIO | None,
) -> tuple[StreamPoller | None, Scheduler | None]:
    """The stream poller (engines with streams) and the scheduler, stopped with the engine."""
    endpoint_url, table = local.endpoint_url, local.table or ""
    poller: StreamPoller | None = None
    if not stream:
        background.append("stream poller: off (--no-stream)")
    elif endpoint_url is None:
        background.append(
            "stream poller: off on moto (it never expires TTL items); the sweeper releases holds"
        )
    else:
        candidate = StreamPoller.for_table(endpoint_url, table, invoke=api.invoke, log=log)
        try:
            poller = candidate.start()
        except Exception as error:  # the API still works; say why expiry runs on the sweeper only
            background.append(f"stream poller: not started ({type(error).__name__}: {error})")
        else:
            local.on_close(poller.stop)
            background.append(
                f"stream poller: {table} stream -> {', '.join(poller.functions) or 'no functions'} "
                f"(from {poller.starting_position})"
            )
    scheduler: Scheduler | None = None
    if schedules:
        scheduler = Scheduler(api.invoke, interval_seconds=sweep_seconds, log=log).start()
        local.on_close(scheduler.stop)
        background.extend(f"scheduler: {line}" for line in scheduler.describe())
    return poller, scheduler
