"""Terminal output for the developer commands: rich tables, colour and progress bars on a
terminal; the plain text the command always printed when the output is piped or redirected
(scripts and tests read it), and no colour when ``NO_COLOR`` is set (https://no-color.org).

``--json`` answers never come through here: they are printed as they are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal that can take rich output."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def console_for(stream: TextIO) -> Console:
    """A rich console writing to ``stream``; rich itself honours ``NO_COLOR``."""
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=False)


def print_table(
    stream: TextIO,
    *,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    plain: str,
    styles: Sequence[str | None] | None = None,
    caption: str | None = None,
) -> None:
    """A rich table on a terminal, else ``plain`` (the command's text output, unchanged).

    The first column is left-aligned, the others (numbers) right-aligned; ``styles`` gives
    each row a style (e.g. ``"red"`` for a failing one)."""
    if not is_terminal(stream):
        print(plain, file=stream)
        return
    from rich.table import Table

    table = Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        show_header=any(columns),
        min_width=min(len(title), 48),
    )
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right", no_wrap=index == 0)
    for index, row in enumerate(rows):
        table.add_row(*(str(cell) for cell in row), style=styles[index] if styles else None)
    console_for(stream).print(table)


def verdict(stream: TextIO, text: str, *, ok: bool) -> None:
    """One summary line: green when ``ok``, red otherwise (plain text when piped)."""
    if not is_terminal(stream):
        print(text, file=stream)
        return
    console_for(stream).print(text, style="bold green" if ok else "bold red", markup=False)


def progress_line(stream: TextIO, *, done: int, total: int, text: str, final: bool = False) -> None:
    """Redraw one progress line in place on a terminal: a rich bar, then ``text`` (which
    says ``done/total`` in its own words)."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    line.add_column(no_wrap=True, overflow="ellipsis")  # one line, so "\r" redraws it whole
    line.add_row(ProgressBar(total=max(total, 1), completed=done, width=24), text)
    console = console_for(stream)
    stream.write("\r\x1b[K")
    with console.capture() as captured:
        console.print(line, end="")
    stream.write(captured.get().rstrip("\n") + ("\n" if final else ""))
    stream.flush()
