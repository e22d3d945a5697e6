"""Commands whose arguments all go to a program of the repository's own (the benchmarks under
bench/, which live beside the CLI in the repository, not in the installed package)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence


def repository_main(module: str) -> Callable[[Sequence[str]], int]:
    """The ``main(argv)`` of ``module``, imported from the repository's root."""
    from holdfast_cli.local.template import PROJECT_ROOT

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    main: Callable[[Sequence[str]], int] = importlib.import_module(module).main
    return main
