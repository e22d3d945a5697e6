"""Demand signals from table changes, and the funnel (docs/behaviour.md §7): pure rules, no table."""

from __future__ import annotations

import json

from holdfast.domain import signals as demand_signals
from holdfast.domain.configuration import Channel, Configuration, Location
from holdfast.domain.funnel import funnel
from holdfast.domain.signals import Signal, SignalType
from holdfast.storage import table_change

SKU, OTHER, DC, STORE = "ACME_SNEAKER_BLK_US9", "ACME_SOCKS_WHT", "MAIN_DC", "STORE_SYDNEY"


def fo(
    ref: str,
    status: str,
    *,
    lines,
    allocations=(),
    shortfall=(),
    location=None,
    updated="2026-11-27T10:00:00.000Z",
    **extra,
):
    body = {
        "channel": "ECOMMERCE",
        "deliveryType": "CC" if location else "HD",
        "locationRef": location,
        "lines": [{"productRef": p, "quantity": q} for p, q in lines],
        "plans": [],
        "reservedPlan": None,
        "allocations": [
            {"productRef": p, "locationRef": loc, "quantity": q} for p, loc, q in allocations
        ],
        "shortfall": [{"productRef": p, "requested": r, "available": a} for p, r, a in shortfall],
        "timerMinutes": 15,
        "createdAt": "2026-11-27T10:00:00.000Z",
        "latencyMs": 12,
        **extra,
    }
    return {
        "entity": "FO",
        "ref": ref,
        "status": status,
        "body": json.dumps(body),
        "updatedAt": updated,
        "expiresAt": "2026-11-27T10:15:00.000Z",
    }


def order(ref: str, fo_ref: str | None, allocations, seconds: float | None):
    body = {
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": fo_ref,
        "lines": [{"productRef": p, "quantity": q} for p, _, q in allocations],
        "allocations": [
            {"productRef": p, "locationRef": loc, "quantity": q} for p, loc, q in allocations
        ],
        "convertedFromHold": seconds is not None,
        "secondsToConvert": seconds,
        "createdAt": "2026-11-27T10:02:00.000Z",
    }
    return {"entity": "ORDER", "ref": ref, "status": "CONFIRMED", "body": json.dumps(body)}


def signals_from_change(old, new, configuration=None, other_shards=0) -> list[Signal]:
    """The signals of one change as the stream delivers it: its images decoded by storage."""
    return demand_signals.signals_from_change(table_change(old, new), configuration, other_shards)


def kinds(signals: list[Signal]) -> list[tuple[str, str, int]]:
    return [(s.type, s.productRef, s.quantity) for s in signals]


def test_a_held_cart_is_one_fo_call_per_line_with_its_outcome_and_latency():
    new = fo(
        "cart-1", "ACTIVE", lines=[(SKU, 2), (OTHER, 1)], allocations=[(SKU, DC, 2), (OTHER, DC, 1)]
    )

    signals = signals_from_change(None, new)

    assert kinds(signals) == [("FO_CALL", SKU, 2), ("FO_CALL", OTHER, 1)]
    first = signals[0]
    assert (
        first.id,
        first.outcome,
        first.heldQuantity,
        first.locationRef,
        first.channel,
        first.latencyMs,
    ) == (f"FO_CALL#cart-1#{SKU}", "ACTIVE", 2, DC, "ECOMMERCE", 12)
    assert first.at == "2026-11-27T10:00:00.000Z"
    assert first.detail["lines"] == [
        {"productRef": SKU, "quantity": 2},
        {"productRef": OTHER, "quantity": 1},
    ]


def test_a_no_options_answer_is_out_of_stock_demand_for_the_lines_the_stock_could_not_cover():
    new = fo(
        "cart-2",
        "NO_OPTIONS",
        lines=[(SKU, 3), (OTHER, 1)],
        shortfall=[(SKU, 3, 1), (OTHER, 1, 5)],
        location=STORE,
    )

    signals = signals_from_change(None, new)

    assert kinds(signals) == [("FO_CALL", SKU, 3), ("OUT_OF_STOCK", SKU, 3), ("FO_CALL", OTHER, 1)]
    assert signals[0].outcome == "NO_OPTIONS" and signals[0].heldQuantity == 0
    assert (signals[1].locationRef, signals[1].detail["available"]) == (STORE, 1)


def test_a_cart_no_single_order_can_serve_is_out_of_stock_demand_for_every_line():
    new = fo("cart-3", "NO_OPTIONS", lines=[(SKU, 2)], shortfall=[(SKU, 2, 2)])

    assert kinds(signals_from_change(None, new)) == [("FO_CALL", SKU, 2), ("OUT_OF_STOCK", SKU, 2)]


def test_a_partial_hold_says_partial_and_how_much_was_held():
    new = fo(
        "cart-4", "ACTIVE", lines=[(SKU, 3)], allocations=[(SKU, DC, 1)], shortfall=[(SKU, 3, 1)]
    )

    (signal,) = signals_from_change(None, new)

    assert (signal.outcome, signal.quantity, signal.heldQuantity) == ("PARTIAL", 3, 1)


def test_an_expired_hold_is_abandoned_and_a_cancelled_or_replaced_one_is_cancelled():
    held = fo("cart-5", "ACTIVE", lines=[(SKU, 2)], allocations=[(SKU, DC, 2)])
    expired = {**held, "status": "EXPIRED", "updatedAt": "2026-11-27T10:15:00.500Z"}
    cancelled = {**held, "status": "CANCELLED"}
    replaced = {**held, "status": "REPLACED"}

    (abandoned,) = signals_from_change(held, expired)
    assert (abandoned.type, abandoned.quantity, abandoned.foRef, abandoned.at) == (
        SignalType.ABANDONED,
        2,
        "cart-5",
        "2026-11-27T10:15:00.500Z",
    )
    assert abandoned.detail["heldSeconds"] == 900.5
    assert [(s.type, s.outcome) for s in signals_from_change(held, cancelled)] == [
        (SignalType.CANCELLED, "CANCELLED")
    ]
    assert [(s.type, s.outcome) for s in signals_from_change(held, replaced)] == [
        (SignalType.CANCELLED, "REPLACED")
    ]


def test_conversion_extension_and_repeated_endings_are_not_abandonment():
    held = fo("cart-6", "ACTIVE", lines=[(SKU, 1)], allocations=[(SKU, DC, 1)])
    expired = {**held, "status": "EXPIRED"}

    assert signals_from_change(held, {**held, "status": "CONVERTED"}) == []
    assert signals_from_change(held, {**held, "expiresAt": "2026-11-27T10:30:00.000Z"}) == []
    assert signals_from_change(expired, expired) == []


def test_an_order_is_a_conversion_from_its_cart_with_the_time_it_took():
    (signal,) = signals_from_change(None, order("ORD-1", "cart-1", [(SKU, DC, 2)], 120.5))

    assert (
        signal.type,
        signal.orderRef,
        signal.foRef,
        signal.secondsToConvert,
        signal.quantity,
    ) == (SignalType.CONVERSION, "ORD-1", "cart-1", 120.5, 2)
    assert signal.detail["convertedFromHold"] is True
    (afresh,) = signals_from_change(None, order("ORD-2", None, [(SKU, DC, 1)], None))
    assert (afresh.foRef, afresh.secondsToConvert, afresh.detail["convertedFromHold"]) == (
        None,
        None,
        False,
    )


def test_the_same_change_always_gives_the_same_signals():
    new = fo("cart-7", "NO_OPTIONS", lines=[(SKU, 1)], shortfall=[(SKU, 1, 0)])

    assert signals_from_change(None, new) == signals_from_change(None, new)


def configuration(threshold: int | None, buffer=None, selling=("ECOMMERCE",)) -> Configuration:
    channel = Channel.model_validate(
        {"name": "ECOMMERCE", "buffer": buffer or {"type": "NONE"}, "lowStockThreshold": threshold}
    )
    location = Location(ref=DC, type="DC", deliveryTypes=["HD"], channels=list(selling), priority=1)
    return Configuration(channels={"ECOMMERCE": channel}, locations={DC: location})


def position(on_hand: int, at: str = "2026-11-27T10:00:00.000Z"):
    return {
        "entity": "IP",
        "ref": f"{SKU}:{DC}:DEFAULT",
        "productRef": SKU,
        "locationRef": DC,
        "onHand": on_hand,
        "updatedAt": at,
    }


def test_low_stock_when_a_channels_ats_falls_to_its_threshold_and_only_then():
    config = configuration(threshold=5)

    (signal,) = signals_from_change(position(6), position(5), config)
    assert (signal.type, signal.channel, signal.locationRef, signal.quantity) == (
        SignalType.LOW_STOCK,
        "ECOMMERCE",
        DC,
        5,
    )
    assert signal.detail == {"threshold": 5, "atsBefore": 6, "onHand": 5}
    assert signals_from_change(position(5), position(4), config) == []  # already low
    assert signals_from_change(position(4), position(9), config) == []  # restocked
    assert signals_from_change(position(9), position(3), config)[0].quantity == 3  # jumped past it


def test_low_stock_is_measured_on_the_channels_ats_after_its_buffer():
    config = configuration(threshold=40, buffer={"type": "PERCENTAGE", "value": 10})

    assert signals_from_change(position(47), position(46), config) == []  # ATS 42 → 41
    (signal,) = signals_from_change(
        position(46), position(45), config
    )  # ATS 41 → 40 (buffer 4.5 → 5)
    assert (signal.quantity, signal.detail["atsBefore"]) == (40, 41)
    assert signals_from_change(position(45), position(44), config) == []  # ATS 40 → 39: already low


def test_no_low_stock_without_a_threshold_or_where_the_location_does_not_sell_to_the_channel():
    assert signals_from_change(position(6), position(1), configuration(threshold=None)) == []
    assert (
        signals_from_change(
            position(6), position(1), configuration(threshold=5, selling=("MOBILE",))
        )
        == []
    )


def signal(kind: SignalType, product: str = SKU, **fields) -> Signal:
    defaults = {"id": f"{kind}-{len(fields)}", "at": "2026-11-27T10:00:00.000Z", "quantity": 1}
    return Signal(type=kind, productRef=product, **{**defaults, **fields})


def test_the_funnel_counts_calls_units_held_orders_abandonment_and_refusals_per_sku():
    signals = [
        signal(SignalType.FO_CALL, outcome="ACTIVE", heldQuantity=2, quantity=2),
        signal(SignalType.FO_CALL, outcome="ACTIVE", heldQuantity=1),
        signal(SignalType.FO_CALL, outcome="ACTIVE", heldQuantity=1),
        signal(SignalType.FO_CALL, outcome="NO_OPTIONS", heldQuantity=0, quantity=3),
        signal(SignalType.OUT_OF_STOCK, quantity=3),
        signal(SignalType.CONVERSION, secondsToConvert=30.0, detail={"convertedFromHold": True}),
        signal(SignalType.CONVERSION, secondsToConvert=90.0, detail={"convertedFromHold": True}),
        signal(SignalType.CONVERSION, detail={"convertedFromHold": False}),
        signal(SignalType.ABANDONED),
        signal(SignalType.FO_CALL, OTHER, outcome="NO_OPTIONS", heldQuantity=0),
    ]

    rows = {row.productRef: row.model_dump() for row in funnel(signals)}

    assert rows[SKU] == {
        "productRef": SKU,
        "foCalls": 4,
        "holds": 4,
        "orders": 3,
        "abandoned": 1,
        "refused": 1,
        "conversionRate": 0.6667,
        "abandonmentRate": 0.3333,
        "medianSecondsToConvert": 60.0,
        "outOfStock": 3,
    }
    assert rows[OTHER]["conversionRate"] is None and rows[OTHER]["refused"] == 1
    assert list(rows) == sorted(rows)
