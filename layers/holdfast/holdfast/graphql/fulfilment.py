"""Fulfilment options in Fluent's shape, on Holdfast's hold service: the GraphQL input becomes
the same ``FulfilmentOptionRequest`` that ``POST /fulfilment-options`` takes, so the ATS rule,
idempotency by ``ref``, timers, signals and metrics are the REST route's own."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from holdfast.domain.configuration import Configuration
from holdfast.domain.refs import is_valid_ref
from holdfast.errors import InvalidInput, NotFound, describe_problem
from holdfast.graphql.context import GraphqlContext
from holdfast.graphql.mapping import opaque_id, ref_of_id
from holdfast.graphql.paging import MAX_PAGE, connection
from holdfast.models import FulfilmentOptionRequest, FulfilmentOptionView

FO_KIND, PLAN_KIND = "FulfilmentOption", "FulfilmentPlan"
HOLD_ATTRIBUTES = {"channel": str, "allowSplit": bool, "allowPartial": bool, "replaces": str}
"""Input attributes Holdfast reads (others, e.g. ``source``, are accepted and not stored)."""
REST_FIELDS = {"lines": "products", "quantity": "requestedQuantity", "deliveryType": "orderType"}
ALTERNATIVE = "ALTERNATIVE"
"""The status of a plan Holdfast found but did not hold (the held plan has the option's)."""


def create_fulfilment_option(
    _root: Any, info: Any, input: dict[str, Any] | None = None, executionMode: str | None = None
) -> dict[str, Any] | None:
    context: GraphqlContext = info.context
    request = fulfilment_request(input, context)
    if context.dry_run:
        return None
    view, created = context.runtime.holds.create(request)
    if created and view.status == "NO_OPTIONS":
        context.on_refused_oversell()
    return fulfilment_option(view, context)


def update_fulfilment_option(
    _root: Any, info: Any, input: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """A status in the mapping's ``cancelStatuses`` cancels the option and releases its hold;
    the option's current status (or none) changes nothing; any other status is refused."""
    context: GraphqlContext = info.context
    if input is None:
        raise InvalidInput.field("input", "is required")
    ref = option_ref(input["id"], "input.id")
    if input.get("ref") not in (None, ref):
        raise InvalidInput.field("input.ref", "is not the ref of the option this id names")
    for unsupported in ("trackingCode", "attributes"):
        if input.get(unsupported) is not None:
            raise InvalidInput.field(
                f"input.{unsupported}", "Holdfast does not store it; send status only"
            )
    status = input.get("status")
    if status in context.mapping.cancelStatuses:
        return (
            None
            if context.dry_run
            else fulfilment_option(context.runtime.holds.cancel(ref), context)
        )
    view = context.runtime.holds.get(
        ref
    )  # also while checking: a status it cannot take is refused input
    if status not in (None, view.status):
        allowed = ", ".join(context.mapping.cancelStatuses)
        raise InvalidInput.field(
            "input.status",
            f"{status!r} is not a change Holdfast makes; one of {allowed} cancels the hold",
        )
    return None if context.dry_run else fulfilment_option(view, context)


def fulfilment_option_by_id(_root: Any, info: Any, id: str) -> dict[str, Any] | None:
    context: GraphqlContext = info.context
    try:
        return fulfilment_option(context.runtime.holds.get(option_ref(id)), context)
    except NotFound:
        return None


def option_ref(option_id: str, field: str = "id") -> str:
    ref = ref_of_id(FO_KIND, option_id, field)
    if not is_valid_ref(ref):
        raise InvalidInput.field(field, f"is not a {FO_KIND} id this API answered")
    return ref


def fulfilment_options(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    """Options by ``ref`` (Holdfast keeps no listing of every cart), filtered, paged."""
    context: GraphqlContext = info.context
    refs = list(dict.fromkeys(ref for ref in args.get("ref") or () if ref is not None))
    if not refs:
        raise InvalidInput.field(
            "ref", "name the options: Holdfast finds fulfilment options by ref"
        )
    if len(refs) > MAX_PAGE:
        raise InvalidInput.field("ref", f"at most {MAX_PAGE} refs")
    for ref in refs:
        if not is_valid_ref(ref):
            raise InvalidInput.field("ref", f"{ref[:130]!r} is not a valid ref")
    refuse_date_ranges(args)
    options = []
    for ref in refs:
        try:
            options.append(fulfilment_option(context.runtime.holds.get(ref), context))
        except (NotFound, InvalidInput):
            continue
    wanted = (
        "type",
        "status",
        "orderType",
        "locationRef",
        "trackingCode",
        "retailerId",
        "workflowRef",
        "workflowVersion",
    )
    return connection([o for o in options if matches(o, args, wanted)], args)


def plans(option: dict[str, Any], _info: Any, **args: Any) -> dict[str, Any]:
    refuse_date_ranges(args)
    wanted = (
        "ref",
        "type",
        "status",
        "eta",
        "splitCount",
        "retailerId",
        "workflowRef",
        "workflowVersion",
    )
    return connection([plan for plan in option["plans"] if matches(plan, args, wanted)], args)


def fulfilment_request(
    input: dict[str, Any] | None, context: GraphqlContext
) -> FulfilmentOptionRequest:
    """The REST request a ``CreateFulfilmentOptionInput`` stands for (refused input raises)."""
    if input is None:
        raise InvalidInput.field("input", "is required")
    mapping = context.mapping
    if input["retailerId"] != mapping.retailerId:
        raise InvalidInput.field(
            "input.retailerId", f"this deployment serves retailer {mapping.retailerId}"
        )
    attributes = hold_attributes(input.get("attributes") or [])
    configuration = context.runtime.config.current()
    channel = mapping.channel_for_option(
        attributes.pop("channel", None), input["type"], configuration
    )
    check_configured(channel, input.get("locationRef"), configuration)
    return validated_request(
        {
            "ref": input["ref"],
            "channel": channel,
            "deliveryType": mapping.delivery_type(input.get("orderType"), input["type"]),
            "locationRef": input.get("locationRef"),
            "lines": [
                {"productRef": product["productRef"], "quantity": requested(product)}
                for product in input.get("products") or []
                if product is not None
            ],
            **attributes,
        }
    )


def check_configured(channel: str, location_ref: str | None, configuration: Configuration) -> None:
    """A 404 for an unknown channel or location, as the hold would answer, but before any
    mutation runs."""
    if channel not in configuration.channels:
        raise NotFound(
            f"channel {channel!r} is not configured",
            [{"field": "input.attributes.channel", "message": "unknown channel"}],
        )
    if location_ref is not None and location_ref not in configuration.locations:
        raise NotFound(
            f"location {location_ref!r} is not configured",
            [{"field": "input.locationRef", "message": "unknown location"}],
        )


def validated_request(body: dict[str, Any]) -> FulfilmentOptionRequest:
    """The REST request, its problems named by the input's fields."""
    try:
        return FulfilmentOptionRequest.model_validate(body)
    except ValidationError as error:
        details = [fluent_field(describe_problem(problem)) for problem in error.errors()]
        raise InvalidInput(
            "; ".join(f"{d['field']}: {d['message']}" for d in details[:5]), details
        ) from None


def requested(product: dict[str, Any]) -> int:
    """``requestedQuantity`` is nullable in Fluent's input: no quantity is one unit."""
    return 1 if product.get("requestedQuantity") is None else product["requestedQuantity"]


def hold_attributes(attributes: list[dict[str, Any] | None]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for attribute in attributes:
        if attribute is None or attribute["name"] not in HOLD_ATTRIBUTES:
            continue
        name, value = attribute["name"], attribute["value"]
        if not isinstance(value, HOLD_ATTRIBUTES[name]):
            kind = "true or false" if HOLD_ATTRIBUTES[name] is bool else "a string"
            raise InvalidInput.field(f"input.attributes.{name}", f"value must be {kind}")
        found[name] = value
    return found


def fluent_field(detail: dict[str, Any]) -> dict[str, Any]:
    """A REST field path (``lines.0.quantity``) in the input's words (``input.products.0.requestedQuantity``)."""
    parts = [REST_FIELDS.get(part, part) for part in detail["field"].split(".")]
    return {**detail, "field": ".".join(["input", *parts])}


def fulfilment_option(view: FulfilmentOptionView, context: GraphqlContext) -> dict[str, Any]:
    option: dict[str, Any] = {
        "id": opaque_id(FO_KIND, view.ref),
        "ref": view.ref,
        "type": view.deliveryType,
        "status": view.status,
        "retailerId": context.mapping.retailerId,
        "workflowRef": f"FULFILMENT_OPTIONS::{view.deliveryType}",
        "workflowVersion": 1,
        "createdOn": view.createdAt,
        "updatedOn": None,
        "orderType": view.deliveryType,
        "locationRef": view.locationRef,
        "trackingCode": None,
        "address": None,
        "products": [
            {
                "productRef": line.productRef,
                "requestedQuantity": line.quantity,
                "catalogueRef": None,
            }
            for line in view.lines
        ],
        "attributes": option_attributes(view),
    }
    requested = {line.productRef: line.quantity for line in view.lines}
    held = view.reservedPlan.model_dump() if view.reservedPlan else None
    ordered = [held] if held else []
    ordered += [plan for plan in (p.model_dump() for p in view.plans) if plan != held]
    option["plans"] = [
        fulfilment_plan(
            plan, index, view, requested, option, view.status if plan == held else ALTERNATIVE
        )
        for index, plan in enumerate(ordered)
    ]
    return option


def fulfilment_plan(
    plan: dict[str, Any],
    index: int,
    view: FulfilmentOptionView,
    requested: dict[str, int],
    option: dict[str, Any],
    status: str,
) -> dict[str, Any]:
    return {
        "id": opaque_id(PLAN_KIND, f"{view.ref}:{index}"),
        "ref": f"{view.ref}-{index + 1}",
        "type": plan["type"],
        "status": status,
        "workflowRef": f"FULFILMENT_PLANS::{view.deliveryType}",
        "workflowVersion": 1,
        "createdOn": view.createdAt,
        "updatedOn": None,
        "splitCount": len(plan["fulfilments"]),
        "eta": None,
        "retailerId": option["retailerId"],
        "attributes": [],
        "fulfilmentOption": option,
        "fulfilments": [
            plan_fulfilment(fulfilment, view, requested) for fulfilment in plan["fulfilments"]
        ],
        "exceptions": plan_exceptions(view) if plan["type"] == "PARTIAL" else [],
    }


def plan_fulfilment(
    fulfilment: dict[str, Any], view: FulfilmentOptionView, requested: dict[str, int]
) -> dict[str, Any]:
    """One location's part of a plan: what it has of each line and what the line asked."""
    return {
        "locationRef": fulfilment["locationRef"],
        "fulfilmentType": view.deliveryType,
        "eta": None,
        "items": [
            {
                "productRef": item["productRef"],
                "catalogueRef": None,
                "availableQuantity": item["quantity"],
                "requestedQuantity": requested.get(item["productRef"], item["quantity"]),
            }
            for item in fulfilment["items"]
        ],
    }


def plan_exceptions(view: FulfilmentOptionView) -> list[dict[str, Any]]:
    """A partial plan's OUT_OF_STOCK exceptions: each short line and what there was."""
    return [
        {
            "code": "OUT_OF_STOCK",
            "message": f"{s.productRef}: {s.available} of {s.requested} available",
            "attributes": [
                attribute("productRef", s.productRef),
                attribute("available", s.available, "INTEGER"),
            ],
        }
        for s in view.shortfall
    ]


def option_attributes(view: FulfilmentOptionView) -> list[dict[str, Any]]:
    """What Holdfast knows beyond Fluent's fields: the channel, the hold's timer and links."""
    found = [
        attribute("channel", view.channel),
        attribute("timerMinutes", view.timerMinutes, "INTEGER"),
        attribute("extended", view.extended, "BOOLEAN"),
    ]
    for name in ("expiresAt", "orderRef", "replaces"):
        if getattr(view, name) is not None:
            found.append(attribute(name, getattr(view, name)))
    if view.shortfall:
        found.append(attribute("shortfall", [s.model_dump() for s in view.shortfall], "JSON"))
    return found


def attribute(name: str, value: Any, kind: str = "STRING") -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def matches(node: dict[str, Any], args: dict[str, Any], fields: tuple[str, ...]) -> bool:
    """Fluent's filters: each given list is a set of exact values the field must be one of."""
    return all(args.get(name) is None or node.get(name) in args[name] for name in fields)


def refuse_date_ranges(args: dict[str, Any]) -> None:
    for name in ("createdOn", "updatedOn", "expectedOn"):
        if args.get(name) is not None:
            raise InvalidInput.field(name, "Holdfast does not filter by date; leave it out")
