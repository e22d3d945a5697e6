"""The local scheduler runs the template's scheduled functions on their rate, and ``holdfast
dev`` runs it (and the stream poller, where the engine has streams) beside the API."""

from __future__ import annotations

import copy
import logging
import time
from datetime import UTC, datetime

import pytest

from holdfast_cli.local.dev_server import serve
from holdfast_cli.local.scheduler import (
    ScheduledFunction,
    Scheduler,
    UnsupportedSchedule,
    parse_rate,
    scheduled_functions,
)
from holdfast_cli.local.template import load_template


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(30 seconds)", 30),
        ("rate(1 second)", 1),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_rate_expressions_give_the_interval_in_seconds(expression, seconds):
    assert parse_rate(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["cron(0 * * * ? *)", "rate(0 minutes)", "rate(minute)", "every minute"]
)
def test_other_expressions_are_not_run_locally(expression):
    with pytest.raises(UnsupportedSchedule):
        parse_rate(expression)


def test_the_template_schedules_the_hold_sweeper_every_minute():
    (job,) = scheduled_functions()

    assert (job.function, job.kind, job.interval_seconds) == (
        "HoldSweeperFunction",
        "ScheduleV2",
        60,
    )


def test_the_sweeper_gets_eventbridge_schedulers_default_notification():
    (job,) = scheduled_functions()

    event = job.event_payload(datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC))

    assert event["source"] == "aws.scheduler"
    assert event["detail-type"] == "Scheduled Event"
    assert event["time"] == "2026-11-27T10:00:00Z"
    assert event["resources"] == [
        "arn:aws:scheduler:us-east-1:000000000000:schedule/default/HoldSweeperFunction-EveryMinute"
    ]
    assert event["detail"] == "{}"


def test_a_template_input_is_sent_as_the_event():
    job = ScheduledFunction("F", "E", "ScheduleV2", "rate(1 minute)", 60, input='{"dryRun": true}')

    assert job.event_payload(datetime.now(UTC)) == {"dryRun": True}


def test_schedulers_context_attributes_in_the_input_are_filled_in():
    job = ScheduledFunction(
        "F",
        "Daily",
        "ScheduleV2",
        "rate(1 day)",
        86400,
        input='{"id": "<aws.scheduler.execution-id>", "scheduledTime": "<aws.scheduler.scheduled-time>"}',
    )

    event = job.event_payload(datetime(2026, 11, 27, 5, 0, 0, 123456, tzinfo=UTC))

    assert event["scheduledTime"] == "2026-11-27T05:00:00Z"
    assert len(event["id"]) == 16 and "<" not in event["id"]


def test_a_function_deployed_only_under_a_condition_is_not_scheduled():
    template = copy.deepcopy(load_template())  # the loaded template is shared: change a copy
    assert template["Resources"]["RestockSuggestionsFunction"]["Condition"] == "DailyRestocking"

    scheduled = {job.function for job in scheduled_functions(template)}

    assert "RestockSuggestionsFunction" not in scheduled
    del template["Resources"]["RestockSuggestionsFunction"]["Condition"]
    assert {job.function for job in scheduled_functions(template)} == scheduled | {
        "RestockSuggestionsFunction"
    }


def test_the_scheduler_invokes_on_the_override_interval_and_survives_failures(caplog):
    calls: list[str] = []

    def invoke(name: str, event: dict) -> dict:
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("throttled")
        return {"overdue": 0, "released": 0}

    scheduler = Scheduler(invoke, interval_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="holdfast_cli.local.scheduler"):
        scheduler.start()
        deadline = time.monotonic() + 5
        while len(calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        scheduler.stop()
    runs = len(calls)
    time.sleep(0.2)

    assert runs >= 4
    assert len(calls) == runs, "no run after stop()"
    assert set(calls) == {"HoldSweeperFunction"}
    assert scheduler.failures == 1
    assert "scheduled HoldSweeperFunction failed: RuntimeError: throttled" in caplog.text


def test_the_first_run_is_one_interval_after_the_start():
    calls: list[float] = []
    scheduler = Scheduler(lambda name, event: calls.append(time.monotonic()), interval_seconds=0.3)
    began = time.monotonic()
    scheduler.start()
    time.sleep(0.45)
    scheduler.stop()

    assert len(calls) == 1
    assert calls[0] - began >= 0.29


def test_dev_on_moto_runs_the_sweeper_but_not_the_stream_poller():
    server = serve(engine="moto", port=0, load_seed=False, sweep_seconds=0.1)
    try:
        deadline = time.monotonic() + 10
        while server.scheduler.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.scheduler.runs >= 2
        assert server.scheduler.failures == 0
        assert server.stream_poller is None
        assert any("stream poller: off on moto" in line for line in server.background)
        assert any("HoldSweeperFunction every 0.1 s" in line for line in server.background)
    finally:
        server.shutdown()
    assert not server.scheduler.running


@pytest.mark.dynamodb_local
def test_dev_on_dynamodb_local_polls_the_stream_until_shutdown(
    dynamodb_local_endpoint, dynamodb_local_table_name
):
    server = serve(
        endpoint_url=dynamodb_local_endpoint,
        table=dynamodb_local_table_name,
        port=0,
        load_seed=False,
    )
    try:
        assert server.stream_poller is not None and server.stream_poller.running
        assert server.stream_poller.functions == ["HoldExpiryFunction", "DemandSignalsFunction"]
        assert server.scheduler is not None and server.scheduler.running
    finally:
        server.shutdown()
    assert not server.stream_poller.running
    assert not server.scheduler.running


def test_dev_without_stream_says_so():
    server = serve(engine="moto", port=0, load_seed=False, stream=False, schedules=False)
    try:
        assert server.stream_poller is None and server.scheduler is None
        assert server.background == ["stream poller: off (--no-stream)"]
    finally:
        server.shutdown()
