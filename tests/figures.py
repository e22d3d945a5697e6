"""Figures the proof tests report for the issue's note: printed (``pytest -s``) and written to
``.hypothesis/holdfast-<name>.json`` (git-ignored; ``make clean`` removes it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def record_figures(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}: {json.dumps(figures)}")
    out = Path(".hypothesis")
    out.mkdir(exist_ok=True)
    (out / f"holdfast-{name}.json").write_text(json.dumps(figures, indent=1))
