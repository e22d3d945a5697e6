"""The answers of fulfilment options and orders, rendered from their stored records.

A fulfilment option's answer is its record with the status it has now (an ACTIVE hold past
its ``expiresAt`` answers EXPIRED, released or not); an order's is its record as stored.
"""

from __future__ import annotations

from datetime import datetime

from holdfast.domain.clock import to_iso
from holdfast.domain.documents import (
    CartRecord,
    OrderRecord,
    lines_json,
    plan_json,
    shortfall_json,
)
from holdfast.models import FulfilmentOptionView, OrderView


def cart_view(cart: CartRecord, now: datetime) -> FulfilmentOptionView:
    status = cart.status
    if status == "ACTIVE" and cart.expires_at is not None and cart.expires_at <= now:
        status = "EXPIRED"  # never honoured after expiresAt, released or not
    return FulfilmentOptionView.model_validate(
        {
            "ref": cart.ref,
            "status": status,  # as stored; the view validates it
            "channel": cart.channel,
            "deliveryType": cart.delivery_type,
            "locationRef": cart.location_ref,
            "lines": lines_json(cart.lines),
            "plans": [plan_json(plan) for plan in cart.plans],
            "reservedPlan": plan_json(cart.reserved_plan) if cart.reserved_plan else None,
            "shortfall": shortfall_json(cart.shortfall),
            "createdAt": to_iso(cart.created_at),
            "expiresAt": to_iso(cart.expires_at) if cart.expires_at else None,
            "timerMinutes": cart.timer_minutes,
            "extended": cart.extended,
            "orderRef": cart.order_ref,
            "replaces": cart.replaces,
        }
    )


def order_view(order: OrderRecord) -> OrderView:
    created_at = to_iso(order.created_at)
    return OrderView.model_validate(
        {
            "ref": order.ref,
            "status": order.status,  # as stored; the view validates it
            "channel": order.channel,
            "deliveryType": order.delivery_type,
            "locationRef": order.location_ref,
            "fulfilmentOptionRef": order.fulfilment_option_ref,
            "lines": lines_json(order.lines),
            "allocations": [
                {"productRef": a.product_ref, "locationRef": a.location_ref, "quantity": a.quantity}
                for a in order.allocations
            ],
            "convertedFromHold": order.converted_from_hold,
            "secondsToConvert": order.seconds_to_convert,
            "createdAt": created_at,
            "updatedAt": to_iso(order.updated_at) if order.updated_at else created_at,
        }
    )
