"""What the simulated day checks: each demand report (docs/signals.md, "Proof") against the
truth the shoppers planted, with what was planted, what was found and the tolerance."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from holdfast_cli.simulated_day.shoppers import (
    CONVERSION,
    PEAK_HOUR,
    SHORTAGE,
    THINK_MEDIAN,
    TOP_PAIR,
    Truth,
)

CONVERSION_TOLERANCE = 0.02
MEDIAN_TOLERANCE = 0.10


@dataclass(frozen=True)
class Check:
    name: str
    planted: Any
    found: Any
    tolerance: str
    ok: bool


def check(truth: Truth, reports: dict[str, Any], zone: ZoneInfo, days: float) -> list[Check]:
    """Each planted fact beside what the reports found."""
    return [
        *_channel_checks(truth, reports["channels"]),
        *_affinity_checks(reports["affinity"]),
        *_hour_checks(truth, reports["timing"], zone),
        *_conversion_time_checks(truth, reports["timing"]),
        *_restocking_checks(truth, reports["restocking"], days),
    ]


def _channel_checks(truth: Truth, report: dict[str, Any]) -> list[Check]:
    """Held and converted carts per channel and delivery type, and each channel's rate."""
    checks = []
    channels: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in report["items"]:
        key = (row["channel"], row["deliveryType"])
        checks.append(
            Check(
                f"held / converted carts {key[0]} {key[1]}",
                [truth.held[key], truth.converted[key]],
                [row["heldCarts"], row["convertedCarts"]],
                "exact",
                [truth.held[key], truth.converted[key]]
                == [row["heldCarts"], row["convertedCarts"]],
            )
        )
        channels[row["channel"]][0] += row["heldCarts"]
        channels[row["channel"]][1] += row["convertedCarts"]
    for channel, rate in CONVERSION.items():
        held, converted = channels[channel]
        found = round(converted / held, 4) if held else None
        checks.append(
            Check(
                f"conversion rate {channel}",
                rate,
                found,
                f"±{CONVERSION_TOLERANCE:g}",
                found is not None and abs(found - rate) <= CONVERSION_TOLERANCE,
            )
        )
    return checks


def _affinity_checks(report: dict[str, Any]) -> list[Check]:
    """The two planted pairs: the first on top, the second held together more than chance."""
    checks = []
    pairs = report["heldTogether"]
    top = (pairs[0]["productA"], pairs[0]["productB"]) if pairs else None
    checks.append(
        Check(
            "top pair held together",
            list(TOP_PAIR),
            list(top) if top else None,
            "first",
            top == TOP_PAIR,
        )
    )
    second = next(
        (p for p in pairs if (p["productA"], p["productB"]) == ("SKU_03", "SKU_04")), None
    )
    checks.append(
        Check(
            "second planted pair: lift above 1",
            "> 1",
            second and second["lift"],
            "> 1",
            bool(second and second["lift"] > 1),
        )
    )
    return checks


def _hour_checks(truth: Truth, timing: dict[str, Any], zone: ZoneInfo) -> list[Check]:
    """Held carts by local hour, and the planted evening peak."""
    checks = []
    by_hour = Counter(moment.astimezone(zone).hour for moment in truth.held_at)
    found_hours = {row["slot"]: row["holds"] for row in timing["byHour"] if row["holds"]}
    checks.append(
        Check(
            "held carts by local hour",
            dict(sorted(by_hour.items())),
            found_hours,
            "exact",
            found_hours == dict(by_hour),
        )
    )
    peak = max(found_hours, key=lambda hour: found_hours[hour]) if found_hours else None
    checks.append(
        Check(
            "peak hour of holds",
            PEAK_HOUR,
            peak,
            "±1 h",
            peak is not None and abs(peak - PEAK_HOUR) <= 1,
        )
    )
    return checks


def _conversion_time_checks(truth: Truth, timing: dict[str, Any]) -> list[Check]:
    """Seconds from hold to order (per bucket and the median), and orders after expiry."""
    checks = []
    width = timing["bucketSeconds"]
    planted_buckets = Counter(int(t // width) * width for t in truth.thinks)
    found_buckets = {b["fromSeconds"]: b["orders"] for b in timing["secondsToConvert"]}
    checks.append(
        Check(
            "seconds to convert, per bucket",
            dict(sorted(planted_buckets.items())),
            found_buckets,
            "exact",
            found_buckets == dict(planted_buckets),
        )
    )
    median = _histogram_median(timing["secondsToConvert"])
    checks.append(
        Check(
            "median seconds to convert",
            THINK_MEDIAN,
            median,
            f"±{MEDIAN_TOLERANCE:.0%} (bucket midpoint)",
            median is not None
            and abs(median - THINK_MEDIAN) <= MEDIAN_TOLERANCE * THINK_MEDIAN + width / 2,
        )
    )
    checks.append(
        Check(
            "orders after the hold expired",
            truth.late_orders,
            timing["ordersAfterExpiry"],
            "exact",
            truth.late_orders == timing["ordersAfterExpiry"],
        )
    )
    return checks


def _restocking_checks(truth: Truth, report: dict[str, Any], days: float) -> list[Check]:
    """The planted shortage on top of restocking, its unmet units a day, never in stock."""
    checks = []
    restock = report["items"]
    first = (restock[0]["productRef"], restock[0]["locationRef"]) if restock else None
    checks.append(
        Check(
            "top of restocking",
            list(SHORTAGE),
            list(first) if first else None,
            "first",
            first == SHORTAGE,
        )
    )
    unmet = round(truth.shortage_units / days, 3)
    found_unmet = restock[0]["unmetUnitsPerDay"] if first == SHORTAGE else None
    checks.append(
        Check(
            "unmet units a day of the shortage", unmet, found_unmet, "exact", unmet == found_unmet
        )
    )
    never = restock[0]["daysSinceLastAts"] if first == SHORTAGE else "-"
    checks.append(Check("the shortage never showed ATS", None, never, "exact", never is None))
    return checks


def _histogram_median(buckets: list[dict[str, Any]]) -> float | None:
    total = sum(b["orders"] for b in buckets)
    seen = 0
    for bucket in buckets:
        seen += bucket["orders"]
        if seen * 2 >= total and total:
            return (bucket["fromSeconds"] + bucket["toSeconds"]) / 2
    return None
