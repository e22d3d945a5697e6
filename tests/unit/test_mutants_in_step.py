"""The committed mutants stay in step with the code: every mutant's snippet is found exactly
once, and every test it names exists, so a refactor that moves a condition fails here, in
``make test``, rather than in the long run's ``make mutants``."""

from __future__ import annotations

from pathlib import Path

from tests.mutation.mutants import MUTANTS
from tests.mutation.run import ROOT, stale_edits


def test_every_mutant_applies_exactly_once() -> None:
    stale = {mutant.id: stale_edits(mutant) for mutant in MUTANTS if stale_edits(mutant)}
    assert stale == {}


def test_every_mutant_names_tests_that_exist() -> None:
    missing = []
    for mutant in MUTANTS:
        for node in mutant.tests:
            path, _, name = node.partition("::")
            source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
            if f"def {name.split('[')[0]}(" not in source:
                missing.append(f"{mutant.id}: {node}")
    assert missing == []


def test_mutant_ids_are_unique() -> None:
    ids = [mutant.id for mutant in MUTANTS]
    assert len(ids) == len(set(ids))
    assert Path(ROOT).is_dir()
