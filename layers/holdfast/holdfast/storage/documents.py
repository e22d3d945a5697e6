"""Fulfilment options and orders as stored: their records encoded to items and decoded back.

A document's item has a few queryable attributes (``status``, ``expiresAt``, ``orderRef``,
``createdAt``, ``updatedAt``) and a JSON ``body``: the answer as it was decided. The body's
keys are the API's, in the order it has always written them; items written before a key
existed (``shard`` in allocations, ``extendedBy``, ``latencyMs``) decode with its default.
The records are the domain's (:mod:`holdfast.domain.documents`); nothing outside
:mod:`holdfast.storage` reads a body key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from holdfast.domain.clock import from_iso, to_iso
from holdfast.domain.documents import (
    CartRecord,
    OrderRecord,
    ProductLine,
    lines_json,
    plan_json,
    shortfall_json,
)
from holdfast.domain.planning import Allocation, Plan, Shortfall
from holdfast.storage.keys import FO_KIND, ORDER_KIND, document_key
from holdfast.storage.records import to_item


def cart_body(cart: CartRecord) -> dict[str, Any]:
    """The FO's stored body."""
    body: dict[str, Any] = {
        "requestHash": cart.request_hash,
        "channel": cart.channel,
        "deliveryType": cart.delivery_type,
        "locationRef": cart.location_ref,
        "lines": lines_json(cart.lines),
        "plans": [plan_json(plan) for plan in cart.plans],
        "reservedPlan": plan_json(cart.reserved_plan) if cart.reserved_plan else None,
        "allocations": _allocations_json(cart.allocations),
        "shortfall": shortfall_json(cart.shortfall),
        "timerMinutes": cart.timer_minutes,
        "createdAt": to_iso(cart.created_at),
        "extended": cart.extended,
        "replaces": cart.replaces,
        "latencyMs": cart.latency_ms,
    }
    if cart.extension_noted:
        body["extendedBy"] = cart.extended_by
    return body


def cart_item(cart: CartRecord, now: datetime) -> dict[str, Any]:
    return _document_item(
        FO_KIND, cart.ref, cart.status, cart_body(cart), now, cart.expires_at, cart.order_ref
    )


def cart_from(values: Mapping[str, Any]) -> CartRecord:
    """A stored FO from its item (or a stream image, deserialized)."""
    body = json.loads(values["body"])
    return CartRecord(
        ref=values["ref"],
        status=values["status"],
        request_hash=body.get("requestHash", ""),
        channel=body["channel"],
        delivery_type=body["deliveryType"],
        location_ref=body.get("locationRef"),
        lines=_lines_from(body.get("lines", [])),
        plans=tuple(_plan_from(plan) for plan in body.get("plans", [])),
        reserved_plan=_plan_from(body["reservedPlan"]) if body.get("reservedPlan") else None,
        allocations=_allocations_from(body.get("allocations", [])),
        shortfall=tuple(
            Shortfall(s["productRef"], s["requested"], s["available"])
            for s in body.get("shortfall", [])
        ),
        timer_minutes=body["timerMinutes"],
        created_at=from_iso(body["createdAt"]),
        extended=body.get("extended", False),
        replaces=body.get("replaces"),
        latency_ms=body.get("latencyMs"),
        expires_at=from_iso(values["expiresAt"]) if "expiresAt" in values else None,
        order_ref=values.get("orderRef"),
        updated_at=from_iso(values["updatedAt"]) if "updatedAt" in values else None,
        extended_by=body.get("extendedBy"),
        extension_noted="extendedBy" in body,
    )


def order_body(order: OrderRecord) -> dict[str, Any]:
    """The order's stored body."""
    return {
        "requestHash": order.request_hash,
        "channel": order.channel,
        "deliveryType": order.delivery_type,
        "locationRef": order.location_ref,
        "fulfilmentOptionRef": order.fulfilment_option_ref,
        "lines": lines_json(order.lines),
        "allocations": _allocations_json(order.allocations),
        "convertedFromHold": order.converted_from_hold,
        "secondsToConvert": order.seconds_to_convert,
        "createdAt": to_iso(order.created_at),
    }


def order_item(order: OrderRecord, now: datetime) -> dict[str, Any]:
    return _document_item(ORDER_KIND, order.ref, order.status, order_body(order), now)


def order_from(values: Mapping[str, Any]) -> OrderRecord:
    """A stored order from its item (or a stream image, deserialized)."""
    body = json.loads(values["body"])
    return OrderRecord(
        ref=values["ref"],
        status=values["status"],
        request_hash=body.get("requestHash", ""),
        channel=body["channel"],
        delivery_type=body["deliveryType"],
        location_ref=body.get("locationRef"),
        fulfilment_option_ref=body.get("fulfilmentOptionRef"),
        lines=_lines_from(body.get("lines", [])),
        allocations=_allocations_from(body.get("allocations", [])),
        converted_from_hold=bool(body.get("convertedFromHold")),
        seconds_to_convert=body.get("secondsToConvert"),
        created_at=from_iso(body["createdAt"]),
        updated_at=from_iso(values["updatedAt"]) if "updatedAt" in values else None,
    )


def _plan_from(plan: Mapping[str, Any]) -> Plan:
    return Plan(
        plan["type"],
        tuple(
            Allocation(item["productRef"], fulfilment["locationRef"], item["quantity"])
            for fulfilment in plan.get("fulfilments", [])
            for item in fulfilment["items"]
        ),
    )


def _document_item(
    kind: str,
    ref: str,
    status: str,
    body: Mapping[str, Any],
    now: datetime,
    expires_at: datetime | None = None,
    order_ref: str | None = None,
) -> dict[str, Any]:
    return to_item(
        {
            **{k: v["S"] for k, v in document_key(kind, ref).items()},
            "entity": kind,
            "ref": ref,
            "status": status,
            "expiresAt": to_iso(expires_at) if expires_at else None,
            "orderRef": order_ref,
            "body": json.dumps(body, separators=(",", ":")),
            "createdAt": to_iso(now),
            "updatedAt": to_iso(now),
        }
    )


def _lines_from(lines: Iterable[Mapping[str, Any]]) -> tuple[ProductLine, ...]:
    return tuple(ProductLine(line["productRef"], line["quantity"]) for line in lines)


def _allocations_json(allocations: Iterable[Allocation]) -> list[dict[str, Any]]:
    return [
        {
            "productRef": a.product_ref,
            "locationRef": a.location_ref,
            "quantity": a.quantity,
            **({"shard": a.shard} if a.shard else {}),
        }
        for a in allocations
    ]


def _allocations_from(allocations: Iterable[Mapping[str, Any]]) -> tuple[Allocation, ...]:
    return tuple(
        Allocation(a["productRef"], a["locationRef"], a["quantity"], a.get("shard", 0))
        for a in allocations
    )
