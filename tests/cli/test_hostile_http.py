"""Limits and hostile bodies over real HTTP through ``holdfast dev``: each refused request is
answered in the error shape of docs/behaviour.md §9, names what was wrong, and writes nothing.

The in-process versions of most of these live in ``tests/integration/test_bad_input.py`` and
``test_hold_bad_input.py``; these prove the same through the socket a client uses.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlencode

import pytest

from holdfast.models import MAX_BATCH_ENTITIES, MAX_LINES
from holdfast.settings import Settings
from holdfast_cli.local.dev_server import serve
from holdfast_cli.seed import EXAMPLE_POSITION, MAIN_DC, PRODUCT
from tests.cli.http_client import assert_error_shape, call
from tests.cli.write_counter import counting_writes

LAYER_BODY_LIMIT = Settings.model_fields["max_body_bytes"].default
MAX_PRODUCTS, MAX_LOCATIONS = 100, 50  # functions/availability/app.py


@pytest.fixture(scope="module")
def server():
    """``holdfast dev`` on moto, seeded; no sweeper, so only requests write."""
    with serve(engine="moto", port=0, stream=False, schedules=False, log=None) as dev:
        yield dev


@pytest.fixture(scope="module")
def writes(server):
    with counting_writes() as counter:
        yield counter


def test_the_write_counter_sees_the_handlers_writes(server, writes):
    """Guards every "writes nothing" below: an accepted configuration change is counted."""
    before = writes.count
    status, _ = call(f"{server.url}/products/HOSTILE_GUARD", "PUT", b'{"category": "GUARD"}')

    assert status == 200
    assert writes.count > before


def on_hand(server) -> int:
    status, body = call(f"{server.url}/inventory-positions/{EXAMPLE_POSITION}")
    assert status == 200
    return body["onHand"]


def refused(server, writes, method: str, path: str, body: bytes | None, status: int, code: str):
    """Send the request; assert the status, the error shape and that nothing was written."""
    before, stock = writes.count, on_hand(server)
    answer_status, answer = call(f"{server.url}{path}", method, body)

    assert answer_status == status, answer
    assert_error_shape(answer, code)
    assert writes.count == before, "a refused request wrote to the table"
    assert on_hand(server) == stock
    return answer["error"]


def delta(n: int) -> dict:
    return {
        "productRef": PRODUCT,
        "locationRef": MAIN_DC,
        "type": "DELTA",
        "quantity": 1,
        "sourceRef": f"HOSTILE-{n}",
    }


def lines(count: int) -> list[dict]:
    return [{"productRef": f"SKU_{n}", "quantity": 1} for n in range(count)]


def cart(count: int) -> dict:
    return {
        "ref": "cart-hostile",
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": lines(count),
    }


def order(count: int) -> dict:
    return {
        "ref": "ORD-hostile",
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": lines(count),
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/inventory/batch", {"entities": [delta(0)]}),
        ("POST", "/fulfilment-options", cart(1)),
        ("PUT", "/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}),
    ],
    ids=["feed", "hold", "channel"],
)
def test_a_body_over_the_layer_limit_is_413_and_writes_nothing(server, writes, method, path, body):
    padded = json.dumps(body)[:-1] + ', "pad": "' + "x" * LAYER_BODY_LIMIT + '"}'

    error = refused(server, writes, method, path, padded.encode(), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/inventory/batch",
            {"entities": [delta(n) for n in range(MAX_BATCH_ENTITIES + 1)]},
            "entities",
        ),
        ("POST", "/fulfilment-options", cart(MAX_LINES + 1), "lines"),
        ("POST", "/orders", order(MAX_LINES + 1), "lines"),
        (
            "PUT",
            "/channels/ECOMMERCE",
            {"buffer": {"type": "NONE"}, "excludedLocations": [f"L{n}" for n in range(1001)]},
            "excludedLocations",
        ),
    ],
    ids=["feed-entities", "hold-lines", "order-lines", "channel-exclusions"],
)
def test_a_count_over_its_limit_is_422_naming_the_field_and_writes_nothing(
    server, writes, method, path, body, field
):
    encoded = json.dumps(body).encode()
    assert len(encoded) < LAYER_BODY_LIMIT  # refused for the count, not the size

    error = refused(server, writes, method, path, encoded, 422, "INVALID_INPUT")
    assert field in {detail["field"] for detail in error["details"]}


@pytest.mark.parametrize(
    ("parameter", "count"), [("productRef", MAX_PRODUCTS + 1), ("locationRef", MAX_LOCATIONS + 1)]
)
def test_an_availability_query_over_its_ref_limit_is_422_naming_the_parameter(
    server, writes, parameter, count
):
    query = {
        "channel": "ECOMMERCE",
        "productRef": PRODUCT,
        parameter: [f"R{n}" for n in range(count)],
    }
    path = "/virtual-positions?" + urlencode(query, doseq=True)

    error = refused(server, writes, "GET", path, None, 422, "INVALID_INPUT")
    assert parameter in {detail["field"] for detail in error["details"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/inventory/batch"),
        ("POST", "/fulfilment-options"),
        ("POST", "/orders"),
        ("PUT", "/timers"),
        ("POST", "/orders/FUL_456/cancel"),
    ],
)
@pytest.mark.parametrize(
    "body", [b'{"ref": "\x99"}', b"\xff\xfe{\x00"], ids=["bad-byte", "utf16-bom"]
)
def test_a_json_body_that_is_not_utf8_is_422_naming_the_body_and_writes_nothing(
    server, writes, method, path, body
):
    error = refused(server, writes, method, path, body, 422, "INVALID_INPUT")
    assert error["details"] == [{"field": "body", "message": "malformed JSON: not UTF-8 text"}]


@pytest.mark.parametrize(("method", "path"), [("POST", "/orders"), ("POST", "/inventory/batch")])
def test_json_nested_thousands_deep_is_422_naming_the_body_and_writes_nothing(
    server, writes, method, path
):
    body = ('{"entities": ' + "[" * 50_000 + "]" * 50_000 + "}").encode()
    error = refused(server, writes, method, path, body, 422, "INVALID_INPUT")
    assert error["details"] == [{"field": "body", "message": "malformed JSON: nested too deeply"}]


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "BREW"])
def test_a_method_no_route_has_is_404_in_the_error_shape_as_api_gateway_answers(server, method):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, "/timers")
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read())
    finally:
        connection.close()

    assert status == 404
    assert_error_shape(body, "NOT_FOUND")


def test_tens_of_clients_connecting_at_once_are_all_answered_without_a_retry(server):
    """The listen backlog holds a burst of connections. With socketserver's default of 5 the
    kernel dropped the handshakes past it (each client then waits a second to retry, or is
    reset: 8 of 40 load-run clients were), so every connect must complete at once."""
    clients = 60
    barrier = threading.Barrier(clients)
    statuses: list[int | str] = []
    connect_seconds: list[float] = []

    def connect_and_ask() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            barrier.wait()
            began = time.perf_counter()
            connection.connect()  # the kernel's handshake: no wait for the server's threads
            connect_seconds.append(time.perf_counter() - began)
            connection.request("GET", "/timers")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        except OSError as error:
            statuses.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=connect_and_ask) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * clients
    assert max(connect_seconds) < 0.9  # a dropped handshake is retried after 1 s
