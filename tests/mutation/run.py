"""Run the committed mutants (``tests/mutation/mutants.py``) one at a time against the tests
that should kill them: ``make mutants`` or ``python -m tests.mutation.run [--only ID ...]``.

The repository is copied once to a temporary directory; each mutant is written into that
copy, its selected tests run there with the copy's layer and CLI first on ``PYTHONPATH``,
and the file is restored before the next one. The working tree is never touched.

A mutant is **killed** when its tests fail, **survived** when they pass (a proof that cannot
fail), **stale** when its original snippet is not found exactly once in the file (the code
moved on: update the list), and **error** when its selection ran no test. The run first
checks that every selection passes on the unmutated copy. It exits 0 only when every mutant
is killed. One DynamoDB Local engine serves every run (started here unless
``HOLDFAST_DYNAMODB_ENDPOINT`` names one).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.mutation.mutants import MUTANTS, Edit, Mutant

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    ".hypothesis",
    ".pytest_cache",
    "__pycache__",
    ".aws-sam",
    "build",
    "dist",
    ".ruff_cache",
)
TIMEOUT = 240
"""Seconds a mutant's selection may take; a mutant that hangs its tests counts as killed."""


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    result: str
    seconds: float
    detail: str = ""


def occurrences(edit: Edit, root: Path = ROOT) -> int:
    path = root / edit.file
    return path.read_text(encoding="utf-8").count(edit.original) if path.exists() else 0


def stale_edits(mutant: Mutant, root: Path = ROOT) -> list[str]:
    """Why the mutant no longer applies: each edit must find its snippet exactly once."""
    problems = []
    for edit in mutant.edits:
        found = occurrences(edit, root)
        if found != 1:
            problems.append(f"{edit.file}: snippet found {found} times")
    return problems


def pytest_command(selection: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--timeout",
        str(TIMEOUT),
        *selection,
    ]


def run_selection(
    copy: Path, selection: Sequence[str], env: dict[str, str], limit: float = TIMEOUT + 30
) -> tuple[int, str]:
    try:
        done = subprocess.run(
            pytest_command(selection),
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return -1, "timed out"
    return done.returncode, done.stdout[-3000:] + done.stderr[-2000:]


def summary_line(output: str) -> str:
    lines = output.strip().splitlines()
    counted = [line for line in lines if re.search(r"\d+ (passed|failed|errors?|skipped)", line)]
    return (counted or lines or [""])[-1].strip("= ")


def mutate(copy: Path, mutant: Mutant) -> dict[Path, str]:
    """Apply the mutant's edits to the copy; answers the original texts to restore."""
    originals: dict[Path, str] = {}
    for edit in mutant.edits:
        path = copy / edit.file
        text = path.read_text(encoding="utf-8")
        originals.setdefault(path, text)
        path.write_text(text.replace(edit.original, edit.replacement, 1), encoding="utf-8")
    return originals


def run_mutant(copy: Path, mutant: Mutant, env: dict[str, str]) -> Outcome:
    problems = stale_edits(mutant, copy)
    if problems:
        return Outcome(mutant, "stale", 0.0, "; ".join(problems))
    started = time.monotonic()
    originals = mutate(copy, mutant)
    try:
        code, output = run_selection(copy, mutant.tests, env)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    seconds = time.monotonic() - started
    if code == 0:
        return Outcome(mutant, "survived", seconds, summary_line(output))
    if code in (1, -1):
        return Outcome(
            mutant, "killed", seconds, "timed out" if code == -1 else first_failure(output)
        )
    return Outcome(mutant, "error", seconds, f"pytest exit {code}: {summary_line(output)}")


def first_failure(output: str) -> str:
    match = re.search(r"^FAILED (\S+)", output, re.MULTILINE)
    return match.group(1).split("::")[-1] if match else summary_line(output)


def baseline(copy: Path, mutants: Sequence[Mutant], env: dict[str, str]) -> tuple[bool, str]:
    """Every selected test must pass unmutated, or a 'killed' would mean nothing: one pytest
    run of them all."""
    selection = list(dict.fromkeys(test for m in mutants for test in m.tests))
    code, output = run_selection(copy, selection, env, limit=1200)
    return code == 0 and " passed" in output, summary_line(output) if code == 0 else output


def print_table(outcomes: Sequence[Outcome]) -> None:
    width = max(len(o.mutant.id) for o in outcomes)
    for outcome in outcomes:
        print(
            f"{outcome.mutant.id:<{width}}  {outcome.result:<8}  {outcome.seconds:6.1f}s  {outcome.detail[:90]}"
        )
    counts = {
        kind: sum(o.result == kind for o in outcomes)
        for kind in ("killed", "survived", "stale", "error")
    }
    line = f"{counts['killed']} killed, {counts['survived']} survived, {counts['stale']} stale"
    print(line + (f", {counts['error']} errors" if counts["error"] else ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--check", action="store_true", help="only check that no mutant is stale")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip running the selections unmutated first"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also in a log
    mutants = [m for m in MUTANTS if not args.only or m.id in args.only]
    if args.only and len(mutants) != len(set(args.only)):
        parser.error(f"unknown mutant ids: {sorted(set(args.only) - {m.id for m in mutants})}")
    if args.list:
        for mutant in mutants:
            print(f"{mutant.id:<34} {mutant.edits[0].file}: {mutant.why}")
        return 0
    if args.check:
        stale = [(m.id, stale_edits(m)) for m in mutants if stale_edits(m)]
        for mutant_id, problems in stale:
            print(f"{mutant_id}: stale ({'; '.join(problems)})")
        print(f"{len(mutants) - len(stale)} apply, {len(stale)} stale")
        return 1 if stale else 0

    with ExitStack() as stack:
        copy = (
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="holdfast-mutants-")))
            / "repo"
        )
        shutil.copytree(ROOT, copy, ignore=SKIPPED)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(copy / p) for p in (".", "layers/holdfast", "cli")),
        }
        env.pop("HOLDFAST_LONG", None)
        if not env.get("HOLDFAST_DYNAMODB_ENDPOINT"):
            from holdfast_cli.local.dynamodb_local import DynamoDBLocal

            engine = stack.enter_context(DynamoDBLocal())
            env["HOLDFAST_DYNAMODB_ENDPOINT"] = engine.endpoint_url
        runnable = [m for m in mutants if not stale_edits(m)]
        if not args.no_baseline and runnable:
            started = time.monotonic()
            ok, why = baseline(copy, runnable, env)
            print(
                f"baseline: {'every selection passes' if ok else 'FAILED'} unmutated ({time.monotonic() - started:.0f}s)"
            )
            if not ok:
                print(why)
                return 2
        outcomes = []
        for mutant in mutants:
            outcome = run_mutant(copy, mutant, env)
            print(f"  {mutant.id}: {outcome.result} ({outcome.seconds:.1f}s)", flush=True)
            outcomes.append(outcome)
    print()
    print_table(outcomes)
    return 0 if all(o.result == "killed" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
