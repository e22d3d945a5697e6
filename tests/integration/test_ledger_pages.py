"""Answers stay bounded: the ledger of a busy position comes a page at a time, and an
availability read that would touch too many positions is refused with the reason."""

from __future__ import annotations

from typing import Any

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
POSITION = f"{SKU}:{DC}:DEFAULT"
AS_OF = "2024-03-15T08:00:00.000Z"


def ok(response) -> Any:
    assert response.status == 200, response.body
    return response.json()


def shop_with_holds(api, clock, holds: int) -> None:
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE", "value": 0}}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"]}
    assert api.put(f"/locations/{DC}", location).status == 200
    entity = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 100,
        "asOf": AS_OF,
    }
    assert api.post("/inventory/batch", {"entities": [entity]}).status == 200
    for n in range(holds):
        clock.advance(seconds=1)
        body = {
            "ref": f"cart-{n:02d}",
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": 1}],
        }
        assert api.post("/fulfilment-options", body).status == 201


def pages(api, **query: Any) -> list[list[dict[str, Any]]]:
    found, token = [], None
    while True:
        page = ok(
            api.get(
                f"/inventory-positions/{POSITION}",
                query={**query, **({"nextToken": token} if token else {})},
            )
        )
        found.append(page["quantities"])
        token = page["nextToken"]
        if token is None:
            return found


def test_the_ledger_comes_newest_first_a_page_at_a_time_and_every_record_once(api, clock) -> None:
    shop_with_holds(api, clock, 12)

    found = pages(api, limit=5)

    assert [len(page) for page in found] == [5, 5, 3]
    records = [q for page in found for q in page]
    assert len({q["iqRef"] for q in records}) == 13
    assert records[0]["sourceRef"] == "cart-11" and records[-1]["type"] == "LAST_ON_HAND"
    created = [q["createdAt"] for q in records]
    assert created == sorted(created, reverse=True)


def test_the_ledger_filters_by_type_and_status_and_pages_oldest_first(api, clock) -> None:
    shop_with_holds(api, clock, 6)
    assert api.delete("/fulfilment-options/cart-00").status == 200

    holds = [
        q
        for page in pages(api, type="SOFT_RESERVE", status="ACTIVE", order="oldest", limit=2)
        for q in page
    ]

    assert [q["sourceRef"] for q in holds] == [f"cart-{n:02d}" for n in range(1, 6)]
    assert (
        ok(
            api.get(
                f"/inventory-positions/{POSITION}",
                query={"type": "SOFT_RESERVE", "status": "INACTIVE"},
            )
        )["quantities"][0]["sourceRef"]
        == "cart-00"
    )


def test_a_ledger_token_that_was_never_given_out_is_a_422_naming_it(api, clock) -> None:
    shop_with_holds(api, clock, 1)
    for token in ("not-base64!", "WzFd", "eyJhIjogMX0="):
        response = api.get(f"/inventory-positions/{POSITION}", query={"nextToken": token})
        assert response.status == 422, token
        assert response.json()["error"]["details"][0]["field"] == "nextToken"
    assert api.get(f"/inventory-positions/{POSITION}", query={"limit": 1001}).status == 422
    assert api.get(f"/inventory-positions/{POSITION}", query={"type": "HOLD"}).status == 422


def test_an_availability_read_of_too_many_positions_is_refused_with_what_to_ask_instead(
    api,
) -> None:
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE", "value": 0}}).status == 200
    for n in range(51):
        location = {"type": "STORE", "deliveryTypes": ["CC"], "channels": ["ECOMMERCE"]}
        assert api.put(f"/locations/STORE_{n:02d}", location).status == 200
    products = [f"SKU_{n:03d}" for n in range(100)]

    refused = api.get("/virtual-positions", query={"channel": "ECOMMERCE", "productRef": products})
    fine = api.get(
        "/virtual-positions", query={"channel": "ECOMMERCE", "productRef": products[:98]}
    )

    assert refused.status == 422
    assert refused.json()["error"]["details"][0]["field"] == "productRef"
    assert "at most 5000" in refused.json()["error"]["message"]
    assert fine.status == 200 and len(fine.json()["items"]) == 98 * 52
