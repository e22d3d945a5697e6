"""``holdfast graphql schema``: print the SDL ``POST /graphql`` serves. ``docs/schema.graphql``
is its output, and ``tests/graphql/test_graphql_contract.py`` keeps the two equal::

    uv run holdfast graphql schema -o docs/schema.graphql
"""

from __future__ import annotations

import argparse
from pathlib import Path

from holdfast_cli.commands.generated_file import print_write_or_check
from holdfast_cli.local.template import PROJECT_ROOT

DESCRIPTION = (
    "The Fluent-compatible GraphQL endpoint: print its schema (docs/schema.graphql is its output)."
)
SCHEMA_PATH = PROJECT_ROOT / "docs" / "schema.graphql"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="graphql_command", required=True, metavar="ACTION")
    schema = actions.add_parser(
        "schema", help="print the SDL of POST /graphql", description=DESCRIPTION
    )
    schema.add_argument(
        "--output", "-o", type=Path, help="write the SDL to this file instead of stdout"
    )
    schema.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if {SCHEMA_PATH.relative_to(PROJECT_ROOT)} is not up to date",
    )
    schema.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from holdfast.graphql.schema import executable_schema, sdl

    executable_schema()  # the SDL printed is one that builds and binds
    return print_write_or_check(sdl(), SCHEMA_PATH, "holdfast graphql schema", args)
