"""Stateful property test: random interleavings of stock feeds, holds,
cancels, extends, expiries, orders, ships and returns against DynamoDB Local, through the HTTP
path, checked after every step against a small reference model.

After every step, for every position:

- the counter (``onHand`` as the API shows it) equals the model's ledger sum, and
  ``reconcile`` finds no drift (counter = ledger sum);
- the ACTIVE SOFT_RESERVE IQs are exactly those of the fulfilment options the table says are
  ACTIVE, the ACTIVE RESERVED IQs exactly those of CONFIRMED orders: no IQ released twice,
  none left behind;

and for every fulfilment option and order: its stored status moved only along a legal edge
that the step could take (a hold expires only once ``expiresAt`` has passed; only a cancel
cancels; only its order converts it). A hold or order never takes more than the channel's ATS
(with the buffer rule of ``domain/availability.py``) at the moment it is written, and a
refusal (NO_OPTIONS, OUT_OF_STOCK) is only ever answered when the model agrees nothing fits.

Each hypothesis example gets a fresh table. Budget: ``HOLDFAST_STATEFUL_EXAMPLES`` examples
of up to ``HOLDFAST_STATEFUL_STEPS`` steps (defaults 6 × 25 in ``make test``; 80 × 50 with
HOLDFAST_LONG=1, the ``slow`` test, whose examples are new each run). The CI run is
derandomized: the same examples every run; ``HOLDFAST_STATEFUL_RANDOM=1`` draws new ones.
The totals are printed (``-s``) and written to ``.hypothesis/holdfast-stateful.json``.

Every example first walks each path once (:meth:`HoldfastMachine.walk_every_path`): a hold
expired by the stream, by the sweeper and by a later cart's reclaim (left overdue first), a
till sale on a sharded position, an order cancelled, one shipped and returned. The random
steps alone rarely reach these at the CI budget, and which ones they reach changes with any
edit of the class; :data:`COVERAGE` counts them and the test fails if one was never reached.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Channel
from holdfast.runtime import get_runtime, reset_runtime, use_clock
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.template import create_table
from tests.figures import record_figures
from tests.stream_records import timer_deleted_by_ttl

pytestmark = pytest.mark.dynamodb_local

PRODUCTS = ("SM_TEE_BLK_M", "SM_CAP_RED")
DC, STORE = "SM_DC", "SM_STORE"
LOCATIONS = (DC, STORE)
CHANNELS = {
    "ECOMMERCE": {"buffer": {"type": "PERCENTAGE", "value": 10}, "excludedLocations": []},
    "MOBILE": {"buffer": {"type": "FIXED", "value": 1}, "excludedLocations": [STORE]},
}
TIMERS = {"globalMinutes": 15, "products": {"SM_CAP_RED": 5}}
FO_STATUSES = {"ACTIVE", "NO_OPTIONS", "CANCELLED", "EXPIRED", "CONVERTED", "REPLACED"}
ORDER_EDGES = {("CONFIRMED", "SHIPPED"), ("CONFIRMED", "CANCELLED"), ("SHIPPED", "RETURNED")}

STATS = {
    "examples": 0,
    "steps": 0,
    "holds_granted": 0,
    "holds_refused": 0,
    "orders": 0,
    "releases": 0,
    "reshards": 0,
    "oversells": 0,
    "drift": 0,
}
"""Totals over a run, for the issue's note: ``releases`` counts expiries by stream or sweeper."""

COVERAGE = {
    "expired_by_stream": 0,
    "expired_by_sweeper": 0,
    "expired_by_reclaim": 0,
    "expired_unswept_steps": 0,
    "sharded_decreases": 0,
    "order_cancels": 0,
    "order_ships": 0,
    "order_returns": 0,
}
"""Paths a run must reach, counted where the model sees them happen (asserted after the run,
so a budget or an edit of the class that stops reaching one fails): a hold expired by each
release path, steps that began with an expired but unreleased hold, feed decreases of a
sharded position, and orders cancelled, shipped and returned. Every example first walks each
path once (:meth:`HoldfastMachine.walk_every_path`), so the random steps after it add to
them rather than being their only source."""


def position(product: str, location: str) -> str:
    return f"{product}:{location}:DEFAULT"


@dataclass
class Entry:
    """A feed-side ledger record in the model: counted while active and after the snapshot."""

    type: str
    quantity: int
    effective_at: datetime


@dataclass
class PositionModel:
    snapshot_as_of: datetime | None = None
    snapshot_count: int = 0
    events: list[Entry] = field(default_factory=list)

    def feed_part(self) -> int:
        """Snapshot + counted DELTA/CORRECTION/RETURNED/SALE (holds and orders come apart)."""
        counted = [
            e
            for e in self.events
            if self.snapshot_as_of is None or e.effective_at > self.snapshot_as_of
        ]
        return self.snapshot_count + sum(e.quantity for e in counted)


@dataclass
class HoldModel:
    ref: str
    channel: str
    lines: dict[str, int]
    status: str
    expires_at: datetime | None
    allocations: dict[tuple[str, str], int]
    extended: bool = False
    partial: bool = False


@dataclass
class OrderModel:
    ref: str
    status: str
    allocations: dict[tuple[str, str], int]


def allocations_of_plan(plan: dict[str, Any] | None) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for fulfilment in (plan or {}).get("fulfilments", []):
        for item in fulfilment["items"]:
            pair = (item["productRef"], fulfilment["locationRef"])
            found[pair] = found.get(pair, 0) + item["quantity"]
    return found


class StateClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


class HoldfastMachine(RuleBasedStateMachine):
    """One shop: two products at a DC and a store, two channels with different buffers."""

    endpoint: str = ""

    holds = Bundle("holds")
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.table_name = f"sm-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client("dynamodb", endpoint_url=self.endpoint)
        create_table(self.client, self.table_name)
        os.environ["TABLE_NAME"] = self.table_name
        os.environ["DYNAMODB_ENDPOINT_URL"] = self.endpoint
        reset_runtime()
        self.clock = StateClock()
        use_clock(self.clock)
        self.api = LocalApi()
        self.positions = {position(p, loc): PositionModel() for p in PRODUCTS for loc in LOCATIONS}
        self.hold_models: dict[str, HoldModel] = {}
        self.order_models: dict[str, OrderModel] = {}
        self.counter = 0
        self.allowed: set[tuple[str, str, str]] = set()
        """(ref, from, to) edges the current step may take besides expiries."""
        self.deltas: list[dict[str, Any]] = []
        self.expiry_path = "reclaim"
        """Which release path an ACTIVE → EXPIRED seen now took (the step sets it)."""
        self.shards: dict[str, int] = {}
        self.replays: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        STATS["examples"] += 1

    def teardown(self) -> None:
        use_clock(None)
        reset_runtime()
        self.client.delete_table(TableName=self.table_name)

    def next_ref(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:04d}"

    # -- setup ----------------------------------------------------------------------------

    @initialize(
        target=holds,
        counts=st.lists(st.integers(0, 12), min_size=4, max_size=4),
        channel=st.sampled_from(list(CHANNELS)),
        product=st.sampled_from(PRODUCTS),
        quantity=st.integers(1, 3),
    )
    def open_the_shop(self, counts: list[int], channel: str, product: str, quantity: int) -> str:
        """Configure, count the stock, and take a first cart, so the rules on carts and orders
        run from the first step."""
        for name, body in CHANNELS.items():
            assert self.api.put(f"/channels/{name}", body).status == 200
        for priority, location in enumerate(LOCATIONS, start=1):
            body = {
                "type": "DC" if location == DC else "STORE",
                "deliveryTypes": ["HD", "CC"],
                "channels": list(CHANNELS),
                "priority": priority,
            }
            assert self.api.put(f"/locations/{location}", body).status == 200
        assert self.api.put("/timers", TIMERS).status == 200
        for ref, count in zip(self.positions, counts, strict=False):
            counted_product, location, _ = ref.split(":")
            self.feed_snapshot_of(counted_product, location, count, minutes_ago=60)
        first = self.hold(channel, {product: quantity}, allow_partial=False)
        self.walk_every_path(product)
        return first

    def walk_every_path(self, product: str) -> None:
        """Reach every path of :data:`COVERAGE` once, through the rules themselves (with their
        model checks), whatever the random steps after it
        happen to draw: a till sale on a sharded position, an order cancelled, one shipped and
        returned, a hold left overdue and then reclaimed by the next cart, one expired by the
        stream and one by the sweeper."""
        other = next(p for p in PRODUCTS if p != product)
        ordered: list[str] = []

        def reclaimable_hold() -> (
            None
        ):  # all of the MOBILE channel's units of `other` (the DC only)
            if self.ats("MOBILE", other, DC) == 0:
                self.feed_delta(other, DC, "DELTA", 3, 0)
            self.hold("MOBILE", {other: self.ats("MOBILE", other, DC)}, allow_partial=False)

        steps = [
            lambda: self.feed_delta(product, DC, "DELTA", 6, 0),
            lambda: self.reshard(product, DC, 3),
            lambda: self.feed_delta(product, DC, "DELTA", -1, 0),
            lambda: ordered.append(self.order_without_cart("MOBILE", {product: 1})),
            lambda: self.order_moves_on(ordered[-1], "cancel"),
            lambda: ordered.append(self.order_without_cart("MOBILE", {product: 1})),
            lambda: self.order_moves_on(ordered[-1], "ship"),
            lambda: self.order_moves_on(ordered[-1], "return"),
            reclaimable_hold,
            lambda: self.time_passes(16, "none", random.Random(0)),
            lambda: self.hold("MOBILE", {other: 1}, allow_partial=False),
            lambda: self.hold("ECOMMERCE", {product: 1}, allow_partial=False),
            lambda: self.time_passes(16, "stream", random.Random(0)),
            lambda: self.hold("ECOMMERCE", {product: 1}, allow_partial=False),
            lambda: self.time_passes(16, "sweeper", random.Random(0)),
        ]
        for step in steps:  # the invariants run after it, as after every initialize rule
            step()

    # -- counter shards (docs/decisions.md #12) -------------------------------------------

    @rule(
        product=st.sampled_from(PRODUCTS),
        location=st.sampled_from(LOCATIONS),
        shards=st.integers(1, 4),
    )
    def reshard(self, product: str, location: str, shards: int) -> None:
        """Split a position's counter over 1–4 items (or fold it back) at any moment: no figure
        a retailer sees may move, and every later hold, feed and release must still add up."""
        response = self.api.put(f"/products/{product}", {"counterShards": {location: shards}})
        assert response.status == 200, response.body
        STATS["reshards"] += 1
        self.shards[position(product, location)] = shards

    # -- stock feeds ----------------------------------------------------------------------

    @rule(
        product=st.sampled_from(PRODUCTS),
        location=st.sampled_from(LOCATIONS),
        count=st.integers(0, 12),
        minutes_ago=st.integers(0, 40),
    )
    def feed_snapshot(self, product: str, location: str, count: int, minutes_ago: int) -> None:
        self.feed_snapshot_of(product, location, count, minutes_ago)

    def feed_snapshot_of(self, product: str, location: str, count: int, minutes_ago: int) -> None:
        as_of = self.clock.now - timedelta(minutes=minutes_ago)
        model = self.positions[position(product, location)]
        entity = {
            "productRef": product,
            "locationRef": location,
            "type": "LAST_ON_HAND",
            "quantity": count,
            "asOf": to_iso(as_of),
        }
        before = self.expected_on_hand(product, location)
        [result] = self.send(entity)
        if model.snapshot_as_of is not None and as_of < model.snapshot_as_of:
            expected = "STALE"
        elif model.snapshot_as_of == as_of:
            expected = "UNCHANGED" if model.snapshot_count == count else "STALE"
        else:
            expected = "APPLIED"
        assert result["status"] == expected, (result, model.snapshot_as_of, as_of)
        if expected == "APPLIED":
            model.snapshot_as_of, model.snapshot_count = as_of, count
            self.count_sharded_decrease(product, location, before)

    @rule(
        product=st.sampled_from(PRODUCTS),
        location=st.sampled_from(LOCATIONS),
        kind=st.sampled_from(["DELTA", "CORRECTION", "RETURNED"]),
        quantity=st.integers(-4, 6),
        minutes_ago=st.integers(0, 40),
    )
    def feed_delta(
        self, product: str, location: str, kind: str, quantity: int, minutes_ago: int
    ) -> None:
        if quantity == 0 or (kind == "RETURNED" and quantity < 0):
            quantity = abs(quantity) or 1
        entity = {
            "productRef": product,
            "locationRef": location,
            "type": kind,
            "quantity": quantity,
            "sourceRef": self.next_ref("feed"),
            "asOf": to_iso(self.clock.now - timedelta(minutes=minutes_ago)),
        }
        self.apply_delta(entity, first_time=True)
        self.deltas.append(entity)

    @rule(data=st.data())
    def redeliver_a_delta(self, data: st.DataObject) -> None:
        """Feeds arrive at least once: the same event again changes nothing."""
        if self.deltas:
            self.apply_delta(data.draw(st.sampled_from(self.deltas)), first_time=False)

    def apply_delta(self, entity: dict[str, Any], *, first_time: bool) -> None:
        model = self.positions[position(entity["productRef"], entity["locationRef"])]
        as_of = datetime.fromisoformat(entity["asOf"].replace("Z", "+00:00"))
        [result] = self.send(entity)
        if not first_time and entity.get("applied"):
            assert result["status"] == "UNCHANGED", result
            return
        if model.snapshot_as_of is not None and as_of <= model.snapshot_as_of:
            assert result["status"] == "STALE", result
            return
        assert result["status"] == "APPLIED", result
        entity["applied"] = True
        before = self.expected_on_hand(entity["productRef"], entity["locationRef"])
        model.events.append(Entry(entity["type"], entity["quantity"], as_of))
        self.count_sharded_decrease(entity["productRef"], entity["locationRef"], before)

    def count_sharded_decrease(self, product: str, location: str, before: int) -> None:
        if (
            self.shards.get(position(product, location), 1) > 1
            and self.expected_on_hand(product, location) < before
        ):
            COVERAGE["sharded_decreases"] += 1

    def send(self, *entities: dict[str, Any]) -> list[dict[str, Any]]:
        clean = [{k: v for k, v in e.items() if k != "applied"} for e in entities]
        response = self.api.post("/inventory/batch", {"entities": clean})
        assert response.status == 200, response.body
        return response.json()["results"]

    # -- holds ----------------------------------------------------------------------------

    @rule(
        target=holds,
        channel=st.sampled_from(list(CHANNELS)),
        lines=st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, 4), min_size=1, max_size=2),
        allow_partial=st.booleans(),
    )
    def hold(self, channel: str, lines: dict[str, int], allow_partial: bool) -> str:
        self.note_overdue()
        ref = self.next_ref("cart")
        body = {
            "ref": ref,
            "channel": channel,
            "deliveryType": "HD",
            "lines": [{"productRef": p, "quantity": q} for p, q in lines.items()],
            "allowPartial": allow_partial,
        }
        response = self.api.post("/fulfilment-options", body)
        assert response.status == 201, response.body
        view = response.json()
        self.observe_documents()  # reclaims this call made, applied to the model first
        allocations = allocations_of_plan(view["reservedPlan"])
        if view["status"] == "ACTIVE":
            STATS["holds_granted"] += 1
            self.assert_within_ats(channel, allocations)
            partial = bool(view.get("shortfall"))
            assert partial <= allow_partial
            if not partial:
                assert {
                    p: sum(q for (pp, _), q in allocations.items() if pp == p) for p in lines
                } == lines
        else:
            STATS["holds_refused"] += 1
            assert view["status"] == "NO_OPTIONS" and allocations == {}
            assert not self.overdue_active(), "a refused hold reclaims every overdue hold first"
            for location in LOCATIONS:
                assert any(self.ats(channel, p, location) < q for p, q in lines.items()), (
                    f"NO_OPTIONS although {location} covers {lines}"
                )
            if allow_partial:
                assert all(self.ats(channel, p, loc) == 0 for p in lines for loc in LOCATIONS)
        expires = (
            datetime.fromisoformat(view["expiresAt"].replace("Z", "+00:00"))
            if view["expiresAt"]
            else None
        )
        self.hold_models[ref] = HoldModel(
            ref,
            channel,
            lines,
            view["status"],
            expires,
            allocations,
            partial=bool(view.get("shortfall")),
        )
        self.replays[ref] = (body, view)
        return ref

    @rule(ref=holds)
    def replay_a_hold(self, ref: str) -> None:
        """A client retry of a cart add answers the first result and holds nothing more."""
        self.note_overdue()
        body, first = self.replays[ref]
        response = self.api.post("/fulfilment-options", body)
        assert response.status == 200, response.body
        assert response.json()["reservedPlan"] == first["reservedPlan"]
        self.observe_documents()  # finding no stock on the way, it may have reclaimed overdue holds

    @rule(ref=holds)
    def cancel_hold(self, ref: str) -> None:
        self.note_overdue()
        model = self.hold_models[ref]
        before = model.status
        # A hold past its expiry is an abandoned cart: cancelling it releases it as EXPIRED.
        overdue = before == "ACTIVE" and model.expires_at <= self.clock.now
        self.allowed = {(ref, "ACTIVE", "CANCELLED")}
        response = self.api.delete(f"/fulfilment-options/{ref}")
        assert response.status == (409 if before == "CONVERTED" else 200), response.body
        self.observe_documents()
        ended = "EXPIRED" if overdue else "CANCELLED"
        assert model.status == (ended if before == "ACTIVE" else before)

    @rule(ref=holds)
    def extend_hold(self, ref: str) -> None:
        self.note_overdue()
        model = self.hold_models[ref]
        response = self.api.post(f"/fulfilment-options/{ref}/extend")
        allowed = (
            model.status == "ACTIVE" and not model.extended and model.expires_at > self.clock.now
        )
        assert response.status == (200 if allowed else 409), (response.body, model)
        if allowed:
            new_expiry = datetime.fromisoformat(response.json()["expiresAt"].replace("Z", "+00:00"))
            assert new_expiry > model.expires_at
            model.expires_at, model.extended = new_expiry, True

    # -- time and expiry ------------------------------------------------------------------

    @rule(
        minutes=st.sampled_from([2, 6, 16, 31]),
        path=st.sampled_from(["none", "sweeper", "stream", "stream then sweeper"]),
        shuffle=st.randoms(use_true_random=False),
    )
    def time_passes(self, minutes: int, path: str, shuffle: Any) -> None:
        """Time passes; the sweeper runs and/or the stream delivers every due hold's TTL
        deletion, duplicated and out of order (at-least-once, unordered across shards)."""
        self.clock.now += timedelta(minutes=minutes)
        due = {
            ref
            for ref, h in self.hold_models.items()
            if h.status == "ACTIVE" and h.expires_at <= self.clock.now
        }
        self.expiry_path = "stream" if "stream" in path else path
        if "stream" in path and due:  # Lambda never sends an empty batch
            records = [timer_deleted_by_ttl(ref, self.next_sequence()) for ref in sorted(due) * 2]
            shuffle.shuffle(records)
            answer = self.api.invoke("HoldExpiryFunction", {"Records": records})
            assert answer == {"batchItemFailures": []}
        if "sweeper" in path:
            answer = self.api.invoke("HoldSweeperFunction", {"source": "aws.events"})
            assert answer["released"] == (0 if "stream" in path else len(due)), (answer, due)
        self.observe_documents()
        if path != "none":
            assert not self.overdue_active()
            STATS["releases"] += len(due)

    def next_sequence(self) -> int:
        self.counter += 1
        return self.counter

    @rule(ref=holds, times=st.integers(1, 2))
    def ttl_deletes_a_timer(self, ref: str, times: int) -> None:
        """The stream delivers the timer's TTL deletion, maybe twice; early TTL is a no-op."""
        model = self.hold_models[ref]
        due = model.status == "ACTIVE" and model.expires_at <= self.clock.now
        for _ in range(times):
            answer = self.api.invoke(
                "HoldExpiryFunction", {"Records": [timer_deleted_by_ttl(ref, self.next_sequence())]}
            )
            assert answer == {"batchItemFailures": []}
        self.expiry_path = "stream"
        self.observe_documents()
        if due:
            assert self.hold_models[ref].status == "EXPIRED"
            STATS["releases"] += 1

    # -- orders ---------------------------------------------------------------------------

    @rule(target=orders, ref=holds, same_lines=st.booleans(), bump=st.sampled_from(PRODUCTS))
    def order_from_cart(self, ref: str, same_lines: bool, bump: str) -> str:
        self.note_overdue()
        cart = self.hold_models[ref]
        lines = dict(cart.lines)
        if not same_lines:
            lines[bump] = lines.get(bump, 0) + 1
        order_ref = self.next_ref("order")
        converts = (
            cart.status == "ACTIVE"
            and cart.expires_at > self.clock.now
            and same_lines
            and not cart.partial
        )
        self.allowed = {(ref, "ACTIVE", "CONVERTED"), (ref, "ACTIVE", "REPLACED")}
        body = {
            "ref": order_ref,
            "channel": cart.channel,
            "deliveryType": "HD",
            "fulfilmentOptionRef": ref,
            "lines": [{"productRef": p, "quantity": q} for p, q in lines.items()],
        }
        response = self.api.post("/orders", body)
        self.observe_documents(
            own_cart=ref
        )  # the cart released or converted, overdue holds reclaimed
        if response.status == 409:
            assert response.json()["error"]["code"] == "OUT_OF_STOCK", response.body
            assert not converts
            # Nothing was written: the cart, if still ACTIVE, would have given its units back.
            freed = dict(cart.allocations) if cart.status == "ACTIVE" else {}
            for product in {d["productRef"] for d in response.json()["error"]["details"]}:
                total = sum(self.ats_with(cart.channel, (product, loc), freed) for loc in LOCATIONS)
                assert total < lines[product], (
                    f"OUT_OF_STOCK for {product} although ATS {total} covers {lines[product]}"
                )
            return order_ref
        assert response.status == 201, response.body
        view = response.json()
        assert view["convertedFromHold"] == converts, (view, cart)
        allocations = {
            (a["productRef"], a["locationRef"]): a["quantity"] for a in view["allocations"]
        }
        if converts:
            assert allocations == cart.allocations
            assert self.hold_models[ref].status == "CONVERTED"
        else:
            for pair, quantity in allocations.items():
                available = self.ats(cart.channel, *pair)  # the cart's units are back in the model
                if quantity > available:
                    STATS["oversells"] += 1
                assert quantity <= available, (
                    f"order took {quantity} of {pair} with ATS {available}"
                )
        STATS["orders"] += 1
        self.order_models[order_ref] = OrderModel(order_ref, "CONFIRMED", allocations)
        return order_ref

    @rule(
        target=orders,
        channel=st.sampled_from(list(CHANNELS)),
        lines=st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, 4), min_size=1, max_size=2),
    )
    def order_without_cart(self, channel: str, lines: dict[str, int]) -> str:
        self.note_overdue()
        order_ref = self.next_ref("order")
        body = {
            "ref": order_ref,
            "channel": channel,
            "deliveryType": "HD",
            "lines": [{"productRef": p, "quantity": q} for p, q in lines.items()],
        }
        response = self.api.post("/orders", body)
        self.observe_documents()  # overdue holds reclaimed on the way
        if response.status == 409:
            assert response.json()["error"]["code"] == "OUT_OF_STOCK", response.body
            for product in {d["productRef"] for d in response.json()["error"]["details"]}:
                total = sum(self.ats(channel, product, loc) for loc in LOCATIONS)
                assert total < lines[product], (
                    f"OUT_OF_STOCK for {product} although ATS {total} covers {lines[product]}"
                )
            assert not self.overdue_active(), "a refused order reclaims every overdue hold first"
            return order_ref
        assert response.status == 201, response.body
        allocations = {
            (a["productRef"], a["locationRef"]): a["quantity"]
            for a in response.json()["allocations"]
        }
        for pair, quantity in allocations.items():
            available = self.ats(channel, *pair)
            if quantity > available:
                STATS["oversells"] += 1
            assert quantity <= available, f"order took {quantity} of {pair} with ATS {available}"
        STATS["orders"] += 1
        self.order_models[order_ref] = OrderModel(order_ref, "CONFIRMED", allocations)
        return order_ref

    @rule(ref=orders, action=st.sampled_from(["ship", "cancel", "return"]))
    def order_moves_on(self, ref: str, action: str) -> None:
        model = self.order_models.get(ref)
        if model is None:
            return  # the order was refused
        response = self.api.post(f"/orders/{ref}/{action}")
        target = {"ship": "SHIPPED", "cancel": "CANCELLED", "return": "RETURNED"}[action]
        if model.status == target:
            assert response.status == 200, response.body
            return
        if (model.status, target) not in ORDER_EDGES:
            assert response.status == 409, response.body
            return
        fenced = any(
            (as_of := self.positions[position(p, loc)].snapshot_as_of) is not None
            and as_of >= self.clock.now
            for p, loc in model.allocations
        )
        if target != "CANCELLED" and fenced:
            # A count taken this very instant may already include the sale or return: refused.
            assert response.status == 409, response.body
            return
        assert response.status == 200, response.body
        assert response.json()["status"] == target
        COVERAGE[
            {"ship": "order_ships", "cancel": "order_cancels", "return": "order_returns"}[action]
        ] += 1
        now = self.clock.now
        for (product, location), quantity in model.allocations.items():
            events = self.positions[position(product, location)].events
            if target == "SHIPPED":
                events.append(Entry("SALE", -quantity, now))
            elif target == "RETURNED":
                events.append(Entry("RETURNED", quantity, now))
        model.status = target

    # -- the model's arithmetic -----------------------------------------------------------

    def expected_on_hand(self, product: str, location: str) -> int:
        total = self.positions[position(product, location)].feed_part()
        for cart in self.hold_models.values():
            if cart.status == "ACTIVE":
                total -= cart.allocations.get((product, location), 0)
        for order in self.order_models.values():
            if order.status == "CONFIRMED":
                total -= order.allocations.get((product, location), 0)
        return total

    def ats(self, channel: str, product: str, location: str) -> int:
        return self.ats_with(channel, (product, location), {})

    def ats_with(
        self, channel: str, pair: tuple[str, str], freed: dict[tuple[str, str], int]
    ) -> int:
        rule_ = Channel.model_validate({"name": channel, **CHANNELS[channel]})
        return available_to_sell(self.expected_on_hand(*pair) + freed.get(pair, 0), rule_, pair[1])

    def assert_within_ats(self, channel: str, allocations: dict[tuple[str, str], int]) -> None:
        """Each allocation within the channel's ATS as it was just before the hold's write."""
        for pair, quantity in allocations.items():
            available = self.ats(channel, *pair)  # the new hold is not in the model yet
            if quantity > available:
                STATS["oversells"] += 1
            assert quantity <= available, f"held {quantity} of {pair} with ATS {available}"

    def note_overdue(self) -> None:
        """Count a step that begins while a hold is expired but not yet released."""
        if self.overdue_active():
            COVERAGE["expired_unswept_steps"] += 1

    def overdue_active(self) -> list[str]:
        return [
            r
            for r, h in self.hold_models.items()
            if h.status == "ACTIVE" and h.expires_at <= self.clock.now
        ]

    def observe_documents(self, own_cart: str | None = None) -> None:
        """Read every FO's and order's stored status; accept only legal edges this step may
        take, and apply them to the model. Expiries are counted by the path the step set
        (``reclaim`` unless it says otherwise; an order's own expired cart is the order's)."""
        table = get_runtime().table
        for ref, cart in self.hold_models.items():
            document = table.get_cart(ref)
            status = document.status
            assert status in FO_STATUSES
            if status != cart.status:
                edge = (ref, cart.status, status)
                expiry = (
                    cart.status == "ACTIVE"
                    and status == "EXPIRED"
                    and cart.expires_at <= self.clock.now
                )
                assert expiry or edge in self.allowed, (
                    f"illegal FO transition {edge} at {self.clock.now}"
                )
                if expiry and ref != own_cart and self.expiry_path != "none":
                    COVERAGE[f"expired_by_{self.expiry_path}"] += 1
                cart.status = status
            if document.expires_at is not None and cart.status == "ACTIVE":
                assert document.expires_at == cart.expires_at
        self.allowed = set()
        self.expiry_path = "reclaim"

    # -- invariants after every step ------------------------------------------------------

    @invariant()
    def counters_equal_the_model_and_the_ledger(self) -> None:
        STATS["steps"] += 1
        for ref in self.positions:
            product, location, _ = ref.split(":")
            response = self.api.get(f"/inventory-positions/{ref}", query={"limit": 1000})
            assert response.status == 200, response.body
            ip = response.json()
            assert ip["onHand"] == self.expected_on_hand(product, location), (
                ref,
                ip,
                self.positions[ref],
            )
            active = {
                (q["type"], q["sourceRef"]) for q in ip["quantities"] if q["status"] == "ACTIVE"
            }
            holds = {s for t, s in active if t == "SOFT_RESERVE"}
            reserved = {s for t, s in active if t == "RESERVED"}
            assert holds == {
                r
                for r, h in self.hold_models.items()
                if h.status == "ACTIVE" and (product, location) in h.allocations
            }
            assert reserved == {
                r
                for r, o in self.order_models.items()
                if o.status == "CONFIRMED" and (product, location) in o.allocations
            }
        _checked, drift = get_runtime().inventory.reconcile()
        STATS["drift"] += len(drift)
        assert drift == [], drift
        for record in get_runtime().table.get_positions(list(self.positions)).values():
            values = (
                record.shard_values
            )  # shards 1.. never negative; shard 0 only while they are empty
            assert all(v >= 0 for v in values[1:]) and (values[0] >= 0 or not any(values[1:])), (
                record.ref,
                values,
            )


def run_machine(endpoint: str, examples: int, steps: int) -> dict[str, int]:
    HoldfastMachine.endpoint = endpoint
    for counts in (STATS, COVERAGE):
        for key in counts:
            counts[key] = 0
    started = time.monotonic()
    run_state_machine_as_test(
        HoldfastMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("HOLDFAST_STATEFUL_RANDOM") != "1",
            database=None,
        ),
    )
    figures = {**STATS, "coverage": dict(COVERAGE), "seconds": round(time.monotonic() - started, 1)}
    record_figures("stateful", figures)
    return figures


@pytest.fixture
def machine_environment(dynamodb_local_endpoint, monkeypatch):
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local_endpoint)
    monkeypatch.setenv("TABLE_NAME", "unset")
    yield dynamodb_local_endpoint
    use_clock(None)
    reset_runtime()


@pytest.mark.timeout(900)
def test_random_interleavings_keep_every_invariant(machine_environment):
    examples = int(os.environ.get("HOLDFAST_STATEFUL_EXAMPLES", "6"))  # each walks every path first
    steps = int(os.environ.get("HOLDFAST_STATEFUL_STEPS", "25"))
    figures = run_machine(machine_environment, examples, steps)
    assert figures["examples"] >= examples
    assert figures["oversells"] == 0 and figures["drift"] == 0
    assert all(figures["coverage"].values()), f"paths never reached: {figures['coverage']}"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_interleavings_keep_every_invariant_long_run(machine_environment):
    examples = int(os.environ.get("HOLDFAST_STATEFUL_LONG_EXAMPLES", "80"))
    os.environ.setdefault("HOLDFAST_STATEFUL_RANDOM", "1")  # explore beyond the fixed CI examples
    figures = run_machine(machine_environment, examples, steps=50)
    assert figures["oversells"] == 0 and figures["drift"] == 0
    assert all(figures["coverage"].values()), f"paths never reached: {figures['coverage']}"
