"""Configuration routes (docs/behaviour.md §9): channels, locations, products and timers are stored,
read back as written, and seen at once by the process that wrote them."""

from __future__ import annotations

import pytest

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"


def ok(response, status: int = 200):
    assert response.status == status, response.body
    return response.json()


def test_channel_round_trips(api) -> None:
    body = {
        "buffer": {"type": "PERCENTAGE", "value": 12.5},
        "excludedLocations": ["OUTLET_7"],
        "displayCap": 10,
        "lowStockThreshold": 3,
    }

    assert ok(api.put("/channels/ECOMMERCE", body)) == {**body, "name": "ECOMMERCE"}
    assert ok(api.get("/channels/ECOMMERCE")) == {**body, "name": "ECOMMERCE"}


def test_channel_defaults_fill_what_the_body_leaves_out(api) -> None:
    ok(api.put("/channels/STORE", {}))

    assert ok(api.get("/channels/STORE")) == {
        "name": "STORE",
        "buffer": {"type": "NONE", "value": 0},
        "excludedLocations": [],
        "displayCap": None,
        "lowStockThreshold": None,
    }


def test_putting_a_channel_replaces_it_whole(api) -> None:
    ok(
        api.put(
            "/channels/ECOMMERCE",
            {
                "buffer": {"type": "FIXED", "value": 2},
                "excludedLocations": ["OUTLET_7"],
                "displayCap": 10,
            },
        )
    )

    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 10}}))

    channel = ok(api.get("/channels/ECOMMERCE"))
    assert channel["buffer"] == {"type": "PERCENTAGE", "value": 10}
    assert channel["excludedLocations"] == []
    assert channel["displayCap"] is None


def test_location_round_trips(api) -> None:
    body = {
        "type": "DC",
        "deliveryTypes": ["HD"],
        "channels": ["ECOMMERCE", "MOBILE"],
        "priority": 1,
    }

    assert ok(api.put(f"/locations/{DC}", body)) == {**body, "ref": DC}
    assert ok(api.get(f"/locations/{DC}")) == {**body, "ref": DC}


def test_product_round_trips(api) -> None:
    expected = {"ref": SKU, "category": "SNEAKERS", "counterShards": {}}
    assert ok(api.put(f"/products/{SKU}", {"category": "SNEAKERS"})) == expected
    assert ok(api.get(f"/products/{SKU}")) == expected


def test_timers_round_trip(api) -> None:
    body = {"globalMinutes": 15, "categories": {"SNEAKERS": 5, "LUXURY": 30}, "products": {SKU: 10}}

    assert ok(api.put("/timers", body)) == body
    assert ok(api.get("/timers")) == body


def test_timers_default_to_15_minutes_before_any_are_configured(api) -> None:
    assert ok(api.get("/timers")) == {"globalMinutes": 15, "categories": {}, "products": {}}


@pytest.mark.parametrize(
    "path", ["/channels/MAIL_ORDER", "/locations/STORE_404", "/products/NO_SUCH_SKU"]
)
def test_unconfigured_refs_are_404(api, path: str) -> None:
    response = api.get(path)

    assert response.status == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_channel_change_is_seen_at_once_by_the_process_that_wrote_it(api) -> None:
    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 10}}))
    batch = {
        "entities": [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "LAST_ON_HAND",
                "quantity": 45,
                "asOf": "2024-03-15T08:00:00Z",
            }
        ]
    }
    ok(api.post("/inventory/batch", batch))
    query = {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC, "type": "BASE"}
    assert ok(api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 40

    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "PERCENTAGE", "value": 20}}))
    assert ok(api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 36

    ok(api.put("/channels/ECOMMERCE", {"buffer": {"type": "FIXED", "value": 3}, "displayCap": 5}))
    assert ok(api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 5

    ok(api.put("/channels/ECOMMERCE", {"excludedLocations": [DC]}))
    assert ok(api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 0


def test_new_channel_and_location_are_seen_at_once(api) -> None:
    query = {"channel": "MOBILE", "productRef": SKU, "type": "AGGREGATE"}
    assert api.get("/virtual-positions", query=query).status == 404

    ok(api.put("/channels/MOBILE", {"buffer": {"type": "PERCENTAGE", "value": 5}}))
    assert ok(api.get("/virtual-positions", query=query))["items"] == [
        {
            "ref": f"{SKU}:*:MOBILE",
            "type": "AGGREGATE",
            "channel": "MOBILE",
            "productRef": SKU,
            "locationRef": None,
            "quantity": 0,
        }
    ]

    batch = {
        "entities": [
            {
                "productRef": SKU,
                "locationRef": DC,
                "type": "LAST_ON_HAND",
                "quantity": 50,
                "asOf": "2024-03-15T08:00:00Z",
            }
        ]
    }
    ok(api.post("/inventory/batch", batch))
    ok(api.put(f"/locations/{DC}", {"type": "DC", "deliveryTypes": ["HD"], "channels": ["MOBILE"]}))
    assert ok(api.get("/virtual-positions", query=query))["items"][0]["quantity"] == 47


def test_location_and_product_changes_are_read_back_at_once(api) -> None:
    ok(
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        )
    )
    ok(api.put(f"/products/{SKU}", {"category": "SNEAKERS"}))
    assert ok(api.get(f"/products/{SKU}"))["category"] == "SNEAKERS"

    ok(
        api.put(
            f"/locations/{DC}",
            {"type": "WAREHOUSE", "deliveryTypes": ["HD", "CC"], "channels": [], "priority": 5},
        )
    )
    ok(api.put(f"/products/{SKU}", {"category": "LUXURY"}))

    assert ok(api.get(f"/locations/{DC}")) == {
        "ref": DC,
        "type": "WAREHOUSE",
        "deliveryTypes": ["HD", "CC"],
        "channels": [],
        "priority": 5,
    }
    assert ok(api.get(f"/products/{SKU}"))["category"] == "LUXURY"


def test_timer_changes_are_read_back_at_once(api) -> None:
    ok(api.put("/timers", {"globalMinutes": 15}))
    ok(api.put("/timers", {"globalMinutes": 20, "categories": {"SNEAKERS": 5}}))

    assert ok(api.get("/timers")) == {
        "globalMinutes": 20,
        "categories": {"SNEAKERS": 5},
        "products": {},
    }
