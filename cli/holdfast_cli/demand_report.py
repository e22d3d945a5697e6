"""``holdfast report channels|locations|affinity|timing|restocking``: the demand reports
(docs/signals.md, "Reports") as tables, JSON (``--json``) or one PNG figure each (``--png``,
drawn by :mod:`holdfast_cli.demand_charts`; needs matplotlib, the ``charts`` extra).

Over ``--api-url`` they are ``GET /reports/{name}``; with ``--table`` the same service runs
here against the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holdfast_cli.signal_source import SignalSource, SourceError, add_source_arguments, time_range

EXIT_OK, EXIT_ERROR = 0, 2
REPORTS = {
    "channels": "FO calls, holds, conversion and abandonment per channel and delivery type (HD/CC)",
    "locations": "locations in plans vs fulfilling orders; out-of-stock demand per product × location",
    "affinity": "product pairs most often held together and abandoned together (support, lift)",
    "timing": "holds, conversions, abandonment by local hour and weekday; seconds to convert vs the timer",
    "restocking": "unmet units a day and days since last ATS per product × location (RESTOCK_SUGGESTED)",
}
SECTIONS = {
    "channels": ("items",),
    "locations": ("locations", "outOfStock"),
    "affinity": ("heldTogether", "abandonedTogether"),
    "timing": ("byHour", "byDayOfWeek", "secondsToConvert", "timers"),
    "restocking": ("items",),
}


def time_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"not an IANA time zone: {text!r}") from None
    return text


def add_parsers(commands: Any) -> None:
    """One sub-command per report, beside ``report funnel`` (long: the options, one
    declaration each, read top to bottom like --help)."""
    for name, summary in REPORTS.items():
        parser = commands.add_parser(
            name, help=summary, description=f"{summary.capitalize()}, over [--from, --to)."
        )
        add_source_arguments(parser)
        parser.add_argument("--channel", help="only this channel")
        parser.add_argument("--delivery-type", choices=("HD", "CC"), help="only this delivery type")
        if name in ("locations", "restocking"):
            parser.add_argument("--product-ref", help="only rows of this product")
        if name == "affinity":
            parser.add_argument(
                "--min-count",
                type=int,
                default=2,
                help="fewest carts a pair must be in (default 2)",
            )
            parser.add_argument(
                "--limit", type=int, default=50, help="most pairs of each kind (default 50)"
            )
        if name == "timing":
            parser.add_argument(
                "--time-zone",
                type=time_zone,
                default="UTC",
                help="IANA zone of hours and weekdays (default UTC)",
            )
            parser.add_argument(
                "--bucket-seconds",
                type=int,
                default=60,
                help="seconds-to-convert bucket width (default 60)",
            )
        if name == "restocking":
            parser.add_argument(
                "--threshold",
                type=float,
                help="unmet units a day from which a restock is suggested "
                "(and, over --api-url, RESTOCK_SUGGESTED published; --table only marks the rows)",
            )
        parser.add_argument(
            "--json", action="store_true", help="print the answer as one JSON object"
        )
        parser.add_argument("--png", metavar="FILE", help="also draw the report's figure")
        parser.set_defaults(run=run, report_name=name)


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The route's query parameters the command line gave."""
    names = {
        "channel": "channel",
        "delivery_type": "deliveryType",
        "product_ref": "productRef",
        "min_count": "minCount",
        "limit": "limit",
        "time_zone": "timeZone",
        "bucket_seconds": "bucketSeconds",
        "threshold": "threshold",
    }
    return {
        query: getattr(args, attribute)
        for attribute, query in names.items()
        if getattr(args, attribute, None) is not None
    }


def run(args: argparse.Namespace) -> int:
    from holdfast_cli.demand_charts import ChartUnavailable, draw

    try:
        start, end = time_range(args)
        answer = SignalSource(args).report(args.report_name, start, end, parameters(args))
        if args.png:
            draw(args.report_name, answer, args.png)
    except (SourceError, ChartUnavailable) as error:
        print(f"holdfast report: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(answer) if args.json else render(args.report_name, answer))
    return EXIT_OK


def render(name: str, answer: dict[str, Any]) -> str:
    """The report's sections as aligned tables."""
    lines = [f"{name.capitalize()} {answer['from']} → {answer['to']}"]
    for key in ("heldCarts", "abandonedCarts", "timeZone", "ordersAfterExpiry", "published"):
        if key in answer:
            lines.append(f"{key}: {answer[key]}")
    for section in SECTIONS[name]:
        rows = answer[section]
        if name == "timing" and section in ("byHour", "byDayOfWeek"):
            rows = [row for row in rows if row["holds"] or row["conversions"] or row["abandoned"]]
        lines += ["", section, *_table(rows)]
    return "\n".join(lines)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(none)"]
    header = list(rows[0])
    cells = [[_cell(row[key]) for key in header] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    return [
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=False)).rstrip()
        for row in [header, *cells]
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
