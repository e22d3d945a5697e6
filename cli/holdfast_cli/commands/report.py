"""``holdfast report funnel``: the funnel per SKU (docs/behaviour.md §7) as a table, JSON, or a PNG chart of
the funnel and of out-of-stock demand over time (``--png``, needs matplotlib: the ``charts``
extra)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from holdfast_cli import demand_report
from holdfast_cli.console import print_table
from holdfast_cli.signal_source import SignalSource, SourceError, add_source_arguments, time_range

DESCRIPTION = (
    "Reports built from the demand signals. funnel: FO calls → holds → orders per SKU; channels, "
    "locations, affinity, timing, restocking: the demand reports of docs/signals.md."
)
EXIT_OK, EXIT_ERROR = 0, 2
COLUMNS = (
    ("productRef", "SKU"),
    ("foCalls", "FO calls"),
    ("holds", "holds"),
    ("orders", "orders"),
    ("abandoned", "abandoned"),
    ("refused", "refused"),
    ("conversionRate", "conversion"),
    ("abandonmentRate", "abandonment"),
    ("medianSecondsToConvert", "median s to convert"),
    ("outOfStock", "out of stock"),
)
CHART_PRODUCTS = 10
"""The SKUs a chart shows: those with the most FO calls."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    funnel = commands.add_parser(
        "funnel",
        help="FO calls, holds, orders, abandonment and out-of-stock demand per SKU",
        description="The funnel per SKU over [--from, --to): FO calls, units held, orders, "
        "abandoned holds, refusals, rates, median time to convert, out-of-stock units.",
    )
    add_source_arguments(funnel)
    funnel.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    funnel.add_argument(
        "--png", metavar="FILE", help="also draw the funnel and out-of-stock demand over time"
    )
    funnel.set_defaults(run=run_funnel)
    demand_report.add_parsers(commands)


def run_funnel(args: argparse.Namespace) -> int:
    try:
        start, end = time_range(args)
        source = SignalSource(args)
        rows = source.funnel(start, end)
        if args.png:
            out_of_stock = list(source.signals(start, end, type="OUT_OF_STOCK"))
            draw(args.png, rows, out_of_stock, start, end)
    except SourceError as error:
        print(f"holdfast report: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ChartUnavailable as error:
        print(f"holdfast report: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps({"items": rows}))
    else:
        print_table(
            sys.stdout,
            title=f"Funnel {start.isoformat()} → {end.isoformat()}",
            columns=[title for _, title in COLUMNS],
            rows=[[_cell(row[key]) for key, _ in COLUMNS] for row in rows],
            caption=None if rows else "(no demand signals in this range)",
            plain=table(rows, start, end),
        )
    return EXIT_OK


def table(rows: list[dict[str, Any]], start: datetime, end: datetime) -> str:
    header = [title for _, title in COLUMNS]
    cells = [[_cell(row[key]) for key, _ in COLUMNS] for row in rows]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)
    ]
    lines = [f"Funnel {start.isoformat()} → {end.isoformat()}"]
    lines.append(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=False))
        )
    )
    for row in cells:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=False))
            )
        )
    if not rows:
        lines.append("(no demand signals in this range)")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:.1f}"
    return str(value)


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed."""


def draw(
    path: str,
    rows: list[dict[str, Any]],
    out_of_stock: list[dict[str, Any]],
    start: datetime,
    end: datetime,
) -> None:
    """Two panels: the funnel of the busiest SKUs, and out-of-stock units over time."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "--png needs matplotlib: pip install 'holdfast[charts]' (or uv sync --extra charts)"
        ) from None
    figure, (funnel_axes, demand_axes) = plt.subplots(
        2, 1, figsize=(11, 9), constrained_layout=True
    )
    _draw_funnel(funnel_axes, rows)
    _draw_out_of_stock(demand_axes, out_of_stock, start, end)
    figure.autofmt_xdate()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _draw_funnel(axes: Any, rows: list[dict[str, Any]]) -> None:
    """Bars of each funnel stage for the busiest SKUs."""
    busiest = sorted(rows, key=lambda r: -r["foCalls"])[:CHART_PRODUCTS]
    stages = ("foCalls", "holds", "orders", "abandoned", "refused")
    width = 0.8 / len(stages)
    for offset, stage in enumerate(stages):
        positions = [i + offset * width for i in range(len(busiest))]
        axes.bar(positions, [r[stage] for r in busiest], width, label=stage)
    axes.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(busiest))],
        [r["productRef"] for r in busiest],
        rotation=20,
        ha="right",
    )
    axes.set_title("Funnel per SKU: FO calls → holds → orders")
    axes.legend()


def _draw_out_of_stock(
    axes: Any, out_of_stock: list[dict[str, Any]], start: datetime, end: datetime
) -> None:
    """Out-of-stock units over time, one line per SKU (the most wanted first)."""
    bucket = _bucket(end - start)
    series: dict[str, Counter[datetime]] = {}
    for signal in out_of_stock:
        at = datetime.fromisoformat(signal["at"].replace("Z", "+00:00"))
        slot = start + (at - start) // bucket * bucket
        series.setdefault(signal["productRef"], Counter())[slot] += signal["quantity"]
    slots = [start + i * bucket for i in range(int((end - start) / bucket) + 1)]
    for product in sorted(series, key=lambda p: -sum(series[p].values()))[:CHART_PRODUCTS]:
        axes.plot(slots, [series[product].get(s, 0) for s in slots], marker=".", label=product)
    axes.set_title(f"Out-of-stock demand (units per {_describe(bucket)})")
    if series:
        axes.legend()


def _bucket(span: timedelta) -> timedelta:
    for size in (
        timedelta(minutes=1),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(days=1),
    ):
        if span / size <= 96:
            return size
    return timedelta(days=1)


def _describe(bucket: timedelta) -> str:
    minutes = int(bucket.total_seconds() // 60)
    return {1: "minute", 15: "15 minutes", 60: "hour"}.get(minutes, "day")
