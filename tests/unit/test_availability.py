"""Available-to-sell arithmetic (docs/behaviour.md §3), with no table: buffers, exclusions and caps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdfast.domain.availability import (
    UNREACHABLE,
    available_to_sell,
    buffer_units,
    displayed_quantity,
    min_on_hand_for,
)
from holdfast.domain.configuration import BufferRule, Channel

MAIN_DC = "MAIN_DC"


def channel(
    name: str = "ECOMMERCE", kind: str = "NONE", value: object = 0, **config: object
) -> Channel:
    return Channel(name=name, buffer=BufferRule(type=kind, value=Decimal(str(value))), **config)


ECOMMERCE = channel("ECOMMERCE", "PERCENTAGE", 10)
MOBILE = channel("MOBILE", "PERCENTAGE", 5)
STORE = channel("STORE", "PERCENTAGE", 0)


def test_seed_example_ecommerce_keeps_back_5_of_45_and_sells_40() -> None:
    assert buffer_units(45, ECOMMERCE) == 5  # 4.5 rounded up
    assert available_to_sell(45, ECOMMERCE, MAIN_DC) == 40


def test_seed_example_after_a_cart_add_of_2_onhand_43_sells_38() -> None:
    assert buffer_units(43, ECOMMERCE) == 5  # 4.3 rounded up
    assert available_to_sell(43, ECOMMERCE, MAIN_DC) == 38


@pytest.mark.parametrize(
    ("on_hand", "mobile", "store"),
    [(45, 42, 45), (43, 40, 43), (50, 47, 50), (20, 19, 20), (1, 0, 1)],
)
def test_seed_channels_mobile_5_percent_and_store_0_percent(
    on_hand: int, mobile: int, store: int
) -> None:
    assert available_to_sell(on_hand, MOBILE, MAIN_DC) == mobile
    assert available_to_sell(on_hand, STORE, MAIN_DC) == store


def test_percentage_buffer_rounds_up_for_safety() -> None:
    assert buffer_units(1, ECOMMERCE) == 1
    assert buffer_units(10, ECOMMERCE) == 1
    assert buffer_units(11, ECOMMERCE) == 2
    assert available_to_sell(1, ECOMMERCE, MAIN_DC) == 0


def test_fractional_percentage_is_exact_decimal_arithmetic() -> None:
    twelve_and_a_half = channel(kind="PERCENTAGE", value="12.5")
    assert buffer_units(8, twelve_and_a_half) == 1  # exactly 1.0: no rounding up
    assert available_to_sell(8, twelve_and_a_half, MAIN_DC) == 7
    assert buffer_units(45, twelve_and_a_half) == 6  # 5.625
    assert available_to_sell(45, twelve_and_a_half, MAIN_DC) == 39


def test_percentage_that_floats_get_wrong_is_exact() -> None:
    # In floats 100 * 0.07 == 7.000000000000001, which would round up to 8.
    assert buffer_units(100, channel(kind="PERCENTAGE", value=7)) == 7
    assert available_to_sell(100, channel(kind="PERCENTAGE", value=7), MAIN_DC) == 93
    assert buffer_units(300, channel(kind="PERCENTAGE", value="33.33")) == 100  # 99.99
    assert buffer_units(10_000, channel(kind="PERCENTAGE", value="0.01")) == 1


def test_percentage_of_100_sells_nothing() -> None:
    assert available_to_sell(1_000, channel(kind="PERCENTAGE", value=100), MAIN_DC) == 0


def test_fixed_buffer_keeps_back_n_units() -> None:
    fixed = channel(kind="FIXED", value=3)
    assert buffer_units(45, fixed) == 3
    assert available_to_sell(45, fixed, MAIN_DC) == 42
    assert available_to_sell(3, fixed, MAIN_DC) == 0
    assert available_to_sell(2, fixed, MAIN_DC) == 0


def test_no_buffer_sells_all_of_onhand() -> None:
    assert available_to_sell(45, channel(), MAIN_DC) == 45
    assert available_to_sell(0, channel(), MAIN_DC) == 0


def test_excluded_location_sells_nothing_on_that_channel() -> None:
    excluding = channel(kind="NONE", excludedLocations=["OUTLET_7"])
    assert available_to_sell(45, excluding, "OUTLET_7") == 0
    assert available_to_sell(45, excluding, MAIN_DC) == 45


@pytest.mark.parametrize("rule", [("NONE", 0), ("FIXED", 2), ("PERCENTAGE", 10)])
def test_negative_onhand_sells_nothing(rule: tuple[str, int]) -> None:
    assert available_to_sell(-5, channel(kind=rule[0], value=rule[1]), MAIN_DC) == 0


def test_display_cap_hides_exact_stock_above_it() -> None:
    capped = channel(kind="PERCENTAGE", value=10, displayCap=10)
    assert displayed_quantity(available_to_sell(45, capped, MAIN_DC), capped) == 10
    assert displayed_quantity(3, capped) == 3
    assert displayed_quantity(10, capped) == 10
    assert displayed_quantity(40, ECOMMERCE) == 40  # no cap


def test_min_on_hand_for_the_seed_example() -> None:
    # A hold of 2 on ECOMMERCE needs ATS >= 2: onHand 3 leaves buffer 1 and ATS 2.
    assert min_on_hand_for(2, ECOMMERCE, MAIN_DC) == 3
    assert min_on_hand_for(40, ECOMMERCE, MAIN_DC) == 45
    assert min_on_hand_for(41, ECOMMERCE, MAIN_DC) == 46


def test_min_on_hand_for_is_unreachable_where_nothing_can_be_sold() -> None:
    assert min_on_hand_for(1, channel(kind="PERCENTAGE", value=100), MAIN_DC) is UNREACHABLE
    assert min_on_hand_for(1, channel(excludedLocations=[MAIN_DC]), MAIN_DC) is UNREACHABLE


# -- properties -------------------------------------------------------------------------

percentages = st.integers(min_value=0, max_value=9_999).map(
    lambda hundredths: Decimal(hundredths).scaleb(-2)
)
rules = st.one_of(
    st.builds(lambda p: channel(kind="PERCENTAGE", value=p), percentages),
    st.builds(lambda n: channel(kind="FIXED", value=n), st.integers(min_value=0, max_value=1_000)),
    st.just(channel()),
)

SCAN_LIMIT = 3_000


def smallest_on_hand_by_scanning(quantity: int, ch: Channel, location: str) -> int | None:
    """Brute force: the first onHand from 0 up whose ATS covers ``quantity`` (within the limit)."""
    return next(
        (h for h in range(SCAN_LIMIT + 1) if available_to_sell(h, ch, location) >= quantity),
        None,
    )


@given(quantity=st.integers(min_value=1, max_value=200), ch=rules)
def test_min_on_hand_for_is_the_smallest_on_hand_whose_ats_covers_the_quantity(
    quantity: int, ch: Channel
) -> None:
    answer = min_on_hand_for(quantity, ch, MAIN_DC)
    scanned = smallest_on_hand_by_scanning(quantity, ch, MAIN_DC)
    if scanned is not None:
        assert answer == scanned
    else:
        # Beyond what a scan can afford (e.g. 99.99 % needs onHand 10,000 per unit): the answer
        # still covers the quantity and one unit less does not.
        assert answer is not None and answer > SCAN_LIMIT
        assert available_to_sell(answer, ch, MAIN_DC) >= quantity
        assert available_to_sell(answer - 1, ch, MAIN_DC) < quantity


@given(on_hand=st.integers(min_value=-100, max_value=100_000), ch=rules)
def test_ats_never_falls_as_onhand_rises_and_is_never_negative(on_hand: int, ch: Channel) -> None:
    ats = available_to_sell(on_hand, ch, MAIN_DC)
    assert 0 <= ats <= max(0, on_hand)
    assert available_to_sell(on_hand + 1, ch, MAIN_DC) >= ats


@given(
    on_hand=st.integers(min_value=0, max_value=1_000_000),
    hundredths=st.integers(min_value=0, max_value=10_000),
)
def test_percentage_buffer_is_the_exact_ceiling(on_hand: int, hundredths: int) -> None:
    ch = channel(kind="PERCENTAGE", value=Decimal(hundredths).scaleb(-2))
    # ceil(onHand * hundredths / 10000) in integers only.
    assert buffer_units(on_hand, ch) == -(-on_hand * hundredths // 10_000)
