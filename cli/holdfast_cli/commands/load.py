"""``holdfast load``: the load run of ``holdfast dev`` (``python -m bench.load``), its arguments
passed as they are."""

from __future__ import annotations

from collections.abc import Sequence

from holdfast_cli.commands import pass_through

SUMMARY = "the load run of holdfast dev, the ledger checked (python -m bench.load)"


def main(argv: Sequence[str]) -> int:
    return pass_through.repository_main("bench.load")(argv)
