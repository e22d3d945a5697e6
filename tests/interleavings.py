"""An interleaving explorer: two or three operations, one stopped in its read→commit gap
while another runs to completion, on DynamoDB Local, checked against running them one after
the other.

The seam needs no change to the code under test. Every operation gets its own boto3 client
(its own runtime from :func:`holdfast.runtime.build_runtime`, sharing one hand-moved clock);
a botocore hook on that client counts its write calls (``TransactWriteItems``, ``UpdateItem``,
``PutItem``, ``DeleteItem``) and can stop the calling thread just before its k-th one: by
then the operation has read what it read and built what it will write. The explorer runs
operation A in a thread until it stops at write k, runs B to completion (or stops B too and
runs C), then lets A go. k ranges over every write A makes, so a snapshot's fence→read→commit,
a hold's commit→rebalance and a feed decrease's refusal→cover are all explored. Only one
thread moves at a time, so a schedule is deterministic (``random`` is seeded per schedule,
backoff sleeps are skipped).

Checked after each step of a schedule (:mod:`tests.interleaving_checks`): the counter equals
the ledger sum, the shard invariant, every FO and order in a state reachable from where it
started and its ledger records agreeing with that state (nothing released twice, no timer
left behind); at every committed write that holds or reserves units, the channel's ATS
covered them at that moment. A pair's final outcome (onHand per position, every document's
status, the ACTIVE ledger records by type, source and quantity, each operation's answer) must
also equal running A then B or B then A from the same start — or, when one of them answered
"retry", the other alone.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from holdfast.errors import HoldfastError
from holdfast.runtime import Runtime, build_runtime
from holdfast.settings import Settings
from holdfast_cli.local.template import table_definition
from tests.interleaving_checks import Checker, Outcome

WRITE_CALLS = frozenset(
    {"TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"}
)
PAUSE_TIMEOUT = 60.0
"""Seconds a stopped operation waits to be let go before the schedule is declared stuck."""


class Clock:
    """The one clock every runtime of a schedule tells time by; moved only by the explorer."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Stuck(Exception):
    """An operation did not stop or finish in time (the schedule cannot be explored)."""


class Seam:
    """A botocore hook on one client: counts its write calls and stops the calling thread
    before the ``pause_at``-th one until :meth:`resume`. After every committed write it lets
    ``on_write`` look at what was written (the per-write ATS check)."""

    def __init__(self, client: Any, on_write: Callable[[str, dict[str, Any]], None]) -> None:
        self.client = client
        self._on_write = on_write
        self.arm(None)
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def arm(self, pause_at: int | None) -> None:
        self.pause_at = pause_at
        self.writes = 0
        self.paused = threading.Event()
        self._go = threading.Event()

    def resume(self) -> None:
        self._go.set()

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if model.name not in WRITE_CALLS:
            return
        self.writes += 1
        context["explorer_params"] = params
        if self.writes == self.pause_at:
            self.paused.set()
            if not self._go.wait(PAUSE_TIMEOUT):
                raise Stuck(f"not let go at write {self.writes} ({model.name})")

    def _after(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in WRITE_CALLS and http_response.status_code == 200:
            self._on_write(model.name, context.get("explorer_params") or {})


@dataclass(frozen=True)
class Op:
    """One operation of a schedule: a label and what it does with its own runtime; it
    answers what a client would see (a status, an error's kind)."""

    label: str
    act: Callable[[Runtime], str]
    expects: str | None = None
    """The status a successful answer must show (a ship that answers 200 shows SHIPPED)."""


@dataclass
class Schedule:
    """Who stops where: the ops start in order, each once the one before it stopped or
    finished; ``pauses[i]`` is the write before which ``ops[i]`` stops (``None``: it runs
    through); the stopped ones are let go in ``resume`` order (default: last stopped first).
    ``gap`` is how far the clock moves before an op that runs through (a slow writer)."""

    state: StartingState
    ops: tuple[Op, ...]
    pauses: tuple[int | None, ...]
    gap: timedelta = timedelta(0)
    resume: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        steps = " → ".join(
            f"{op.label}@w{k}" if k else op.label
            for op, k in zip(self.ops, self.pauses, strict=False)
        )
        order = f", then {', '.join(self.ops[i].label for i in self.resume)}" if self.resume else ""
        gap = f" +{int(self.gap.total_seconds())}s" if self.gap else ""
        return f"{self.state.name}: {steps}{gap}{order}"


@dataclass
class Finding:
    schedule: str
    problem: str


@dataclass
class Report:
    schedules: int = 0
    serial_runs: int = 0
    skipped: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Report) -> None:
        self.schedules += other.schedules
        self.serial_runs += other.serial_runs
        self.skipped += other.skipped
        self.findings += other.findings
        self.seconds += other.seconds

    def summary(self) -> str:
        lines = [
            f"{self.schedules} interleaved schedules, {self.serial_runs} serial runs, "
            f"{self.skipped} degenerate, {len(self.findings)} findings, {self.seconds:.1f} s"
        ]
        lines += [f"  {f.schedule}: {f.problem}" for f in self.findings[:40]]
        return "\n".join(lines)


Setup = Callable[[Runtime, Clock], None]


@dataclass(frozen=True)
class StartingState:
    """A small shop to start from: ``build`` writes it through the services (clock at
    ``start`` minus whatever it moves), then the clock is set to ``start``."""

    name: str
    build: Setup
    channel: str


BACKOFF_MODULES = ("retry",)
"""Where the services' backoffs sleep: every pause goes through :mod:`holdfast.retry`."""


@contextlib.contextmanager
def no_backoff() -> Iterator[None]:
    """Skip the services' jittered sleeps: a schedule is a sequence, not a race, so waiting
    changes nothing but the run time."""
    fast = types.SimpleNamespace(sleep=lambda _seconds: None, monotonic=time.monotonic)
    modules = [importlib.import_module(f"holdfast.{name}") for name in BACKOFF_MODULES]
    saved = {module: module.time for module in modules if getattr(module, "time", None) is time}
    assert len(saved) == len(modules), "a backoff module no longer sleeps through time.sleep"
    for module in saved:
        module.time = fast
    try:
        yield
    finally:
        for module, original in saved.items():
            module.time = original


class Explorer:
    """Runs schedules from starting states on fresh tables of one DynamoDB Local engine."""

    def __init__(self, endpoint: str, make_client: Callable[[], Any], start: datetime) -> None:
        self._endpoint = endpoint
        self._start = start
        self.clock = Clock(start)
        """The clock of every runtime the explorer builds (operations may read it too)."""
        self._observer_client = make_client()
        self._checker: Checker | None = None
        self._seams = [Seam(make_client(), self._check_write) for _ in range(3)]
        self._states: dict[str, list[dict[str, Any]]] = {}
        self.unstopped: int | None = None
        """In the last degenerate schedule, the operation that finished before its stop."""

    @property
    def start(self) -> datetime:
        """Where the clock stands when a schedule's operations begin."""
        return self._start

    # -- one run ------------------------------------------------------------------------

    def _check_write(self, operation: str, params: dict[str, Any]) -> None:
        if self._checker is not None:
            self._checker.check_write(operation, params)

    @contextlib.contextmanager
    def _fresh(
        self, state: StartingState, seed: str
    ) -> Iterator[tuple[Clock, list[Runtime], Checker]]:
        name = f"ix-{uuid.uuid4().hex[:12]}"
        # The template's table without TTL: every time here lies ahead, nothing would expire.
        created = self._observer_client.create_table(TableName=name, **table_definition())
        assert created["TableDescription"]["TableStatus"] == "ACTIVE"  # DynamoDB Local: at once
        try:
            settings = Settings(TABLE_NAME=name, DYNAMODB_ENDPOINT_URL=self._endpoint)
            clock = self.clock
            clock.now = self._start
            observer = build_runtime(settings, clock, self._observer_client)
            self._write_state(state, observer, name)
            clock.now = self._start
            checker = Checker(observer, self._observer_client, state.channel)
            random.seed(seed)
            runtimes = [build_runtime(settings, clock, seam.client) for seam in self._seams]
            self._checker = checker
            yield clock, runtimes, checker
        finally:
            self._checker = None
            self._observer_client.delete_table(TableName=name)

    def _write_state(self, state: StartingState, observer: Runtime, table: str) -> None:
        """Build the state through the services the first time; later, write the same items
        again (one or two batch writes instead of a dozen service calls)."""
        items = self._states.get(state.name)
        if items is None:
            random.seed(f"{state.name}|setup")
            state.build(observer, self.clock)
            pages = self._observer_client.get_paginator("scan").paginate(
                TableName=table, ConsistentRead=True
            )
            self._states[state.name] = [item for page in pages for item in page["Items"]]
            return
        for first in range(0, len(items), 25):
            pending = {
                table: [{"PutRequest": {"Item": item}} for item in items[first : first + 25]]
            }
            while pending:
                pending = (
                    self._observer_client.batch_write_item(RequestItems=pending).get(
                        "UnprocessedItems"
                    )
                    or {}
                )

    @staticmethod
    def _answer(op: Op, runtime: Runtime) -> str:
        try:
            return op.act(runtime)
        except Stuck:
            raise
        except HoldfastError as error:  # what a client would see: the error's kind
            return type(error).__name__
        except Exception as error:
            return f"500 {type(error).__name__}: {error}"

    def serial(
        self, state: StartingState, ops: Sequence[Op], times: Sequence[timedelta]
    ) -> tuple[Outcome, list[Outcome], list[int], list[str]]:
        """Run ``ops`` one after the other, each with the clock at ``start + times[i]``; the
        outcome after each, each op's write count, and the problems found on the way."""
        problems: list[str] = []
        with self._fresh(state, "serial|" + "|".join(op.label for op in ops)) as (
            clock,
            runtimes,
            checker,
        ):
            answers: list[str] = []
            steps: list[Outcome] = []
            writes: list[int] = []
            for index, op in enumerate(ops):
                clock.now = self._start + times[index]
                seam = self._seams[index]
                seam.arm(None)
                answers.append(self._answer(op, runtimes[index]))
                writes.append(seam.writes)
                problems += checker.check_state(f"after {op.label}") + _wrong_answers(
                    op, answers[-1]
                )
                steps.append(checker.outcome(ops[: index + 1], answers))
            problems += checker.write_problems
        return steps[-1], steps, writes, problems

    def interleaved(self, schedule: Schedule) -> tuple[Outcome | None, list[str]]:
        """Run a schedule; ``None`` if an operation finished before reaching its stop (the
        schedule is the same as a serial one)."""
        ops = schedule.ops
        answers: dict[int, str] = {}
        problems: list[str] = []
        with self._fresh(schedule.state, f"ix|{schedule.name}") as (clock, runtimes, checker):
            threads: dict[int, threading.Thread] = {}
            for index, (op, pause) in enumerate(zip(ops, schedule.pauses, strict=False)):
                seam = self._seams[index]
                seam.arm(pause)
                if pause is None:
                    clock.now = self._start + schedule.gap
                    answers[index] = self._answer(op, runtimes[index])
                    problems += checker.check_state(f"after {op.label}")
                    continue

                def run(index: int = index, op: Op = op) -> None:
                    answers[index] = self._answer(op, runtimes[index])

                thread = threading.Thread(target=run, name=f"explorer-{op.label}", daemon=True)
                thread.start()
                while not seam.paused.wait(0.005):
                    if not thread.is_alive():
                        break
                if not seam.paused.is_set():
                    thread.join()
                    self.unstopped = index
                    for earlier in reversed(threads):
                        self._seams[earlier].resume()
                        threads[earlier].join(PAUSE_TIMEOUT)
                    return None, []
                threads[index] = thread
            for index in schedule.resume or reversed(threads):
                self._seams[index].resume()
                threads[index].join(PAUSE_TIMEOUT)
                if threads[index].is_alive():
                    raise Stuck(f"{ops[index].label} did not finish")
                problems += checker.check_state(f"after {ops[index].label}")
            problems += checker.write_problems
            final = [answers.get(i, "Stuck") for i in range(len(ops))]
            problems += [
                problem
                for op, answer in zip(ops, final, strict=False)
                for problem in _wrong_answers(op, answer)
            ]
            return checker.outcome(ops, final), problems


def _wrong_answers(op: Op, answer: str) -> list[str]:
    """A 500, or a success (a status, in capitals) that is not what the operation asked for."""
    if answer.startswith("500"):
        return [f"{op.label} answered {answer}"]
    if op.expects and answer.isupper() and answer != op.expects:
        return [f"{op.label} answered 200 {answer}, not {op.expects}"]
    return []


RETRY_ANSWERS = frozenset({"Conflict", "Unavailable"})
"""Answers that tell a client "try again" (409, 503): the operation may have done nothing."""


def serializable(outcome: Outcome, serial: Sequence[Outcome], alone: dict[str, Outcome]) -> bool:
    """The interleaved outcome is one of the serial ones, or one operation answered "retry"
    and the outcome is the other's alone (``alone[label]``: that op run by itself)."""
    if outcome in serial:
        return True
    for label, answer in outcome.answers:
        if answer not in RETRY_ANSWERS:
            continue
        for other, by_itself in alone.items():
            if (
                other != label
                and outcome.same_state(by_itself)
                and outcome.answer(other) == by_itself.answer(other)
            ):
                return True
    return False


def explore_pair(
    explorer: Explorer,
    state: StartingState,
    a: Op,
    b: Op,
    gaps: Sequence[timedelta] = (timedelta(0),),
) -> Report:
    """Every schedule of a pair: A stopped before each of its writes while B runs through, and
    B stopped before each of its writes while A runs through, for each clock gap."""
    report = Report()
    started = time.monotonic()
    with no_backoff():
        for gap in gaps:
            runs: dict[tuple[Any, ...], tuple[Outcome, list[Outcome], list[int]]] = {}

            def run_serial(
                order: tuple[Op, Op],
                times: list[timedelta],
                runs: dict[tuple[Any, ...], tuple[Outcome, list[Outcome], list[int]]] = runs,
                gap: timedelta = gap,
            ) -> tuple[Outcome, list[Outcome], list[int]]:
                key = (tuple(op.label for op in order), tuple(times))
                if key not in runs:
                    final, steps, writes, problems = explorer.serial(state, order, times)
                    runs[key] = (final, steps, writes)
                    report.serial_runs += 1
                    name = f"{state.name}: {order[0].label} then {order[1].label}" + (
                        f" (+{int(gap.total_seconds())}s)" if gap else ""
                    )
                    report.findings += [Finding(name, p) for p in problems]
                return runs[key]

            for first, second in ((a, b), (b, a)):
                # Each op keeps the clock it reads in the interleaving: the stopped one the
                # start, the one running through the start plus the gap, in either order.
                forward = run_serial((first, second), [timedelta(0), gap])
                backward = run_serial((second, first), [gap, timedelta(0)])
                finals = [forward[0], backward[0]]
                alone = {first.label: forward[1][0], second.label: backward[1][0]}
                for k in range(1, forward[2][0] + 1):
                    schedule = Schedule(state, (first, second), (k, None), gap)
                    outcome, problems = explorer.interleaved(schedule)
                    if outcome is None:
                        report.skipped += 1
                        continue
                    report.schedules += 1
                    report.findings += [Finding(schedule.name, p) for p in problems]
                    if not serializable(outcome, finals, alone):
                        report.findings.append(
                            Finding(
                                schedule.name,
                                "not serializable: "
                                + outcome.describe()
                                + " | serial: "
                                + " / ".join(f.describe() for f in finals),
                            )
                        )
    report.seconds = time.monotonic() - started
    return report


def explore_triple(
    explorer: Explorer, state: StartingState, a: Op, b: Op, c: Op, most_writes: int = 3
) -> Report:
    """A stopped before its i-th write, B before its j-th, C runs through, then B and A are
    let go in either order: the checks after every step (no serial comparison for triples)."""
    report = Report()
    started = time.monotonic()
    with no_backoff():
        for i in range(1, most_writes + 1):
            a_finished = False
            for j in range(1, most_writes + 1):
                for resume in ((), (0, 1)):  # B goes first (default), or A does
                    schedule = Schedule(state, (a, b, c), (i, j, None), resume=resume)
                    outcome, problems = explorer.interleaved(schedule)
                    if outcome is None:
                        break
                    report.schedules += 1
                    report.findings += [Finding(schedule.name, p) for p in problems]
                if outcome is None:
                    report.skipped += 1
                    a_finished = explorer.unstopped == 0
                    break  # the op that did not stop has no later write either
            if a_finished:
                break
    report.seconds = time.monotonic() - started
    return report
