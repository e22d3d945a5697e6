"""Run the template's scheduled functions locally, on their ``rate(...)``.

Every ``Type: Schedule`` (EventBridge rule) or ``Type: ScheduleV2`` (EventBridge Scheduler)
event in ``template.yaml`` becomes a job: the function is invoked every interval with the
event the service would send (its ``Input`` if the template gives one, else the service's
default notification). ``holdfast dev`` runs the hold sweeper this way; ``--sweep-seconds``
shortens the interval so a developer need not wait a minute.

Only ``rate(N unit)`` expressions are run; a ``cron(...)`` schedule is reported and skipped, and
so is a function the template deploys only under a condition. EventBridge Scheduler's context
attributes in an ``Input`` (``<aws.scheduler.scheduled-time>`` …) are filled in as it would.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from holdfast_cli.local.template import functions

logger = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]

ACCOUNT = "000000000000"
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)\s*$", re.IGNORECASE)


class UnsupportedSchedule(ValueError):
    """A schedule expression this local scheduler does not run (``cron(...)``, ``at(...)``)."""


def parse_rate(expression: str) -> float:
    """Seconds between runs of ``rate(N minute|minutes|second|seconds|hour|hours|day|days)``."""
    found = _RATE.match(expression)
    if not found:
        raise UnsupportedSchedule(f"not a rate expression: {expression!r}")
    value = int(found.group(1))
    if value < 1:
        raise UnsupportedSchedule(f"a rate must be at least 1: {expression!r}")
    return float(value * _UNIT_SECONDS[found.group(2).lower()])


@dataclass(frozen=True)
class ScheduledFunction:
    """One scheduled event of a function, as the template declares it."""

    function: str
    event: str
    kind: str  # "Schedule" (EventBridge rule) or "ScheduleV2" (EventBridge Scheduler)
    expression: str
    interval_seconds: float
    input: str | None = None

    def event_payload(self, when: datetime, region: str = "us-east-1") -> dict[str, Any]:
        """What the function receives: the template's ``Input``, else the default event of
        EventBridge Scheduler (``ScheduleV2``) or of an EventBridge rule (``Schedule``)."""
        scheduler = self.kind == "ScheduleV2"
        resource = (
            f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule/default/{self.function}-{self.event}"
            if scheduler
            else f"arn:aws:events:{region}:{ACCOUNT}:rule/{self.function}-{self.event}"
        )
        if self.input is not None:
            text = self.input
            if scheduler:
                attributes = {
                    "schedule-arn": resource,
                    "scheduled-time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "execution-id": uuid.uuid4().hex[:16],
                    "attempt-number": "1",
                }
                for name, value in attributes.items():
                    text = text.replace(f"<aws.scheduler.{name}>", value)
            return json.loads(text)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler" if scheduler else "aws.events",
            "account": ACCOUNT,
            "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [resource],
            "detail": "{}" if scheduler else {},
        }


def scheduled_functions(template: dict[str, Any] | None = None) -> list[ScheduledFunction]:
    """The template's enabled rate schedules; other expressions are logged and skipped, and so
    are the functions a stack deploys only under a condition (the daily restocking run, with
    ``RestockThreshold``): the local stack is the template with its defaults."""
    found = []
    for spec in functions(template).values():
        if spec.condition is not None:
            logger.info("%s is deployed only if %s: not scheduled", spec.name, spec.condition)
            continue
        for name, event in spec.events.items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            properties = event.get("Properties", {})
            if properties.get("Enabled") is False or properties.get("State") == "DISABLED":
                continue
            expression = properties[
                "Schedule" if event["Type"] == "Schedule" else "ScheduleExpression"
            ]
            try:
                interval = parse_rate(expression)
            except UnsupportedSchedule as error:
                logger.warning("%s.%s is not run locally: %s", spec.name, name, error)
                continue
            raw_input = properties.get("Input")
            found.append(
                ScheduledFunction(
                    function=spec.name,
                    event=name,
                    kind=event["Type"],
                    expression=expression,
                    interval_seconds=interval,
                    input=raw_input
                    if isinstance(raw_input, str) or raw_input is None
                    else json.dumps(raw_input),
                )
            )
    return found


class Scheduler:
    """Invokes each scheduled function every interval in a background thread.

    :param invoke: ``invoke(function_name, event)``, e.g. :meth:`LocalApi.invoke`.
    :param jobs: default: :func:`scheduled_functions` of ``template.yaml``.
    :param interval_seconds: run every job this often instead of its own rate (``holdfast
        dev --sweep-seconds``).
    :param log: where one line per invocation goes.

    The first run of a job is one interval after :meth:`start`, as with a new schedule. A
    failing invocation is logged and the job keeps its rhythm (the template's sweeper has
    ``MaximumRetryAttempts: 0``: the next run is its retry).
    """

    def __init__(
        self,
        invoke: Invoke,
        *,
        jobs: Sequence[ScheduledFunction] | None = None,
        interval_seconds: float | None = None,
        log: TextIO | None = None,
        region: str = "us-east-1",
    ) -> None:
        if interval_seconds is not None and interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._invoke = invoke
        self.jobs = list(scheduled_functions() if jobs is None else jobs)
        self._override = interval_seconds
        self._log = log
        self._region = region
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_run: dict[int, float] = {}
        self.runs = 0
        self.failures = 0

    def interval(self, job: ScheduledFunction) -> float:
        return self._override if self._override is not None else job.interval_seconds

    def describe(self) -> list[str]:
        """One line per job, for banners: ``HoldSweeperFunction every 60 s (rate(1 minute))``."""
        lines = []
        for job in self.jobs:
            own = f"{job.expression}" + (", overridden" if self._override is not None else "")
            lines.append(f"{job.function} every {self.interval(job):g} s ({own})")
        return lines

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Scheduler:
        if self._thread is None:
            began = time.monotonic()
            self._next_run = {i: began + self.interval(job) for i, job in enumerate(self.jobs)}
            self._thread = threading.Thread(
                target=self._run, name="holdfast-scheduler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop; an invocation in progress finishes first. Safe to call twice."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run_now(self, job: ScheduledFunction) -> Any:
        """Invoke one job at once (tests, and the loop below). Errors are logged, not raised."""
        self.runs += 1
        try:
            result = self._invoke(job.function, job.event_payload(datetime.now(UTC), self._region))
        except Exception as error:
            self.failures += 1
            logger.warning("scheduled %s failed: %s: %s", job.function, type(error).__name__, error)
            self._note(f"schedule → {job.function}: failed ({type(error).__name__})")
            return None
        self._note(f"schedule → {job.function}: {json.dumps(result, default=str)}")
        return result

    def _run(self) -> None:
        while not self._stopping.is_set() and self.jobs:
            index = min(self._next_run, key=self._next_run.__getitem__)
            wait = self._next_run[index] - time.monotonic()
            if wait > 0 and self._stopping.wait(wait):
                return
            job = self.jobs[index]
            self.run_now(job)
            # Keep the rhythm; after a run longer than the interval, start the next one now.
            self._next_run[index] = max(
                self._next_run[index] + self.interval(job), time.monotonic()
            )

    def _note(self, line: str) -> None:
        if self._log is not None:
            print(line, file=self._log, flush=True)
