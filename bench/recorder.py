"""Watch the DynamoDB calls a boto3 client makes, through botocore's event hooks.

``provide-client-params.dynamodb.*`` fires once per API call (not per retry), before the
request is serialized: the recorder copies the parameters exactly as the service built them
and, when pricing, adds ``ReturnConsumedCapacity=TOTAL`` and reads the before images of the
items a write touches. ``after-call.dynamodb.*`` hands over the parsed answer: the engine's
``ConsumedCapacity``, the items read, and (when pricing) the after images.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.capacity import (
    READ_OPERATIONS,
    WRITE_OPERATIONS,
    Item,
    ItemWrite,
    TableSpec,
    Units,
    read_units,
    reported_units,
    write_units,
    written_items,
)

_CONTEXT_KEY = "holdfast_bench_call"
_HOOK_ID = "holdfast-bench-recorder"


@dataclass
class ApiCall:
    """One DynamoDB API call as the service made it."""

    operation: str
    params: dict[str, Any]
    status: int | None = None
    reported: float | None = None
    modeled: Units | None = None
    items: list[ItemWrite] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status is not None and self.status < 300


class ItemImages:
    """Reads items by key on a client of its own (not watched), for before/after images."""

    def __init__(self, client: Any, spec: TableSpec) -> None:
        self._client = client
        self._spec = spec

    def read(self, items: Sequence[ItemWrite]) -> dict[tuple[str, tuple[str, ...]], Item]:
        found: dict[tuple[str, tuple[str, ...]], Item] = {}
        by_table: dict[str, list[Mapping[str, Any]]] = {}
        for item in items:
            by_table.setdefault(item.table, []).append(item.key)
        for table, keys in by_table.items():
            unique = list({self._spec.key_of(k): k for k in keys}.values())
            for start in range(0, len(unique), 100):
                pending: dict[str, Any] = {
                    table: {"Keys": unique[start : start + 100], "ConsistentRead": True}
                }
                while pending:
                    response = self._client.batch_get_item(RequestItems=pending)
                    for image in response["Responses"].get(table, []):
                        found[(table, self._spec.key_of(image))] = image
                    pending = response.get("UnprocessedKeys") or {}
        return found


class CallRecorder:
    """Records every call a DynamoDB client makes while a :meth:`window` is open.

    Use :meth:`attach`: one recorder per client, its hooks registered once.
    """

    def __init__(self, client: Any, spec: TableSpec, images: ItemImages | None = None) -> None:
        self.client = client
        self.spec = spec
        self._images = images
        self._calls: list[ApiCall] | None = None
        self._price = False
        events = client.meta.events
        events.register(
            "provide-client-params.dynamodb.*", self._on_params, unique_id=f"{_HOOK_ID}-params"
        )
        events.register("after-call.dynamodb.*", self._on_answer, unique_id=f"{_HOOK_ID}-answer")

    @classmethod
    def attach(cls, client: Any, spec: TableSpec, images: ItemImages | None = None) -> CallRecorder:
        recorder = getattr(client, "_holdfast_bench_recorder", None)
        if recorder is None:
            recorder = cls(client, spec, images)
            client._holdfast_bench_recorder = recorder
        elif images is not None:
            recorder._images = images
        return recorder

    @contextmanager
    def window(self, *, price: bool = False) -> Iterator[list[ApiCall]]:
        """Record the calls made inside the ``with`` block. With ``price``, also ask the
        engine for ``ConsumedCapacity`` and price each call from its item images (extra
        reads on another client: never inside a timed section)."""
        if self._calls is not None:
            raise RuntimeError("recording windows do not nest")
        if price and self._images is None:
            raise RuntimeError("pricing needs an ItemImages reader")
        calls: list[ApiCall] = []
        self._calls, self._price = calls, price
        try:
            yield calls
        finally:
            self._calls, self._price = None, False

    def _on_params(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if self._calls is None:
            return
        call = ApiCall(model.name, copy.deepcopy(params))
        self._calls.append(call)
        context[_CONTEXT_KEY] = call
        if not self._price or self._images is None:
            return
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        if model.name in WRITE_OPERATIONS:
            touched = written_items(model.name, call.params, self.spec)
            before = self._images.read(touched) if touched else {}
            call.items = [
                ItemWrite(
                    t.table, t.key, t.action, before=before.get((t.table, self.spec.key_of(t.key)))
                )
                for t in touched
            ]

    def _on_answer(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        call = context.get(_CONTEXT_KEY)
        if call is None:
            return
        call.status = http_response.status_code
        if parsed.get("ConsumedCapacity"):  # moto answers [] for transactions
            call.reported = reported_units(parsed["ConsumedCapacity"])
        if not (self._price and call.succeeded) or self._images is None:
            return
        if model.name in WRITE_OPERATIONS:
            after = self._images.read(call.items) if call.items else {}
            call.items = [
                ItemWrite(
                    i.table,
                    i.key,
                    i.action,
                    i.before,
                    after.get((i.table, self.spec.key_of(i.key))),
                )
                for i in call.items
            ]
            call.modeled = write_units(model.name, call.items, self.spec)
        elif model.name in READ_OPERATIONS:
            call.modeled = read_units(model.name, call.params, parsed)


def written_keys(calls: Sequence[ApiCall], spec: TableSpec) -> list[tuple[str, ...]]:
    """``(table, pk, sk)`` of every item the calls asked to write (ConditionChecks excluded)."""
    keys = []
    for call in calls:
        for item in written_items(call.operation, call.params, spec):
            if item.action != "ConditionCheck":
                keys.append((item.table, *spec.key_of(item.key)))
    return keys
