"""Virtual Positions through ``GET /virtual-positions`` (docs/behaviour.md §3, §9): channel ATS per
location (BASE) and over the channel's locations (AGGREGATE), read-only."""

from __future__ import annotations

import os
from typing import Any

import pytest

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
AS_OF = "2024-03-15T08:00:00.000Z"


def put_channel(api, name: str, kind: str = "NONE", value: float = 0, **config: Any) -> None:
    body = {"buffer": {"type": kind, "value": value}, **config}
    response = api.put(f"/channels/{name}", body)
    assert response.status == 200, response.body


def put_location(
    api, ref: str, channels: list[str], kind: str = "STORE", priority: int = 1
) -> None:
    body = {"type": kind, "deliveryTypes": ["HD", "CC"], "channels": channels, "priority": priority}
    response = api.put(f"/locations/{ref}", body)
    assert response.status == 200, response.body


def stock(api, *counts: tuple[str, str, int]) -> None:
    """Snapshots of (productRef, locationRef, onHand)."""
    entities = [
        {"productRef": p, "locationRef": loc, "type": "LAST_ON_HAND", "quantity": q, "asOf": AS_OF}
        for p, loc, q in counts
    ]
    response = api.post("/inventory/batch", {"entities": entities})
    assert response.status == 200, response.body
    assert {r["status"] for r in response.json()["results"]} == {"APPLIED"}


def virtual_positions(
    api,
    channel: str,
    products: list[str],
    locations: list[str] | None = None,
    kind: str | None = None,
):
    query: dict[str, Any] = {"channel": channel, "productRef": products}
    if locations:
        query["locationRef"] = locations
    if kind:
        query["type"] = kind
    return api.get("/virtual-positions", query=query)


def quantities(
    api,
    channel: str,
    products: list[str],
    locations: list[str] | None = None,
    kind: str | None = None,
) -> dict[str, int]:
    """VP ref → quantity (AGGREGATE refs as ``{productRef}:*:{channel}``, keyed ``AGG:{productRef}``)."""
    response = virtual_positions(api, channel, products, locations, kind)
    assert response.status == 200, response.body
    found = {}
    for item in response.json()["items"]:
        assert item["channel"] == channel
        key = item["ref"] if item["type"] == "BASE" else f"AGG:{item['productRef']}"
        assert key not in found
        found[key] = item["quantity"]
    return found


def table_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_seed_example_snapshot_of_50_shows_ecommerce_45_mobile_47_store_50(api) -> None:
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10)
    put_channel(api, "MOBILE", "PERCENTAGE", 5)
    put_channel(api, "STORE", "PERCENTAGE", 0)
    stock(api, (SKU, DC, 50))

    response = virtual_positions(api, "ECOMMERCE", [SKU], [DC], "BASE")

    assert response.status == 200
    assert response.json() == {
        "items": [
            {
                "ref": "ACME_SNEAKER_BLK_US9:MAIN_DC:ECOMMERCE",
                "type": "BASE",
                "channel": "ECOMMERCE",
                "productRef": SKU,
                "locationRef": DC,
                "quantity": 45,  # buffer ceil(5.0) = 5
            }
        ]
    }
    assert quantities(api, "MOBILE", [SKU], [DC], "BASE") == {
        f"{SKU}:{DC}:MOBILE": 47
    }  # ceil(2.5) = 3
    assert quantities(api, "STORE", [SKU], [DC], "BASE") == {f"{SKU}:{DC}:STORE": 50}


def test_base_vp_for_a_location_named_by_location_ref_needs_no_location_configuration(api) -> None:
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10)
    stock(api, (SKU, DC, 45))

    assert api.get(f"/locations/{DC}").status == 404
    assert quantities(api, "ECOMMERCE", [SKU], [DC]) == {
        f"{SKU}:{DC}:ECOMMERCE": 40,
        f"AGG:{SKU}": 0,
    }


def test_aggregate_sums_the_locations_listing_the_channel_minus_its_exclusions(api) -> None:
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10, excludedLocations=["OUTLET_7"])
    put_location(api, DC, ["ECOMMERCE", "MOBILE"], "DC", priority=1)
    put_location(api, "STORE_1", ["ECOMMERCE"], priority=2)
    put_location(api, "STORE_2", ["STORE"], priority=2)  # does not sell to ECOMMERCE
    put_location(api, "OUTLET_7", ["ECOMMERCE"], priority=3)  # excluded by the channel
    stock(api, (SKU, DC, 45), (SKU, "STORE_1", 11), (SKU, "STORE_2", 30), (SKU, "OUTLET_7", 100))

    found = quantities(api, "ECOMMERCE", [SKU])

    # Per-location ATS, summed: 45 - 5 and 11 - 2.
    assert found == {f"{SKU}:{DC}:ECOMMERCE": 40, f"{SKU}:STORE_1:ECOMMERCE": 9, f"AGG:{SKU}": 49}


def test_excluded_location_shows_0_even_when_asked_for_by_name(api) -> None:
    put_channel(api, "ECOMMERCE", "NONE", excludedLocations=["OUTLET_7"])
    stock(api, (SKU, "OUTLET_7", 100))

    assert quantities(api, "ECOMMERCE", [SKU], ["OUTLET_7"], "BASE") == {
        f"{SKU}:OUTLET_7:ECOMMERCE": 0
    }


def test_aggregate_over_named_locations_counts_only_those_selling_to_the_channel(api) -> None:
    put_channel(api, "ECOMMERCE", "NONE")
    put_location(api, DC, ["ECOMMERCE"], "DC")
    put_location(api, "STORE_1", ["ECOMMERCE"])
    put_location(api, "STORE_2", ["STORE"])
    stock(api, (SKU, DC, 5), (SKU, "STORE_1", 7), (SKU, "STORE_2", 11))

    found = quantities(api, "ECOMMERCE", [SKU], ["STORE_1", "STORE_2"])

    assert found == {f"{SKU}:STORE_1:ECOMMERCE": 7, f"{SKU}:STORE_2:ECOMMERCE": 11, f"AGG:{SKU}": 7}


@pytest.mark.parametrize(
    ("kind", "types"),
    [("BASE", {"BASE"}), ("AGGREGATE", {"AGGREGATE"}), (None, {"BASE", "AGGREGATE"})],
)
def test_type_filter_answers_only_that_kind(api, kind: str | None, types: set[str]) -> None:
    put_channel(api, "ECOMMERCE", "NONE")
    put_location(api, DC, ["ECOMMERCE"], "DC")
    stock(api, (SKU, DC, 8))

    response = virtual_positions(api, "ECOMMERCE", [SKU], kind=kind)

    items = response.json()["items"]
    assert {item["type"] for item in items} == types
    assert {item["quantity"] for item in items} == {8}
    aggregate = [item for item in items if item["type"] == "AGGREGATE"]
    assert all(item["locationRef"] is None for item in aggregate)


def test_many_products_by_many_locations_in_one_call(api) -> None:
    products = [f"SKU_{p:02d}" for p in range(20)]
    locations = [f"STORE_{n}" for n in range(5)]
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10)
    for priority, location in enumerate(locations):
        put_location(api, location, ["ECOMMERCE"], priority=priority)
    # One stocked position per product (moto grows slow with every write); the rest have no IP.
    stock(api, *[(product, locations[p % 5], 10 + p) for p, product in enumerate(products)])

    response = virtual_positions(api, "ECOMMERCE", products)

    assert response.status == 200
    items = response.json()["items"]
    assert len(items) == 20 * 5 + 20
    expected = {}
    for p, product in enumerate(products):
        ats = (10 + p) - -(-(10 + p) // 10)  # onHand less ceil(10 %)
        for n, location in enumerate(locations):
            expected[f"{product}:{location}:ECOMMERCE"] = ats if n == p % 5 else 0
        expected[f"AGG:{product}"] = ats
    assert quantities(api, "ECOMMERCE", products) == expected
    assert expected["SKU_00:STORE_0:ECOMMERCE"] == 9
    assert expected["AGG:SKU_19"] == 26


def test_display_cap_hides_exact_stock_from_scrapers(api) -> None:
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10, displayCap=10)
    put_location(api, DC, ["ECOMMERCE"], "DC")
    put_location(api, "STORE_1", ["ECOMMERCE"])
    stock(api, (SKU, DC, 45), (SKU, "STORE_1", 4))

    assert quantities(api, "ECOMMERCE", [SKU]) == {
        f"{SKU}:{DC}:ECOMMERCE": 10,  # ATS 40
        f"{SKU}:STORE_1:ECOMMERCE": 3,  # ATS 3, under the cap
        f"AGG:{SKU}": 10,  # ATS 43
    }


def test_unknown_channel_is_a_404_in_the_error_shape(api) -> None:
    stock(api, (SKU, DC, 50))

    response = virtual_positions(api, "CATALOGUE_MAIL", [SKU], [DC])

    assert response.status == 404
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert "CATALOGUE_MAIL" in error["message"]
    assert [d["field"] for d in error["details"]] == ["channel"]


def test_product_without_an_inventory_position_has_quantity_0(api) -> None:
    put_channel(api, "ECOMMERCE", "NONE")
    put_location(api, DC, ["ECOMMERCE"], "DC")

    assert quantities(api, "ECOMMERCE", ["NEVER_STOCKED"]) == {
        "NEVER_STOCKED:MAIN_DC:ECOMMERCE": 0,
        "AGG:NEVER_STOCKED": 0,
    }
    assert quantities(api, "ECOMMERCE", ["NEVER_STOCKED"], ["STORE_9"], "BASE") == {
        "NEVER_STOCKED:STORE_9:ECOMMERCE": 0
    }


def test_reading_virtual_positions_writes_nothing(api, moto_table) -> None:
    put_channel(api, "ECOMMERCE", "PERCENTAGE", 10)
    put_location(api, DC, ["ECOMMERCE"], "DC")
    stock(api, (SKU, DC, 45))
    before = table_items(moto_table)

    for kind in ("BASE", "AGGREGATE", None):
        assert (
            virtual_positions(
                api, "ECOMMERCE", [SKU, "NEVER_STOCKED"], [DC, "STORE_9"], kind
            ).status
            == 200
        )
    assert virtual_positions(api, "NO_SUCH_CHANNEL", [SKU]).status == 404

    assert table_items(moto_table) == before
