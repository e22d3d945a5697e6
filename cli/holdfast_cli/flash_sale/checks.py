"""What the flash sale checks when it ends: the promises of docs/behaviour.md §8.

From the shoppers' answers and the ledger (``GET /inventory-positions``): orders ≤ stock,
zero oversells, every unit either sold or back on hand, counter = ledger sum, every hold that
was not converted released and stored EXPIRED; and the SKU's row of ``GET /reports/funnel``
equal to what the answers tell. :class:`Report` is what the command prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from holdfast_cli.flash_sale.scenario import Client, FastClock, FlashSaleError, Sale
from holdfast_cli.flash_sale.shoppers import ShopperOutcome


@dataclass
class Report:
    """What the run found; :meth:`as_json` is the ``--json`` answer."""

    stock: int
    shoppers: int
    holds: int
    refused: int
    orders: int
    oversells: int
    expired: int
    released: int
    final_on_hand: int
    ledger_consistent: bool
    seconds: float
    """Wall time from the first shopper to the last check."""
    holds_per_second: float
    """``POST /fulfilment-options`` answered per second while shoppers were arriving."""
    order_refused: int = 0
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    setting: str = ""
    shopping_seconds: float = 0.0
    funnel: dict[str, Any] | None = None
    """The SKU's row of ``GET /reports/funnel`` once the demand-signals consumer caught up."""
    funnel_expected: dict[str, Any] | None = None
    """What the funnel must say, from the shoppers' answers (reclaim probes included)."""
    funnel_agrees: bool | None = None
    """The funnel's foCalls, holds, orders, abandoned, refused and outOfStock equal this run's
    figures (``None``: not checked)."""

    def as_json(self) -> dict[str, Any]:
        keys = (
            "stock",
            "shoppers",
            "holds",
            "refused",
            "orders",
            "oversells",
            "expired",
            "released",
            "final_on_hand",
            "ledger_consistent",
            "seconds",
            "holds_per_second",
            "funnel",
            "funnel_agrees",
        )
        values = asdict(self)
        return {key: values[key] for key in keys}

    @property
    def ok(self) -> bool:
        return (
            self.oversells == 0
            and self.ledger_consistent
            and not self.errors
            and self.funnel_agrees is not False
        )

    def rows(self) -> list[tuple[str, Any]]:
        """The counts of the summary, name and value."""
        rows: list[tuple[str, Any]] = [
            ("shoppers", self.shoppers),
            ("holds granted", self.holds),
            ("holds refused", self.refused),
            ("orders", self.orders),
            ("oversells", self.oversells),
            ("holds expired", self.expired),
            ("units released", self.released),
            ("final onHand", self.final_on_hand),
            ("ledger consistent", "yes" if self.ledger_consistent else "NO"),
        ]
        if self.order_refused:
            rows.insert(4, ("orders refused", self.order_refused))
        return rows

    def table(self) -> str:
        rows = self.rows()
        width = max(len(name) for name, _ in rows)
        lines = [f"Flash sale: {self.setting}"]
        lines += [f"  {name:<{width}}  {value:>6}" for name, value in rows]
        return "\n".join(lines + self.notes())

    def notes(self) -> list[str]:
        """The lines under the counts: timing, the funnel check, problems and errors."""
        lines = [
            f"  took {self.seconds:.1f} s (shopping {self.shopping_seconds:.1f} s, "
            f"{self.holds_per_second:.1f} hold requests/s)"
        ]
        if self.funnel_agrees is not None:
            lines.append(
                "  funnel (GET /reports/funnel): "
                + ("agrees" if self.funnel_agrees else "DISAGREES")
                + (
                    ""
                    if self.funnel is None
                    else " — " + ", ".join(f"{k} {self.funnel.get(k)}" for k in FUNNEL_CHECKED)
                )
            )
            if not self.funnel_agrees:
                lines.append(f"  expected: {self.funnel_expected}")
        lines += [f"  problem: {problem}" for problem in self.problems]
        lines += [f"  error: {error}" for error in self.errors[:10]]
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more errors")
        return lines


def active_holds(api: Client, sale: Sale) -> list[dict[str, Any]]:
    position = read_position(api, sale, "?type=SOFT_RESERVE&status=ACTIVE&limit=1000")
    return list(position["quantities"])


def read_position(api: Client, sale: Sale, query: str = "") -> dict[str, Any]:
    response = api.request("GET", f"/inventory-positions/{sale.position_ref}{query}")
    if response.status != 200:
        raise FlashSaleError(
            f"GET /inventory-positions/{sale.position_ref} answered {response.status}: "
            f"{response.body[:300]}"
        )
    return response.json()


FUNNEL_CHECKED = ("foCalls", "holds", "orders", "abandoned", "refused", "outOfStock")
SIGNALS_SETTLE_SECONDS = 60.0
"""Over HTTP, how long the server's demand-signals consumer gets to catch up."""


def expected_funnel(report: Report, sale: Sale, probes: int) -> dict[str, int]:
    """The SKU's funnel as this run's answers tell it: every shopper's cart is one FO call of
    one unit; a reclaim probe is one more call, refused, of stock + 1 units."""
    return {
        "foCalls": report.holds + report.refused + probes,
        "holds": report.holds,
        "orders": report.orders,
        "abandoned": report.expired,
        "refused": report.refused + probes,
        "outOfStock": report.refused + probes * (sale.stock + 1),
    }


def check_funnel(
    report: Report,
    api: Client,
    sale: Sale,
    clock: FastClock,
    probes: int,
    *,
    since: datetime,
    catch_up: Callable[[], None] | None,
) -> None:
    """Fill in the report's funnel: what it must say, what it says, and whether they agree."""
    report.funnel_expected = expected_funnel(report, sale, probes)
    report.funnel = settled_funnel(
        api, sale, report.funnel_expected, clock, since=since, catch_up=catch_up
    )
    report.funnel_agrees = report.funnel is not None and all(
        report.funnel.get(k) == v for k, v in report.funnel_expected.items()
    )


def settled_funnel(
    api: Client,
    sale: Sale,
    expected: dict[str, int],
    clock: FastClock,
    *,
    since: datetime,
    catch_up: Callable[[], None] | None,
) -> dict[str, Any] | None:
    """The SKU's row of ``GET /reports/funnel`` over the sale, once the demand signals are in:
    in-process, ``catch_up`` delivers the table's stream to the signals function first; over
    HTTP the server's own consumer is given up to a minute to agree."""
    if catch_up is not None:
        catch_up()
    deadline = time.time() + (0 if catch_up is not None else SIGNALS_SETTLE_SECONDS)
    row: dict[str, Any] | None = None
    while True:
        window = {
            "from": (since - timedelta(minutes=1)).isoformat(),
            "to": (clock() + timedelta(minutes=1)).isoformat(),
        }
        response = api.request("GET", "/reports/funnel", query=window)
        if response.status != 200:
            raise FlashSaleError(
                f"GET /reports/funnel answered {response.status}: {response.body[:300]}"
            )
        rows = [r for r in response.json()["items"] if r["productRef"] == sale.sku]
        row = rows[0] if rows else None
        if (row and all(row.get(k) == v for k, v in expected.items())) or time.time() >= deadline:
            return row
        time.sleep(1.0)


def check_sale(
    sale: Sale,
    api: Client,
    outcomes: Sequence[ShopperOutcome],
    released_ok: bool,
    *,
    in_process: bool,
) -> Report:
    """The numbers a retailer would check, from the answers and from the ledger (long: the
    figures are counted here and named once each in the report)."""
    position = read_position(api, sale)
    quantities = position["quantities"]
    holds = sum(o.hold == "ACTIVE" for o in outcomes)
    refused = sum(o.hold == "NO_OPTIONS" for o in outcomes)
    orders = sum(o.order == "CONFIRMED" for o in outcomes)
    converted = {o.cart_ref for o in outcomes if o.order == "CONFIRMED" and o.converted}
    soft = [q for q in quantities if q["type"] == "SOFT_RESERVE"]
    released = [q for q in soft if q["status"] == "INACTIVE" and q["sourceRef"] not in converted]
    reserved_units = -sum(
        q["quantity"] for q in quantities if q["type"] == "RESERVED" and q["status"] == "ACTIVE"
    )
    ledger_sum = sum(q["quantity"] for q in quantities if q["status"] == "ACTIVE")
    on_hand = position["onHand"]

    problems = _ledger_problems(
        sale, soft, holds, orders, reserved_units, on_hand, ledger_sum, released_ok=released_ok
    )
    if in_process:
        problems += _check_in_process(outcomes, converted)

    return Report(
        stock=sale.stock,
        shoppers=len(outcomes),
        holds=holds,
        refused=refused,
        orders=orders,
        oversells=max(0, orders - sale.stock, reserved_units - sale.stock),
        expired=len({q["sourceRef"] for q in released}),
        released=-sum(q["quantity"] for q in released),
        final_on_hand=on_hand,
        ledger_consistent=not problems,
        seconds=0.0,
        holds_per_second=0.0,
        order_refused=sum(o.order == "OUT_OF_STOCK" for o in outcomes),
        errors=[f"shopper {o.index}: {o.error}" for o in outcomes if o.error],
        problems=problems,
    )


def _ledger_problems(
    sale: Sale,
    soft: list[dict[str, Any]],
    holds: int,
    orders: int,
    reserved_units: int,
    on_hand: int,
    ledger_sum: int,
    *,
    released_ok: bool,
) -> list[str]:
    """Where the ledger disagrees with the answers the shoppers got."""
    problems = []
    if not released_ok:
        problems.append("some holds were still ACTIVE at the deadline")
    if on_hand != ledger_sum:
        problems.append(f"counter onHand {on_hand} != ledger sum {ledger_sum}")
    if len(soft) != holds:
        problems.append(
            f"{holds} holds answered ACTIVE but the ledger has {len(soft)} SOFT_RESERVE records"
        )
    if reserved_units != orders:
        problems.append(f"{orders} orders confirmed but the ledger reserves {reserved_units} units")
    if on_hand != sale.stock - orders:
        problems.append(f"final onHand {on_hand} != stock {sale.stock} - orders {orders}")
    if any(q["status"] == "ACTIVE" for q in soft):
        problems.append("SOFT_RESERVE records still ACTIVE")
    return problems


def _check_in_process(outcomes: Sequence[ShopperOutcome], converted: set[str]) -> list[str]:
    """With the table at hand: reconcile every position, and the FO status stored (not just
    computed on read) is EXPIRED for every hold that was not converted."""
    from holdfast.runtime import get_runtime

    runtime = get_runtime()
    problems = []
    checked, drift = runtime.inventory.reconcile()
    if drift:
        problems.append(f"reconcile: {len(drift)} of {checked} positions drift: {drift[:3]}")
    for outcome in outcomes:
        if outcome.hold != "ACTIVE" or outcome.cart_ref in converted:
            continue
        document = runtime.table.get_cart(outcome.cart_ref)
        if document is None or document.status != "EXPIRED":
            problems.append(
                f"{outcome.cart_ref} is stored as "
                f"{document.status if document else 'missing'}, not EXPIRED"
            )
            break
    return problems
