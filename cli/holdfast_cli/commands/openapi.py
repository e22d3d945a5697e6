"""``holdfast openapi``: print the OpenAPI 3.1 document of the HTTP API, write it to a file, or
check that docs/openapi.json is up to date (built by :mod:`holdfast_cli.openapi`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from holdfast_cli.commands.generated_file import print_write_or_check
from holdfast_cli.local.template import PROJECT_ROOT
from holdfast_cli.openapi import OPENAPI_PATH, DocumentError, build_document, render

DESCRIPTION = (
    "Print the OpenAPI 3.1 document of the whole HTTP API, built from each function's "
    "resolver and the template's authorizer (docs/openapi.json is its output)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", type=Path, help="write the document to this file instead of stdout"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if {OPENAPI_PATH.relative_to(PROJECT_ROOT)} is not up to date",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        text = render(build_document())
    except DocumentError as error:
        print(f"holdfast openapi: {error}", file=sys.stderr)
        return 1
    return print_write_or_check(text, OPENAPI_PATH, "holdfast openapi", args)
