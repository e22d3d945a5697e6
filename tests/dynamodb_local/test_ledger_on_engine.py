"""The ledger rules of docs/behaviour.md §2 on a real DynamoDB engine (DynamoDB Local), through the HTTP
path: snapshots and deltas, big batches, and many feeds racing on one position.

moto is neither atomic under threads nor fast with thousands of transactions (FACTS.md), so
the contention and volume checks live here.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from holdfast.domain.clock import to_iso
from holdfast.runtime import get_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.process_map import map_in_processes

pytestmark = pytest.mark.dynamodb_local

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
IP = f"{SKU}:{DC}:DEFAULT"
T0 = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return to_iso(T0 + timedelta(minutes=minutes))


def snapshot(quantity: int, minutes: float, product: str = SKU) -> dict[str, Any]:
    return {
        "productRef": product,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": quantity,
        "asOf": at(minutes),
    }


def delta(
    quantity: int, source_ref: str, minutes: float, product: str = SKU, kind: str = "DELTA"
) -> dict[str, Any]:
    return {
        "productRef": product,
        "locationRef": DC,
        "type": kind,
        "quantity": quantity,
        "sourceRef": source_ref,
        "asOf": at(minutes),
    }


def send(api: LocalApi, *entities: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.post("/inventory/batch", {"entities": list(entities)})
    assert response.status == 200, response.body
    return response.json()["results"]


def position(api: LocalApi, ref: str = IP) -> dict[str, Any]:
    response = api.get(f"/inventory-positions/{ref}", query={"limit": 1000})
    assert response.status == 200, response.body
    return response.json()


def statuses(api: LocalApi, ref: str = IP) -> dict[str, str]:
    return {q["iqRef"]: q["status"] for q in position(api, ref)["quantities"]}


def assert_counter_equals_ledger_sum(positions: int | None = None) -> None:
    checked, drift = get_runtime().inventory.reconcile()
    assert drift == []
    if positions is not None:
        assert checked == positions


# -- the rules on the engine ------------------------------------------------------------------


def test_snapshot_sets_onhand_and_a_later_one_supersedes_what_it_counts(
    local_api: LocalApi,
) -> None:
    [first] = send(local_api, snapshot(50, 0))
    assert (first["status"], first["onHand"]) == ("APPLIED", 50)
    send(
        local_api,
        delta(10, "rcpt-1", 60),
        delta(-3, "audit-1", 120, kind="CORRECTION"),
        delta(2, "rtn-1", 180, kind="RETURNED"),
        delta(4, "rcpt-2", 240),
    )
    assert position(local_api)["onHand"] == 63

    [later] = send(local_api, snapshot(30, 180))

    assert (later["status"], later["onHand"]) == ("APPLIED", 34)
    found = statuses(local_api)
    assert found[f"{IP}:LAST_ON_HAND"] == "ACTIVE"
    assert [
        found[f"{IP}:{ref}"]
        for ref in ("DELTA:rcpt-1", "CORRECTION:audit-1", "RETURNED:rtn-1", "DELTA:rcpt-2")
    ] == [
        "INACTIVE",
        "INACTIVE",
        "INACTIVE",
        "ACTIVE",
    ]
    assert_counter_equals_ledger_sum(1)


def test_snapshot_supersedes_the_previous_snapshot(local_api: LocalApi) -> None:
    send(local_api, snapshot(50, 0))

    [result] = send(local_api, snapshot(40, 60))

    assert (result["status"], result["onHand"]) == ("APPLIED", 40)


def test_stale_and_replayed_feeds_change_nothing(local_api: LocalApi) -> None:
    send(local_api, snapshot(50, 60), delta(5, "rcpt-1", 90))

    results = send(
        local_api,
        snapshot(99, 30),  # older than the current snapshot
        snapshot(50, 60),  # the same snapshot again
        delta(5, "rcpt-1", 90),  # the same delta again
        delta(6, "rcpt-1", 90),  # its sourceRef with another quantity
        delta(7, "late-1", 60),  # at the snapshot's asOf: already counted
        delta(7, "late-2", 10),  # before it
    )

    assert [r["status"] for r in results] == [
        "STALE",
        "UNCHANGED",
        "UNCHANGED",
        "INVALID",
        "STALE",
        "STALE",
    ]
    assert results[3]["details"] == [
        {"field": "sourceRef", "message": "already used with a different quantity"}
    ]
    assert position(local_api)["onHand"] == 55
    assert set(statuses(local_api)) == {f"{IP}:LAST_ON_HAND", f"{IP}:DELTA:rcpt-1"}
    assert_counter_equals_ledger_sum(1)


def test_snapshot_supersedes_more_events_than_one_transaction_holds(local_api: LocalApi) -> None:
    send(local_api, snapshot(1_000, 0))
    send(local_api, *[delta(-1, f"till-{n:03d}", 1 + n / 10) for n in range(150)])
    send(local_api, delta(3, "rcpt-after", 60))
    assert position(local_api)["onHand"] == 1_000 - 150 + 3

    [result] = send(local_api, snapshot(700, 30))

    assert (result["status"], result["onHand"]) == ("APPLIED", 703)
    found = statuses(local_api)
    assert (
        sum(1 for ref, status in found.items() if ":DELTA:till-" in ref and status == "INACTIVE")
        == 150
    )
    assert found[f"{IP}:DELTA:rcpt-after"] == "ACTIVE"
    assert_counter_equals_ledger_sum(1)


def test_batch_of_2000_entities_over_200_positions_is_all_applied(local_api: LocalApi) -> None:
    positions, events_each = 200, 9
    entities = []
    for p in range(positions):
        product = f"SKU_{p:03d}"
        entities.append(snapshot(100 + p, 0, product))
        entities.extend(delta(e + 1, f"rcpt-{e}", 10 + e, product) for e in range(events_each))
    assert len(entities) == 2_000

    started = time.monotonic()
    results = send(local_api, *entities)
    elapsed = time.monotonic() - started

    assert {r["status"] for r in results} == {"APPLIED"}
    expected = {f"SKU_{p:03d}": 100 + p + sum(range(1, events_each + 1)) for p in range(positions)}
    assert {r["productRef"]: r["onHand"] for r in results} == expected
    assert_counter_equals_ledger_sum(positions)
    assert elapsed < 120, f"2,000 entities took {elapsed:.1f} s"


# -- feeds racing on one position -------------------------------------------------------------

WORKERS = 8
BATCHES = 3
DELTAS_PER_BATCH = 8


@dataclass(frozen=True)
class Scenario:
    """Every worker's batches, and the onHand they must end at in any interleaving."""

    batches: list[list[list[dict[str, Any]]]]  # worker → batch → entities
    expected_on_hand: int


def racing_feeds() -> Scenario:
    """Each worker sends batches of DELTAs (distinct sourceRefs) and one snapshot each, all to
    one position. Whatever the order, the newest snapshot S ends current and the position holds
    S's count plus the deltas after S: an older delta is either superseded by S or refused as
    stale once S is there."""
    batches: list[list[list[dict[str, Any]]]] = []
    snapshots: list[tuple[float, int]] = []
    deltas: list[tuple[float, int]] = []
    for w in range(WORKERS):
        mine = []
        for b in range(BATCHES):
            entities = []
            for d in range(DELTAS_PER_BATCH):
                minutes = 10 + ((w * 37 + b * 11 + d * 7) % 300) + w / 100  # 08:10 .. 13:09
                quantity = (w + b + d) % 7 - 3 or 4
                deltas.append((minutes, quantity))
                entities.append(delta(quantity, f"w{w}-b{b}-d{d}", minutes))
            snap_minutes = 60 + w * 20 + b * 5 + 0.5  # distinct, and never a delta's time
            snap_count = 200 + 10 * w + b
            snapshots.append((snap_minutes, snap_count))
            entities.insert(DELTAS_PER_BATCH // 2, snapshot(snap_count, snap_minutes))
            mine.append(entities)
        batches.append(mine)
    newest_minutes, newest_count = max(snapshots)
    after = sum(q for minutes, q in deltas if minutes > newest_minutes)
    return Scenario(batches, newest_count + after)


def seed_position(api: LocalApi) -> None:
    send(api, snapshot(100, 0), delta(1, "opening-receipt", 1))


def send_worker_batches(batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """One worker: its batches in order, through the HTTP handler (runs in its own process)."""
    api = LocalApi()
    answers = []
    for entities in batches:
        response = api.post("/inventory/batch", {"entities": entities})
        answers.append(
            [{"status": response.status, "body": response.body}]
            if response.status != 200
            else response.json()["results"]
        )
    return answers


def failed_batches(
    scenario: Scenario, answers: list[list[list[dict[str, Any]]]]
) -> list[list[dict[str, Any]]]:
    """The batches that did not get a result per entity (the handler answered 500)."""
    failed = []
    for worker_batches, worker_answers in zip(scenario.batches, answers, strict=False):
        for entities, results in zip(worker_batches, worker_answers, strict=False):
            if len(results) != len(entities):
                failed.append(entities)
            else:
                assert {r["status"] for r in results} <= {"APPLIED", "STALE", "UNCHANGED"}, results
    return failed


def race_in_processes(scenario: Scenario) -> list[list[list[dict[str, Any]]]]:
    """Eight execution environments: forked processes, because Powertools keeps the current
    event process-wide, so one process serves one request at a time, as Lambda does."""
    return map_in_processes(send_worker_batches, scenario.batches, processes=WORKERS)


def race_in_threads(scenario: Scenario) -> list[list[list[dict[str, Any]]]]:
    """Eight threads of one process calling the feed service directly, sharing one runtime."""
    inventory = get_runtime().inventory

    def worker(batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        answers = []
        for entities in batches:
            try:
                answers.append([r.model_dump() for r in inventory.apply_batch(entities).results])
            except RuntimeError as error:  # what the handler turns into a 500
                answers.append([{"status": 500, "body": str(error)}])
        return answers

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(worker, scenario.batches))


@pytest.mark.parametrize("race", [race_in_processes, race_in_threads], ids=["processes", "threads"])
def test_racing_feeds_keep_counter_equal_to_ledger_sum_and_converge(
    local_api: LocalApi, race
) -> None:
    scenario = racing_feeds()
    seed_position(local_api)

    failed = failed_batches(scenario, race(scenario))

    # Whatever the race did, every committed write moved the counter with its IQ.
    assert_counter_equals_ledger_sum(1)
    # A feed client retries a batch that failed; replays are idempotent, so the position
    # ends where the newest snapshot and the deltas after it put it.
    for entities in failed:
        assert {r["status"] for r in send(local_api, *entities)} <= {
            "APPLIED",
            "STALE",
            "UNCHANGED",
        }
    assert position(local_api)["onHand"] == scenario.expected_on_hand
    assert_counter_equals_ledger_sum(1)


LIVE_SALES = 50


def test_a_count_applies_while_later_sales_keep_landing(
    local_api: LocalApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store keeps selling while its 09:00 count is uploaded. Those sales happened after the
    count, so the count supersedes none of them: they must not keep it from applying. Each time
    the feed reads the ledger to plan the count, another till sale lands (up to 50 of them)."""
    seed_position(local_api)
    runtime = get_runtime()
    read_ledger = runtime.table.get_ledger
    sales: list[str] = []

    def read_then_a_later_sale_lands(position_ref: str):
        found = read_ledger(position_ref)
        if len(sales) < LIVE_SALES:
            sales.append(f"till-{len(sales):03d}")
            [sale] = runtime.inventory.apply_batch([delta(-1, sales[-1], 120 + len(sales))]).results
            assert sale.status == "APPLIED"
        return found

    monkeypatch.setattr(runtime.table, "get_ledger", read_then_a_later_sale_lands)

    response = local_api.post("/inventory/batch", {"entities": [snapshot(80, 60)]})

    assert response.status == 200, response.body
    [result] = response.json()["results"]
    assert result["status"] == "APPLIED"
    assert result["onHand"] == 80 - len(sales)
    assert_counter_equals_ledger_sum(1)
