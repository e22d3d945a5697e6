"""The demand analyses as pure functions (docs/signals.md, "Demand reports")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from holdfast.domain import demand, restocking, timing_report
from holdfast.domain.signals import Signal, SignalType

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Paris moves its clocks forward


def at(minutes: float) -> str:
    return (
        (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def held(fo: str, product: str, minutes: float = 0, location: str = "DC", **detail) -> Signal:
    return Signal(
        id=f"FO_CALL#{fo}#{product}",
        type=SignalType.FO_CALL,
        at=at(minutes),
        productRef=product,
        locationRef=location,
        channel="WEB",
        quantity=1,
        foRef=fo,
        outcome="ACTIVE",
        heldQuantity=1,
        detail={"deliveryType": "HD", **detail},
    )


def test_lift_compares_a_pair_with_chance_and_pairs_below_the_minimum_count_are_left_out():
    carts = [("a", "X", "Y"), ("b", "X", "Y"), ("c", "X"), ("d", "Z"), ("e", "Y", "Z")]
    signals = [held(fo, product) for fo, *products in carts for product in products]

    report = demand.affinity(signals, min_count=2)

    (pair,) = report.heldTogether
    assert (pair.productA, pair.productB, pair.carts) == ("X", "Y", 2)
    assert pair.support == 0.4  # 2 of 5 carts
    assert pair.lift == round(2 * 5 / (3 * 3), 4)  # X in 3 carts, Y in 3
    assert [p.productB for p in demand.affinity(signals, min_count=1).heldTogether] == ["Y", "Z"]


def test_a_multi_line_cart_is_one_cart_and_one_hold_in_every_count():
    signals = [held("a", "X", timerMinutes=10), held("a", "Y", timerMinutes=10)]

    (row,) = demand.channels(signals)
    timing = timing_report.timing(signals, "UTC")

    assert (row.carts, row.heldCarts) == (1, 1)
    assert timing.byHour[0].holds == 1 and timing.timers[0].heldCarts == 1


def test_local_hours_follow_the_time_zone_across_a_clock_change():
    signals = [
        held("a", "X", 0),
        held("b", "X", 60),
    ]  # 01:30 CET, then 03:30 CEST: 02:xx never happens

    hours = {
        slot.slot: slot.holds
        for slot in timing_report.timing(signals, "Europe/Paris").byHour
        if slot.holds
    }

    assert hours == {1: 1, 3: 1}


def test_restocking_of_home_delivery_counts_ats_anywhere_and_a_store_only_its_own():
    missing = [
        Signal(
            id=f"OUT_OF_STOCK#{fo}#X",
            type=SignalType.OUT_OF_STOCK,
            at=at(600),
            productRef="X",
            locationRef=store,
            channel="WEB",
            quantity=2,
            foRef=fo,
        )
        for fo, store in (("a", None), ("b", "STORE"))
    ]
    start, end = T0, T0 + timedelta(days=2)

    rows = restocking.restocking(
        [held("c", "X", 0, location="DC"), *missing], start, end, threshold=1
    )

    by_location = {row.locationRef: row for row in rows}
    assert by_location[None].lastAtsAt == at(0) and by_location[None].daysSinceLastAts == 2.0
    assert by_location["STORE"].lastAtsAt is None and by_location["STORE"].daysSinceLastAts is None
    assert all(row.unmetUnitsPerDay == 1.0 and row.restockSuggested for row in rows)
