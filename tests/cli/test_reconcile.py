"""``holdfast reconcile`` proves every position's onHand counter equals its ledger (docs/behaviour.md §2)."""

from __future__ import annotations

import json
import os

import pytest

from holdfast.runtime import reset_runtime
from holdfast_cli.main import main
from holdfast_cli.seed import EXAMPLE_POSITION, seed


@pytest.fixture
def seeded(api, moto_table, monkeypatch):
    # moto is not thread-safe: the feed service's parallel positions race in its
    # TransactWriteItems (which deep-copies the table), so feeds apply one at a time here.
    monkeypatch.setenv("FEED_CONCURRENCY", "1")
    reset_runtime()
    seed(api)
    return moto_table


def reconcile(*options: str) -> int:
    return main(["reconcile", "--table", os.environ["TABLE_NAME"], *options])


def test_reconcile_is_clean_after_the_seed(seeded, capsys):
    assert reconcile() == 0
    assert capsys.readouterr().out.splitlines() == ["checked 2 positions, 0 drifting"]


def test_reconcile_reports_a_counter_that_disagrees_with_its_ledger(seeded, api, capsys):
    ledger_sum = api.get(f"/inventory-positions/{EXAMPLE_POSITION}").json()["onHand"]
    seeded.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": f"IP#{EXAMPLE_POSITION}"}, "sk": {"S": "#IP"}},
        UpdateExpression="SET onHand = :corrupt",
        ExpressionAttributeValues={":corrupt": {"N": "999"}},
    )

    assert reconcile() == 1
    assert capsys.readouterr().out.splitlines() == [
        f"DRIFT {EXAMPLE_POSITION}: counter 999, ledger sum {ledger_sum} "
        f"(off by {999 - ledger_sum:+d})",
        "checked 2 positions, 1 drifting",
    ]
    assert reconcile("--json") == 1
    assert json.loads(capsys.readouterr().out) == {
        "checked": 2,
        "drift": [{"positionRef": EXAMPLE_POSITION, "counter": 999, "ledgerSum": ledger_sum}],
    }


def test_reconcile_of_a_missing_table_is_an_error(moto_table, capsys):
    assert main(["reconcile", "--table", "no-such-table"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_reconcile_without_a_table_name_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("TABLE_NAME")
    assert main(["reconcile"]) == 2
    assert "--table" in capsys.readouterr().err


def test_reconcile_of_an_unreachable_endpoint_is_an_error(capsys):
    assert (
        main(["reconcile", "--endpoint-url", "http://127.0.0.1:9", "--table", "holdfast-test"]) == 2
    )
    assert "cannot reach DynamoDB" in capsys.readouterr().err
