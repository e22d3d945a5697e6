"""What the interleaving explorer (:mod:`tests.interleavings`) checks, on a table it can
read at any quiet moment of a schedule.

- :meth:`Checker.check_state`: counter = ledger sum (``holdfast.domain.ledger.on_hand`` over
  every partition of the position, as ``holdfast reconcile`` computes it), the
  shard invariant (docs/decisions.md #12: shards 1…N-1 never negative, shard 0 negative only
  while they are all 0), every FO and order in a state reachable from where it started, and
  its ledger records agreeing with that state: a cart's SOFT_RESERVE records ACTIVE exactly
  while it is ACTIVE, its timer there exactly while it is ACTIVE, an order's RESERVED ACTIVE
  exactly while CONFIRMED, a SALE once shipped, a RETURNED once returned, a conversion never
  after the cart's ``expiresAt``;
- :meth:`Checker.check_write`: at every committed transaction that holds or reserves units
  (a new ACTIVE SOFT_RESERVE or RESERVED record, not a conversion), the channel's ATS covered
  them at that moment: ``ATS(onHand after + q) ≥ q``, units released in the same transaction
  included (docs/architecture.md, "the exact hold condition");
- :meth:`Checker.outcome`: what a schedule is compared on — onHand per position, every
  document's status, the ACTIVE ledger records by (position, type, source, quantity) wherever
  a shard keeps them, and each operation's answer.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from holdfast.domain.availability import available_to_sell
from holdfast.domain.clock import from_iso
from holdfast.domain.ledger import on_hand
from holdfast.runtime import Runtime
from holdfast.storage import from_item, quantity_from

FO_NEXT = {"ACTIVE": {"CANCELLED", "EXPIRED", "CONVERTED", "REPLACED"}}
ORDER_NEXT = {"CONFIRMED": {"SHIPPED", "CANCELLED"}, "SHIPPED": {"RETURNED"}}
HOLDING_TYPES = ("SOFT_RESERVE", "RESERVED")


def reachable(kind: str, start: str, end: str) -> bool:
    edges = FO_NEXT if kind == "FO" else ORDER_NEXT
    seen, frontier = {start}, [start]
    while frontier:
        for following in edges.get(frontier.pop(), ()):
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return end in seen


@dataclass(frozen=True)
class Outcome:
    answers: tuple[tuple[str, str], ...]
    on_hand: tuple[tuple[str, int], ...]
    documents: tuple[tuple[str, str, str], ...]
    active: tuple[tuple[tuple[str, str, str, int], int], ...]

    def answer(self, label: str) -> str | None:
        return dict(self.answers).get(label)

    def same_state(self, other: Outcome) -> bool:
        return (self.on_hand, self.documents, self.active) == (
            other.on_hand,
            other.documents,
            other.active,
        )

    def describe(self) -> str:
        held = ", ".join(
            f"{t}:{s}:{q}x{n}" for (_, t, s, q), n in self.active if t in HOLDING_TYPES
        )
        docs = ", ".join(f"{r}={s}" for _, r, s in self.documents)
        hands = ", ".join(f"{r.split(':')[0]}={n}" for r, n in self.on_hand)
        return f"answers {dict(self.answers)}; onHand {hands}; {docs}; holds [{held}]"


@dataclass
class Table:
    """One scan of the table, sorted into what the checks look at."""

    positions: dict[str, dict[str, Any]]
    shards: dict[str, dict[int, int]]
    quantities: list[dict[str, Any]]
    documents: dict[tuple[str, str], dict[str, Any]]
    timers: set[str]


class Checker:
    def __init__(self, observer: Runtime, client: Any, channel: str) -> None:
        self._observer = observer
        self._client = client
        self._channel = observer.config.channel(channel)
        self._last = self.scan()
        self._statuses = self._document_statuses(self._last)
        self.write_problems: list[str] = []

    # -- reading ------------------------------------------------------------------------

    def scan(self) -> Table:
        table = Table({}, {}, [], {}, set())
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._observer.table.table_name, ConsistentRead=True
        ):
            for item in page["Items"]:
                values = from_item(item)
                entity = values.get("entity")
                if entity == "IP":
                    table.positions[values["ref"]] = values
                elif entity == "IP_SHARD":
                    table.shards.setdefault(values["ref"], {})[int(values["shard"])] = int(
                        values.get("onHand", 0)
                    )
                elif entity == "IQ":
                    table.quantities.append(values)
                elif entity in ("FO", "ORDER"):
                    table.documents[(entity, values["ref"])] = {
                        **values,
                        "body": json.loads(values["body"]),
                    }
                elif entity == "TIMER":
                    table.timers.add(values["foRef"])
        return table

    @staticmethod
    def _document_statuses(table: Table) -> dict[tuple[str, str], str]:
        return {key: values["status"] for key, values in table.documents.items()}

    def outcome(self, ops: Any, answers: list[str]) -> Outcome:
        """The outcome as of the last :meth:`check_state`."""
        table = self._last
        totals = {
            ref: int(values.get("onHand", 0)) + sum(table.shards.get(ref, {}).values())
            for ref, values in table.positions.items()
        }
        active = Counter(
            (q["ipRef"], q["type"], q.get("sourceRef") or "", int(q["quantity"]))
            for q in table.quantities
            if q["status"] == "ACTIVE"
        )
        return Outcome(
            answers=tuple(
                sorted((op.label, answer) for op, answer in zip(ops, answers, strict=False))
            ),
            on_hand=tuple(sorted(totals.items())),
            documents=tuple(
                sorted(
                    (kind, ref, values["status"]) for (kind, ref), values in table.documents.items()
                )
            ),
            active=tuple(sorted(active.items())),
        )

    # -- checks ---------------------------------------------------------------------------

    def check_state(self, where: str) -> list[str]:
        table = self._last = self.scan()
        problems = []
        ledgers: dict[str, list[Any]] = {ref: [] for ref in table.positions}
        for q in table.quantities:
            ledgers.setdefault(q["ipRef"], []).append(quantity_from(q))
        for ref, ledger in ledgers.items():
            values = table.positions.get(ref, {})
            counter = int(values.get("onHand", 0)) + sum(table.shards.get(ref, {}).values())
            as_of = from_iso(values["snapshotAsOf"]) if "snapshotAsOf" in values else None
            if counter != on_hand(ledger, as_of):
                problems.append(
                    f"{where}: counter {counter} ≠ ledger {on_hand(ledger, as_of)} on {ref}"
                )
        for ref, values in table.positions.items():
            count = int(values.get("counterShards", 1))
            shards = [int(values.get("onHand", 0))] + [
                table.shards.get(ref, {}).get(n, 0) for n in range(1, count)
            ]
            beyond = {n: v for n, v in table.shards.get(ref, {}).items() if n >= count and v}
            if any(v < 0 for v in shards[1:]) or (shards[0] < 0 and any(shards[1:])) or beyond:
                problems.append(
                    f"{where}: shard invariant broken on {ref}: {shards}{f' beyond {beyond}' if beyond else ''}"
                )
        statuses = self._document_statuses(table)
        for key, before in self._statuses.items():
            after = statuses.get(key)
            if after is None or not reachable(key[0], before, after):
                problems.append(f"{where}: {key[0]} {key[1]} went {before} → {after}")
        self._statuses = statuses
        problems += [f"{where}: {p}" for p in self._coherence(table)]
        return problems

    @staticmethod
    def _coherence(table: Table) -> list[str]:
        records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for q in table.quantities:
            records.setdefault((q["type"], q.get("sourceRef") or ""), []).append(q)
        problems = []
        for (kind, ref), doc in table.documents.items():
            status, allocations = doc["status"], doc["body"].get("allocations", [])
            if kind == "FO":
                holds = records.get(("SOFT_RESERVE", ref), [])
                if len(holds) != len(allocations) or any(
                    (q["status"] == "ACTIVE") != (status == "ACTIVE") for q in holds
                ):
                    problems.append(
                        f"FO {ref} is {status} with holds {[q['status'] for q in holds]} for {len(allocations)} allocations"
                    )
                if allocations and (ref in table.timers) != (status == "ACTIVE"):
                    problems.append(
                        f"FO {ref} is {status} {'with' if ref in table.timers else 'without'} a timer"
                    )
                if status == "CONVERTED":
                    order = table.documents.get(("ORDER", doc.get("orderRef") or ""))
                    if order is None or from_iso(order["body"]["createdAt"]) >= from_iso(
                        doc["expiresAt"]
                    ):
                        problems.append(f"FO {ref} converted after its expiry or into no order")
                continue
            reserved = records.get(("RESERVED", ref), [])
            if len(reserved) != len(allocations) or any(
                (q["status"] == "ACTIVE") != (status == "CONFIRMED") for q in reserved
            ):
                problems.append(
                    f"order {ref} is {status} with reservations {[q['status'] for q in reserved]}"
                )
            if bool(records.get(("SALE", ref))) != (status in ("SHIPPED", "RETURNED")):
                problems.append(
                    f"order {ref} is {status} with {len(records.get(('SALE', ref), []))} SALE records"
                )
            if status == "RETURNED" and not records.get(
                ("RETURNED", ref)
            ):  # a feed may name the order too
                problems.append(
                    f"order {ref} is {status} with {len(records.get(('RETURNED', ref), []))} RETURNED records"
                )
        return problems

    def check_write(self, operation: str, params: dict[str, Any]) -> None:
        """A committed write that holds or reserves units did so within the channel's ATS."""
        if operation != "TransactWriteItems":
            return
        held: Counter[str] = Counter()
        for item in params.get("TransactItems", []):
            update = item.get("Update", {})
            if update.get("ExpressionAttributeValues", {}).get(":status") == {"S": "CONVERTED"}:
                return  # a conversion moves a hold to a reservation: no new units
            put = item.get("Put", {}).get("Item", {})
            if (
                put.get("entity") == {"S": "IQ"}
                and put["type"]["S"] in HOLDING_TYPES
                and put["status"]["S"] == "ACTIVE"
            ):
                held[put["ipRef"]["S"]] += -int(put["quantity"]["N"])
        if not held:
            return
        positions = self._observer.table.get_positions(list(held))
        for ref, units in held.items():
            before = positions[ref].on_hand + units if ref in positions else units
            ats = available_to_sell(
                before, self._channel, positions[ref].location_ref if ref in positions else ""
            )
            if ats < units:
                shards = positions[ref].shard_values if ref in positions else ()
                self.write_problems.append(
                    f"{units} held on {ref} with ATS {ats} (onHand {before} before the write, shards now {list(shards)})"
                )
