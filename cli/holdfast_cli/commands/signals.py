"""``holdfast signals export``: demand signals as JSON lines, oldest first, from a running API or
straight from the table (see :mod:`holdfast_cli.signal_source`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from holdfast_cli.signal_source import (
    EXIT_ERROR,
    EXIT_OK,
    SIGNAL_TYPES,
    SignalSource,
    SourceError,
    add_source_arguments,
    iso_time,
    time_range,
)

DESCRIPTION = (
    "Demand signals (FO calls, out-of-stock demand, conversions, abandoned and cancelled carts, "
    "low stock). export: write them as JSON lines, oldest first."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="signals_command", required=True, metavar="COMMAND")
    export = commands.add_parser(
        "export",
        help="write signals as JSON lines",
        description="Write demand signals as JSON lines, oldest first.",
    )
    add_source_arguments(export)
    export.add_argument("--type", choices=SIGNAL_TYPES, help="only this type")
    export.add_argument("--product-ref", help="only this product")
    export.add_argument("--location-ref", help="only this location")
    export.add_argument("--channel", help="only this channel")
    export.add_argument("--out", "-o", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    try:
        start, end = time_range(args)
        source = SignalSource(args)
        filters = {
            "type": args.type,
            "productRef": args.product_ref,
            "locationRef": args.location_ref,
            "channel": args.channel,
        }
        out: TextIO = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        try:
            count = 0
            for signal in source.signals(start, end, **filters):
                out.write(json.dumps(signal, separators=(",", ":")) + "\n")
                count += 1
        finally:
            if args.out:
                out.close()
    except SourceError as error:
        print(f"holdfast signals: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"holdfast signals: {count} signals from {iso_time(start)} to {iso_time(end)}",
        file=sys.stderr,
    )
    return EXIT_OK
