"""``holdfast flash-sale`` replays docs/behaviour.md §8: many shoppers, few units, zero oversells, and
every unit either sold or back on hand once the abandoned holds expire."""

from __future__ import annotations

import json
import os

import pytest

from holdfast_cli.main import main

JSON_KEYS = {
    "stock",
    "shoppers",
    "holds",
    "refused",
    "orders",
    "oversells",
    "expired",
    "released",
    "final_on_hand",
    "ledger_consistent",
    "seconds",
    "holds_per_second",
    "funnel",
    "funnel_agrees",
}


def flash_sale(capsys, *options: str) -> tuple[int, dict]:
    code = main(["flash-sale", *options, "--json"])
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, f"stdout must be one JSON object, got: {out!r}"
    return code, json.loads(out)


def assert_every_unit_sold_or_back(result: dict, stock: int) -> None:
    assert result["oversells"] == 0
    assert result["orders"] <= stock
    assert result["final_on_hand"] == stock - result["orders"]
    assert result["ledger_consistent"] is True
    assert result["holds"] + result["refused"] == result["shoppers"]
    assert result["expired"] == result["released"]  # one unit per cart


def assert_the_funnel_agrees(result: dict) -> None:
    """GET /reports/funnel, from the demand signals the stream carried, tells the same sale."""
    assert result["funnel_agrees"] is True
    funnel = result["funnel"]
    assert funnel["foCalls"] == result["shoppers"]
    assert (funnel["holds"], funnel["orders"], funnel["abandoned"], funnel["refused"]) == (
        result["holds"],
        result["orders"],
        result["expired"],
        result["refused"],
    )
    assert funnel["outOfStock"] == result["refused"]


def test_sixty_shoppers_for_ten_units_on_moto_never_oversell(capsys):
    environment = dict(os.environ)

    code, result = flash_sale(capsys, "--shoppers", "60", "--stock", "10", "--engine", "moto")

    assert code == 0
    assert set(result) == JSON_KEYS
    assert (result["stock"], result["shoppers"]) == (10, 60)
    assert_every_unit_sold_or_back(result, stock=10)
    assert result["holds"] >= 10, "the first ten shoppers each got a unit"
    assert result["expired"] == result["holds"] - result["orders"]
    assert_the_funnel_agrees(result)
    assert dict(os.environ) == environment, "the command restores the environment it changed"


@pytest.mark.dynamodb_local
def test_a_hundred_and_twenty_concurrent_shoppers_for_twenty_units_on_dynamodb_local(
    capsys, dynamodb_local_endpoint
):
    code, result = flash_sale(
        capsys,
        "--shoppers",
        "120",
        "--stock",
        "20",
        "--concurrency",
        "8",
        "--timer-seconds",
        "6",
        "--endpoint-url",
        dynamodb_local_endpoint,
    )

    assert code == 0
    assert_every_unit_sold_or_back(result, stock=20)
    assert result["holds"] >= 20
    assert result["orders"] >= 1
    assert_the_funnel_agrees(result)


@pytest.mark.dynamodb_local
def test_the_flash_sale_through_graphql_never_oversells_and_its_funnel_agrees(
    capsys, dynamodb_local_endpoint
):
    """Every add-to-cart is the createFulfilmentOption mutation (docs/graphql.md)."""
    code, result = flash_sale(
        capsys,
        "--protocol",
        "graphql",
        "--shoppers",
        "100",
        "--stock",
        "15",
        "--concurrency",
        "8",
        "--timer-seconds",
        "6",
        "--endpoint-url",
        dynamodb_local_endpoint,
    )

    assert code == 0
    assert_every_unit_sold_or_back(result, stock=15)
    assert result["holds"] >= 15
    assert result["orders"] >= 1
    assert_the_funnel_agrees(result)


def test_the_same_seed_decides_the_same_shoppers():
    from holdfast_cli.flash_sale.scenario import Options, Sale, plan_shoppers

    sale = Sale(run_id="r1", sku="SKU", stock=1)
    first = plan_shoppers(Options(shoppers=50, seed=7), sale, think_scale=10)
    again = plan_shoppers(Options(shoppers=50, seed=7), sale, think_scale=10)
    other = plan_shoppers(Options(shoppers=50, seed=8), sale, think_scale=10)

    assert first == again
    assert first != other
    assert all(0.5 <= plan.think_seconds <= 3 for plan in first)


def test_usage_errors_exit_with_two(capsys):
    assert main(["flash-sale", "--convert-rate", "1.5"]) == 2
    assert main(["flash-sale", "--engine", "moto", "--api-url", "http://127.0.0.1:9"]) == 2
    assert main(["flash-sale", "--api-url", "http://127.0.0.1:9", "--shoppers", "1"]) == 2
    assert "cannot reach the API" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.dynamodb_local
def test_the_flash_sale_of_the_spec_with_hundreds_of_concurrent_shoppers(
    capsys, dynamodb_local_endpoint
):
    """docs/behaviour.md §8 at the issue's size: 500 shoppers for 50 units on a real engine (make test-long)."""
    code, result = flash_sale(
        capsys,
        "--shoppers",
        "500",
        "--stock",
        "50",
        "--concurrency",
        "16",
        "--endpoint-url",
        dynamodb_local_endpoint,
    )

    assert code == 0
    assert_every_unit_sold_or_back(result, stock=50)
    assert result["holds"] >= 50
    assert_the_funnel_agrees(result)
