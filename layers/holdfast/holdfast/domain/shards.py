"""Sharded onHand counters for flash-sale positions (docs/decisions.md #12).

One DynamoDB item takes about 1,000 WCU/s, and a transactional write costs 2 WCU, so one
counter tops out near 500 holds/s. A position configured with N counter shards splits its
onHand over N items: shard 0 is the position's own item (it also takes every feed event and
every release), shards 1..N-1 are separate items that only holds and rebalancing touch.

``onHand = sum of the shards``, and the ledger still sums to that total. The rules here keep
one invariant, which is what lets a hold look at a single shard:

    shards 1..N-1 are never negative, and shard 0 is negative only while they are all 0.

Holds lower a shard only under ``shard >= min_on_hand_for(q)`` (>= q >= 1), so a shard that
grants a hold proves every other shard is >= 0 and the position's total covers the hold: the
same exact ATS condition as an unsharded counter. Stock only moves out of shard 0 under
``shard 0 >= units moved``, and a feed event that would take shard 0 below zero first pulls
the units it needs back from the other shards, in the same transaction (:func:`cover`).

Everything here is arithmetic on the values a caller read; the conditions on each write make
the answer safe when those values are stale (a stale read fails its condition, it never
oversells).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

MAX_COUNTER_SHARDS = 32
"""Most shards a position may have: 32 × ~500 holds/s is far beyond any one drop."""


@dataclass(frozen=True, slots=True)
class Take:
    """Lower ``shard`` by ``units`` if it still has at least ``at_least``."""

    shard: int
    units: int
    at_least: int


def place_hold(
    values: Sequence[int], threshold: int, quantity: int, rng: random.Random | None = None
) -> list[Take]:
    """Where a hold of ``quantity`` takes its units, given each shard's onHand as read and
    ``threshold`` = the smallest onHand whose channel ATS covers ``quantity``.

    A random shard that covers it alone (spreads concurrent holds over the shards); else the
    fullest shards together, each conditioned on still holding what was read, so their sum
    proves the position's total covers the hold (no stock stranded by the split). Empty when
    even the total does not cover it.
    """
    choice = rng.choice if rng else random.choice
    alone = [shard for shard, value in enumerate(values) if value >= threshold]
    if alone:
        return [Take(choice(alone), quantity, threshold)]
    if sum(value for value in values if value > 0) < threshold:
        return []
    takes: list[Take] = []
    counted = 0
    left = quantity
    for shard, value in sorted(enumerate(values), key=lambda pair: (-pair[1], pair[0])):
        if counted >= threshold and left == 0:
            break
        if value <= 0:
            break
        units = min(value, left)
        takes.append(Take(shard, units, value))
        counted += value
        left -= units
    return takes


@dataclass(frozen=True, slots=True)
class Move:
    """Move ``units`` from ``source`` to ``target``; the source keeps at least 0. With
    ``exact``, the source must hold exactly ``units`` (emptying it: a collapse)."""

    source: int
    target: int
    units: int
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Cover:
    """What an unconditional decrease of shard 0 (a feed sale, a lower count) writes with it
    on a sharded position: units pulled back into shard 0, and the floor shard 0 must still
    be at before the change (``None``: all shards emptied, shard 0 may go negative)."""

    shard_count: int
    moves: tuple[Move, ...]
    floor: int | None


def cover(values: Sequence[int], delta: int) -> Cover:
    """Keep the invariant through ``shard 0 += delta`` (delta < 0), from the values read."""
    base = values[0]
    need = -(base + delta)
    if need <= 0:
        return Cover(len(values), (), -delta)
    others = sorted(
        ((value, shard) for shard, value in enumerate(values) if shard and value > 0), reverse=True
    )
    if sum(value for value, _ in others) < need:
        return Cover(
            len(values), tuple(Move(shard, 0, value, exact=True) for value, shard in others), None
        )
    moves = []
    for value, shard in others:
        if need <= 0:
            break
        units = min(value, need)
        moves.append(Move(shard, 0, units))
        need -= units
    pulled = sum(move.units for move in moves)
    return Cover(len(values), tuple(moves), -(delta + pulled))


def rebalance(values: Sequence[int], low_water: float = 0.5) -> list[Move]:
    """Refill shards that ran low from shard 0 (where releases and feed stock land), towards
    an even split. Only when some shard is below ``low_water`` × its fair share and shard 0
    has more than its share: chunky, rare moves rather than one per hold."""
    if len(values) < 2 or values[0] <= 0:
        return []
    total = sum(max(0, value) for value in values)
    fair = total // len(values)
    if fair == 0:
        return []
    spare = values[0] - fair
    moves = []
    for shard, value in enumerate(values[1:], start=1):
        if spare <= 0:
            break
        if value < fair * low_water:
            units = min(fair - value, spare)
            moves.append(Move(0, shard, units))
            spare -= units
    return moves


def gather(values: Sequence[int]) -> list[Move]:
    """Bring every other shard's units back into shard 0, so a hold that needed several shards
    (more transaction items than a large cart can afford) takes from one."""
    return [Move(shard, 0, value) for shard, value in enumerate(values) if shard and value > 0]


def collapse(values: Sequence[int], keep: int) -> list[Move]:
    """Empty shards ``keep`` and above into shard 0 (the position now has ``keep`` shards)."""
    return [
        Move(shard, 0, value, exact=True)
        for shard, value in enumerate(values)
        if shard >= keep and value != 0
    ]
