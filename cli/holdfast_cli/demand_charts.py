"""One figure per demand report (``holdfast report NAME --png FILE``), drawn from the report's
JSON answer with matplotlib (the ``charts`` extra): labelled axes, units in the labels."""

from __future__ import annotations

from typing import Any

TOP = 15
"""The most bars a figure shows."""


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "--png needs matplotlib: pip install 'holdfast[charts]' (or uv sync --extra charts)"
        ) from None
    return plt


def draw(name: str, answer: dict[str, Any], path: str) -> None:
    plt = _pyplot()
    figure = {
        "channels": _channels,
        "locations": _locations,
        "affinity": _affinity,
        "timing": _timing,
        "restocking": _restocking,
    }[name](plt, answer)
    figure.suptitle(f"{figure.get_suptitle()}\n{answer['from']} → {answer['to']}", fontsize=10)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _channels(plt: Any, answer: dict[str, Any]) -> Any:
    rows = answer["items"]
    figure, axes = plt.subplots(figsize=(10, 5.5), constrained_layout=True)
    labels = [f"{r['channel']} · {r['deliveryType'] or 'unknown'}" for r in rows]
    places = range(len(rows))
    for offset, (key, label) in enumerate(
        (("conversionRate", "converted"), ("abandonmentRate", "abandoned"))
    ):
        values = [100 * (r[key] or 0) for r in rows]
        bars = axes.bar([p + (offset - 0.5) * 0.4 for p in places], values, 0.4, label=label)
        axes.bar_label(
            bars,
            labels=[
                "no holds" if r[key] is None else f"{v:.1f}"
                for r, v in zip(rows, values, strict=False)
            ],
            fontsize=8,
        )
    axes.set_xticks(list(places), labels, rotation=15, ha="right")
    axes.set_xlabel("channel · delivery type")
    axes.set_ylabel("share of held carts (%)")
    axes.set_ylim(0, 105)
    axes.legend()
    figure.suptitle("Conversion and abandonment per channel and delivery type")
    return figure


def _locations(plt: Any, answer: dict[str, Any]) -> Any:
    rows = answer["locations"][:TOP]
    figure, axes = plt.subplots(figsize=(10, 0.5 * len(rows) + 2.5), constrained_layout=True)
    places = range(len(rows))
    axes.barh(
        [p + 0.2 for p in places],
        [r["plannedCarts"] for r in rows],
        0.4,
        label="carts offered it in a plan",
    )
    axes.barh(
        [p - 0.2 for p in places],
        [r["fulfilledOrders"] for r in rows],
        0.4,
        label="orders it fulfilled",
    )
    axes.set_yticks(list(places), [r["locationRef"] for r in rows])
    axes.invert_yaxis()
    axes.set_xlabel("count (carts / orders)")
    axes.set_ylabel("location")
    axes.legend()
    figure.suptitle("Locations in plans vs locations fulfilling orders")
    return figure


def _affinity(plt: Any, answer: dict[str, Any]) -> Any:
    rows = answer["heldTogether"][:TOP]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(rows) + 2.5), constrained_layout=True)
    bars = axes.barh(range(len(rows)), [r["lift"] for r in rows], color="tab:purple")
    axes.bar_label(
        bars, labels=[f"{r['carts']} carts, support {r['support']:.1%}" for r in rows], fontsize=8
    )
    axes.set_yticks(range(len(rows)), [f"{r['productA']} + {r['productB']}" for r in rows])
    axes.invert_yaxis()
    axes.axvline(1, color="grey", linestyle="--", linewidth=1)
    axes.margins(x=0.3)
    axes.set_xlabel("lift (1 = chance; higher = bought together more than chance)")
    axes.set_ylabel("product pair (most carts first)")
    figure.suptitle(f"Pairs held together (≥ {answer['minCount']} carts of {answer['heldCarts']})")
    return figure


def _timing(plt: Any, answer: dict[str, Any]) -> Any:
    figure, (by_hour, fit) = plt.subplots(2, 1, figsize=(10, 8), constrained_layout=True)
    hours = [r["slot"] for r in answer["byHour"]]
    for key in ("holds", "conversions", "abandoned"):
        by_hour.plot(hours, [r[key] for r in answer["byHour"]], marker="o", label=key)
    by_hour.set_xticks(range(0, 24, 2))
    by_hour.set_xlabel(f"hour of day ({answer['timeZone']})")
    by_hour.set_ylabel("carts / orders")
    by_hour.legend()
    width = answer["bucketSeconds"]
    buckets = answer["secondsToConvert"]
    fit.bar(
        [b["fromSeconds"] for b in buckets],
        [b["orders"] for b in buckets],
        width=width,
        align="edge",
        color="tab:green",
        label="orders converting a hold",
    )
    for timer in answer["timers"]:
        fit.axvline(
            timer["timerSeconds"],
            color="tab:red",
            linestyle="--",
            label=f"timer {timer['timerSeconds']} s ({timer['heldCarts']} carts)",
        )
    fit.set_xlabel(f"seconds from hold to order (buckets of {width} s)")
    fit.set_ylabel("orders")
    fit.set_title(
        f"Timer fit: {answer['ordersAfterExpiry']} orders came after their hold had expired",
        fontsize=10,
    )
    fit.legend(loc="upper right")
    figure.suptitle("Demand by hour, and seconds to convert vs the hold timer")
    return figure


def _restocking(plt: Any, answer: dict[str, Any]) -> Any:
    rows = answer["items"][:TOP]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(rows) + 2.5), constrained_layout=True)
    colours = ["tab:red" if r["restockSuggested"] else "tab:blue" for r in rows]
    bars = axes.barh(range(len(rows)), [r["unmetUnitsPerDay"] for r in rows], color=colours)
    axes.bar_label(
        bars,
        labels=[
            "no ATS seen"
            if r["daysSinceLastAts"] is None
            else f"{r['daysSinceLastAts']:.1f} d since ATS"
            for r in rows
        ],
        fontsize=8,
    )
    axes.set_yticks(
        range(len(rows)),
        [f"{r['productRef']} @ {r['locationRef'] or 'home delivery'}" for r in rows],
    )
    axes.invert_yaxis()
    axes.margins(x=0.15)
    axes.set_xlabel("unmet demand (units per day)")
    axes.set_ylabel("product @ location (red: restock suggested)")
    figure.suptitle("Restocking: unmet demand per product and location")
    return figure
