"""``holdfast``: developer commands. Each subcommand lives in its own module, which adds its
arguments to a sub-parser and provides ``run(args) -> exit code``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from holdfast_cli import (
    access_token,
    dev_server,
    flash_sale,
    graphql_schema,
    openapi,
    reconcile,
    report,
    signals,
    simulate_day,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="holdfast", description="Holdfast developer commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, summary in (
        ("dev", dev_server, "serve the HTTP API on localhost through the real Lambda handlers"),
        ("reconcile", reconcile, "check every position's onHand counter against its ledger"),
        ("flash-sale", flash_sale, "replay the flash sale of docs/behaviour.md §8: zero oversells, or exit 1"),
        ("openapi", openapi, "print the OpenAPI 3.1 document of the HTTP API (docs/openapi.json)"),
        ("signals", signals, "demand signals: export them as JSON lines"),
        ("report", report, "reports from the demand signals: the funnel per SKU (table, JSON, PNG)"),
        ("token", access_token, "print an access token for a deployed API (OAuth client credentials)"),
        ("graphql", graphql_schema, "the Fluent-compatible GraphQL endpoint: `holdfast graphql schema` prints its SDL"),
        ("simulate-day", simulate_day, "play a day of mixed shoppers; check the demand reports recover it"),
    ):
        module.add_arguments(
            commands.add_parser(name, help=summary, description=module.DESCRIPTION)
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (2 for usage errors, as argparse does)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
