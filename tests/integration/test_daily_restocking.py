"""The daily restocking run through its public path on moto (docs/signals.md, "Reports"): carts
held, ordered and refused through the API, the stream delivered to the signals consumer, then
``RestockSuggestionsFunction`` invoked with the event EventBridge Scheduler sends, publishing
``RESTOCK_SUGGESTED`` for the day before its scheduled time."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from holdfast.domain.clock import to_iso
from holdfast_cli.local.api import LocalApi
from tests.event_bus import record_signal_bus
from tests.integration.test_demand_reports import SHOES, START, STORE, open_shop, trade

RUN = START + timedelta(hours=1)
"""The run's scheduled time: the day before it holds the whole sale."""


@pytest.fixture
def shop(api: LocalApi) -> LocalApi:
    return open_shop(api)


def deploy(monkeypatch, threshold: str | None) -> list[dict[str, Any]]:
    """The function as a stack with ``RestockThreshold`` deploys it (none: unset), with a stub
    EventBridge client; answers what the runs send to the signal bus."""
    if threshold is None:
        monkeypatch.delenv("RESTOCK_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("RESTOCK_THRESHOLD", threshold)
    return record_signal_bus(monkeypatch)


def run(api, scheduled_time: Any = None) -> dict[str, Any]:
    """Invoke the function as the schedule does (its Input, the context attributes filled)."""
    event = {"id": "d32c5kddcf5bb8c3"}
    if scheduled_time is not None:
        event["scheduledTime"] = scheduled_time
    return api.invoke("RestockSuggestionsFunction", event)


def test_the_daily_run_publishes_restock_suggested_for_the_day_before_its_scheduled_time(
    shop, clock, monkeypatch
):
    trade(shop, clock)
    published = deploy(monkeypatch, "1")

    answer = run(shop, RUN.strftime("%Y-%m-%dT%H:%M:%SZ"))

    assert answer == {
        "from": to_iso(RUN - timedelta(days=1)),
        "to": to_iso(RUN),
        "threshold": 1.0,
        "rows": 1,
        "suggested": 1,
        "published": 1,
    }
    (event,) = published
    detail = json.loads(event["Detail"])
    assert (event["DetailType"], event["Source"]) == ("RESTOCK_SUGGESTED", "holdfast")
    assert (detail["productRef"], detail["locationRef"], detail["unmetUnitsPerDay"]) == (
        SHOES,
        STORE,
        1.0,  # the one pair the store could not sell, over one day
    )
    assert (detail["from"], detail["to"], detail["threshold"]) == (
        answer["from"],
        answer["to"],
        1.0,
    )


def test_a_retried_run_publishes_the_same_event_again_so_consumers_drop_it(
    shop, clock, monkeypatch
):
    trade(shop, clock)
    published = deploy(monkeypatch, "1")
    clock.advance(minutes=7)  # the retry comes later; its scheduled time does not move

    first, again = run(shop, to_iso(RUN)), run(shop, to_iso(RUN))

    assert first == again
    assert [e["Detail"] for e in published] == [published[0]["Detail"]] * 2


@pytest.mark.parametrize(
    ("threshold", "scheduled", "rows", "suggested"),
    [
        ("1.5", RUN, 1, 0),  # one unit a day is below it
        ("1", START - timedelta(hours=1), 0, 0),  # the sale is after the run's day
        ("1", RUN + timedelta(days=1), 0, 0),  # and before the next run's
    ],
)
def test_a_run_suggests_only_rows_of_its_own_day_at_or_above_the_threshold(
    shop, clock, monkeypatch, threshold, scheduled, rows, suggested
):
    trade(shop, clock)
    published = deploy(monkeypatch, threshold)

    answer = run(shop, to_iso(scheduled))

    assert (answer["rows"], answer["suggested"], answer["published"]) == (rows, suggested, 0)
    assert published == []


def test_without_a_threshold_the_run_reads_and_sends_nothing(shop, clock, monkeypatch):
    trade(shop, clock)
    published = deploy(monkeypatch, None)

    answer = run(shop, to_iso(RUN))

    assert (answer["rows"], answer["published"], published) == (0, 0, [])


@pytest.mark.parametrize("scheduled", [None, "<aws.scheduler.scheduled-time>", 1732924800])
def test_a_run_without_a_readable_scheduled_time_reports_the_day_before_now(
    shop, clock, monkeypatch, scheduled
):
    trade(shop, clock)
    deploy(monkeypatch, "1")
    clock.now = RUN

    answer = run(shop, scheduled)

    assert (answer["to"], answer["published"]) == (to_iso(RUN), 1)


def test_a_threshold_out_of_range_fails_the_cold_start_loudly(monkeypatch, moto_table):
    from holdfast.settings import Settings

    monkeypatch.setenv("RESTOCK_THRESHOLD", "-1")
    with pytest.raises(ValueError, match="RESTOCK_THRESHOLD"):
        Settings.from_environment()
