"""The GraphQL mapping is configuration: which channel a cart holds for, which delivery type
an option is, which catalogue is which, and ids that are stable and opaque."""

from __future__ import annotations

import pytest

from holdfast.domain.configuration import Channel, Configuration
from holdfast.errors import InvalidInput
from holdfast.graphql.mapping import GraphqlMapping, opaque_id, ref_of_id


def configuration(*names: str) -> Configuration:
    return Configuration(channels={name: Channel(name=name) for name in names})


def test_a_carts_channel_is_its_attribute_then_its_type_then_the_default_then_the_only_one() -> (
    None
):
    mapping = GraphqlMapping.from_environment(
        {"GRAPHQL_MAPPING": '{"typeChannels": {"CC": "STORE"}, "defaultChannel": "WEB"}'}
    )
    two = configuration("WEB", "STORE")
    assert mapping.channel_for_option("MOBILE", "CC", two) == "MOBILE"
    assert mapping.channel_for_option(None, "CC", two) == "STORE"
    assert mapping.channel_for_option(None, "HD", two) == "WEB"
    assert GraphqlMapping().channel_for_option(None, "HD", configuration("ONLY")) == "ONLY"
    with pytest.raises(InvalidInput, match="name the channel"):
        GraphqlMapping().channel_for_option(None, "HD", two)


def test_order_type_decides_the_delivery_type_before_type_and_the_default_after() -> None:
    mapping = GraphqlMapping()
    assert mapping.delivery_type("CC", "HD") == "CC"
    assert mapping.delivery_type(None, "CLICK_AND_COLLECT") == "CC"
    assert mapping.delivery_type("SOMETHING", "DEFAULT") == "HD"
    assert GraphqlMapping(defaultDeliveryType="CC").delivery_type(None, "DEFAULT") == "CC"


def test_catalogues_map_to_channels_and_holdfast_catalogues() -> None:
    mapping = GraphqlMapping(
        retailerId=7,
        catalogueChannels={"GP_RETAILER_HD:1": "ECOMMERCE"},
        inventoryCatalogues={"EU:7": "EU"},
    )
    assert mapping.channel_for_catalogue("GP_RETAILER_HD:1", configuration()) == "ECOMMERCE"
    assert mapping.channel_for_catalogue("MOBILE", configuration()) == "MOBILE"
    assert [mapping.holdfast_catalogue(ref) for ref in (None, "DEFAULT", "DEFAULT:7", "EU:7")] == [
        "DEFAULT"
    ] * 3 + ["EU"]
    assert (mapping.inventory_catalogue_ref("DEFAULT"), mapping.inventory_catalogue_ref("EU")) == (
        "DEFAULT:7",
        "EU:7",
    )


def test_a_bad_mapping_fails_the_cold_start_naming_itself() -> None:
    with pytest.raises(ValueError, match="GRAPHQL_MAPPING"):
        GraphqlMapping.from_environment({"GRAPHQL_MAPPING": '{"deliveryTypes": {"X": "POST"}}'})
    with pytest.raises(ValueError, match="GRAPHQL_MAPPING"):
        GraphqlMapping.from_environment({"GRAPHQL_MAPPING": "{not json"})


def test_ids_are_stable_opaque_and_typed() -> None:
    assert (
        opaque_id("FulfilmentOption", "cart-1")
        == opaque_id("FulfilmentOption", "cart-1")
        == "RnVsZmlsbWVudE9wdGlvbjpjYXJ0LTE"
    )
    assert ref_of_id("FulfilmentOption", "RnVsZmlsbWVudE9wdGlvbjpjYXJ0LTE") == "cart-1"
    with pytest.raises(InvalidInput):
        ref_of_id("VirtualPosition", opaque_id("FulfilmentOption", "cart-1"))
