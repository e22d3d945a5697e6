"""``holdfast simulate-day``: a day of mixed shoppers through the real handlers on DynamoDB
Local, whose demand reports recover what the simulation planted (docs/signals.md, "Proof")."""

from __future__ import annotations

import json

import pytest

from holdfast_cli.main import main
from holdfast_cli.simulated_day.shoppers import CONVERSION, SHORTAGE, TOP_PAIR


def simulate(capsys, endpoint: str, *options: str) -> tuple[int, dict]:
    code = main(["simulate-day", *options, "--endpoint-url", endpoint, "--json"])
    return code, json.loads(
        capsys.readouterr().out.strip().splitlines()[-1]
    )  # after any EMF metric lines


def checks(result: dict) -> dict[str, dict]:
    return {check["name"]: check for check in result["checks"]}


@pytest.mark.dynamodb_local
def test_a_simulated_day_s_reports_recover_the_planted_channels_pairs_timing_and_shortage(
    capsys, dynamodb_local_endpoint
):
    code, result = simulate(capsys, dynamodb_local_endpoint, "--shoppers", "160", "--seed", "3")

    found = checks(result)
    assert [name for name, check in found.items() if not check["ok"]] == []
    assert code == 0
    for channel, rate in CONVERSION.items():
        assert abs(found[f"conversion rate {channel}"]["found"] - rate) <= 0.02
    assert found["top pair held together"]["found"] == list(TOP_PAIR)
    assert found["top of restocking"]["found"] == list(SHORTAGE)
    assert result["reports"]["timing"]["ordersAfterExpiry"] > 0


def test_the_same_seed_plans_the_same_day():
    from datetime import date
    from zoneinfo import ZoneInfo

    from holdfast_cli.simulated_day.shoppers import plan_day

    first, again = (
        plan_day(50, 11, date(2026, 11, 27), ZoneInfo("Europe/Paris")) for _ in range(2)
    )
    assert first == again
    assert first != plan_day(50, 12, date(2026, 11, 27), ZoneInfo("Europe/Paris"))


@pytest.mark.slow
@pytest.mark.dynamodb_local
def test_a_day_of_two_thousand_shoppers_recovers_the_planted_truth(capsys, dynamodb_local_endpoint):
    code, result = simulate(capsys, dynamodb_local_endpoint, "--shoppers", "2000")

    assert [c["name"] for c in result["checks"] if not c["ok"]] == []
    assert code == 0
