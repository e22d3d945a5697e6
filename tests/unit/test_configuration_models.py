"""Configuration bodies (docs/behaviour.md §9) are validated before anything is stored."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from holdfast.domain.configuration import (
    BufferRule,
    Channel,
    ChannelConfig,
    Configuration,
    Location,
    LocationConfig,
    ProductConfig,
    TimerConfig,
)


def fields_of(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in problem["loc"]) for problem in error.errors()}


# -- buffer rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"type": "PERCENTAGE", "value": 10},
        {"type": "PERCENTAGE", "value": 0},
        {"type": "PERCENTAGE", "value": 100},
        {"type": "PERCENTAGE", "value": 12.5},
        {"type": "FIXED", "value": 3},
        {"type": "FIXED", "value": 0},
        {"type": "NONE"},
        {"type": "NONE", "value": 0},
    ],
)
def test_buffer_rules_that_are_accepted(body: dict) -> None:
    BufferRule.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "PERCENTAGE", "value": 150},
        {"type": "PERCENTAGE", "value": 100.01},
        {"type": "PERCENTAGE", "value": -1},
        {"type": "FIXED", "value": 2.5},
        {"type": "FIXED", "value": -1},
        {"type": "NONE", "value": 5},
        {"type": "RATIO", "value": 5},
        {"type": "PERCENTAGE", "value": "NaN"},
        {"type": "PERCENTAGE", "value": "Infinity"},
        {"type": "PERCENTAGE", "value": 10, "rounding": "UP"},
    ],
)
def test_buffer_rules_that_are_refused(body: dict) -> None:
    with pytest.raises(ValidationError):
        BufferRule.model_validate(body)


def test_a_fractional_percentage_from_json_is_exact() -> None:
    rule = BufferRule.model_validate_json('{"type": "PERCENTAGE", "value": 12.5}')
    assert rule.value == Decimal("12.5")
    rule = BufferRule.model_validate_json('{"type": "PERCENTAGE", "value": 0.07}')
    assert rule.value == Decimal("0.07")


def test_buffer_value_is_a_json_number_whole_or_not() -> None:
    assert json.loads(BufferRule(type="PERCENTAGE", value=Decimal(10)).model_dump_json()) == {
        "type": "PERCENTAGE",
        "value": 10,
    }
    assert json.loads(BufferRule(type="PERCENTAGE", value=Decimal("12.5")).model_dump_json()) == {
        "type": "PERCENTAGE",
        "value": 12.5,
    }


def test_a_channel_without_a_buffer_keeps_nothing_back() -> None:
    assert ChannelConfig().buffer == BufferRule(type="NONE", value=Decimal(0))


# -- channels -------------------------------------------------------------------------------


def test_channel_config_round_trips_through_json() -> None:
    body = {
        "buffer": {"type": "PERCENTAGE", "value": 10},
        "excludedLocations": ["OUTLET_7"],
        "displayCap": 10,
        "lowStockThreshold": 3,
    }
    assert json.loads(ChannelConfig.model_validate(body).model_dump_json()) == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"displayCap": 0}, "displayCap"),
        ({"displayCap": True}, "displayCap"),
        ({"displayCap": "10"}, "displayCap"),
        ({"lowStockThreshold": -1}, "lowStockThreshold"),
        ({"excludedLocations": ["OUT:LET"]}, "excludedLocations.0"),
        ({"excludedLocations": ["OUT#LET"]}, "excludedLocations.0"),
        ({"excludedLocations": "OUTLET_7"}, "excludedLocations"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_channel_configs_that_are_refused_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ChannelConfig.model_validate(body)
    assert field in fields_of(raised.value)


# -- locations ------------------------------------------------------------------------------


def test_location_config_defaults() -> None:
    location = LocationConfig.model_validate({"type": "STORE", "deliveryTypes": ["CC"]})
    assert location.channels == []
    assert location.priority == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "SHOP", "deliveryTypes": ["HD"]}, "type"),
        ({"type": "DC", "deliveryTypes": []}, "deliveryTypes"),
        ({"type": "DC", "deliveryTypes": ["POST"]}, "deliveryTypes.0"),
        ({"type": "DC", "deliveryTypes": ["HD", "CC", "HD"]}, "deliveryTypes"),
        ({"type": "DC", "deliveryTypes": ["HD"], "channels": ["WEB:EU"]}, "channels.0"),
        ({"type": "DC", "deliveryTypes": ["HD"], "priority": "1"}, "priority"),
        ({"type": "DC", "deliveryTypes": ["HD"], "priority": -1}, "priority"),
        ({"type": "DC", "deliveryTypes": ["HD"], "address": "1 Main St"}, "address"),
        ({"deliveryTypes": ["HD"]}, "type"),
    ],
)
def test_location_configs_that_are_refused_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        LocationConfig.model_validate(body)
    assert field in fields_of(raised.value)


def test_aggregate_locations_are_those_listing_the_channel_minus_exclusions_by_priority() -> None:
    web = Channel(name="ECOMMERCE", excludedLocations=["OUTLET_7"])
    locations = {
        ref: Location(
            ref=ref, type="STORE", deliveryTypes=["CC"], channels=channels, priority=priority
        )
        for ref, channels, priority in [
            ("STORE_B", ["ECOMMERCE"], 2),
            ("MAIN_DC", ["ECOMMERCE", "MOBILE"], 1),
            ("STORE_A", ["ECOMMERCE"], 2),
            ("OUTLET_7", ["ECOMMERCE"], 0),
            ("STORE_ONLY", ["STORE"], 0),
        ]
    }
    configuration = Configuration(channels={"ECOMMERCE": web}, locations=locations)
    assert [loc.ref for loc in configuration.locations_selling_to(web)] == [
        "MAIN_DC",
        "STORE_A",
        "STORE_B",
    ]


# -- products and timers --------------------------------------------------------------------


def test_product_config_takes_a_category_ref() -> None:
    assert ProductConfig.model_validate({"category": "SNEAKERS"}).category == "SNEAKERS"
    assert ProductConfig.model_validate({}).category is None
    with pytest.raises(ValidationError):
        ProductConfig.model_validate({"category": "SNEAKERS:MEN"})


def test_timers_default_to_15_minutes_globally() -> None:
    assert TimerConfig() == TimerConfig(globalMinutes=15, categories={}, products={})


@pytest.mark.parametrize("minutes", [1, 5, 15, 30, 120])
def test_timers_between_1_and_120_minutes_are_accepted(minutes: int) -> None:
    TimerConfig.model_validate(
        {
            "globalMinutes": minutes,
            "categories": {"SNEAKERS": minutes},
            "products": {"SKU": minutes},
        }
    )


@pytest.mark.parametrize(
    "body",
    [
        {"globalMinutes": 0},
        {"globalMinutes": 121},
        {"globalMinutes": 15.5},
        {"globalMinutes": "15"},
        {"categories": {"SNEAKERS": 0}},
        {"categories": {"SNEAKERS": 121}},
        {"products": {"ACME_SNEAKER_BLK_US9": 0}},
        {"products": {"ACME_SNEAKER_BLK_US9": 121}},
        {"products": {"ACME:SNEAKER": 10}},
        {"products": {"ACME_SNEAKER_BLK_US9": True}},
        {"seconds": 900},
    ],
)
def test_timers_that_are_refused(body: dict) -> None:
    with pytest.raises(ValidationError):
        TimerConfig.model_validate(body)


def test_a_refused_category_timer_names_the_category() -> None:
    with pytest.raises(ValidationError, match=r"categories\.SNEAKERS: a timer is 1 to 120 minutes"):
        TimerConfig.model_validate({"categories": {"SNEAKERS": 0}})
