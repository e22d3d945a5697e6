"""The small shops the interleaving explorer starts from, and the operations it interleaves.

Every state is written through the services (as a retailer's calls would leave it), near
zero stock, with a 10 % buffer channel: an unsharded position with a live hold, a confirmed
and a shipped order; the same with an expired hold nobody has swept yet; a position split
over four counter shards holding (8,0,0,0) with 2 held, and one spread (2,2,2,2) with a hold
and an order; and a position whose last count's writer died, leaving its fence standing or
lapsed. Times are relative to ``start``, which lies in the future so that DynamoDB Local's
TTL never deletes a timer behind the explorer's back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from unittest import mock

from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import (
    BufferRule,
    ChannelConfig,
    LocationConfig,
    ProductConfig,
    TimerConfig,
)
from holdfast.models import FulfilmentOptionRequest, Line, OrderRequest
from holdfast.runtime import Runtime
from holdfast.services.availability import StockReader
from holdfast.storage import PositionKey
from tests.interleavings import Clock, Op, StartingState

CHANNEL = "EX_WEB"
DC = "EX_DC"
TEE = "EX_TEE"
DROP = "EX_DROP"
SNAPSHOT_FENCE = timedelta(seconds=30)


def ip(product: str) -> str:
    return f"{product}:{DC}:DEFAULT"


# -- writing a state ----------------------------------------------------------------------


def _shop(rt: Runtime) -> None:
    rt.configuration.put_channel(
        CHANNEL, ChannelConfig(buffer=BufferRule(type="PERCENTAGE", value=10))
    )
    rt.configuration.put_location(
        DC, LocationConfig(type="DC", deliveryTypes=["HD"], channels=[CHANNEL], priority=1)
    )
    rt.configuration.put_timers(TimerConfig(globalMinutes=15))


def _count(rt: Runtime, product: str, quantity: int, as_of: datetime) -> str:
    entity = {
        "productRef": product,
        "locationRef": DC,
        "type": "LAST_ON_HAND",
        "quantity": quantity,
        "asOf": to_iso(as_of),
    }
    [result] = rt.inventory.apply_batch([entity]).results
    return result.status


def _hold(rt: Runtime, ref: str, product: str, quantity: int, replaces: str | None = None) -> str:
    request = FulfilmentOptionRequest(
        ref=ref,
        channel=CHANNEL,
        deliveryType="HD",
        lines=[Line(productRef=product, quantity=quantity)],
        replaces=replaces,
    )
    view, created = rt.holds.create(request)
    return view.status if created else f"{view.status} (replay)"


def _order(rt: Runtime, ref: str, product: str, quantity: int, cart: str | None = None) -> str:
    request = OrderRequest(
        ref=ref,
        channel=CHANNEL,
        deliveryType="HD",
        lines=[Line(productRef=product, quantity=quantity)],
        fulfilmentOptionRef=cart,
    )
    view, created = rt.orders.confirm(request)
    return view.status if created else f"{view.status} (replay)"


def _expect(answer: str, wanted: str) -> None:
    assert answer == wanted, f"setting up the state: {answer} (wanted {wanted})"


def _unsharded(
    stock: int, *, expired_hold: bool = False, orders: bool = True
) -> Callable[[Runtime, Clock], None]:
    def build(rt: Runtime, clock: Clock) -> None:
        start = clock.now
        clock.now = start - timedelta(minutes=30)
        _shop(rt)
        _expect(_count(rt, TEE, stock, clock.now), "APPLIED")
        if expired_hold:
            clock.now = start - timedelta(minutes=20)
            _expect(_hold(rt, "h-exp", TEE, 2), "ACTIVE")  # expires 5 minutes before start
        if orders:
            clock.now = start - timedelta(minutes=5)
            _expect(_order(rt, "o-conf", TEE, 1), "CONFIRMED")
            _expect(_order(rt, "o-ship", TEE, 1), "CONFIRMED")
            _expect(rt.orders.ship("o-ship").status, "SHIPPED")
        clock.now = start - timedelta(minutes=2)
        _expect(_hold(rt, "h-live", TEE, 1), "ACTIVE")

    return build


def _fenced(lapsed: bool) -> Callable[[Runtime, Clock], None]:
    """A count dated a minute ago whose writer died after taking the fence."""

    def build(rt: Runtime, clock: Clock) -> None:
        start = clock.now
        _unsharded(5, orders=False)(rt, clock)
        clock.now = start - (timedelta(seconds=40) if lapsed else timedelta(seconds=10))
        position = PositionKey(TEE, DC, "DEFAULT")
        assert rt.table.fence_snapshot(
            position, start - timedelta(minutes=1), clock.now + SNAPSHOT_FENCE, clock.now
        )

    return build


def _sharded(stock: int, *, spread: bool) -> Callable[[Runtime, Clock], None]:
    def build(rt: Runtime, clock: Clock) -> None:
        start = clock.now
        clock.now = start - timedelta(minutes=30)
        _shop(rt)
        rt.configuration.put_product(DROP, ProductConfig(counterShards={DC: 4}))
        _expect(_count(rt, DROP, stock, clock.now), "APPLIED")  # all of it lands on shard 0
        clock.now = start - timedelta(minutes=2)
        if spread:
            record = rt.table.get_positions([ip(DROP)])[ip(DROP)]
            StockReader(rt.table).rebalance([record], clock.now)
            _expect(_order(rt, "o-conf", DROP, 1), "CONFIRMED")
            _expect(_hold(rt, "h-live", DROP, 1), "ACTIVE")
            return
        with mock.patch.object(StockReader, "rebalance", return_value=0):  # leave it at (8,0,0,0)
            _expect(_hold(rt, "h-live", DROP, 2), "ACTIVE")

    return build


STATES = {
    state.name: state
    for state in (
        StartingState("tee", _unsharded(6), CHANNEL),
        StartingState("tee-expired", _unsharded(4, expired_hold=True, orders=False), CHANNEL),
        StartingState("drop-8000", _sharded(10, spread=False), CHANNEL),
        StartingState("drop-2222", _sharded(9, spread=True), CHANNEL),
        StartingState("tee-fence-live", _fenced(lapsed=False), CHANNEL),
        StartingState("tee-fence-lapsed", _fenced(lapsed=True), CHANNEL),
    )
}
PRODUCT = {
    "tee": TEE,
    "tee-expired": TEE,
    "drop-8000": DROP,
    "drop-2222": DROP,
    "tee-fence-live": TEE,
    "tee-fence-lapsed": TEE,
}


def cart_size(state: str, cart: str) -> int:
    """Units the state's cart holds (a conversion orders exactly these)."""
    return 2 if cart == "h-exp" or state == "drop-8000" else 1


# -- the operations -------------------------------------------------------------------------


def operations(state: str, clock: Clock, start: datetime, tag: str = "") -> dict[str, Op]:
    """Every operation that applies to ``state``, by name; ``tag`` keeps refs apart when one
    kind of operation meets itself."""
    p = PRODUCT[state]
    carts = (
        ["h-exp"] if state == "tee-expired" else ["h-live"]
    )  # the live cart's ops run in the other states
    has_orders = state in ("tee", "drop-2222")

    def feed(
        kind: str, quantity: int, as_of: datetime | None, source: str | None = None
    ) -> Callable[[Runtime], str]:
        def act(rt: Runtime) -> str:
            entity = {"productRef": p, "locationRef": DC, "type": kind, "quantity": quantity}
            if as_of is not None:
                entity["asOf"] = to_iso(as_of)
            if source:
                entity["sourceRef"] = source
            [result] = rt.inventory.apply_batch([entity]).results
            return result.status

        return act

    def rebalance(rt: Runtime) -> str:
        record = rt.table.get_positions([ip(p)]).get(ip(p))
        StockReader(rt.table).rebalance([record] if record else [], clock.now)
        return "done"

    def done(call: Callable[[Runtime], object]) -> Callable[[Runtime], str]:
        return lambda rt: (call(rt), "done")[1]

    ops: dict[str, Callable[[Runtime], str]] = {
        "hold1": lambda rt: _hold(rt, f"h-new{tag}", p, 1),
        "hold2": lambda rt: _hold(rt, f"h-big{tag}", p, 2),
        "order1": lambda rt: _order(rt, f"o-new{tag}", p, 1),
        "sweep": done(lambda rt: rt.holds.sweep()),
        "reclaim": done(lambda rt: rt.holds.reclaim_expired()),
        "sale": feed("DELTA", -1, start - timedelta(seconds=20), f"till{tag}"),
        "receipt": feed("DELTA", 3, None, f"rcpt{tag}"),
        "count-lower": feed("LAST_ON_HAND", 1, start - timedelta(seconds=1)),
        "count-higher": feed("LAST_ON_HAND", 12, start - timedelta(seconds=1)),
        "rebalance": rebalance,
    }
    for cart in carts:
        size = cart_size(state, cart)
        ops[f"replace-{cart}"] = lambda rt, cart=cart, size=size: _hold(
            rt, f"h-repl{tag}", p, size, replaces=cart
        )
        ops[f"convert-{cart}"] = lambda rt, cart=cart, size=size: _order(
            rt, f"o-conv{tag}", p, size, cart
        )
        ops[f"cancel-{cart}"] = lambda rt, cart=cart: rt.holds.cancel(cart).status
        ops[f"extend-{cart}"] = lambda rt, cart=cart: rt.holds.extend(cart).status
        ops[f"stream-{cart}"] = done(lambda rt, cart=cart: rt.holds.release_timer_deleted(cart))
    if state.startswith("drop"):
        ops["sale-big"] = feed("DELTA", -9, start - timedelta(seconds=20), f"shrink{tag}")
        ops["reshard-2"] = done(
            lambda rt: rt.configuration.put_product(p, ProductConfig(counterShards={DC: 2}))
        )
    else:
        ops["reshard-4"] = done(
            lambda rt: rt.configuration.put_product(p, ProductConfig(counterShards={DC: 4}))
        )
    if state.startswith("tee-fence"):
        ops["count-older"] = feed("LAST_ON_HAND", 4, start - timedelta(minutes=3))
        ops["sale-fenced"] = feed("DELTA", -1, start - timedelta(minutes=2), f"fenced{tag}")
    if has_orders:
        ops["ship"] = lambda rt: rt.orders.ship("o-conf").status
        ops["cancel-order"] = lambda rt: rt.orders.cancel("o-conf").status
    if state == "tee":
        ops["return"] = lambda rt: rt.orders.return_order("o-ship").status
        ops["returned-feed"] = feed(
            "RETURNED", 1, None, "o-ship"
        )  # a store's return feed naming the order
    if state.startswith("tee-fence"):  # what a fence changes: feeds, and what meets them
        ops = {name: act for name, act in ops.items() if name in FENCE_OPS}
    return {name: Op(f"{name}{tag}", act, EXPECTS.get(name)) for name, act in ops.items()}


EXPECTS = {
    "ship": "SHIPPED",
    "cancel-order": "CANCELLED",
    "return": "RETURNED",
    "extend-h-live": "ACTIVE",
    "extend-h-exp": "ACTIVE",
}
"""What a successful answer of an order or cart transition must show."""

FENCE_OPS = frozenset(
    {
        "hold1",
        "order1",
        "sale",
        "receipt",
        "count-lower",
        "count-higher",
        "count-older",
        "sale-fenced",
        "cancel-h-live",
        "convert-h-live",
        "reshard-4",
    }
)
