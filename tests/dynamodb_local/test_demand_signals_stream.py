"""Demand signals on the real engine (docs/behaviour.md §7): ``holdfast dev`` on DynamoDB Local serves the
API over HTTP while its stream poller feeds the demand-signals function as Lambda would; every
signal type arrives, and the CLI reads them back from the running API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from holdfast.domain.clock import to_iso
from holdfast_cli.local.dev_server import serve
from holdfast_cli.main import main
from tests.cli.http_client import call

pytestmark = pytest.mark.dynamodb_local

SKU, OTHER, DC = "FLASH_SNEAKER_GOLD_US8", "ACME_SOCKS_WHT", "MAIN_DC"


@pytest.fixture
def server(dynamodb_local_endpoint, clock):
    """The local API on a fresh table; the sweeper runs every half second on the test's clock."""
    running = serve(
        endpoint_url=dynamodb_local_endpoint,
        table=f"holdfast-signals-{uuid.uuid4().hex[:8]}",
        port=0,
        load_seed=False,
        sweep_seconds=0.5,
    )
    yield running
    running.shutdown()


def send(server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    return call(server.url + path, method, data)


def hold(server, ref: str, *lines: tuple[str, int]) -> dict[str, Any]:
    status, body = send(
        server,
        "POST",
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        },
    )
    assert status == 201, body
    return body


def signals_when(server, count: int, timeout: float = 60.0, **query: Any) -> list[dict[str, Any]]:
    """``GET /signals`` once the consumer has delivered at least ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = call(f"{server.url}/signals?{urlencode({'limit': 1000, **query})}")
        assert status == 200, body
        if len(body["items"]) >= count or time.monotonic() > deadline:
            return body["items"]
        time.sleep(0.25)


def test_every_signal_type_reaches_the_api_through_the_stream(server, clock, capsys, tmp_path):
    start = clock.now
    assert (
        send(
            server,
            "PUT",
            "/channels/ECOMMERCE",
            {"buffer": {"type": "NONE"}, "lowStockThreshold": 1},
        )[0]
        == 200
    )
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert send(server, "PUT", f"/locations/{DC}", location)[0] == 200
    assert send(server, "PUT", "/timers", {"globalMinutes": 15})[0] == 200
    feed = {
        "entities": [
            {"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 3},
            {"productRef": OTHER, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 10},
        ]
    }
    assert send(server, "POST", "/inventory/batch", feed)[0] == 200

    assert hold(server, "cart-1", (SKU, 1))["status"] == "ACTIVE"
    assert hold(server, "cart-2", (SKU, 1))["status"] == "ACTIVE"  # ATS 1: low stock
    assert hold(server, "cart-3", (SKU, 5))["status"] == "NO_OPTIONS"
    assert hold(server, "cart-4", (OTHER, 2))["status"] == "ACTIVE"
    clock.advance(seconds=20)
    order = {
        "ref": "ORD-1",
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": "cart-1",
        "lines": [{"productRef": SKU, "quantity": 1}],
    }
    assert send(server, "POST", "/orders", order)[0] == 201
    assert send(server, "DELETE", "/fulfilment-options/cart-2")[0] == 200
    clock.advance(minutes=16)  # cart-4 expires: the sweeper (every 0.5 s) releases it

    found = signals_when(server, 9)

    assert sorted((s["type"], s["productRef"], s.get("foRef")) for s in found) == sorted(
        [
            ("FO_CALL", SKU, "cart-1"),
            ("FO_CALL", SKU, "cart-2"),
            ("FO_CALL", SKU, "cart-3"),
            ("OUT_OF_STOCK", SKU, "cart-3"),
            ("FO_CALL", OTHER, "cart-4"),
            ("LOW_STOCK", SKU, None),
            ("CONVERSION", SKU, "cart-1"),
            ("CANCELLED", SKU, "cart-2"),
            ("ABANDONED", OTHER, "cart-4"),
        ],
        key=repr,
    )
    conversion = next(s for s in found if s["type"] == "CONVERSION")
    assert (conversion["orderRef"], conversion["secondsToConvert"]) == ("ORD-1", 20.0)

    window = [
        "--from",
        to_iso(start - timedelta(minutes=1)),
        "--to",
        to_iso(clock.now + timedelta(minutes=1)),
    ]
    assert main(["report", "funnel", "--api-url", server.url, "--json", *window]) == 0
    # The server runs in this process: its functions' EMF metric lines share stdout.
    (answer,) = [
        line for line in capsys.readouterr().out.splitlines() if not line.startswith('{"_aws"')
    ]
    rows = {row["productRef"]: row for row in json.loads(answer)["items"]}
    assert {
        k: rows[SKU][k]
        for k in ("foCalls", "holds", "orders", "abandoned", "refused", "outOfStock")
    } == {"foCalls": 3, "holds": 2, "orders": 1, "abandoned": 0, "refused": 1, "outOfStock": 5}
    assert (rows[OTHER]["holds"], rows[OTHER]["abandoned"], rows[OTHER]["abandonmentRate"]) == (
        2,
        1,
        1.0,
    )

    out = tmp_path / "signals.jsonl"
    assert main(["signals", "export", "--api-url", server.url, "--out", str(out), *window]) == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(s["id"] for s in exported) == sorted(s["id"] for s in found)
    assert [s["at"] for s in exported] == sorted(s["at"] for s in exported)


def test_the_dev_server_feeds_both_stream_functions(server):
    assert server.stream_poller is not None
    assert server.stream_poller.functions == ["HoldExpiryFunction", "DemandSignalsFunction"]
