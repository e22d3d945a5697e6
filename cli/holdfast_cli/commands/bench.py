"""``holdfast bench``: the benchmark (``python -m bench``), its arguments passed as they are."""

from __future__ import annotations

from collections.abc import Sequence

from holdfast_cli.commands import pass_through

SUMMARY = "the benchmark, ratios measured side by side (python -m bench)"


def main(argv: Sequence[str]) -> int:
    return pass_through.repository_main("bench.cli")(argv)
