"""``holdfast dev``: the HTTP API on localhost, served by the real Lambda handlers.

Each request becomes an API Gateway HTTP API (payload 2.0) event through
:class:`~holdfast_cli.local_api.LocalApi`, exactly as in the tests, against one of three
engines:

``dynamodb-local`` (default)
    a DynamoDB Local started in memory for this server and stopped with it;
``moto``
    an in-process moto mock (fast, nothing to install, but not atomic: no concurrency claims);
an ``--endpoint-url``
    any DynamoDB already running (e.g. ``python -m holdfast_cli.dynamodb_local``).

Concurrency is Lambda's: with ``workers=N`` (the CLI's ``--workers``, default 4) requests are
served by N forked worker processes (:mod:`holdfast_cli.dev_workers`), each one execution
environment with its own handlers, runtime and client, one request at a time each. Without
workers (the default of :func:`serve`, and always on moto, whose state lives in this process)
requests reach the handlers one at a time in this process, as in one execution environment:
the Powertools resolver keeps the current event in class-level state, and moto is not
thread-safe. Reading and writing sockets is concurrent either way. The stream poller and the
scheduler run once, in this process.

Hold expiry runs as deployed: a :class:`~holdfast_cli.stream_poller.StreamPoller` delivers
the table's stream (TTL deletions of hold timers) to the function the template attaches to
it, and a :class:`~holdfast_cli.scheduler.Scheduler` runs the scheduled sweeper. On moto only
the sweeper runs: moto never expires TTL items.

Programmatic use (tests)::

    server = serve(engine="moto", port=0)  # seeded, serving in a thread
    urllib.request.urlopen(server.url + "/timers")
    server.shutdown()  # stops the engine, restores os.environ

Engine, environment and table without the HTTP server (``holdfast flash-sale``)::

    backend = open_backend("dynamodb-local", table="holdfast-local")
    ...
    backend.close()
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, TextIO

from holdfast_cli.aws_environment import dynamodb_client, local_defaults
from holdfast_cli.dev_workers import WorkerFailed, WorkerPool
from holdfast_cli.local_api import LocalApi
from holdfast_cli.scheduler import Scheduler
from holdfast_cli.seed import EXAMPLE_POSITION, MAIN_DC, PRODUCT, SeedError, seed
from holdfast_cli.stream_poller import StreamPoller
from holdfast_cli.template import create_table

Engine = Literal["dynamodb-local", "moto"]
ENGINES: tuple[Engine, ...] = ("dynamodb-local", "moto")
DEFAULT_TABLE = "holdfast-local"
DEFAULT_PORT = 3000
DEFAULT_WORKERS = 4
HOST = "127.0.0.1"
DESCRIPTION = (
    "Serve the Holdfast HTTP API on 127.0.0.1 through the real Lambda handlers, on DynamoDB Local "
    "(started in memory and stopped on exit), moto, or any DynamoDB at --endpoint-url. "
    "The example retailer is loaded unless --empty."
)
MAX_BODY_BYTES = 6 * 1024 * 1024
"""Lambda's synchronous payload limit: a larger body never reaches a deployed handler."""

_FORWARDED_HEADERS_SKIPPED = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive"}
)


class DevServerError(RuntimeError):
    """The server could not start (engine, table or port); the message says why."""


class DevServer:
    """A running local API: :attr:`url`, :meth:`wait`, :meth:`shutdown` (idempotent).

    Also a context manager that shuts down on exit.
    """

    def __init__(
        self, httpd: _HttpServer, teardown: Callable[[], None], endpoint_url: str | None, table: str
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
    engine = _resolve_engine(engine, endpoint_url)
    try:
        # Bind first: a taken port should fail before Java starts.
        httpd = _HttpServer((HOST, port), _RequestHandler)
    except OSError as error:
        raise DevServerError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
    httpd.log = log
    cleanups: list[Callable[[], None]] = [httpd.server_close]
    teardown = _teardown(cleanups)
    background: list[str] = []
    try:
        endpoint_url = _open_backend(engine, endpoint_url, table, cleanups)
        httpd.api = LocalApi()
        if load_seed:
            seed(httpd.api)
        # Before any thread starts: fork copies only the calling thread.
        httpd.pool = _start_workers(httpd.api, engine, workers, cleanups, background)
        poller, scheduler = _start_background(
            httpd.api,
            engine,
            endpoint_url,
            table,
            cleanups,
            background,
            stream=stream,
            schedules=schedules,
            sweep_seconds=sweep_seconds,
            log=log,
        )
    except BaseException:
        teardown()
        raise
    cleanups.remove(httpd.server_close)  # DevServer.shutdown closes it after serving stops
    server = DevServer(httpd, teardown, endpoint_url, table)
    server.stream_poller, server.scheduler, server.background = poller, scheduler, background
    return server.start()


class Backend:
    """A DynamoDB engine with the template's table and the process environment pointing the
    handlers at it; :meth:`close` stops the engine and restores the environment."""

    def __init__(
        self, engine: Engine | None, endpoint_url: str | None, table: str, close: Callable[[], None]
    ) -> None:
        self.engine = engine
        #: ``None`` on moto.
        self.endpoint_url = endpoint_url
        self.table = table
        self._close = close

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_backend(
    engine: Engine | None = None,
    *,
    endpoint_url: str | None = None,
    table: str = DEFAULT_TABLE,
    environment: dict[str, str] | None = None,
) -> Backend:
    """What :func:`serve` does before it serves: start the engine (or use ``endpoint_url``),
    set the Lambda environment (plus ``environment``), create the table if missing.

    Raises :class:`DevServerError` if the engine or table cannot be reached; nothing is
    left running then.
    """
    engine = _resolve_engine(engine, endpoint_url)
    cleanups: list[Callable[[], None]] = []
    close = _teardown(cleanups)
    try:
        endpoint_url = _open_backend(engine, endpoint_url, table, cleanups, environment)
    except BaseException:
        close()
        raise
    return Backend(engine, endpoint_url, table, close)


def _resolve_engine(engine: Engine | None, endpoint_url: str | None) -> Engine | None:
    """The engine to start: none with an ``endpoint_url``, else ``dynamodb-local`` by default."""
    if endpoint_url and engine is not None:
        raise ValueError("pass either engine or endpoint_url, not both")
    if endpoint_url:
        return None
    engine = engine or "dynamodb-local"
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    return engine


def _teardown(cleanups: list[Callable[[], None]]) -> Callable[[], None]:
    """Run the cleanups last-in first-out, all of them even if some fail."""

    def teardown() -> None:
        errors = []
        while cleanups:
            try:
                cleanups.pop()()
            except Exception as error:  # keep going: Java must stop even if moto does not
                errors.append(error)
        if errors:
            raise errors[0]

    return teardown


def _open_backend(
    engine: Engine | None,
    endpoint_url: str | None,
    table: str,
    cleanups: list[Callable[[], None]],
    environment: dict[str, str] | None = None,
) -> str | None:
    endpoint_url = _start_engine(engine, endpoint_url, cleanups)
    _apply_environment(
        table, endpoint_url, moto=engine == "moto", cleanups=cleanups, extra=environment
    )
    _ensure_table(table, endpoint_url)
    return endpoint_url


def _start_workers(
    api: LocalApi,
    engine: Engine | None,
    workers: int | None,
    cleanups: list[Callable[[], None]],
    background: list[str],
) -> WorkerPool | None:
    if workers is None:
        return None
    if engine == "moto":
        background.append("workers: 1, in this process (moto's tables live in this process)")
        return None
    pool = WorkerPool(api, workers)
    cleanups.append(pool.close)
    background.append(
        f"workers: {pool.size} processes, one request at a time each (pids {', '.join(map(str, pool.pids))})"
    )
    return pool


def _start_background(
    api: LocalApi,
    engine: Engine | None,
    endpoint_url: str | None,
    table: str,
    cleanups: list[Callable[[], None]],
    background: list[str],
    *,
    stream: bool,
    schedules: bool,
    sweep_seconds: float | None,
    log: TextIO | None,
) -> tuple[StreamPoller | None, Scheduler | None]:
    """The stream poller (engines with streams) and the scheduler, stopped by ``cleanups``."""
    poller: StreamPoller | None = None
    if not stream:
        background.append("stream poller: off (--no-stream)")
    elif engine == "moto" or endpoint_url is None:
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
            cleanups.append(poller.stop)
            background.append(
                f"stream poller: {table} stream -> {', '.join(poller.functions) or 'no functions'} "
                f"(from {poller.starting_position})"
            )
    scheduler: Scheduler | None = None
    if schedules:
        scheduler = Scheduler(api.invoke, interval_seconds=sweep_seconds, log=log).start()
        cleanups.append(scheduler.stop)
        background.extend(f"scheduler: {line}" for line in scheduler.describe())
    return poller, scheduler


def _start_engine(
    engine: Engine | None, endpoint_url: str | None, cleanups: list[Callable[[], None]]
) -> str | None:
    if engine == "moto":
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
        cleanups.append(mock.stop)
        return None
    if engine == "dynamodb-local":
        from holdfast_cli.dynamodb_local import DynamoDBLocal, DynamoDBLocalError

        local = DynamoDBLocal(memory_mb=256)
        cleanups.append(local.stop)
        try:
            local.start()
        except DynamoDBLocalError as error:
            raise DevServerError(f"DynamoDB Local did not start: {error}") from None
        return local.endpoint_url
    return endpoint_url.rstrip("/") if endpoint_url else None


def _apply_environment(
    table: str,
    endpoint_url: str | None,
    *,
    moto: bool,
    cleanups: list[Callable[[], None]],
    extra: dict[str, str] | None = None,
) -> None:
    """What Lambda and the template give a deployed function, plus local credentials."""
    from holdfast.runtime import reset_runtime

    values: dict[str, str | None] = {
        "TABLE_NAME": table,
        "DYNAMODB_ENDPOINT_URL": endpoint_url,  # None on moto: a stale one must not bypass the mock
        "POWERTOOLS_SERVICE_NAME": "holdfast",
        "POWERTOOLS_METRICS_NAMESPACE": "Holdfast",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        **local_defaults(),
        **(extra or {}),
    }
    if moto:
        values["FEED_CONCURRENCY"] = "1"  # the feed service's thread pool would race on moto
    saved = {name: os.environ.get(name) for name in values}

    def restore() -> None:
        _set_environment(saved)
        reset_runtime()

    cleanups.append(restore)
    _set_environment(values)
    reset_runtime()


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _ensure_table(table: str, endpoint_url: str | None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = dynamodb_client(
        endpoint_url, connect_timeout=2, retries={"mode": "standard", "max_attempts": 2}
    )
    try:
        client.describe_table(TableName=table)
    except client.exceptions.ResourceNotFoundException:
        create_table(client, table)
    except (BotoCoreError, ClientError) as error:
        raise DevServerError(f"cannot reach DynamoDB at {endpoint_url or 'AWS'}: {error}") from None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: tens of clients connecting at once were reset.
    request_queue_size = 128
    api: LocalApi
    pool: WorkerPool | None = None
    log: TextIO | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handler_lock = threading.Lock()
        self.log_lock = threading.Lock()

    def answer(
        self, method: str, path: str, query: str, body: bytes | None, headers: dict[str, str]
    ) -> Any:
        if self.pool is not None:
            return self.pool.request(method, path, query=query, body=body, headers=headers)
        with self.handler_lock:
            return self.api.request(method, path, query=query, body=body, headers=headers)

    def log_line(self, line: str) -> None:
        if self.log is not None:
            with self.log_lock:
                print(line, file=self.log, flush=True)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "holdfast-dev"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, CONNECT, PROPFIND, ...) reaches the routes too and gets
        their 404 in the error shape, as API Gateway answers a route it does not have,
        instead of http.server's 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        began = time.perf_counter()
        status = self._answer()
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.server.log_line(f"{self.command} {self.path} {status} {elapsed_ms:.1f} ms")

    def _answer(self) -> int:
        path, _, query = self.path.partition("?")
        if self.headers.get("transfer-encoding", "").lower() not in ("", "identity"):
            return self._error(
                HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length", close=True
            )
        try:
            length = int(self.headers.get("content-length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            return self._error(
                HTTPStatus.BAD_REQUEST, "Content-Length is not a valid length", close=True
            )
        if length > MAX_BODY_BYTES:
            # Not read: the connection is closed instead of draining megabytes.
            return self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length} bytes; the limit is {MAX_BODY_BYTES}",
                [{"field": "body", "message": f"at most {MAX_BODY_BYTES} bytes"}],
                close=True,
            )
        body = self.rfile.read(length) if length else None
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        try:
            response = self.server.answer(self.command, path, query, body, headers)
        except WorkerFailed as error:
            self.log_error("%s", error)
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "the local server failed; see its log"
            )
        except Exception:
            self.log_error("%s", traceback.format_exc())
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "the local server failed; see its log"
            )
        response_headers = {
            k: v for k, v in response.headers.items() if k.lower() not in _FORWARDED_HEADERS_SKIPPED
        }
        self._write(response.status, response_headers, response.body.encode())
        return response.status

    def _error(
        self,
        status: HTTPStatus,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        close: bool = False,
    ) -> int:
        """Answer in the error shape of docs/behaviour.md §9 (API Gateway's own errors are not that shape,
        but ours should be, so clients handle one)."""
        body = {"error": {"code": status.name, "message": message, "details": details or []}}
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            body["error"]["code"] = "PAYLOAD_TOO_LARGE"
        if close:
            self.close_connection = True
        self._write(int(status), {"content-type": "application/json"}, json.dumps(body).encode())
        return int(status)

    def _write(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors (bad request line, unsupported method) in the error shape too."""
        status = HTTPStatus(code)
        self.close_connection = True
        self._error(status, message or status.phrase, close=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by the one line :meth:`_dispatch` writes with the timing."""

    def log_error(self, format: str, *args: Any) -> None:
        self.server.log_line("error: " + (format % args))


def example_requests(url: str) -> list[str]:
    """Three curl commands a developer can paste: a VP read, an IP read, a feed batch."""
    feed = {
        "entities": [
            {
                "productRef": PRODUCT,
                "locationRef": MAIN_DC,
                "type": "DELTA",
                "quantity": 5,
                "sourceRef": "RECEIPT_1001",
            }
        ]
    }
    availability = f"channel=ECOMMERCE&productRef={PRODUCT}&locationRef={MAIN_DC}"
    json_header = "-H 'content-type: application/json'"
    return [
        f"curl '{url}/virtual-positions?{availability}'",
        f"curl '{url}/inventory-positions/{EXAMPLE_POSITION}'",
        f"curl -X POST '{url}/inventory/batch' {json_header} -d '{json.dumps(feed)}'",
    ]


# -- command line ---------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="DynamoDB engine to start: dynamodb-local (default; in memory, stopped on exit) "
        "or moto (in-process)",
    )
    parser.add_argument(
        "--endpoint-url", help="use a DynamoDB already running at this URL instead of starting one"
    )
    parser.add_argument(
        "--table",
        default=DEFAULT_TABLE,
        help=f"table name (default {DEFAULT_TABLE}); created if missing",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on {HOST} (default {DEFAULT_PORT}; 0 picks one)",
    )
    parser.add_argument("--empty", action="store_true", help="do not load the example seed")
    parser.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="do not poll the table's stream (TTL expiry of holds); the sweeper still runs",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=_positive_seconds,
        default=None,
        metavar="N",
        help="run the scheduled hold sweeper every N seconds (default: the template's rate)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_count,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"worker processes, each a Lambda execution environment serving one request at a "
        f"time (default {DEFAULT_WORKERS}; on moto always 1, in-process)",
    )
    parser.set_defaults(run=run)


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def run(args: argparse.Namespace) -> int:
    if args.endpoint_url and args.engine:
        print("holdfast dev: --engine and --endpoint-url exclude each other", file=sys.stderr)
        return 2
    engine: Engine | None = (
        None if args.endpoint_url else args.engine or "dynamodb-local"
    )  # for the message
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    server: DevServer | None = None
    try:
        print(
            f"holdfast dev: starting {engine or args.endpoint_url} ...", file=sys.stderr, flush=True
        )
        try:
            server = serve(
                engine,
                endpoint_url=args.endpoint_url,
                table=args.table,
                port=args.port,
                load_seed=not args.empty,
                log=sys.stderr,
                stream=args.stream,
                sweep_seconds=args.sweep_seconds,
                workers=args.workers,
            )
        except (DevServerError, ValueError) as error:
            print(f"holdfast dev: {error}", file=sys.stderr)
            return 2
        except SeedError as error:
            print(f"holdfast dev: the seed failed: {error}", file=sys.stderr)
            return 1
        print(_banner(server, seeded=not args.empty), flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            # A second Ctrl-C (or uv forwarding the first one again) must not cut the
            # teardown short and leave Java running.
            previous_interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                server.shutdown()
            finally:
                signal.signal(signal.SIGINT, previous_interrupt)
            print("holdfast dev: stopped", file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the server the way Ctrl-C does, so the engine is stopped too."""
    raise KeyboardInterrupt


def _banner(server: DevServer, *, seeded: bool) -> str:
    engine = server.endpoint_url or "moto (in-process)"
    lines = [
        f"Holdfast API on {server.url}  (table {server.table}, DynamoDB {engine}"
        + (", seeded)" if seeded else ", empty)"),
        *(f"  {line}" for line in server.background),
        "Try:",
        *(f"  {command}" for command in example_requests(server.url)),
        "Ctrl-C stops the server.",
    ]
    return "\n".join(lines)
