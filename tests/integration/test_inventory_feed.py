"""Stock feeds through ``POST /inventory/batch`` (docs/behaviour.md §2): snapshots, deltas and what a
snapshot supersedes, through the real handler on a moto table."""

from __future__ import annotations

import os
from typing import Any

import pytest

from holdfast.runtime import get_runtime

SKU = "ACME_SNEAKER_BLK_US9"
DC = "MAIN_DC"
IP = f"{SKU}:{DC}:DEFAULT"


def at(hour: int, minute: int = 0) -> str:
    return f"2024-03-15T{hour:02d}:{minute:02d}:00.000Z"


def snapshot(quantity: int, as_of: str, product: str = SKU, location: str = DC) -> dict[str, Any]:
    return {
        "productRef": product,
        "locationRef": location,
        "type": "LAST_ON_HAND",
        "quantity": quantity,
        "asOf": as_of,
    }


def event(
    kind: str,
    quantity: Any,
    source_ref: str,
    as_of: str | None = None,
    product: str = SKU,
    location: str = DC,
) -> dict[str, Any]:
    entity = {
        "productRef": product,
        "locationRef": location,
        "type": kind,
        "quantity": quantity,
        "sourceRef": source_ref,
    }
    if as_of is not None:
        entity["asOf"] = as_of
    return entity


def send(api, *entities: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.post("/inventory/batch", {"entities": list(entities)})
    assert response.status == 200, response.body
    body = response.json()
    assert [r["index"] for r in body["results"]] == list(range(len(entities)))
    return body["results"]


def position(api, ref: str = IP) -> dict[str, Any]:
    response = api.get(f"/inventory-positions/{ref}")
    assert response.status == 200, response.body
    return response.json()


def ledger(api, ref: str = IP) -> dict[str, tuple[str, int, str]]:
    """iqRef → (type, quantity, status)."""
    return {
        q["iqRef"]: (q["type"], q["quantity"], q["status"])
        for q in position(api, ref)["quantities"]
    }


def table_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def assert_counter_equals_ledger_sum() -> None:
    _, drift = get_runtime().inventory.reconcile()
    assert drift == []


# -- snapshots ------------------------------------------------------------------------------


def test_snapshot_sets_onhand(api) -> None:
    [result] = send(api, snapshot(50, at(8)))

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 50
    assert result["iqRef"] == f"{IP}:LAST_ON_HAND"
    ip = position(api)
    assert (ip["ref"], ip["productRef"], ip["locationRef"], ip["catalogue"]) == (
        IP,
        SKU,
        DC,
        "DEFAULT",
    )
    assert ip["onHand"] == 50
    assert ip["lastSnapshotAsOf"] == at(8)
    assert ledger(api) == {f"{IP}:LAST_ON_HAND": ("LAST_ON_HAND", 50, "ACTIVE")}


def test_snapshot_supersedes_the_previous_snapshot(api) -> None:
    send(api, snapshot(50, at(8)))

    [result] = send(api, snapshot(40, at(9)))

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 40
    ip = position(api)
    assert ip["onHand"] == 40
    active = [(q["type"], q["quantity"]) for q in ip["quantities"] if q["status"] == "ACTIVE"]
    inactive = [(q["type"], q["quantity"]) for q in ip["quantities"] if q["status"] == "INACTIVE"]
    assert active == [("LAST_ON_HAND", 40)]
    assert inactive == [("LAST_ON_HAND", 50)]
    assert_counter_equals_ledger_sum()


def test_snapshot_supersedes_deltas_corrections_and_returns_at_or_before_its_as_of(api) -> None:
    send(
        api,
        snapshot(50, at(8)),
        event("DELTA", 10, "rcpt-1", at(9)),
        event("CORRECTION", -3, "audit-1", at(10)),
        event("RETURNED", 2, "rtn-1", at(11)),  # exactly at the new snapshot's asOf
        event("DELTA", 4, "rcpt-2", at(12)),  # after it
    )
    assert position(api)["onHand"] == 50 + 10 - 3 + 2 + 4

    [result] = send(api, snapshot(30, at(11)))

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 30 + 4
    ip = position(api)
    assert ip["onHand"] == 34
    assert ip["lastSnapshotAsOf"] == at(11)
    quantities = ledger(api)
    assert quantities[f"{IP}:LAST_ON_HAND"] == ("LAST_ON_HAND", 30, "ACTIVE")
    assert quantities[f"{IP}:DELTA:rcpt-1"] == ("DELTA", 10, "INACTIVE")
    assert quantities[f"{IP}:CORRECTION:audit-1"] == ("CORRECTION", -3, "INACTIVE")
    assert quantities[f"{IP}:RETURNED:rtn-1"] == ("RETURNED", 2, "INACTIVE")
    assert quantities[f"{IP}:DELTA:rcpt-2"] == ("DELTA", 4, "ACTIVE")
    previous = [
        v for k, v in quantities.items() if v[0] == "LAST_ON_HAND" and k != f"{IP}:LAST_ON_HAND"
    ]
    assert previous == [("LAST_ON_HAND", 50, "INACTIVE")]
    assert sum(q for _, q, status in quantities.values() if status == "ACTIVE") == 34
    assert_counter_equals_ledger_sum()


def test_stale_snapshot_is_refused_and_changes_nothing(api, moto_table) -> None:
    send(api, snapshot(50, at(10)), event("DELTA", 5, "rcpt-1", at(11)))
    before = table_items(moto_table)

    [result] = send(api, snapshot(99, at(9)))

    assert result["status"] == "STALE"
    assert "asOf" in result["message"]
    assert result["onHand"] == 55
    assert table_items(moto_table) == before
    assert position(api)["onHand"] == 55


def test_replayed_snapshot_is_unchanged(api, moto_table) -> None:
    send(api, snapshot(50, at(8)), event("DELTA", 5, "rcpt-1", at(9)))
    before = table_items(moto_table)

    results = send(api, snapshot(50, at(8)), snapshot(50, at(8)))

    assert [r["status"] for r in results] == ["UNCHANGED", "UNCHANGED"]
    assert [r["onHand"] for r in results] == [55, 55]
    assert table_items(moto_table) == before


# -- deltas, corrections, returns -----------------------------------------------------------


def test_delta_replayed_with_the_same_source_ref_is_unchanged(api, moto_table) -> None:
    send(api, snapshot(50, at(8)), event("DELTA", 7, "rcpt-1", at(9)))
    before = table_items(moto_table)

    [result] = send(api, event("DELTA", 7, "rcpt-1", at(9)))

    assert result["status"] == "UNCHANGED"
    assert result["onHand"] == 57
    assert table_items(moto_table) == before


def test_delta_reusing_a_source_ref_with_another_quantity_is_invalid_naming_source_ref(
    api, moto_table
) -> None:
    send(api, snapshot(50, at(8)), event("DELTA", 7, "rcpt-1", at(9)))
    before = table_items(moto_table)

    [result] = send(api, event("DELTA", 8, "rcpt-1", at(9)))

    assert result["status"] == "INVALID"
    assert [d["field"] for d in result["details"]] == ["sourceRef"]
    assert table_items(moto_table) == before
    assert position(api)["onHand"] == 57


@pytest.mark.parametrize("as_of", [at(10), at(9)], ids=["at-the-snapshot", "before-the-snapshot"])
@pytest.mark.parametrize("kind", ["DELTA", "CORRECTION", "RETURNED"])
def test_event_at_or_before_the_current_snapshot_is_stale(
    api, moto_table, kind: str, as_of: str
) -> None:
    send(api, snapshot(50, at(8)), event("DELTA", 1, "rcpt-0", at(8, 30)), snapshot(40, at(10)))
    before = table_items(moto_table)

    [result] = send(api, event(kind, 3, "late-1", as_of))

    assert result["status"] == "STALE"
    assert result["onHand"] == 40
    assert table_items(moto_table) == before


def test_delta_without_as_of_happens_now_after_the_snapshot(api) -> None:
    send(api, snapshot(50, at(8)))

    [result] = send(api, event("DELTA", -4, "transfer-out-1"))

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 46


def test_corrections_and_returns_move_onhand_by_their_signed_quantity(api) -> None:
    send(api, snapshot(50, at(8)))

    results = send(
        api,
        event("CORRECTION", -6, "audit-1", at(9)),
        event("RETURNED", 2, "rtn-1", at(10)),
        event("CORRECTION", 1, "audit-2", at(11)),
    )

    assert [r["status"] for r in results] == ["APPLIED"] * 3
    assert position(api)["onHand"] == 50 - 6 + 2 + 1
    assert_counter_equals_ledger_sum()


def test_delta_before_any_snapshot_creates_the_position(api) -> None:
    [result] = send(api, event("DELTA", 12, "rcpt-1", at(9)))

    assert result["status"] == "APPLIED"
    assert result["onHand"] == 12
    assert ledger(api) == {f"{IP}:DELTA:rcpt-1": ("DELTA", 12, "ACTIVE")}


def test_as_of_in_the_future_is_invalid(api, moto_table) -> None:
    before = table_items(moto_table)

    [result] = send(api, snapshot(50, "2999-01-01T00:00:00Z"))

    assert result["status"] == "INVALID"
    assert [d["field"] for d in result["details"]] == ["asOf"]
    assert table_items(moto_table) == before


# -- batches --------------------------------------------------------------------------------


def test_batch_applies_the_valid_entities_and_reports_each_invalid_one(api) -> None:
    results = send(
        api,
        snapshot(50, at(8)),
        event("DELTA", "5", "rcpt-1", at(9)),  # a string is not a quantity
        event("DELTA", 5, "rcpt-2", at(9)),
        {**snapshot(10, at(8)), "productRef": "ACME:SNEAKER"},
        event("DELTA", 3, "late-1", at(7)),  # before the snapshot: already counted
        event("RETURNED", 0, "rtn-1", at(9)),
        {"productRef": SKU, "locationRef": DC, "type": "DELTA", "quantity": 1},  # no sourceRef
        {
            "productRef": SKU,
            "locationRef": DC,
            "type": "SALE",
            "quantity": -1,
            "sourceRef": "till-1",
        },
        event("DELTA", 2, "rcpt-3", product="ACME_SNEAKER_BLK_US10"),
    )

    assert [r["status"] for r in results] == [
        "APPLIED",
        "INVALID",
        "APPLIED",
        "INVALID",
        "STALE",
        "INVALID",
        "INVALID",
        "INVALID",
        "APPLIED",
    ]
    assert [r["details"][0]["field"] if r["details"] else None for r in results] == [
        None,
        "quantity",
        None,
        "productRef",
        None,
        "quantity",
        "sourceRef",
        "type",
        None,
    ]
    assert [r["onHand"] for r in results] == [55, None, 55, None, 55, None, None, None, 2]
    assert position(api)["onHand"] == 55
    assert position(api, f"ACME_SNEAKER_BLK_US10:{DC}:DEFAULT")["onHand"] == 2
    assert_counter_equals_ledger_sum()


def test_batch_summary_counts_each_status(api) -> None:
    send(api, snapshot(50, at(8)))

    response = api.post(
        "/inventory/batch",
        {
            "entities": [
                snapshot(50, at(8)),
                snapshot(49, at(7)),
                event("DELTA", 1, "r1", at(9)),
                event("DELTA", 0, "r2", at(9)),
            ]
        },
    )

    assert response.json()["summary"] == {"UNCHANGED": 1, "STALE": 1, "APPLIED": 1, "INVALID": 1}


def test_results_carry_the_new_onhand_of_their_position(api) -> None:
    results = send(
        api,
        snapshot(50, at(8), location="STORE_1"),
        snapshot(20, at(8), location="STORE_2"),
        event("DELTA", -3, "transfer-1", at(9), location="STORE_2"),
        event("DELTA", 9, "rcpt-1", at(9), location="STORE_3"),
    )

    assert [(r["locationRef"], r["onHand"]) for r in results] == [
        ("STORE_1", 50),
        ("STORE_2", 17),
        ("STORE_2", 17),
        ("STORE_3", 9),
    ]


def test_batch_over_many_positions_is_all_applied_and_counters_equal_ledger_sums(api) -> None:
    """Moto's TransactWriteItems deep-copies the table and its stream on every call, so this
    stays at 40 entities over 10 positions; 2,000 over 200 runs on DynamoDB Local."""
    positions, events_each = 10, 3
    entities = []
    for p in range(positions):
        entities.append(snapshot(10 * p, at(8), product=f"SKU_{p:03d}"))
        entities.extend(
            event("DELTA", e + 1, f"rcpt-{e}", at(9), product=f"SKU_{p:03d}")
            for e in range(events_each)
        )

    results = send(api, *entities)

    assert {r["status"] for r in results} == {"APPLIED"}
    assert len(results) == 40
    expected = {f"SKU_{p:03d}": 10 * p + 1 + 2 + 3 for p in range(positions)}
    assert {r["productRef"]: r["onHand"] for r in results} == expected
    checked, drift = get_runtime().inventory.reconcile()
    assert (checked, drift) == (positions, [])


def test_counter_always_equals_the_ledger_sum(api) -> None:
    send(
        api,
        snapshot(50, at(8)),
        event("DELTA", 10, "rcpt-1", at(9)),
        event("DELTA", -2, "transfer-1", at(11)),
    )
    assert_counter_equals_ledger_sum()
    send(
        api,
        snapshot(45, at(10)),
        event("DELTA", 10, "rcpt-1", at(9)),
        event("RETURNED", 1, "rtn-1", at(12)),
    )
    assert_counter_equals_ledger_sum()
    send(
        api,
        snapshot(44, at(9)),
        event("CORRECTION", -5, "audit-1", at(13)),
        event("DELTA", 1, "rcpt-2", at(9)),
    )
    assert_counter_equals_ledger_sum()

    assert position(api)["onHand"] == 45 - 2 + 1 - 5
