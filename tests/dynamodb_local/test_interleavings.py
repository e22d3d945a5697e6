"""Every operation that reads and then commits, stopped in its read→commit gap while another
runs to completion, on DynamoDB Local (the explorer: ``tests/interleavings.py``; the states
and operations: ``tests/interleaving_shop.py``; the checks: ``tests/interleaving_checks.py``).

The fast run explores the pairs that meet on one position in each starting state; the long
run (``make test-long``) every pair of every state at every write, and chosen triples. Each
run records its schedule counts (``.hypothesis/holdfast-interleavings-*.json``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from holdfast_cli.local.dynamodb_local import local_client
from tests.figures import record_figures
from tests.interleaving_shop import STATES, operations
from tests.interleavings import (
    Explorer,
    Finding,
    Report,
    Schedule,
    explore_pair,
    explore_triple,
    no_backoff,
)

pytestmark = pytest.mark.dynamodb_local

SLOW_WRITER = timedelta(seconds=31)
"""A count whose writer takes longer than its fence stands (30 s)."""

FAST_PAIRS = {
    "tee": [
        ("hold2", "order1"),
        ("replace-h-live", "convert-h-live"),
        ("cancel-h-live", "convert-h-live"),
        ("extend-h-live", "cancel-h-live"),
        ("count-lower", "hold1"),
        ("count-lower", "sale"),
        ("return", "count-higher"),
    ],
    "tee-expired": [
        ("stream-h-exp", "convert-h-exp"),
        ("cancel-h-exp", "sweep"),
        ("replace-h-exp", "reclaim"),
    ],
    "drop-8000": [
        ("hold1", "hold2"),
        ("sale", "hold1"),
        ("convert-h-live", "sale"),
        ("count-higher", "hold2"),
    ],
    "drop-2222": [("hold2", "order1"), ("sale", "hold2"), ("reshard-2", "sale")],
    "tee-fence-live": [("count-lower", "sale-fenced"), ("count-higher", "sale")],
    "tee-fence-lapsed": [("count-lower", "sale-fenced"), ("sale-fenced", "hold1")],
}
"""Pairs that meet on one position in each state, chosen to keep ``make test`` near 90 s."""
FIGURES: dict[str, Report] = {}


@pytest.fixture(scope="module")
def explorer(dynamodb_local_endpoint: str) -> Explorer:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    return Explorer(dynamodb_local_endpoint, lambda: local_client(dynamodb_local_endpoint), start)


@pytest.fixture(scope="module", autouse=True)
def report_schedules():
    yield
    for name, report in FIGURES.items():
        record_figures(
            f"interleavings-{name}",
            {
                "schedules": report.schedules,
                "serialRuns": report.serial_runs,
                "degenerate": report.skipped,
                "findings": [f"{f.schedule}: {f.problem}" for f in report.findings],
                "seconds": round(report.seconds, 1),
            },
        )


def _tally(run: str, report: Report) -> Report:
    FIGURES.setdefault(run, Report()).add(report)
    return report


def explore(
    explorer: Explorer, run: str, state: str, a: str, b: str, gaps=(timedelta(0),)
) -> Report:
    first = operations(state, explorer.clock, explorer.start, "a")[a]
    second = operations(state, explorer.clock, explorer.start, "b")[b]
    return _tally(run, explore_pair(explorer, STATES[state], first, second, gaps))


def run_schedule(
    explorer: Explorer,
    state: str,
    names: list[str],
    pauses: list[int | None],
    gap=timedelta(0),
    resume=(),
) -> Report:
    """The first op stopped before each of its writes in turn (a fix may add or remove
    writes), the others where ``pauses`` says; checked after every step, no serial runs."""
    ops = tuple(
        operations(state, explorer.clock, explorer.start, tag)[name]
        for name, tag in zip(names, "abc", strict=False)
    )
    report = Report()
    with no_backoff():
        for k in itertools.count(1):
            schedule = Schedule(STATES[state], ops, (k, *pauses[1:]), gap, tuple(resume))
            outcome, problems = explorer.interleaved(schedule)
            if outcome is None:
                if explorer.unstopped == 0:
                    break
                continue
            report.schedules += 1
            report.findings += [Finding(schedule.name, p) for p in problems]
    assert report.schedules > 0, "the operations reach their stops"
    return _tally("defects", report)


# -- the fast run ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(FAST_PAIRS))
def test_no_two_operations_meeting_on_one_position_break_the_promise(
    explorer: Explorer, state: str
) -> None:
    report = Report()
    for a, b in FAST_PAIRS[state]:
        report.add(explore(explorer, "fast", state, a, b))
    assert report.schedules > 0
    assert report.findings == [], report.summary()


def test_a_count_whose_writer_was_slow_keeps_a_receipt_that_came_after_it(
    explorer: Explorer,
) -> None:
    report = explore(explorer, "fast", "tee", "count-higher", "receipt", gaps=(SLOW_WRITER,))
    assert report.findings == [], report.summary()


# -- the defects it found (each fixed; docs/decisions.md #14) ---------------------------------------------------------------------


@pytest.mark.parametrize("decrease", ["count-lower", "sale-big"])
def test_a_decrease_beyond_a_sharded_total_keeps_the_shard_invariant_while_a_hold_rebalances(
    explorer, decrease
) -> None:
    # Shards (8,0,0,0), 2 held: the decrease reads, a hold commits and its rebalance fills
    # shards 1..3, then the decrease lands on shard 0 alone.
    report = run_schedule(explorer, "drop-8000", [decrease, "hold1"], [None, None])
    assert report.findings == [], report.summary()


def test_no_hold_is_granted_from_a_positive_shard_while_the_position_is_short(explorer) -> None:
    # A lower count reads (8,0,0,0); a hold commits and rebalances to (1,2,2,2); a second hold
    # reads that and plans to take from shard 1..3 alone; the count lands: (-8,2,2,2), onHand
    # -2, ATS 0; the second hold's shard still holds 2, so it is granted.
    report = run_schedule(
        explorer, "drop-8000", ["count-lower", "hold1", "hold2"], [None, None, 1], resume=[0, 2]
    )
    assert not any(" held on " in f.problem for f in report.findings), report.summary()
    assert report.findings == [], report.summary()


def test_a_count_whose_fence_lapsed_does_not_leave_the_counter_off_the_ledger(explorer) -> None:
    # The count fences and reads at 12:00:00, stalls 31 s; a sale dated 11:59:40 (before the
    # count) lands through the lapsed fence; the count then commits without it.
    report = run_schedule(explorer, "tee", ["count-lower", "sale"], [None, None], gap=SLOW_WRITER)
    assert report.findings == [], report.summary()


def test_a_reshard_to_fewer_shards_strands_nothing_a_rebalance_moved_meanwhile(explorer) -> None:
    report = run_schedule(explorer, "drop-8000", ["reshard-2", "hold1"], [None, None])
    assert report.findings == [], report.summary()


@pytest.mark.parametrize(
    "pair", [("hold2", "reclaim"), ("order1", "sweep"), ("hold1", "hold1")], ids="-".join
)
def test_a_refused_cart_gets_the_units_an_overdue_hold_gave_back_whoever_released_them(
    explorer, pair
) -> None:
    report = explore(explorer, "defects", "tee-expired", *pair)
    assert report.findings == [], report.summary()


def test_ship_and_cancel_at_once_one_wins_and_the_other_is_refused(explorer) -> None:
    report = explore(explorer, "defects", "tee", "ship", "cancel-order")
    assert report.findings == [], report.summary()


def test_two_extends_at_once_extend_once_and_say_so_once(explorer) -> None:
    report = explore(explorer, "defects", "tee", "extend-h-live", "extend-h-live")
    assert report.findings == [], report.summary()


def test_an_order_is_returned_even_after_a_return_feed_named_it(explorer) -> None:
    report = explore(explorer, "defects", "tee", "returned-feed", "return")
    assert report.findings == [], report.summary()


def test_an_older_count_meeting_a_dead_writers_fence_is_answered_not_a_500(explorer) -> None:
    report = run_schedule(explorer, "tee-fence-live", ["count-older", "hold1"], [None, None])
    assert report.findings == [], report.summary()


# -- the long run ---------------------------------------------------------------------------


KNOWN: dict[str, Callable[[Finding], bool]] = {}
"""Findings the long run tolerates while a defect it found is being fixed, each with a test
above; a finding that matches none fails the long run. Empty: every defect found is fixed."""


def unknown_findings(run: str, report: Report) -> list[Finding]:
    counts: dict[str, int] = {}
    unknown = []
    for finding in report.findings:
        name = next((name for name, matches in KNOWN.items() if matches(finding)), None)
        if name is None:
            unknown.append(finding)
        else:
            counts[name] = counts.get(name, 0) + 1
    record_figures(f"interleavings-{run}-known", counts)
    return unknown


def slow_writer_gaps(a: str, b: str) -> tuple[timedelta, ...]:
    """A count that outlives its fence matters only to feed events (the fence holds off
    nothing else), so only a count meeting a feed event is also run with a slow writer."""
    feeds = ("count", "sale", "receipt", "returned-feed")
    if (a.startswith("count") and b.startswith(feeds)) or (
        b.startswith("count") and a.startswith(feeds)
    ):
        return (timedelta(0), SLOW_WRITER)
    return (timedelta(0),)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a state's pairs take 3-17 minutes on a loaded 2-core machine
@pytest.mark.parametrize("state", list(STATES))
def test_every_pair_of_operations_at_every_write(explorer: Explorer, state: str) -> None:
    names = list(operations(state, explorer.clock, explorer.start))
    report = Report()
    for a, b in itertools.combinations_with_replacement(names, 2):
        report.add(explore(explorer, "long", state, a, b, slow_writer_gaps(a, b)))
    unknown = unknown_findings(f"long-{state}", report)
    assert unknown == [], Report(findings=unknown).summary()


TRIPLES = [
    ("drop-8000", "hold1", "sale", "hold2"),
    ("drop-8000", "count-lower", "hold2", "hold1"),
    ("drop-8000", "cancel-h-live", "count-higher", "hold2"),
    ("drop-2222", "hold2", "sale", "hold1"),
    ("drop-2222", "order1", "reshard-2", "hold2"),
    ("tee", "convert-h-live", "cancel-h-live", "replace-h-live"),
    ("tee-expired", "hold2", "sweep", "stream-h-exp"),
    ("tee-expired", "order1", "reclaim", "convert-h-exp"),
    ("tee-fence-live", "count-lower", "sale-fenced", "count-older"),
]


@pytest.mark.slow
@pytest.mark.parametrize("triple", TRIPLES, ids=["-".join(t) for t in TRIPLES])
def test_chosen_triples_at_every_pair_of_writes(explorer: Explorer, triple) -> None:
    state, *names = triple
    ops = [
        operations(state, explorer.clock, explorer.start, tag)[name]
        for name, tag in zip(names, "abc", strict=False)
    ]
    report = _tally("long", explore_triple(explorer, STATES[state], *ops))
    unknown = unknown_findings("triple-" + "-".join(triple), report)
    assert unknown == [], Report(findings=unknown).summary()
