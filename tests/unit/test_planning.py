"""Fulfilment plans (docs/behaviour.md §4), with no table: merged lines, ranked single-location plans,
split plans only where no single location can, and partial holds with their shortfall."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdfast.domain.planning import (
    MAX_ALLOCATIONS,
    MAX_SINGLE_PLANS,
    Allocation,
    Plan,
    Shortfall,
    build_plans,
    merge_lines,
    partial_plan,
)

SKU = "ACME_SNEAKER_BLK_US9"
SOCKS = "ACME_SOCKS_WHT"
DC, WAREHOUSE, STORE = "MAIN_DC", "NORTH_WAREHOUSE", "STORE_SYDNEY"
BY_PRIORITY = [DC, WAREHOUSE, STORE]


def single(location: str, *lines: tuple[str, int]) -> Plan:
    return Plan("SINGLE", tuple(Allocation(product, location, q) for product, q in lines))


# -- merge_lines ------------------------------------------------------------------------------


def test_lines_naming_the_same_product_are_summed_in_first_seen_order() -> None:
    merged = merge_lines([(SOCKS, 1), (SKU, 2), (SOCKS, 3)])

    assert merged == {SOCKS: 4, SKU: 2}
    assert list(merged) == [SOCKS, SKU]


def test_two_lines_of_one_are_checked_as_one_line_of_two() -> None:
    lines = merge_lines([(SKU, 1), (SKU, 1)])

    assert build_plans(lines, [DC], {(SKU, DC): 1}, allow_split=True) == []


# -- build_plans ------------------------------------------------------------------------------


def test_every_location_that_covers_the_cart_is_a_plan_in_priority_order() -> None:
    ats = {(SKU, DC): 5, (SKU, WAREHOUSE): 2, (SKU, STORE): 9}

    plans = build_plans({SKU: 2}, BY_PRIORITY, ats, allow_split=False)

    assert plans == [single(DC, (SKU, 2)), single(WAREHOUSE, (SKU, 2)), single(STORE, (SKU, 2))]


def test_ats_exactly_equal_to_the_line_covers_it_and_one_less_does_not() -> None:
    ats = {(SKU, DC): 2, (SKU, WAREHOUSE): 1}

    plans = build_plans({SKU: 2}, [DC, WAREHOUSE], ats, allow_split=False)

    assert [plan.allocations[0].location_ref for plan in plans] == [DC]


def test_a_location_must_cover_every_line_of_the_cart() -> None:
    ats = {(SKU, DC): 10, (SOCKS, DC): 1, (SKU, STORE): 2, (SOCKS, STORE): 2}

    plans = build_plans({SKU: 2, SOCKS: 2}, BY_PRIORITY, ats, allow_split=False)

    assert plans == [single(STORE, (SKU, 2), (SOCKS, 2))]


def test_a_position_with_no_ats_entry_has_nothing_to_sell() -> None:
    assert build_plans({SKU: 1}, BY_PRIORITY, {}, allow_split=True) == []


def test_no_location_covering_the_cart_and_no_splits_allowed_means_no_plans() -> None:
    ats = {(SKU, DC): 3, (SKU, STORE): 3}

    assert build_plans({SKU: 5}, BY_PRIORITY, ats, allow_split=False) == []


def test_a_single_location_plan_is_preferred_even_when_splits_are_allowed() -> None:
    ats = {(SKU, DC): 1, (SKU, WAREHOUSE): 3, (SKU, STORE): 3}

    plans = build_plans({SKU: 3}, BY_PRIORITY, ats, allow_split=True)

    assert [plan.type for plan in plans] == ["SINGLE", "SINGLE"]
    assert [plan.allocations[0].location_ref for plan in plans] == [WAREHOUSE, STORE]


def test_a_split_plan_fills_each_line_from_locations_in_priority_order() -> None:
    ats = {
        (SKU, DC): 3,
        (SKU, WAREHOUSE): 0,
        (SKU, STORE): 4,
        (SOCKS, WAREHOUSE): 1,
        (SOCKS, STORE): 1,
    }

    plans = build_plans({SKU: 5, SOCKS: 2}, BY_PRIORITY, ats, allow_split=True)

    assert plans == [
        Plan(
            "SPLIT",
            (
                Allocation(SKU, DC, 3),
                Allocation(SKU, STORE, 2),
                Allocation(SOCKS, WAREHOUSE, 1),
                Allocation(SOCKS, STORE, 1),
            ),
        )
    ]
    assert plans[0].quantity_of(SKU) == 5
    assert plans[0].quantity_of(SOCKS) == 2


def test_no_split_plan_when_all_locations_together_fall_short() -> None:
    ats = {(SKU, DC): 3, (SKU, STORE): 1}

    assert build_plans({SKU: 5}, BY_PRIORITY, ats, allow_split=True) == []


def test_a_split_plan_stays_within_one_transaction() -> None:
    locations = [f"STORE_{n:02d}" for n in range(MAX_ALLOCATIONS + 1)]
    ats = {(SKU, loc): 1 for loc in locations}

    fits = build_plans({SKU: MAX_ALLOCATIONS}, locations, ats, allow_split=True)
    too_many = build_plans({SKU: MAX_ALLOCATIONS + 1}, locations, ats, allow_split=True)

    assert [len(plan.allocations) for plan in fits] == [MAX_ALLOCATIONS]
    assert too_many == []


def test_at_most_ten_single_location_plans_are_answered_best_first() -> None:
    locations = [f"STORE_{n:02d}" for n in range(MAX_SINGLE_PLANS + 2)]
    ats = {(SKU, loc): 1 for loc in locations}

    plans = build_plans({SKU: 1}, locations, ats, allow_split=False)

    assert [plan.allocations[0].location_ref for plan in plans] == locations[:MAX_SINGLE_PLANS]


@given(
    st.dictionaries(st.sampled_from([SKU, SOCKS]), st.integers(1, 20), min_size=1),
    st.dictionaries(
        st.tuples(st.sampled_from([SKU, SOCKS]), st.sampled_from(BY_PRIORITY)), st.integers(0, 20)
    ),
    st.booleans(),
)
def test_no_plan_ever_takes_more_than_a_position_has_or_less_than_the_cart_asks(
    lines, ats, allow_split
) -> None:
    for plan in build_plans(lines, BY_PRIORITY, ats, allow_split=allow_split):
        for allocation in plan.allocations:
            assert (
                0
                < allocation.quantity
                <= ats.get((allocation.product_ref, allocation.location_ref), 0)
            )
        assert {product: plan.quantity_of(product) for product in lines} == lines
        if plan.type == "SINGLE":
            assert len({a.location_ref for a in plan.allocations}) == 1


# -- partial_plan ------------------------------------------------------------------------------


def test_a_partial_hold_takes_what_the_best_location_has_and_reports_each_short_line() -> None:
    ats = {(SKU, DC): 1, (SKU, STORE): 3, (SOCKS, STORE): 1}

    plan, shortfall = partial_plan({SKU: 5, SOCKS: 1}, BY_PRIORITY, ats, allow_split=False)

    assert plan == Plan("PARTIAL", (Allocation(SKU, STORE, 3), Allocation(SOCKS, STORE, 1)))
    assert shortfall == [Shortfall(SKU, 5, 3)]


def test_a_partial_hold_without_splits_prefers_the_higher_priority_location_on_a_tie() -> None:
    ats = {(SKU, DC): 3, (SOCKS, STORE): 1, (SKU, STORE): 2}

    plan, shortfall = partial_plan({SKU: 5, SOCKS: 1}, BY_PRIORITY, ats, allow_split=False)

    assert plan == Plan("PARTIAL", (Allocation(SKU, DC, 3),))
    assert shortfall == [Shortfall(SKU, 5, 3), Shortfall(SOCKS, 1, 0)]


def test_a_partial_hold_with_splits_fills_across_locations() -> None:
    ats = {(SKU, DC): 2, (SKU, STORE): 1, (SOCKS, WAREHOUSE): 4}

    plan, shortfall = partial_plan({SKU: 5, SOCKS: 4}, BY_PRIORITY, ats, allow_split=True)

    assert plan == Plan(
        "PARTIAL",
        (Allocation(SKU, DC, 2), Allocation(SKU, STORE, 1), Allocation(SOCKS, WAREHOUSE, 4)),
    )
    assert shortfall == [Shortfall(SKU, 5, 3)]


@pytest.mark.parametrize("allow_split", [False, True])
def test_a_partial_hold_of_nothing_is_no_plan(allow_split: bool) -> None:
    plan, shortfall = partial_plan(
        {SKU: 2, SOCKS: 1}, BY_PRIORITY, {(SKU, DC): 0}, allow_split=allow_split
    )

    assert plan is None
    assert shortfall == [Shortfall(SKU, 2, 0), Shortfall(SOCKS, 1, 0)]


def test_a_partial_hold_with_no_candidate_location_is_no_plan() -> None:
    plan, shortfall = partial_plan({SKU: 2}, [], {}, allow_split=False)

    assert plan is None
    assert shortfall == [Shortfall(SKU, 2, 0)]


def test_a_partial_split_cut_to_one_transaction_reports_the_units_it_cut_as_short() -> None:
    locations = [f"STORE_{n:02d}" for n in range(MAX_ALLOCATIONS + 5)]
    ats = {(SKU, loc): 1 for loc in locations}

    plan, shortfall = partial_plan({SKU: MAX_ALLOCATIONS + 5}, locations, ats, allow_split=True)

    assert plan is not None
    assert plan.quantity_of(SKU) == MAX_ALLOCATIONS
    assert shortfall == [Shortfall(SKU, MAX_ALLOCATIONS + 5, MAX_ALLOCATIONS)]


@given(
    st.dictionaries(st.sampled_from([SKU, SOCKS]), st.integers(1, 20), min_size=1),
    st.dictionaries(
        st.tuples(st.sampled_from([SKU, SOCKS]), st.sampled_from(BY_PRIORITY)), st.integers(0, 20)
    ),
    st.booleans(),
)
def test_a_partial_hold_plus_its_shortfall_is_the_cart(lines, ats, allow_split) -> None:
    plan, shortfall = partial_plan(lines, BY_PRIORITY, ats, allow_split=allow_split)

    short = {s.product_ref: s for s in shortfall}
    for product, requested in lines.items():
        taken = plan.quantity_of(product) if plan else 0
        assert taken <= requested
        if taken < requested:
            assert short[product] == Shortfall(product, requested, taken)
        else:
            assert product not in short
    for allocation in plan.allocations if plan else ():
        assert (
            0 < allocation.quantity <= ats.get((allocation.product_ref, allocation.location_ref), 0)
        )
