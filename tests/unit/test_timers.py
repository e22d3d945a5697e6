"""Hold timers (docs/behaviour.md §4), with no table: a product's own timer, else its category's, else
the global one (15 minutes unless configured)."""

from __future__ import annotations

from holdfast.domain.configuration import Product, TimerConfig
from holdfast.domain.timers import hold_minutes, timer_minutes

FLASH_SNEAKER = "DROP_SNEAKER_RED_US10"
SNEAKER = "ACME_SNEAKER_BLK_US9"
HANDBAG = "LUXE_HANDBAG_TAN"
SOCKS = "ACME_SOCKS_WHT"

TIMERS = TimerConfig(
    globalMinutes=15, categories={"SNEAKERS": 10, "LUXURY": 30}, products={FLASH_SNEAKER: 5}
)
PRODUCTS = {
    FLASH_SNEAKER: Product(ref=FLASH_SNEAKER, category="SNEAKERS"),
    SNEAKER: Product(ref=SNEAKER, category="SNEAKERS"),
    HANDBAG: Product(ref=HANDBAG, category="LUXURY"),
    SOCKS: Product(ref=SOCKS, category="BASICS"),
}


def test_without_configuration_every_hold_lasts_15_minutes() -> None:
    assert TimerConfig().globalMinutes == 15
    assert timer_minutes(SNEAKER, {}, TimerConfig()) == 15


def test_a_products_own_timer_beats_its_category() -> None:
    assert timer_minutes(FLASH_SNEAKER, PRODUCTS, TIMERS) == 5


def test_a_product_without_its_own_timer_takes_its_categorys() -> None:
    assert timer_minutes(SNEAKER, PRODUCTS, TIMERS) == 10
    assert timer_minutes(HANDBAG, PRODUCTS, TIMERS) == 30


def test_a_category_without_a_timer_falls_back_to_the_global_one() -> None:
    assert timer_minutes(SOCKS, PRODUCTS, TIMERS) == 15


def test_a_product_with_no_settings_takes_the_global_timer() -> None:
    assert timer_minutes("UNKNOWN_SKU", PRODUCTS, TIMERS) == 15


def test_a_product_timer_applies_even_when_the_product_has_no_settings() -> None:
    assert timer_minutes(FLASH_SNEAKER, {}, TIMERS) == 5


def test_the_global_timer_is_configurable() -> None:
    assert timer_minutes(SOCKS, PRODUCTS, TimerConfig(globalMinutes=20)) == 20


def test_a_cart_is_held_as_long_as_its_shortest_timed_product_allows() -> None:
    assert hold_minutes([HANDBAG, SNEAKER, SOCKS], PRODUCTS, TIMERS) == 10
    assert hold_minutes([HANDBAG, FLASH_SNEAKER], PRODUCTS, TIMERS) == 5
    assert hold_minutes([HANDBAG], PRODUCTS, TIMERS) == 30


def test_an_empty_cart_takes_the_global_timer() -> None:
    assert hold_minutes([], PRODUCTS, TIMERS) == 15
