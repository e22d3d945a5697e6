"""``holdfast dev``: the HTTP API on 127.0.0.1, served by the real Lambda handlers until Ctrl-C.

The options choose the engine and what runs beside the API; :mod:`holdfast_cli.local.dev_server`
assembles it. The banner shows where it listens and three requests to try.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from holdfast_cli.local.dev_server import (
    DEFAULT_PORT,
    DEFAULT_TABLE,
    DEFAULT_WORKERS,
    ENGINES,
    DevServer,
    DevServerError,
    Engine,
    serve,
)
from holdfast_cli.local.http_front import HOST
from holdfast_cli.seed import EXAMPLE_POSITION, MAIN_DC, PRODUCT, SeedError

DESCRIPTION = (
    "Serve the Holdfast HTTP API on 127.0.0.1 through the real Lambda handlers, on DynamoDB Local "
    "(started in memory and stopped on exit), moto, or any DynamoDB at --endpoint-url. "
    "The example retailer is loaded unless --empty."
)


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, one declaration each (long, and read top to bottom like --help)."""
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
            _shut_down(server)
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


def _shut_down(server: DevServer) -> None:
    """Stop serving and stop the engine. A second Ctrl-C (or uv forwarding the first one
    again) must not cut the teardown short and leave Java running."""
    previous_interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        server.shutdown()
    finally:
        signal.signal(signal.SIGINT, previous_interrupt)
    print("holdfast dev: stopped", file=sys.stderr, flush=True)


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
