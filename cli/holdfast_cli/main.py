"""``holdfast``: developer commands. Each subcommand lives in its own module, which adds its
arguments to a sub-parser and provides ``run(args) -> exit code``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from holdfast_cli.commands import (
    dev,
    flash_sale,
    graphql,
    openapi,
    reconcile,
    report,
    signals,
    simulate_day,
    token,
)

PASS_THROUGH = {
    "bench": ("bench.cli", "the benchmark, ratios measured side by side (python -m bench)"),
    "load": (
        "bench.load",
        "the load run of holdfast dev, the ledger checked (python -m bench.load)",
    ),
}
"""Commands whose arguments all go to another program's own parser (the benchmarks under
bench/, which live beside the CLI in the repository, not in the installed package)."""


def package_version() -> str:
    try:
        return version("holdfast")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="holdfast", description="Holdfast developer commands.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, summary in (
        ("dev", dev, "serve the HTTP API on localhost through the real Lambda handlers"),
        ("reconcile", reconcile, "check every position's onHand counter against its ledger"),
        (
            "flash-sale",
            flash_sale,
            "replay the flash sale of docs/behaviour.md §8: zero oversells, or exit 1",
        ),
        ("openapi", openapi, "print the OpenAPI 3.1 document of the HTTP API (docs/openapi.json)"),
        ("signals", signals, "demand signals: export them as JSON lines"),
        (
            "report",
            report,
            "reports from the demand signals: funnel, channels, locations, affinity, timing, restocking (table, JSON, PNG)",
        ),
        (
            "token",
            token,
            "print an access token for a deployed API (OAuth client credentials)",
        ),
        (
            "graphql",
            graphql,
            "the Fluent-compatible GraphQL endpoint: `holdfast graphql schema` prints its SDL",
        ),
        (
            "simulate-day",
            simulate_day,
            "play a day of mixed shoppers; check the demand reports recover it",
        ),
    ):
        module.add_arguments(
            commands.add_parser(name, help=summary, description=module.DESCRIPTION)
        )
    for name, (_, summary) in PASS_THROUGH.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def pass_through(name: str) -> Callable[[Sequence[str]], int]:
    """The ``main(argv)`` of a pass-through command, imported from the repository's root."""
    import importlib

    from holdfast_cli.local.template import PROJECT_ROOT

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    main: Callable[[Sequence[str]], int] = importlib.import_module(PASS_THROUGH[name][0]).main
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (2 for usage errors, as argparse does)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in PASS_THROUGH:
        return pass_through(arguments[0])(arguments[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
