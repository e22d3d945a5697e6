"""Read-only availability in Fluent's shape: Virtual Positions (ATS per channel), Inventory
Positions and their Inventory Quantities, from the same services as the REST reads."""

from __future__ import annotations

from typing import Any

from holdfast.domain.refs import ip_ref, is_valid_ref
from holdfast.errors import InvalidInput, NotFound
from holdfast.graphql.context import GraphqlContext
from holdfast.graphql.fulfilment import attribute, matches, refuse_date_ranges
from holdfast.graphql.mapping import opaque_id
from holdfast.graphql.paging import MAX_PAGE, connection
from holdfast.models import InventoryPositionView, QuantityView, VirtualPositionView
from holdfast.services.position_views import AGGREGATE_LOCATION

MAX_PRODUCTS = 100
MAX_LOCATIONS = 50
VP_FILTERS = ("ref", "status", "quantity", "workflowRef", "workflowVersion")
IP_FILTERS = ("ref", "type", "status", "onHand", "workflowRef", "workflowVersion")
IQ_FILTERS = (
    "ref",
    "type",
    "status",
    "quantity",
    "condition",
    "storageAreaRef",
    "workflowRef",
    "workflowVersion",
)


def virtual_positions(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    """BASE and AGGREGATE positions of the named products (``productRef``, or the products of
    the named ``ref``s) for the catalogue's channel, at ``groupRef`` locations or all of them."""
    context: GraphqlContext = info.context
    refuse_date_ranges(args)
    catalogue = (args.get("catalogue") or {}).get("ref")
    channel = context.mapping.channel_for_catalogue(catalogue, context.runtime.config.current())
    products = refs_argument(args, "productRef", MAX_PRODUCTS) or refs_argument(
        {"ref": [ref.split(":")[0] for ref in args.get("ref") or ()]}, "ref", MAX_PRODUCTS
    )
    if not products:
        raise InvalidInput.field("productRef", "name at least one product (or a ref)")
    locations = refs_argument(args, "groupRef", MAX_LOCATIONS)
    kinds = args.get("type") or ["BASE", "AGGREGATE"]
    for kind in kinds:
        if kind not in ("BASE", "AGGREGATE"):
            raise InvalidInput.field("type", f"{kind!r} is not BASE or AGGREGATE")
    views = context.runtime.inventory.virtual_positions(channel, products, locations, kinds)
    nodes = [virtual_position_node(view, catalogue or channel) for view in views]
    return connection([node for node in nodes if matches(node, args, VP_FILTERS)], args)


def virtual_position(
    _root: Any, info: Any, catalogue: dict[str, Any], ref: str
) -> dict[str, Any] | None:
    """One position by ``productRef:locationRef[:channel]`` (``*`` as the location: AGGREGATE)."""
    context: GraphqlContext = info.context
    channel = context.mapping.channel_for_catalogue(
        catalogue["ref"], context.runtime.config.current()
    )
    parts = ref.split(":")
    if (
        len(parts) not in (2, 3)
        or not is_valid_ref(parts[0])
        or not (parts[1] == AGGREGATE_LOCATION or is_valid_ref(parts[1]))
    ):
        raise InvalidInput.field(
            "ref", "expected productRef:locationRef[:channel], with * as the location for AGGREGATE"
        )
    if len(parts) == 3 and parts[2] != channel:
        return None
    product, location = parts[0], parts[1]
    kind = "AGGREGATE" if location == AGGREGATE_LOCATION else "BASE"
    views = context.runtime.inventory.virtual_positions(
        channel, [product], [] if kind == "AGGREGATE" else [location], [kind]
    )
    return virtual_position_node(views[0], catalogue["ref"]) if views else None


def virtual_position_node(view: VirtualPositionView, catalogue: str) -> dict[str, Any]:
    return {
        "id": opaque_id("VirtualPosition", view.ref),
        "ref": view.ref,
        "type": view.type,
        "status": "ACTIVE",
        "workflowRef": f"VIRTUAL_CATALOGUE::{view.type}",
        "workflowVersion": 1,
        "createdOn": None,
        "updatedOn": None,
        "attributes": [attribute("channel", view.channel)],
        "productRef": view.productRef,
        "groupRef": view.locationRef,
        "quantity": view.quantity,
        "catalogue": catalogue_node(
            "VirtualCatalogue", catalogue, [attribute("channel", view.channel)]
        ),
    }


def inventory_position(
    _root: Any, info: Any, catalogue: dict[str, Any], ref: str
) -> dict[str, Any] | None:
    context: GraphqlContext = info.context
    position = position_ref(ref, context.mapping.holdfast_catalogue(catalogue["ref"]), "ref")
    try:
        return inventory_position_node(context.runtime.inventory.position(position), context)
    except NotFound:
        return None


def inventory_positions(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    """Positions named by ``ref``, or of ``productRef`` at ``locationRef`` (default: every
    configured location); one ledger read each, so at most 100 positions."""
    context: GraphqlContext = info.context
    refuse_date_ranges(args)
    positions = _named_positions(args, context)
    if len(positions) > MAX_PAGE:
        raise InvalidInput.field(
            "productRef", f"at most {MAX_PAGE} positions (products × locations) in one query"
        )
    nodes = []
    for position in positions:
        try:
            nodes.append(
                inventory_position_node(context.runtime.inventory.position(position), context)
            )
        except NotFound:
            continue
    return connection([node for node in nodes if matches(node, args, IP_FILTERS)], args)


def _named_positions(args: dict[str, Any], context: GraphqlContext) -> list[str]:
    """The position refs a query names: its ``ref`` list, else each ``productRef`` at each
    ``locationRef`` (default: every configured location, by priority)."""
    holdfast_catalogue = context.mapping.holdfast_catalogue(
        (args.get("catalogue") or {}).get("ref")
    )
    if args.get("ref"):
        return [position_ref(ref, holdfast_catalogue, "ref") for ref in dict.fromkeys(args["ref"])]
    products = refs_argument(args, "productRef", MAX_PRODUCTS)
    if not products:
        raise InvalidInput.field("productRef", "name at least one product (or a ref)")
    configured = sorted(
        context.runtime.config.current().locations.values(),
        key=lambda loc: (loc.priority, loc.ref),
    )
    locations = refs_argument(args, "locationRef", MAX_LOCATIONS) or [loc.ref for loc in configured]
    return [
        ip_ref(product, location, holdfast_catalogue)
        for product in products
        for location in locations
    ]


def inventory_quantities(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    """Ledger lines by ``ref`` (``productRef:locationRef:catalogue:TYPE[:sourceRef]``)."""
    context: GraphqlContext = info.context
    refuse_date_ranges(args)
    refs = list(dict.fromkeys(args.get("ref") or ()))
    if not refs:
        raise InvalidInput.field("ref", "name the quantities: Holdfast finds them by ref")
    if len(refs) > MAX_PAGE:
        raise InvalidInput.field("ref", f"at most {MAX_PAGE} refs")
    positions = list(dict.fromkeys(":".join(ref.split(":")[:3]) for ref in refs))
    nodes = []
    for position in positions:
        try:
            nodes.extend(
                inventory_position_node(context.runtime.inventory.position(position), context)[
                    "quantities"
                ]
            )
        except (NotFound, InvalidInput):
            continue
    return connection(
        [node for node in nodes if node["ref"] in refs and matches(node, args, IQ_FILTERS)], args
    )


def quantities(position: dict[str, Any], _info: Any, **args: Any) -> dict[str, Any]:
    refuse_date_ranges(args)
    return connection(
        [node for node in position["quantities"] if matches(node, args, IQ_FILTERS)], args
    )


def inventory_position_node(view: InventoryPositionView, context: GraphqlContext) -> dict[str, Any]:
    catalogue = catalogue_node(
        "InventoryCatalogue", context.mapping.inventory_catalogue_ref(view.catalogue)
    )
    position: dict[str, Any] = {
        "id": opaque_id("InventoryPosition", view.ref),
        "ref": view.ref,
        "type": "DEFAULT",
        "status": "ACTIVE",
        "workflowRef": "INVENTORY_CATALOGUE::DEFAULT",
        "workflowVersion": 1,
        "createdOn": None,
        "updatedOn": view.updatedAt,
        "attributes": [attribute("lastSnapshotAsOf", view.lastSnapshotAsOf)]
        if view.lastSnapshotAsOf
        else [],
        "catalogue": catalogue,
        "productRef": view.productRef,
        "locationRef": view.locationRef,
        "onHand": view.onHand,
    }
    position["quantities"] = [
        quantity_node(quantity, position, catalogue) for quantity in view.quantities
    ]
    return position


def quantity_node(
    view: QuantityView, position: dict[str, Any], catalogue: dict[str, Any]
) -> dict[str, Any]:
    attributes = [attribute("asOf", view.asOf)]
    attributes += [
        attribute(name, getattr(view, name))
        for name in ("sourceRef", "expiresAt")
        if getattr(view, name)
    ]
    return {
        "id": opaque_id("InventoryQuantity", view.iqRef),
        "ref": view.iqRef,
        "type": view.type,
        "status": view.status,
        "workflowRef": "INVENTORY_CATALOGUE::DEFAULT",
        "workflowVersion": 1,
        "createdOn": view.createdAt,
        "updatedOn": None,
        "attributes": attributes,
        "catalogue": catalogue,
        "position": position,
        "quantity": view.quantity,
        "condition": None,
        "expectedOn": None,
        "storageAreaRef": None,
    }


def catalogue_node(
    kind: str, ref: str, attributes: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": opaque_id(kind, ref),
        "ref": ref,
        "type": "DEFAULT",
        "status": "ACTIVE",
        "workflowRef": f"{'VIRTUAL' if kind == 'VirtualCatalogue' else 'INVENTORY'}_CATALOGUE::DEFAULT",
        "workflowVersion": 1,
        "createdOn": None,
        "updatedOn": None,
        "attributes": attributes or [],
    }


def position_ref(ref: str, catalogue: str, field: str) -> str:
    """``productRef:locationRef`` or Fluent's ``productRef:locationRef:DEFAULT`` (or the
    Holdfast catalogue's name as the third part), in the catalogue asked for."""
    parts = ref.split(":")
    well_formed = len(parts) in (2, 3) and all(is_valid_ref(part) for part in parts[:2])
    if not well_formed or (len(parts) == 3 and parts[2] not in ("DEFAULT", catalogue)):
        raise InvalidInput.field(field, "expected productRef:locationRef[:DEFAULT]")
    return ip_ref(parts[0], parts[1], catalogue)


def refs_argument(args: dict[str, Any], name: str, limit: int) -> list[str]:
    values = list(dict.fromkeys(value for value in args.get(name) or () if value is not None))
    if len(values) > limit:
        raise InvalidInput.field(name, f"at most {limit} values")
    for value in values:
        if not is_valid_ref(value):
            raise InvalidInput.field(name, f"{value[:130]!r} is not a valid ref")
    return values
