"""What the commands that print a generated document share (``holdfast openapi``,
``holdfast graphql schema``): print it, write it with ``--output``, or with ``--check`` say
whether the copy kept in ``docs/`` is up to date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from holdfast_cli.local.template import PROJECT_ROOT


def print_write_or_check(text: str, kept: Path, command: str, args: argparse.Namespace) -> int:
    """Exit code 1 only when ``--check`` finds ``kept`` out of date (``command`` remakes it)."""
    if args.check:
        if not kept.exists() or kept.read_text(encoding="utf-8") != text:
            relative = kept.relative_to(PROJECT_ROOT)
            print(
                f"{relative} is out of date: run `uv run {command} -o {relative}`", file=sys.stderr
            )
            return 1
        return 0
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
