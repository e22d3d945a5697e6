"""The flash sale's shoppers at work: lanes of shoppers, each a little event loop in a worker.

A lane (:class:`Lane`, run by :func:`run_lane`) lets its shoppers arrive one after another,
each adding one unit to a cart and, if it converts, confirming an order after its think time;
a lane may also sweep overdue holds (as the scheduled sweeper would) and draw the progress bar.
Lanes run in forked worker processes (in-process engines) or threads (over HTTP) and count
what happens in shared :class:`Progress` counters.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import multiprocessing
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from holdfast_cli.api_client import ApiClient
from holdfast_cli.console import is_terminal, progress_line
from holdfast_cli.flash_sale.scenario import Client, Sale, ShopperPlan


@dataclass
class ShopperOutcome:
    index: int
    cart_ref: str
    hold: str = "NOT_TRIED"
    """``ACTIVE`` (held), ``NO_OPTIONS`` (refused) or ``ERROR``."""
    order: str | None = None
    """``CONFIRMED``, ``OUT_OF_STOCK``, ``ERROR`` or ``None`` (abandoned / never held)."""
    converted: bool = False
    """The order converted this shopper's hold (rather than reserving afresh)."""
    hold_answered_at: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Lane:
    """Work for one worker (process or thread): shoppers to run, and duties.

    Each lane runs its own little event loop (:func:`run_lane`): its shoppers arrive one
    after another, each confirmation is due ``think_seconds`` after its hold was granted; a
    lane with ``sweep_every`` also sweeps overdue holds, one with ``draw_progress`` redraws
    the progress bar, and one with ``wait_for`` keeps doing its duties until that many
    shoppers have finished.
    """

    sale: Sale
    shoppers: tuple[ShopperPlan, ...]
    started: float
    api_url: str | None = None
    token: str | None = None
    sweep_every: float | None = None
    draw_progress: bool = False
    wait_for: int = 0
    deadline: float = float("inf")


_FIELDS = ("finished", "holds", "refused", "orders", "order_refused", "errors", "swept")


class Progress:
    """Counters in shared memory: forked workers inherit them and add to them."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self._values = multiprocessing.get_context("fork").Array("q", len(_FIELDS))
        self._out = out
        self._tty = is_terminal(out)
        self._last_line_at = 0.0

    def add(self, name: str, amount: int = 1) -> None:
        with self._values.get_lock():
            self._values[_FIELDS.index(name)] += amount

    def get(self, name: str) -> int:
        return self._values[_FIELDS.index(name)]

    def snapshot(self) -> dict[str, int]:
        with self._values.get_lock():
            return dict(zip(_FIELDS, self._values[:], strict=True))

    def draw(self, *, status: str | None = None, final: bool = False) -> None:
        """A bar on a terminal (redrawn in place), else a line every few seconds."""
        now = time.monotonic()
        if not self._tty and not final and now - self._last_line_at < 2.0:
            return
        self._last_line_at = now
        values = self.snapshot()
        done = min(values["finished"], self.total)
        width = 24
        filled = width * done // max(self.total, 1)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} shoppers  "
            f"holds {values['holds']}  refused {values['refused']}  orders {values['orders']}"
        )
        if values["order_refused"]:
            line += f"  orders refused {values['order_refused']}"
        if values["errors"]:
            line += f"  errors {values['errors']}"
        if status:
            line += f"  | {status}"
        if self._tty:
            progress_line(
                self._out, done=done, total=self.total, text=line.split("] ", 1)[1], final=final
            )
        else:
            self._out.write(line + "\n")
        self._out.flush()


_progress: Progress | None = None
"""Set by the parent before workers fork; they inherit it (shared memory cannot be pickled)."""


def share_progress(progress: Progress) -> None:
    """Make ``progress`` the one every lane adds to; call it before the workers fork."""
    global _progress
    _progress = progress


@functools.cache
def local_api() -> Any:
    from holdfast_cli.local.api import LocalApi

    return LocalApi()


def _client(lane: Lane) -> Client:
    return ApiClient(lane.api_url, token=lane.token) if lane.api_url else local_api()


def run_lane(lane: Lane) -> list[ShopperOutcome]:
    """Run one lane to its end (module level, so worker processes can be sent it).

    Shoppers arrive in order, as fast as the lane can serve them; a confirmation (or a duty)
    that is due goes before the next arrival, as a shopper at checkout does not wait for
    someone else's add-to-cart.
    """
    progress = _progress
    assert progress is not None, "the parent sets the shared progress before starting lanes"
    return _LaneLoop(lane, progress).run()


class _LaneLoop:
    """One lane's event loop: the next arrival, unless a timed event (an order whose think
    time is over, a sweep, a redraw) is due first."""

    def __init__(self, lane: Lane, progress: Progress) -> None:
        self.lane = lane
        self.progress = progress
        self.client = _client(lane)
        self.outcomes = {p.index: ShopperOutcome(p.index, p.cart_ref) for p in lane.shoppers}
        self.unfinished = set(self.outcomes)
        self.arrivals = collections.deque(lane.shoppers)
        self.timed: list[tuple[float, int, str, ShopperPlan | None]] = []
        self._sequence = itertools.count()
        if lane.sweep_every:
            self._at(lane.started + lane.sweep_every, "sweep")
        if lane.draw_progress:
            self._at(lane.started, "progress")

    def run(self) -> list[ShopperOutcome]:
        try:
            while (self.arrivals or self.timed) and not self._done():
                event = self._next_event()
                if event is not None:
                    self._handle(*event)
        finally:
            for index in self.unfinished:  # a lane that broke down still lets the others finish
                outcome = self.outcomes[index]
                outcome.error = outcome.error or "the lane stopped before this shopper finished"
                self.progress.add("finished")
                self.progress.add("errors")
        return list(self.outcomes.values())

    def _at(self, when: float, kind: str, plan: ShopperPlan | None = None) -> None:
        heapq.heappush(self.timed, (when, next(self._sequence), kind, plan))

    def _done(self) -> bool:
        waiting = self.lane.wait_for and self.progress.get("finished") < self.lane.wait_for
        return not self.unfinished and not waiting

    def _next_event(self) -> tuple[str, ShopperPlan | None] | None:
        """The event due now, or ``None`` after a short sleep when nothing is."""
        now = time.time()
        if now > self.lane.deadline:
            raise TimeoutError("the sale ran past its deadline")
        if self.timed and self.timed[0][0] <= now:
            _, _, kind, plan = heapq.heappop(self.timed)
            return kind, plan
        if self.arrivals:
            return "hold", self.arrivals.popleft()
        time.sleep(min(self.timed[0][0] - now, 0.25))
        return None

    def _handle(self, kind: str, plan: ShopperPlan | None) -> None:
        if kind == "sweep":
            sweep_overdue_holds(self.progress)
            self._at(time.time() + (self.lane.sweep_every or 1.0), kind)
        elif kind == "progress":
            self.progress.draw()
            self._at(time.time() + 0.2, kind)
        elif plan is not None:
            outcome = self.outcomes[plan.index]
            if kind == "hold" and _hold(self.client, self.lane.sale, plan, outcome, self.progress):
                self._at(time.time() + plan.think_seconds, "order", plan)
                return
            if kind == "order":
                _order(self.client, self.lane.sale, plan, outcome, self.progress)
            self.unfinished.discard(plan.index)
            self.progress.add("finished")


def _hold(
    client: Client, sale: Sale, plan: ShopperPlan, outcome: ShopperOutcome, progress: Progress
) -> bool:
    """Add to cart; answers whether the shopper goes on to confirm."""
    path, body = sale.hold_request(plan.cart_ref)
    try:
        response = client.request("POST", path, json_body=body)
    except Exception as error:  # one shopper's failure is a finding, not the end of the run
        return _failed(outcome, progress, "hold", f"{type(error).__name__}: {error}")
    outcome.hold_answered_at = time.time()
    status, problem = sale.hold_status(response)
    if problem is not None or status is None:
        return _failed(outcome, progress, "hold", problem or "the answer has no status")
    outcome.hold = status
    if outcome.hold == "ACTIVE":
        progress.add("holds")
        return plan.converts
    progress.add("refused")
    return False


def _order(
    client: Client, sale: Sale, plan: ShopperPlan, outcome: ShopperOutcome, progress: Progress
) -> None:
    body = {**sale.cart(plan.order_ref), "fulfilmentOptionRef": plan.cart_ref}
    try:
        response = client.request("POST", "/orders", json_body=body)
    except Exception as error:
        _failed(outcome, progress, "order", f"{type(error).__name__}: {error}")
        return
    if response.status in (200, 201):
        outcome.order = "CONFIRMED"
        outcome.converted = bool(response.json().get("convertedFromHold"))
        progress.add("orders")
    elif response.status == 409 and response.json()["error"]["code"] == "OUT_OF_STOCK":
        outcome.order = "OUT_OF_STOCK"
        progress.add("order_refused")
    else:
        _failed(outcome, progress, "order", f"HTTP {response.status}: {response.body[:300]}")


def _failed(outcome: ShopperOutcome, progress: Progress, step: str, message: str) -> bool:
    if step == "hold":
        outcome.hold = "ERROR"
    else:
        outcome.order = "ERROR"
    outcome.error = f"{step}: {message}"
    progress.add("errors")
    return False


def sweep_overdue_holds(progress: Progress) -> None:
    """What the scheduled sweeper function does, called directly (its handler would print
    metrics to stdout)."""
    from holdfast.runtime import get_runtime

    try:
        _, released = get_runtime().holds.sweep()
    except Exception as error:
        print(
            f"holdfast flash-sale: sweep failed: {type(error).__name__}: {error}", file=sys.stderr
        )
        return
    progress.add("swept", released)
