"""The CLI's surface: ``--version``, the bench and load runs as subcommands, and terminal
output that is rich on a terminal, plain when piped, and colourless under ``NO_COLOR``."""

from __future__ import annotations

import io
import re
from importlib.metadata import version

import pytest

from holdfast_cli import main as cli
from holdfast_cli.console import print_table, verdict


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_version_prints_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"holdfast {version('holdfast')}"


@pytest.mark.parametrize(("command", "module"), [("bench", "bench.cli"), ("load", "bench.load")])
def test_bench_and_load_pass_every_argument_to_their_own_parser(command, module, monkeypatch):
    from holdfast_cli.commands import pass_through

    received = []
    monkeypatch.setattr(
        pass_through,
        "repository_main",
        lambda name: received.append(name) or (lambda argv: len(argv)),
    )
    assert cli.main([command, "--json", "--requests", "5"]) == 3
    assert received == [module]


def test_pass_through_imports_the_repository_benchmarks():
    from bench import cli as bench_cli
    from bench import load
    from holdfast_cli.commands.pass_through import repository_main

    assert repository_main("bench.cli") is bench_cli.main
    assert repository_main("bench.load") is load.main


def test_bench_and_load_are_listed_in_the_help():
    text = cli.build_parser().format_help()
    assert "bench" in text
    assert "load" in text


ROWS = [("SKU-1", 3), ("SKU-2", 0)]


def test_a_table_piped_to_a_file_is_the_plain_text_unchanged():
    out = io.StringIO()
    print_table(out, title="t", columns=("sku", "n"), rows=ROWS, plain="SKU-1 3\nSKU-2 0")
    verdict(out, "all good", ok=True)
    assert out.getvalue() == "SKU-1 3\nSKU-2 0\nall good\n"


def test_a_table_on_a_terminal_is_drawn_by_rich(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = Terminal()
    print_table(out, title="Funnel", columns=("sku", "n"), rows=ROWS, plain="unused")
    verdict(out, "1 drifting", ok=False)
    text = out.getvalue()
    assert "unused" not in text
    assert "┃ sku" in text or "│ SKU-1" in text
    assert COLOUR.search(text)


def test_no_color_keeps_the_rich_layout_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = Terminal()
    print_table(out, title="Funnel", columns=("sku", "n"), rows=ROWS, plain="unused")
    verdict(out, "1 drifting", ok=False)
    text = out.getvalue()
    assert "SKU-1" in text and "1 drifting" in text
    assert not COLOUR.search(text)  # bold and italic may stay: NO_COLOR is about colour


COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7]|4[0-8])[;m]")
