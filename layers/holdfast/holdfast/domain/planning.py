"""Fulfilment plans (docs/behaviour.md §4): which locations can serve a cart, ranked, single or split.

Pure functions over the channel's ATS per (product, location); the caller reads the
counters and writes the chosen plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

PlanType = Literal["SINGLE", "SPLIT", "PARTIAL"]

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on the items of one TransactWriteItems."""

MAX_ALLOCATIONS = 33
"""Allocations one cart or order may have, so every transaction on it fits by construction:
the largest, shipping an order, writes three items per allocation (RESERVED off, SALE on, the
counter's snapshot check) plus the order: 1 + 3 × 33 = 100. A hold writes two per allocation
plus the FO and its timer. Paths that combine two documents (a replaced cart, an order that
gives back another cart) are counted before they commit (docs/decisions.md #14)."""

MAX_SINGLE_PLANS = 10


@dataclass(frozen=True, slots=True)
class Allocation:
    product_ref: str
    location_ref: str
    quantity: int
    shard: int = 0
    """For a hold on a sharded position: the counter shard whose partition keeps its record."""


@dataclass(frozen=True, slots=True)
class Plan:
    type: PlanType
    allocations: tuple[Allocation, ...]

    def quantity_of(self, product_ref: str) -> int:
        return sum(a.quantity for a in self.allocations if a.product_ref == product_ref)

    def by_location(self) -> dict[str, list[Allocation]]:
        """The allocations grouped by location (a fulfilment each), locations in first-seen order."""
        grouped: dict[str, list[Allocation]] = {}
        for allocation in self.allocations:
            grouped.setdefault(allocation.location_ref, []).append(allocation)
        return grouped


@dataclass(frozen=True, slots=True)
class Shortfall:
    product_ref: str
    requested: int
    available: int


def merge_lines(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum lines naming the same product, keeping first-seen order: two lines of 1 against
    stock 1 must be checked as one line of 2."""
    merged: dict[str, int] = {}
    for product_ref, quantity in lines:
        merged[product_ref] = merged.get(product_ref, 0) + quantity
    return merged


def build_plans(
    lines: Mapping[str, int],
    locations: Sequence[str],
    ats: Mapping[tuple[str, str], int],
    *,
    allow_split: bool,
) -> list[Plan]:
    """Every location (in the given priority order) that covers all lines alone; where none
    can and splits are allowed, one split plan filling each line from locations in order."""
    singles = [
        Plan("SINGLE", tuple(Allocation(p, loc, q) for p, q in lines.items()))
        for loc in locations
        if all(ats.get((p, loc), 0) >= q for p, q in lines.items())
    ][:MAX_SINGLE_PLANS]
    if singles or not allow_split:
        return singles
    allocations, short = _fill(lines, locations, ats)
    if short or len(allocations) > MAX_ALLOCATIONS:
        return []
    return [Plan("SPLIT", tuple(allocations))]


def partial_plan(
    lines: Mapping[str, int],
    locations: Sequence[str],
    ats: Mapping[tuple[str, str], int],
    *,
    allow_split: bool,
) -> tuple[Plan | None, list[Shortfall]]:
    """Hold what there is: per line, the best location's ATS (or, with splits, ATS filled
    across locations). Answers the plan (``None`` if nothing at all) and the shortfall."""
    if allow_split:
        # Cap what one transaction can hold first, then report what is left as short.
        allocations, _ = _fill(lines, locations, ats)
        allocations = allocations[:MAX_ALLOCATIONS]
        short = []
        for product_ref, quantity in lines.items():
            held = sum(a.quantity for a in allocations if a.product_ref == product_ref)
            if held < quantity:
                short.append(Shortfall(product_ref, quantity, held))
    else:
        # Without splits every line must come from one location: the one covering most units.
        best = max(
            locations,
            key=lambda loc: (
                sum(min(ats.get((p, loc), 0), q) for p, q in lines.items()),
                -locations.index(loc),
            ),
            default=None,
        )
        allocations = []
        short = []
        for product_ref, quantity in lines.items():
            available = min(ats.get((product_ref, best), 0), quantity) if best else 0
            if available and best:
                allocations.append(Allocation(product_ref, best, available))
            if available < quantity:
                short.append(Shortfall(product_ref, quantity, available))
    if not allocations:
        return None, short
    return Plan("PARTIAL", tuple(allocations)), short


def _fill(
    lines: Mapping[str, int], locations: Sequence[str], ats: Mapping[tuple[str, str], int]
) -> tuple[list[Allocation], list[Shortfall]]:
    allocations: list[Allocation] = []
    short: list[Shortfall] = []
    for product_ref, quantity in lines.items():
        remaining = quantity
        for loc in locations:
            take = min(ats.get((product_ref, loc), 0), remaining)
            if take > 0:
                allocations.append(Allocation(product_ref, loc, take))
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            short.append(Shortfall(product_ref, quantity, quantity - remaining))
    return allocations, short


def or_partial(
    plans: list[Plan],
    lines: Mapping[str, int],
    locations: Sequence[str],
    ats: Mapping[tuple[str, str], int],
    *,
    allow_split: bool,
    allow_partial: bool,
) -> tuple[list[Plan], list[Shortfall]]:
    """The full plans; when there are none and a partial hold is allowed, the partial plan
    (if anything at all can be held) and what each line falls short by."""
    if plans or not allow_partial:
        return plans, []
    partial, shortfall = partial_plan(lines, locations, ats, allow_split=allow_split)
    return ([partial] if partial else []), shortfall
