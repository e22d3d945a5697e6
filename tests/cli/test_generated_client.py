"""A Python client generated from ``docs/openapi.json`` by openapi-python-client works against
``holdfast dev``: it holds stock, confirms and ships the order, reads availability, and parses
the errors into the documented error shape. Method names are the stable operationIds."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from holdfast_cli.local.dev_server import serve
from holdfast_cli.openapi import OPENAPI_PATH
from holdfast_cli.seed import MAIN_DC, PRODUCT

PACKAGE = "holdfast_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """The client generated into a temporary folder and imported from there."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run over the generated code
    generator = Path(sys.executable).with_name("openapi-python-client")
    finished = subprocess.run(
        [generator, "generate", "--path", OPENAPI_PATH, "--meta", "none",
         "--output-path", root / PACKAGE, "--config", config],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Warning" not in finished.stdout, finished.stdout  # every schema became a model
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def client(client_package):
    with serve(engine="moto", port=0, stream=False, schedules=False, log=None) as server:
        # holdfast dev checks no token; the deployed API's authorizer would.
        yield client_package.AuthenticatedClient(base_url=server.url, token="local", timeout=30)


def api(operation: str):
    return importlib.import_module(f"{PACKAGE}.api.{operation}")


def models():
    return importlib.import_module(f"{PACKAGE}.models")


def available(client) -> int:
    answer = api("availability.get_virtual_positions").sync(
        client=client,
        channel="ECOMMERCE",
        product_ref=[PRODUCT],
        location_ref=[MAIN_DC],
        type_=models().GetVirtualPositionsTypeType0.BASE,
    )
    assert isinstance(answer, models().VirtualPositionsResponse), answer
    return answer.items[0].quantity


def test_a_generated_client_holds_orders_and_reads_availability(client):
    m = models()
    before = available(client)
    cart = m.FulfilmentOptionRequest(
        ref="generated-client-cart-1",
        channel="ECOMMERCE",
        delivery_type=m.FulfilmentOptionRequestDeliverytype.HD,
        lines=[m.Line(product_ref=PRODUCT, quantity=2)],
    )

    created = api("fulfilment_options.create_fulfilment_option").sync_detailed(
        client=client, body=cart
    )
    assert created.status_code == 201
    assert created.parsed.status == m.FulfilmentOptionViewStatus.ACTIVE
    assert available(client) == before - 2

    order = m.OrderRequest(
        ref="generated-client-order-1",
        channel="ECOMMERCE",
        delivery_type=m.OrderRequestDeliverytype.HD,
        fulfilment_option_ref=cart.ref,
        lines=[m.Line(product_ref=PRODUCT, quantity=2)],
    )
    confirmed = api("orders.confirm_order").sync_detailed(client=client, body=order)
    assert confirmed.status_code == 201
    assert confirmed.parsed.converted_from_hold is True
    assert available(client) == before - 2

    shipped = api("orders.ship_order").sync(order.ref, client=client)
    assert shipped.status == m.OrderViewStatus.SHIPPED
    held = api("fulfilment_options.get_fulfilment_option").sync(cart.ref, client=client)
    assert held.status == m.FulfilmentOptionViewStatus.CONVERTED
    assert held.order_ref == order.ref


def test_a_generated_client_parses_errors_into_the_error_shape(client):
    m = models()
    missing = api("fulfilment_options.get_fulfilment_option").sync_detailed(
        "no-such-cart", client=client
    )
    assert missing.status_code == 404
    assert isinstance(missing.parsed, m.ErrorResponse)
    assert missing.parsed.error.code == "NOT_FOUND"

    too_many = m.OrderRequest(
        ref="generated-client-order-too-many",
        channel="ECOMMERCE",
        delivery_type=m.OrderRequestDeliverytype.HD,
        lines=[m.Line(product_ref=PRODUCT, quantity=10_000)],  # more than every location holds
    )
    refused = api("orders.confirm_order").sync_detailed(client=client, body=too_many)
    assert refused.status_code == 409
    assert refused.parsed.error.code == "OUT_OF_STOCK"
    assert refused.parsed.error.details[0]["productRef"] == PRODUCT
