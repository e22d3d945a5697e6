"""The demand reports through the public path on moto (docs/signals.md, "Reports"): carts held
and ordered through the API, the stream delivered to the signals consumer, and
``GET /reports/{channels,locations,affinity,timing,restocking}`` answering from the signals."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from holdfast.domain.clock import to_iso
from holdfast_cli.local.api import LocalApi
from tests.event_bus import record_signal_bus
from tests.signal_delivery import SignalDelivery

SHOES, SOCKS, LACES, DC, STORE = (
    "SHOES_RUN_42",
    "SOCKS_RUN_M",
    "LACES_RED",
    "MAIN_DC",
    "STORE_PARIS",
)
START = datetime(2026, 11, 27, 22, 50, tzinfo=UTC)  # Friday 23:50 in Paris


@pytest.fixture
def shop(api: LocalApi) -> LocalApi:
    return open_shop(api)


def open_shop(api: LocalApi) -> LocalApi:
    """Two channels, a DC and a store, 15-minute holds, and the stock the trade runs on."""
    for channel in ("ECOMMERCE", "MOBILE"):
        assert (
            api.put(
                f"/channels/{channel}", {"buffer": {"type": "NONE"}, "lowStockThreshold": 0}
            ).status
            == 200
        )
    both = ["ECOMMERCE", "MOBILE"]
    assert (
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": both, "priority": 1},
        ).status
        == 200
    )
    assert (
        api.put(
            f"/locations/{STORE}",
            {"type": "STORE", "deliveryTypes": ["CC"], "channels": both, "priority": 2},
        ).status
        == 200
    )
    assert api.put("/timers", {"globalMinutes": 15}).status == 200
    feed = [(SHOES, DC, 10), (SOCKS, DC, 10), (LACES, DC, 10), (SHOES, STORE, 1)]
    entities = [
        {"productRef": p, "locationRef": loc, "type": "LAST_ON_HAND", "quantity": q}
        for p, loc, q in feed
    ]
    assert api.post("/inventory/batch", {"entities": entities}).status == 200
    return api


def cart(api: LocalApi, ref: str, channel: str, *products: str, store: str | None = None) -> str:
    body = {
        "ref": ref,
        "channel": channel,
        "deliveryType": "CC" if store else "HD",
        "lines": [{"productRef": p, "quantity": 1} for p in products],
    }
    if store:
        body["locationRef"] = store
    return api.post("/fulfilment-options", body).json()["status"]


def order(
    api: LocalApi, ref: str, fo_ref: str, channel: str, *products: str, store: str | None = None
) -> int:
    body = {
        "ref": ref,
        "channel": channel,
        "deliveryType": "CC" if store else "HD",
        "fulfilmentOptionRef": fo_ref,
        "lines": [{"productRef": p, "quantity": 1} for p in products],
    }
    if store:
        body["locationRef"] = store
    return api.post("/orders", body).status


def trade(shop: LocalApi, clock) -> None:
    """Four ECOMMERCE HD carts (shoes with socks three times), two converted after 90 and 150 s;
    two abandoned; a MOBILE click & collect cart held, a second refused (the store has one pair)."""
    clock.now = START
    assert cart(shop, "c1", "ECOMMERCE", SHOES, SOCKS) == "ACTIVE"
    assert cart(shop, "c2", "ECOMMERCE", SHOES, SOCKS) == "ACTIVE"
    assert cart(shop, "c3", "ECOMMERCE", SHOES, SOCKS, LACES) == "ACTIVE"
    assert cart(shop, "c4", "ECOMMERCE", LACES) == "ACTIVE"
    assert cart(shop, "m1", "MOBILE", SHOES, store=STORE) == "ACTIVE"
    assert cart(shop, "m2", "MOBILE", SHOES, store=STORE) == "NO_OPTIONS"
    clock.advance(seconds=90)
    assert order(shop, "o1", "c1", "ECOMMERCE", SHOES, SOCKS) == 201
    clock.advance(seconds=60)
    assert order(shop, "o2", "c4", "ECOMMERCE", LACES) == 201
    assert order(shop, "o3", "m1", "MOBILE", SHOES, store=STORE) == 201
    clock.advance(minutes=16)
    assert shop.invoke("HoldSweeperFunction", {})["released"] == 2  # c2 and c3 abandoned
    SignalDelivery(shop.invoke, os.environ["TABLE_NAME"]).catch_up()


def report(api: LocalApi, name: str, **query: Any) -> dict[str, Any]:
    span = {"from": to_iso(START - timedelta(hours=1)), "to": to_iso(START + timedelta(hours=1))}
    response = api.get(f"/reports/{name}", query={**span, **query})
    assert response.status == 200, response.body
    return response.json()


def test_channels_report_conversion_and_abandonment_per_channel_and_delivery_type(shop, clock):
    trade(shop, clock)

    rows = {(r["channel"], r["deliveryType"]): r for r in report(shop, "channels")["items"]}

    assert rows[("ECOMMERCE", "HD")] == {
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "carts": 4,
        "heldCarts": 4,
        "refusedCarts": 0,
        "orders": 2,
        "convertedCarts": 2,
        "abandonedCarts": 2,
        "conversionRate": 0.5,
        "abandonmentRate": 0.5,
    }
    assert rows[("MOBILE", "CC")] | {} == {
        "channel": "MOBILE",
        "deliveryType": "CC",
        "carts": 2,
        "heldCarts": 1,
        "refusedCarts": 1,
        "orders": 1,
        "convertedCarts": 1,
        "abandonedCarts": 0,
        "conversionRate": 1.0,
        "abandonmentRate": 0.0,
    }
    assert [r["channel"] for r in report(shop, "channels", deliveryType="CC")["items"]] == [
        "MOBILE"
    ]


def test_affinity_ranks_the_pair_held_most_often_together_first(shop, clock):
    trade(shop, clock)

    answer = report(shop, "affinity", minCount=2)

    assert answer["heldCarts"] == 5
    assert answer["heldTogether"] == [
        {
            "productA": SHOES,
            "productB": SOCKS,
            "carts": 3,
            "support": 0.6,
            "lift": round(3 * 5 / (4 * 3), 4),
        },
    ]
    assert answer["abandonedCarts"] == 2
    assert answer["abandonedTogether"][0] | {} == {
        "productA": SHOES,
        "productB": SOCKS,
        "carts": 2,
        "support": 1.0,
        "lift": 1.0,
    }
    assert report(shop, "affinity", minCount=4)["heldTogether"] == []


def test_timing_counts_by_local_hour_and_weekday_and_buckets_seconds_to_convert(shop, clock):
    trade(shop, clock)

    paris = report(shop, "timing", timeZone="Europe/Paris", bucketSeconds=60)

    hour = {r["slot"]: r for r in paris["byHour"]}
    assert (hour[23]["holds"], hour[23]["conversions"], hour[23]["abandoned"]) == (5, 3, 0)
    assert hour[0]["abandoned"] == 2  # 16 minutes later: past midnight in Paris
    day = {r["slot"]: r for r in paris["byDayOfWeek"]}
    assert (day[5]["holds"], day[6]["abandoned"]) == (5, 2)  # Friday, then Saturday
    assert paris["secondsToConvert"] == [
        {"fromSeconds": 60, "toSeconds": 120, "orders": 1},
        {"fromSeconds": 120, "toSeconds": 180, "orders": 2},
    ]
    assert paris["timers"] == [{"timerSeconds": 900, "heldCarts": 5}]
    utc = report(shop, "timing")
    assert {r["slot"] for r in utc["byHour"] if r["holds"]} == {22}


def test_locations_report_plans_against_fulfilment_and_out_of_stock_intensity(shop, clock):
    trade(shop, clock)

    answer = report(shop, "locations")

    places = {r["locationRef"]: r for r in answer["locations"]}
    assert (places[DC]["plannedCarts"], places[DC]["fulfilledOrders"]) == (4, 2)
    assert (places[STORE]["plannedCarts"], places[STORE]["fulfilledOrders"]) == (1, 1)
    assert answer["outOfStock"][0] | {} == {
        "productRef": SHOES,
        "locationRef": STORE,
        "outOfStockCarts": 1,
        "outOfStockUnits": 1,
        "lowStockCrossings": answer["outOfStock"][0]["lowStockCrossings"],
    }


def test_restocking_sorts_unmet_demand_and_publishes_suggestions_above_the_threshold(
    shop, clock, monkeypatch
):
    trade(shop, clock)
    sent = record_signal_bus(monkeypatch)

    quiet = report(shop, "restocking")
    (row,) = quiet["items"]
    assert (
        row["productRef"],
        row["locationRef"],
        row["outOfStockUnits"],
        row["unmetUnitsPerDay"],
    ) == (SHOES, STORE, 1, 12.0)
    assert row["daysSinceLastAts"] == round(
        (timedelta(hours=1) - timedelta(seconds=150)) / timedelta(days=1), 3
    )
    assert (row["restockSuggested"], quiet["published"]) == (False, 0)

    assert report(shop, "restocking", threshold=13)["published"] == 0
    loud = report(shop, "restocking", threshold=12)
    assert (loud["items"][0]["restockSuggested"], loud["published"]) == (True, 1)
    (event,) = sent
    detail = json.loads(event["Detail"])
    assert (event["DetailType"], event["EventBusName"], event["Source"]) == (
        "RESTOCK_SUGGESTED",
        "holdfast-signals-test",
        "holdfast",
    )
    assert (
        detail["productRef"],
        detail["locationRef"],
        detail["unmetUnitsPerDay"],
        detail["threshold"],
    ) == (SHOES, STORE, 12.0, 12.0)
    assert (
        report(shop, "restocking", threshold=12)["published"] == 1
        and sent[1]["Detail"] == event["Detail"]
    )  # same id again


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("timing", {"timeZone": "Mars/Olympus"}, "timeZone"),
        ("timing", {"bucketSeconds": "0"}, "bucketSeconds"),
        ("channels", {"deliveryType": "DRONE"}, "deliveryType"),
        ("channels", {"channel": "bad ref"}, "channel"),
        ("affinity", {"minCount": "0"}, "minCount"),
        ("affinity", {"limit": "many"}, "limit"),
        ("restocking", {"threshold": "-1"}, "threshold"),
        ("locations", {"from": "yesterday"}, "from"),
        ("locations", {"from": "2026-11-27T00:00:00Z", "to": "2026-11-26T00:00:00Z"}, "to"),
    ],
)
def test_a_bad_report_parameter_is_a_422_naming_it(api, name, query, field):
    response = api.get(f"/reports/{name}", query=query)

    assert response.status == 422, response.body
    body = response.json()
    assert body["error"]["code"] == "INVALID_INPUT"
    assert field in [detail["field"] for detail in body["error"]["details"]]


def test_the_consumer_emits_per_channel_cart_conversion_and_the_timer_fit_metrics(
    shop, clock, capsys
):
    trade(shop, clock)

    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]

    conversion = {
        m["channel"]: sorted(m["CartConversion"]) for m in emitted if "CartConversion" in m
    }
    assert conversion == {
        "ECOMMERCE": [0.0, 0.0, 1.0, 1.0],
        "MOBILE": [1.0],
    }  # report: c1, c4 of 4 held; m1
    assert sorted(v for m in emitted for v in m.get("SecondsToConvert", [])) == [90.0, 150.0, 150.0]
    assert [v for m in emitted for v in m.get("HoldTimerSeconds", [])] == [900.0] * 5


def test_the_dashboard_charts_per_channel_conversion_and_the_timer_fit():
    import re

    from holdfast_cli.local.template import load_template

    body = load_template()["Resources"]["DemandDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    charted = json.dumps(widgets)

    titles = [w["properties"]["title"] for w in widgets]
    assert any("per channel" in t for t in titles) and any("Timer fit" in t for t in titles)
    assert 'MetricName=\\"CartConversion\\"' in charted and "channel" in charted
    for metric in ("SecondsToConvert", "HoldTimerSeconds"):
        assert f'"{metric}"' in charted
