"""Faults on a real engine: timeouts after a write committed, throttling and
contention, stream records redelivered and out of order, the sweeper and the stream racing
for one hold, and crashes between the steps of multi-call operations. Nothing lost, nothing
doubled, and no client ever sees a 500.

Faults are botocore event hooks (``tests/faults.py``) on the runtime's DynamoDB client; the
requests go through the HTTP path (``LocalApi`` → handler → services → DynamoDB Local).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from holdfast.domain.clock import from_iso, to_iso
from holdfast.runtime import get_runtime
from holdfast.storage import timer_key
from holdfast_cli.local.api import ApiResponse, LocalApi
from tests.faults import INJECTED, Faults, LambdaCrash
from tests.figures import record_figures
from tests.stream_records import timer_deleted_by_ttl

pytestmark = pytest.mark.dynamodb_local

SKU = "FAULT_TEE_WHT_M"
OTHER = "FAULT_SOCK_BLK"
DC = "FAULT_DC"
IP = f"{SKU}:{DC}:DEFAULT"
STOCK = 10


@pytest.fixture(scope="module", autouse=True)
def report_faults():
    yield
    record_figures("faults", {"injected": dict(INJECTED), "total": sum(INJECTED.values())})


@pytest.fixture
def faults(local_api, clock):
    injector = Faults()
    yield injector
    injector.close()


@pytest.fixture
def shop(local_api: LocalApi, clock) -> LocalApi:
    assert local_api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert local_api.put(f"/locations/{DC}", location).status == 200
    assert local_api.put("/timers", {"globalMinutes": 15}).status == 200
    as_of = to_iso(clock.now - timedelta(minutes=30))
    stock = [
        {
            "productRef": p,
            "locationRef": DC,
            "type": "LAST_ON_HAND",
            "quantity": STOCK,
            "asOf": as_of,
        }
        for p in (SKU, OTHER)
    ]
    assert local_api.post("/inventory/batch", {"entities": stock}).status == 200
    return local_api


def cart(api: LocalApi, ref: str, quantity: int = 2) -> ApiResponse:
    return api.post(
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": quantity}],
        },
    )


def order(api: LocalApi, ref: str, quantity: int = 2, fo_ref: str | None = None) -> ApiResponse:
    body = {
        "ref": ref,
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "lines": [{"productRef": SKU, "quantity": quantity}],
    }
    if fo_ref:
        body["fulfilmentOptionRef"] = fo_ref
    return api.post("/orders", body)


def feed(api: LocalApi, *entities: dict[str, Any]) -> ApiResponse:
    return api.post("/inventory/batch", {"entities": list(entities)})


def on_hand(api: LocalApi, ref: str = IP) -> int:
    return api.get(f"/inventory-positions/{ref}").json()["onHand"]


def active_iqs(api: LocalApi, kind: str, ref: str = IP) -> list[dict[str, Any]]:
    return [
        q
        for q in api.get(f"/inventory-positions/{ref}", query={"limit": 1000}).json()["quantities"]
        if q["type"] == kind and q["status"] == "ACTIVE"
    ]


def stored_status(kind: str, ref: str) -> str:
    table = get_runtime().table
    stored = table.get_cart(ref) if kind == "FO" else table.get_order(ref)
    assert stored is not None, (kind, ref)
    return stored.status


def assert_reconciled() -> None:
    checked, drift = get_runtime().inventory.reconcile()
    assert checked >= 1 and drift == []


def assert_unavailable(response: ApiResponse) -> None:
    assert response.status == 503, response.body
    error = response.json()["error"]
    assert error["code"] == "UNAVAILABLE" and "Traceback" not in response.body


# -- every kind of write, one after another, each meeting a fault --------------------------------


@dataclass(frozen=True)
class Step:
    """One write of a shop's day and the onHand it leaves."""

    name: str
    act: Callable[[LocalApi], ApiResponse]
    on_hand: int


def receipt(api: LocalApi) -> ApiResponse:
    return feed(
        api,
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": 5,
            "sourceRef": "rcpt-1",
        },
    )


A_DAY = [
    Step("receipt", receipt, STOCK + 5),
    Step("hold", lambda api: cart(api, "cart-1"), STOCK + 3),
    Step("order from the cart", lambda api: order(api, "order-1", 2, "cart-1"), STOCK + 3),
    Step("ship", lambda api: api.post("/orders/order-1/ship"), STOCK + 3),
    Step("return", lambda api: api.post("/orders/order-1/return"), STOCK + 5),
    Step("another hold", lambda api: cart(api, "cart-2", 4), STOCK + 1),
    Step("cancel the cart", lambda api: api.delete("/fulfilment-options/cart-2"), STOCK + 5),
    Step("order afresh", lambda api: order(api, "order-2", 3), STOCK + 2),
    Step("cancel the order", lambda api: api.post("/orders/order-2/cancel"), STOCK + 5),
]
"""Every write path: after it, the ledger holds one IQ per write, whatever was retried."""

LEDGER_AFTER_A_DAY = {
    ("DELTA", "rcpt-1", "ACTIVE"),
    ("SOFT_RESERVE", "cart-1", "INACTIVE"),
    ("RESERVED", "order-1", "INACTIVE"),
    ("SALE", "order-1", "ACTIVE"),
    ("RETURNED", "order-1", "ACTIVE"),
    ("SOFT_RESERVE", "cart-2", "INACTIVE"),
    ("RESERVED", "order-2", "INACTIVE"),
}


def assert_one_iq_per_write(api: LocalApi) -> None:
    quantities = api.get(f"/inventory-positions/{IP}", query={"limit": 1000}).json()["quantities"]
    found = [
        (q["type"], q["sourceRef"], q["status"]) for q in quantities if q["type"] != "LAST_ON_HAND"
    ]
    assert sorted(found) == sorted(LEDGER_AFTER_A_DAY)
    assert [stored_status("FO", "cart-1"), stored_status("FO", "cart-2")] == [
        "CONVERTED",
        "CANCELLED",
    ]
    assert [stored_status("ORDER", "order-1"), stored_status("ORDER", "order-2")] == [
        "RETURNED",
        "CANCELLED",
    ]


def test_a_timeout_after_each_committed_write_is_a_503_and_the_retry_changes_nothing_more(
    shop, faults
):
    for step in A_DAY:
        faults.timeout_after_commit("TransactWriteItems")

        first = step.act(shop)
        again = step.act(shop)

        assert_unavailable(first)
        assert again.status in (200, 201), (step.name, again.body)
        if "results" in again.json():
            assert again.json()["results"][0]["status"] == "UNCHANGED", step.name
        assert on_hand(shop) == step.on_hand, step.name
    assert faults.injected["timeout after commit"] == len(A_DAY)
    assert_one_iq_per_write(shop)
    assert_reconciled()


def test_one_contention_cancellation_on_each_write_neither_loses_nor_misreports_it(shop, faults):
    # Before commit retried, a TransactionConflict read as a failed condition: a receipt came
    # back UNCHANGED and was never counted, a hold a 409 "vanished", a cancel answered 200
    # with the cart still ACTIVE, a ship a 409.
    for step in A_DAY:
        faults.cancel("TransactWriteItems", "TransactionConflict", times=1)

        response = step.act(shop)

        assert response.status in (200, 201), (step.name, response.body)
        if "results" in response.json():
            assert response.json()["results"][0]["status"] == "APPLIED", step.name
        assert on_hand(shop) == step.on_hand, step.name
    assert faults.injected["TransactionConflict"] == len(A_DAY)
    assert_one_iq_per_write(shop)
    assert_reconciled()


def test_a_retried_snapshot_after_a_timeout_is_unchanged(shop, faults, clock):
    snapshot = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 25,
        "asOf": to_iso(clock.now),
    }
    faults.timeout_after_commit("TransactWriteItems")

    first = feed(shop, snapshot)
    again = feed(shop, snapshot)

    assert_unavailable(first)
    assert again.json()["results"][0]["status"] == "UNCHANGED"
    assert on_hand(shop) == 25
    assert_reconciled()


def test_a_retried_extend_after_a_timeout_extends_once(shop, faults):
    created = cart(shop, "cart-1").json()
    faults.timeout_after_commit("TransactWriteItems")

    first = shop.post("/fulfilment-options/cart-1/extend")
    again = shop.post("/fulfilment-options/cart-1/extend")

    assert_unavailable(first)
    # Extend carries no request id: the retry cannot be told from a second extend, which the
    # contract refuses. The one extension is there, once.
    assert again.status == 409, again.body
    view = shop.get("/fulfilment-options/cart-1").json()
    assert view["extended"] is True
    assert from_iso(view["expiresAt"]) == from_iso(created["expiresAt"]) + timedelta(minutes=15)
    assert on_hand(shop) == STOCK - 2


# -- throttling and contention ----------------------------------------------------------------


def test_transactions_cancelled_for_throttling_or_contention_are_retried_unseen(shop, faults):
    codes = ["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"]
    for n, code in enumerate(codes, start=1):
        faults.cancel("TransactWriteItems", code, times=3)

        response = cart(shop, f"cart-{n}")

        assert response.status == 201 and response.json()["status"] == "ACTIVE", (
            code,
            response.body,
        )
        assert faults.injected[code] == 3
        assert on_hand(shop) == STOCK - 2 * n
    assert_reconciled()


def test_an_expiry_met_by_contention_still_releases_the_hold(shop, faults, clock):
    assert cart(shop, "cart-1").json()["status"] == "ACTIVE"
    clock.advance(minutes=16)
    faults.cancel("TransactWriteItems", "TransactionConflict", times=1)

    answer = shop.invoke("HoldExpiryFunction", {"Records": [timer_deleted_by_ttl("cart-1", 1)]})

    assert answer == {"batchItemFailures": []}
    assert stored_status("FO", "cart-1") == "EXPIRED"
    assert on_hand(shop) == STOCK


def test_contention_that_never_clears_is_a_503_and_writes_nothing(shop, faults):
    # Before commit retried, this cart was answered NO_OPTIONS (and recorded as out-of-stock
    # demand) with ten units on the shelf.
    faults.cancel("TransactWriteItems", "TransactionConflict", times=1000)

    response = cart(shop, "cart-1")

    assert_unavailable(response)
    faults.close()
    assert shop.get("/fulfilment-options/cart-1").status == 404
    assert on_hand(shop) == STOCK
    assert cart(shop, "cart-1").status == 201  # the client's retry, once it clears


def test_reads_throttled_past_botocores_retries_are_a_503_not_a_500(shop, faults):
    assert cart(shop, "cart-1").status == 201
    reads = {
        "GetItem": ("/fulfilment-options/cart-1", None),
        "Query": (f"/inventory-positions/{IP}", None),
        "BatchGetItem": (
            "/virtual-positions",
            {"channel": "ECOMMERCE", "productRef": SKU, "locationRef": DC},
        ),
    }
    for operation, (path, query) in reads.items():
        faults.cancel(operation, "ProvisionedThroughputExceededException", times=1000)

        response = shop.get(path, query=query)

        assert_unavailable(response)
        faults.close()
    assert faults.injected["ProvisionedThroughputExceededException"] == 3
    faults.cancel(
        "GetItem", "ValidationException", times=1
    )  # a bug, not "not now": stays a logged 500
    response = shop.get("/fulfilment-options/cart-1")
    assert response.status == 500 and response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "Traceback" not in response.body and "ValidationException" not in response.body


# -- the expiry stream: redelivered, out of order, racing the sweeper ------------------------


def test_expiry_records_redelivered_and_out_of_order_release_each_hold_once(shop, clock):
    for ref in ("cart-a", "cart-b", "cart-c"):
        assert cart(shop, ref, 1).json()["status"] == "ACTIVE"
    clock.advance(minutes=10)
    assert (
        cart(shop, "cart-late", 1).json()["status"] == "ACTIVE"
    )  # due 10 minutes after the others
    clock.advance(minutes=6)
    records = [
        timer_deleted_by_ttl(ref, n)
        for n, ref in enumerate(["cart-c", "cart-late", "cart-b", "cart-a", "cart-a", "cart-c"])
    ]
    table = get_runtime().table
    for ref in (
        "cart-a",
        "cart-b",
        "cart-c",
        "cart-late",
    ):  # what the records say: TTL deleted them
        table._client.delete_item(TableName=table.table_name, Key=timer_key(ref))
    assert table.overdue_holds(clock.now + timedelta(minutes=10), 10) == []

    first = shop.invoke("HoldExpiryFunction", {"Records": records})
    again = shop.invoke("HoldExpiryFunction", {"Records": list(reversed(records))})

    assert first == again == {"batchItemFailures": []}
    assert [stored_status("FO", r) for r in ("cart-a", "cart-b", "cart-c", "cart-late")] == [
        "EXPIRED"
    ] * 3 + ["ACTIVE"]
    assert on_hand(shop) == STOCK - 1  # only cart-late still holds
    assert table.overdue_holds(clock.now + timedelta(minutes=10), 10) == ["cart-late"], (
        "its timer is put back"
    )
    assert_reconciled()


def test_the_sweeper_and_the_stream_racing_for_the_same_holds_release_each_once(shop, clock):
    """Threads calling the services directly: ``HoldService`` keeps no per-request state and
    boto3 clients are thread-safe, so, unlike the HTTP handlers, the services can be raced in
    one process; the transaction's conditions decide which path releases each hold."""
    refs = [f"cart-{i:02d}" for i in range(9)]
    for ref in refs:
        assert cart(shop, ref, 1).json()["status"] == "ACTIVE"
    clock.advance(minutes=16)
    holds = get_runtime().holds
    jobs: list[Callable[[], int]] = [lambda: holds.sweep()[1] for _ in range(3)]
    jobs += [lambda ref=ref: int(holds.release_timer_deleted(ref)) for ref in refs * 2]
    jobs += [lambda ref=ref: int(holds.release_expired(ref)) for ref in refs]
    random.Random(7).shuffle(jobs)

    with ThreadPoolExecutor(max_workers=8) as pool:
        released = sum(pool.map(lambda job: job(), jobs))

    assert released == len(refs), f"{released} releases for {len(refs)} holds"
    assert on_hand(shop) == STOCK
    assert active_iqs(shop, "SOFT_RESERVE") == []
    assert_reconciled()


# -- a crash between the steps of a multi-call operation -----------------------------------------


def test_a_snapshot_that_dies_after_its_fence_is_applied_once_by_its_retry(shop, faults, clock):
    as_of = clock.now - timedelta(minutes=5)
    snapshot = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 40,
        "asOf": to_iso(as_of),
    }
    faults.crash(
        "Query", matching="IQ#"
    )  # fence written; dies reading the ledger it would supersede

    with pytest.raises(LambdaCrash):
        feed(shop, snapshot)

    later = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "DELTA",
        "quantity": 3,
        "sourceRef": "rcpt-after",
        "asOf": to_iso(clock.now),
    }
    counted = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "DELTA",
        "quantity": 7,
        "sourceRef": "rcpt-before",
        "asOf": to_iso(as_of - timedelta(minutes=1)),
    }
    assert [r["status"] for r in feed(shop, later, counted).json()["results"]] == [
        "APPLIED",
        "STALE",
    ]
    assert cart(shop, "cart-1", 2).json()["status"] == "ACTIVE"  # holds land under a dead fence
    assert on_hand(shop) == STOCK + 3 - 2
    assert [r["status"] for r in feed(shop, snapshot).json()["results"]] == [
        "APPLIED"
    ]  # the feeder's retry
    assert [r["status"] for r in feed(shop, snapshot).json()["results"]] == ["UNCHANGED"]
    assert on_hand(shop) == 40 + 3 - 2
    assert faults.injected["crash before Query"] == 1
    assert_reconciled()


def test_a_snapshot_that_dies_while_marking_what_it_superseded_loses_nothing(shop, faults, clock):
    receipts = [
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "DELTA",
            "quantity": 1,
            "sourceRef": f"r-{i:03d}",
            "asOf": to_iso(clock.now - timedelta(minutes=20, seconds=-i)),
        }
        for i in range(100)
    ]
    assert {r["status"] for r in feed(shop, *receipts).json()["results"]} == {"APPLIED"}
    assert on_hand(shop) == STOCK + 100
    snapshot = {
        "productRef": SKU,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": 60,
        "asOf": to_iso(clock.now),
    }
    faults.crash(
        "UpdateItem", matching=":inactive"
    )  # the transaction committed; the rest are marked after it

    with pytest.raises(LambdaCrash):
        feed(shop, snapshot)

    assert on_hand(shop) == 60
    assert_reconciled()  # the unmarked receipts are already out of the sum: the snapshot counts them
    assert [r["status"] for r in feed(shop, snapshot).json()["results"]] == ["UNCHANGED"]
    assert active_iqs(shop, "DELTA") == []
    assert faults.injected["crash before UpdateItem"] == 1


def test_a_hold_that_dies_after_reclaiming_an_expired_hold_is_retried_without_a_second_release(
    shop, faults, clock
):
    assert cart(shop, "cart-old", STOCK).json()["status"] == "ACTIVE"
    clock.advance(minutes=16)
    faults.crash(
        "TransactWriteItems", matching="EXPIRED", after=True
    )  # the reclaim's release commits, then death

    with pytest.raises(LambdaCrash):
        cart(shop, "cart-new", 3)

    assert stored_status("FO", "cart-old") == "EXPIRED"
    assert on_hand(shop) == STOCK
    retried = cart(shop, "cart-new", 3)
    assert retried.status == 201 and retried.json()["status"] == "ACTIVE", retried.body
    assert on_hand(shop) == STOCK - 3
    assert faults.injected["crash after TransactWriteItems"] == 1
    assert_reconciled()


def test_a_feed_batch_that_dies_halfway_is_completed_by_its_retry_without_doubles(
    shop, faults, monkeypatch
):
    entities = [
        {
            "productRef": f"FAULT_SKU_{i}",
            "locationRef": DC,
            "type": "DELTA",
            "quantity": i + 1,
            "sourceRef": f"asn-{i}",
        }
        for i in range(4)
    ]
    faults.crash("TransactWriteItems", matching="FAULT_SKU_2", after=True)

    with pytest.raises(LambdaCrash):
        feed(shop, *entities)

    results = feed(shop, *entities).json()["results"]

    assert {r["status"] for r in results} <= {"APPLIED", "UNCHANGED"}
    assert [r["status"] for r in results].count(
        "UNCHANGED"
    ) >= 1  # at least the one that died after committing
    assert [on_hand(shop, f"FAULT_SKU_{i}:{DC}:DEFAULT") for i in range(4)] == [1, 2, 3, 4]
    assert_reconciled()


def test_an_order_that_dies_after_converting_the_cart_answers_its_retry_with_the_order(
    shop, faults
):
    assert cart(shop, "cart-1").json()["status"] == "ACTIVE"
    faults.crash("TransactWriteItems", matching="CONVERTED", after=True)

    with pytest.raises(LambdaCrash):
        order(shop, "order-1", 2, "cart-1")

    retried = order(shop, "order-1", 2, "cart-1")
    assert retried.status == 200, retried.body
    assert retried.json()["convertedFromHold"] is True
    assert on_hand(shop) == STOCK - 2
    assert len(active_iqs(shop, "RESERVED")) == 1 and active_iqs(shop, "SOFT_RESERVE") == []
    assert_reconciled()
