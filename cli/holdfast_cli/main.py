"""``holdfast``: developer commands. Each subcommand lives in its own module of
:mod:`holdfast_cli.commands`, which adds its arguments to a sub-parser and provides
``run(args) -> exit code``; ``bench`` and ``load`` pass their arguments to bench/'s programs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from holdfast_cli.commands import (
    bench,
    dev,
    flash_sale,
    graphql,
    load,
    openapi,
    reconcile,
    report,
    signals,
    simulate_day,
    token,
)

COMMANDS: tuple[tuple[str, ModuleType, str], ...] = (
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
    ("token", token, "print an access token for a deployed API (OAuth client credentials)"),
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
)
"""Each command: its name, its module (``DESCRIPTION``, ``add_arguments``) and its summary."""

PASS_THROUGH: dict[str, ModuleType] = {"bench": bench, "load": load}
"""Commands whose arguments all go to another program's own parser (``main(argv)``)."""


def package_version() -> str:
    try:
        return version("holdfast")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="holdfast", description="Holdfast developer commands.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, summary in COMMANDS:
        module.add_arguments(
            commands.add_parser(name, help=summary, description=module.DESCRIPTION)
        )
    for name, program in PASS_THROUGH.items():
        commands.add_parser(name, help=program.SUMMARY, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (2 for usage errors, as argparse does)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in PASS_THROUGH:
        passed: int = PASS_THROUGH[arguments[0]].main(arguments[1:])
        return passed
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
