"""Demand signals through the public path on moto (docs/behaviour.md §7): requests change the table, its
stream goes to the demand-signals function through the template's mapping, and
``GET /signals`` and ``GET /reports/funnel`` answer what a retailer asks."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from holdfast.runtime import reset_runtime
from holdfast.signal_events import SignalPublisher
from holdfast_cli.local.api import LocalApi
from tests.signal_delivery import SignalDelivery

SKU, OTHER, DC, STORE = "FLASH_SNEAKER_GOLD_US8", "ACME_SOCKS_WHT", "MAIN_DC", "STORE_SYDNEY"


@pytest.fixture
def shop(api: LocalApi, clock):
    channel = {"buffer": {"type": "NONE"}, "lowStockThreshold": 1}
    assert api.put("/channels/ECOMMERCE", channel).status == 200
    assert (
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        ).status
        == 200
    )
    assert (
        api.put(
            f"/locations/{STORE}",
            {"type": "STORE", "deliveryTypes": ["CC"], "channels": ["ECOMMERCE"], "priority": 2},
        ).status
        == 200
    )
    assert api.put("/timers", {"globalMinutes": 15}).status == 200
    feed = {
        "entities": [
            {"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 3},
            {"productRef": OTHER, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 10},
        ]
    }
    assert api.post("/inventory/batch", feed).status == 200
    return api


@pytest.fixture
def signals(api: LocalApi) -> SignalDelivery:
    return SignalDelivery(api.invoke, os.environ["TABLE_NAME"])


def hold(api: LocalApi, ref: str, *lines: tuple[str, int], **extra: Any):
    return api.post(
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": p, "quantity": q} for p, q in lines],
            **extra,
        },
    )


def order(api: LocalApi, ref: str, cart: str | None, *lines: tuple[str, int]):
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
    }
    if cart:
        body["fulfilmentOptionRef"] = cart
    return api.post("/orders", body)


def all_signals(api: LocalApi, **query: Any) -> list[dict[str, Any]]:
    response = api.get("/signals", query=query)
    assert response.status == 200, response.body
    return response.json()["items"]


def the_funnel(api: LocalApi) -> dict[str, dict[str, Any]]:
    response = api.get("/reports/funnel")
    assert response.status == 200, response.body
    return {row["productRef"]: row for row in response.json()["items"]}


def signal_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return [item for item in items if item.get("entity", {}).get("S") == "SIGNAL"]


def a_days_trading(shop: LocalApi, clock) -> None:
    """Every kind of signal: holds, a refusal, a conversion, an abandoned and a cancelled cart,
    an order afresh, and the SKU's ECOMMERCE ATS falling to its threshold of 1."""
    assert hold(shop, "cart-1", (SKU, 1), (OTHER, 2)).json()["status"] == "ACTIVE"
    assert hold(shop, "cart-2", (SKU, 1)).json()["status"] == "ACTIVE"
    assert hold(shop, "cart-3", (SKU, 2)).json()["status"] == "NO_OPTIONS"  # 1 left
    clock.advance(seconds=42)
    assert order(shop, "ORD-1", "cart-1", (SKU, 1), (OTHER, 2)).status == 201
    assert shop.delete("/fulfilment-options/cart-2").status == 200
    assert hold(shop, "cart-4", (OTHER, 1)).status == 201
    clock.advance(minutes=16)
    assert shop.invoke("HoldSweeperFunction", {})["released"] == 1  # cart-4 abandoned
    assert order(shop, "ORD-2", None, (SKU, 1)).status == 201  # afresh


def test_every_signal_type_is_captured_from_the_stream_and_queryable(shop, signals, clock):
    a_days_trading(shop, clock)

    signals.catch_up()

    found = [
        (s["type"], s["productRef"], s.get("foRef"), s.get("orderRef"), s["quantity"])
        for s in all_signals(shop)
    ]
    assert sorted(found, key=repr) == sorted(
        [
            ("FO_CALL", SKU, "cart-1", None, 1),
            ("FO_CALL", OTHER, "cart-1", None, 2),
            ("FO_CALL", SKU, "cart-2", None, 1),
            ("FO_CALL", SKU, "cart-3", None, 2),
            ("OUT_OF_STOCK", SKU, "cart-3", None, 2),
            ("LOW_STOCK", SKU, None, None, 1),  # ATS 3 → 2 (cart-1) → 1 (cart-2): at the threshold
            ("CONVERSION", SKU, "cart-1", "ORD-1", 1),
            ("CONVERSION", OTHER, "cart-1", "ORD-1", 2),
            ("CANCELLED", SKU, "cart-2", None, 1),
            ("FO_CALL", OTHER, "cart-4", None, 1),
            ("ABANDONED", OTHER, "cart-4", None, 1),
            ("CONVERSION", SKU, None, "ORD-2", 1),
            ("LOW_STOCK", SKU, None, None, 1),  # back to 2 when cart-2 was cancelled, then ORD-2
        ],
        key=repr,
    )
    times = [s["at"] for s in all_signals(shop)]
    assert times == sorted(times)
    conversion = all_signals(shop, type="CONVERSION", productRef=SKU)[0]
    assert (conversion["foRef"], conversion["orderRef"], conversion["secondsToConvert"]) == (
        "cart-1",
        "ORD-1",
        42.0,
    )
    fo_call = all_signals(shop, type="FO_CALL", productRef=SKU)[0]
    assert (
        fo_call["outcome"] == "ACTIVE"
        and fo_call["latencyMs"] >= 0
        and fo_call["channel"] == "ECOMMERCE"
    )
    low = all_signals(shop, type="LOW_STOCK")[0]
    assert (low["locationRef"], low["channel"], low["detail"]["threshold"]) == (DC, "ECOMMERCE", 1)


def test_the_funnel_per_sku(shop, signals, clock):
    a_days_trading(shop, clock)
    signals.catch_up()

    funnel = the_funnel(shop)

    assert funnel[SKU] == {
        "productRef": SKU,
        "foCalls": 3,
        "holds": 2,
        "orders": 2,
        "abandoned": 0,
        "refused": 1,
        "conversionRate": 0.5,
        "abandonmentRate": 0.0,
        "medianSecondsToConvert": 42.0,
        "outOfStock": 2,
    }
    assert funnel[OTHER] == {
        "productRef": OTHER,
        "foCalls": 2,
        "holds": 3,
        "orders": 1,
        "abandoned": 1,
        "refused": 0,
        "conversionRate": 0.5,
        "abandonmentRate": 0.5,
        "medianSecondsToConvert": 42.0,
        "outOfStock": 0,
    }


def test_a_redelivered_stream_writes_the_same_signals_once(shop, api, clock, moto_table):
    a_days_trading(shop, clock)
    SignalDelivery(api.invoke, os.environ["TABLE_NAME"]).catch_up()
    first = sorted(json.dumps(item, sort_keys=True) for item in signal_items(moto_table))

    SignalDelivery(api.invoke, os.environ["TABLE_NAME"]).catch_up()  # the whole stream again

    assert sorted(json.dumps(item, sort_keys=True) for item in signal_items(moto_table)) == first
    assert the_funnel(shop)[SKU]["foCalls"] == 3


def test_signals_are_filtered_by_product_location_channel_and_type(shop, signals, clock):
    a_days_trading(shop, clock)
    signals.catch_up()

    assert {s["productRef"] for s in all_signals(shop, productRef=OTHER)} == {OTHER}
    assert [s["type"] for s in all_signals(shop, productRef=SKU, type="OUT_OF_STOCK")] == [
        "OUT_OF_STOCK"
    ]
    assert {s["locationRef"] for s in all_signals(shop, locationRef=DC)} == {DC}
    assert len(all_signals(shop, locationRef=DC, type="LOW_STOCK", productRef=SKU)) == 2
    assert all_signals(shop, channel="MOBILE") == []
    assert len(all_signals(shop, channel="ECOMMERCE")) == 13


def test_signals_page_in_time_order_with_an_opaque_token(shop, signals, clock):
    a_days_trading(shop, clock)
    signals.catch_up()
    everything = [s["id"] for s in all_signals(shop)]

    for query in ({}, {"productRef": SKU}):
        expected = [s["id"] for s in all_signals(shop, **query)]
        pages, token = [], None
        while True:
            response = shop.get(
                "/signals", query={**query, "limit": 2, **({"nextToken": token} if token else {})}
            )
            assert response.status == 200
            page = response.json()
            assert len(page["items"]) <= 2
            pages += [s["id"] for s in page["items"]]
            token = page.get("nextToken")
            if not token:
                break
        assert pages == expected
    assert len(everything) == 13


def test_a_time_range_selects_signals_by_when_they_happened(shop, signals, clock):
    start = clock.now
    a_days_trading(shop, clock)
    signals.catch_up()
    from datetime import timedelta

    from holdfast.domain.clock import to_iso

    early = all_signals(shop, **{"from": to_iso(start), "to": to_iso(start + timedelta(seconds=1))})
    assert {s["foRef"] for s in early if s["type"] == "FO_CALL"} == {"cart-1", "cart-2", "cart-3"}
    later = all_signals(shop, **{"from": to_iso(start + timedelta(minutes=1))})
    assert {s["type"] for s in later} == {"ABANDONED", "CONVERSION", "LOW_STOCK"}
    assert the_funnel(shop)[SKU]["foCalls"] == 3
    old = shop.get(
        "/reports/funnel",
        query={"from": to_iso(start - timedelta(days=2)), "to": to_iso(start - timedelta(days=1))},
    )
    assert old.json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"type": "SALE"}, "type"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"to": "0.5"}, "to"),  # pydantic alone reads a number as a Unix time
        ({"from": "0282-07-20T14:16:19Z"}, "from"),  # found by schemathesis: a 500 before
        ({"from": "2026-11-27T10:00:00Z", "to": "2026-11-27T10:00:00Z"}, "to"),
        ({"from": "2026-11-27T10:00:00Z", "to": "2026-11-26T10:00:00Z"}, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"productRef": "BAD#REF"}, "productRef"),
        ({"nextToken": "not-a-token!"}, "nextToken"),
        (
            {"nextToken": "MjAyMC0wMS0wMVQwMDowMDowMC4wMDBaI0ZPX0NBTEwjeCN5"},
            "nextToken",
        ),  # another range's
    ],
)
def test_bad_signal_queries_are_422_naming_the_field_and_write_nothing(
    shop, moto_table, query, field
):
    before = moto_table.scan(TableName=os.environ["TABLE_NAME"])["Count"]

    response = shop.get("/signals", query=query)

    assert response.status == 422, response.body
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert field in [d["field"] for d in error["details"]], error
    assert moto_table.scan(TableName=os.environ["TABLE_NAME"])["Count"] == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-27T10:00:00Z", "to": "2026-11-27T09:00:00Z"}, "to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"to": "soon"}, "to"),
        ({"from": "1700000000"}, "from"),
    ],
)
def test_bad_funnel_ranges_are_422_naming_the_field(shop, query, field):
    response = shop.get("/reports/funnel", query=query)

    assert response.status == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


def test_signals_are_published_to_eventbridge_one_detail_type_per_signal(shop, clock, monkeypatch):
    boto3.client("events").create_event_bus(Name="holdfast-signals-test")
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.extend(params["Entries"])

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.events.PutEvents", record)
    monkeypatch.setenv("SIGNAL_EVENT_BUS", "holdfast-signals-test")
    reset_runtime()  # the events client is created from the session, with the hook
    try:
        api = LocalApi()
        assert hold(api, "cart-1", (SKU, 1)).status == 201
        assert hold(api, "cart-2", (SKU, 5)).json()["status"] == "NO_OPTIONS"

        SignalDelivery(api.invoke, os.environ["TABLE_NAME"]).catch_up()
    finally:
        boto3.DEFAULT_SESSION.events.unregister("before-parameter-build.events.PutEvents", record)

    assert sorted(
        (e["Source"], e["DetailType"], e["EventBusName"], json.loads(e["Detail"])["foRef"])
        for e in sent
    ) == [
        ("holdfast", "FO_CALL", "holdfast-signals-test", "cart-1"),
        ("holdfast", "FO_CALL", "holdfast-signals-test", "cart-2"),
        ("holdfast", "OUT_OF_STOCK", "holdfast-signals-test", "cart-2"),
    ]
    assert {json.loads(e["Detail"])["id"] for e in sent} == {s["id"] for s in all_signals(api)}


def test_a_failing_signal_consumer_neither_blocks_holds_nor_loses_signals(
    shop, signals, clock, monkeypatch
):
    def refuse(self, signals):
        raise ConnectionError("EventBridge is down")

    monkeypatch.setattr(SignalPublisher, "publish", refuse)
    assert hold(shop, "cart-1", (SKU, 1)).status == 201

    signals.catch_up()

    assert signals.poller.stats.retries > 0  # the records were handed back for a retry …
    assert hold(shop, "cart-2", (SKU, 1)).status == 201  # … and holds went on regardless
    monkeypatch.undo()
    reset_runtime()
    SignalDelivery(shop.invoke, os.environ["TABLE_NAME"]).catch_up()  # redelivered once it is back
    assert {s["foRef"] for s in all_signals(shop, type="FO_CALL")} == {"cart-1", "cart-2"}


def test_refused_oversell_attempts_are_counted_as_metrics(shop, capsys):
    assert hold(shop, "cart-1", (SKU, 4)).json()["status"] == "NO_OPTIONS"
    assert order(shop, "ORD-1", None, (SKU, 4)).status == 409

    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]

    assert [m.get("OversellAttemptsRefused") for m in emitted] == [[1.0], [1.0]]
    assert emitted[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Holdfast"


def test_a_sharded_position_crosses_low_stock_on_its_total_not_on_one_shard(shop, signals, clock):
    """OTHER has 10 units split over 4 counter items (docs/decisions.md #12): the crossing to
    ATS ≤ 1 is seen once, when the position's total gets there, whichever shard took the hold."""
    assert shop.put(f"/products/{OTHER}", {"counterShards": {DC: 4}}).status == 200

    for n in range(9):
        assert hold(shop, f"sharded-{n}", (OTHER, 1)).json()["status"] == "ACTIVE"
    signals.catch_up()

    [low] = all_signals(shop, productRef=OTHER, type="LOW_STOCK")
    assert low["quantity"] == 1
    assert low["detail"]["onHand"] == 1
    assert low["detail"]["atsBefore"] == 2
