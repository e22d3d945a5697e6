"""The arithmetic of sharded counters (docs/decisions.md #12), against brute force."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from holdfast.domain import shards
from holdfast.domain.shards import Move, Take


def shard_values(draw_min: int = -20):
    """Counter values that keep the invariant: shards 1.. never negative, shard 0 negative
    only while the others are all 0."""
    others = st.lists(st.integers(0, 30), min_size=1, max_size=7)
    return others.flatmap(
        lambda rest: st.builds(
            lambda base: (base, *rest),
            st.integers(draw_min if not any(rest) else 0, 40),
        )
    )


def holds_invariant(values) -> bool:
    return all(v >= 0 for v in values[1:]) and (values[0] >= 0 or not any(values[1:]))


def apply_takes(values, takes: list[Take]) -> list[int] | None:
    """The values after the takes, or None if a take's condition fails."""
    after = list(values)
    for take in takes:
        if after[take.shard] < take.at_least:
            return None
        after[take.shard] -= take.units
    return after


@settings(max_examples=400, deadline=None)
@given(shard_values(), st.integers(1, 12), st.integers(0, 6))
def test_a_placed_hold_is_granted_exactly_when_the_total_covers_it(values, quantity, extra) -> None:
    threshold = quantity + extra  # min_on_hand_for(q) is q plus what the buffer keeps back
    takes = shards.place_hold(values, threshold, quantity, random.Random(0))

    if sum(values) >= threshold:
        assert takes, "stock stranded: the total covers the hold but no placement was found"
        assert sum(t.units for t in takes) == quantity
        assert sum(t.at_least for t in takes) >= threshold  # the conditions prove the total
        after = apply_takes(values, takes)
        assert after is not None
        assert holds_invariant(after)
        assert sum(after) == sum(values) - quantity
    else:
        assert takes == []


@settings(max_examples=400, deadline=None)
@given(
    shard_values(),
    st.lists(st.integers(0, 30), min_size=8, max_size=8),
    st.integers(1, 12),
    st.integers(0, 6),
)
def test_conditions_met_by_any_current_values_prove_the_total_covers_the_hold(
    values, now, quantity, extra
) -> None:
    """A placement made on a stale read: whatever the shards hold now (within the invariant),
    if every condition still passes, the position's total covers the hold."""
    threshold = quantity + extra
    takes = shards.place_hold(values, threshold, quantity, random.Random(1))
    current = (now[0] if any(now[1 : len(values)]) else now[0] - 25, *now[1 : len(values)])
    if not holds_invariant(current):
        return
    if apply_takes(current, takes) is not None and takes:
        assert sum(current) >= threshold


@settings(max_examples=400, deadline=None)
@given(shard_values(), st.integers(-60, -1))
def test_a_feed_decrease_pulls_back_what_keeps_the_invariant(values, delta) -> None:
    cover = shards.cover(values, delta)
    after = list(values)
    for move in cover.moves:
        assert move.target == 0 and move.source != 0
        assert after[move.source] >= move.units
        if move.exact:
            assert after[move.source] == move.units
        after[move.source] -= move.units
        after[0] += move.units
    if cover.floor is not None:
        assert values[0] >= cover.floor  # shard 0's condition holds on the values read
    after[0] += delta
    assert sum(after) == sum(values) + delta
    assert holds_invariant(after)


def test_rebalance_refills_low_shards_from_shard_0_only() -> None:
    assert shards.rebalance((40, 0, 10, 30)) == [Move(0, 1, 20)]
    assert shards.rebalance((10, 10, 10, 10)) == []
    assert shards.rebalance((0, 0, 5, 30)) == []  # nothing spare in shard 0
    assert shards.rebalance((-3, 0, 0)) == []


def test_collapse_empties_the_dropped_shards_exactly() -> None:
    assert shards.collapse((5, 1, 2, 3), keep=2) == [
        Move(2, 0, 2, exact=True),
        Move(3, 0, 3, exact=True),
    ]
    assert shards.collapse((5, 0, 0), keep=1) == []
