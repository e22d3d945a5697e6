"""The executable schema: the SDL in ``schema.graphql`` (the contract, written first) with
Holdfast's resolvers bound to its fields and its two custom scalars defined."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLFieldResolver,
    GraphQLSchema,
    assert_object_type,
    assert_scalar_type,
    build_schema,
    value_from_ast_untyped,
)

from holdfast.graphql import fulfilment, inventory

SDL_PATH = Path(__file__).with_name("schema.graphql")

RESOLVERS: dict[str, dict[str, GraphQLFieldResolver]] = {
    "Query": {
        "virtualPositions": inventory.virtual_positions,
        "virtualPosition": inventory.virtual_position,
        "fulfilmentOptionById": fulfilment.fulfilment_option_by_id,
        "fulfilmentOptions": fulfilment.fulfilment_options,
        "inventoryPosition": inventory.inventory_position,
        "inventoryPositions": inventory.inventory_positions,
        "inventoryQuantities": inventory.inventory_quantities,
    },
    "Mutation": {
        "createFulfilmentOption": fulfilment.create_fulfilment_option,
        "updateFulfilmentOption": fulfilment.update_fulfilment_option,
    },
    "FulfilmentOption": {"plans": fulfilment.plans},
    "InventoryPosition": {"quantities": inventory.quantities},
}


def sdl() -> str:
    return SDL_PATH.read_text(encoding="utf-8")


@functools.cache
def executable_schema() -> GraphQLSchema:
    schema = build_schema(sdl(), assume_valid_sdl=True)  # the contract test validates it
    for type_name, fields in RESOLVERS.items():
        for field_name, resolver in fields.items():
            assert_object_type(schema.type_map[type_name]).fields[field_name].resolve = resolver
    date_time = assert_scalar_type(schema.type_map["DateTime"])
    date_time.coerce_output_value = str
    date_time.coerce_input_value = parse_date_time
    date_time.coerce_input_literal = lambda node, *_: parse_date_time(value_from_ast_untyped(node))
    json_scalar = assert_scalar_type(schema.type_map["Json"])
    json_scalar.coerce_output_value = _same
    json_scalar.coerce_input_value = _same
    json_scalar.coerce_input_literal = lambda node, *_: value_from_ast_untyped(node)
    return schema


def parse_date_time(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 40:
        raise GraphQLError("DateTime must be an ISO 8601 string, e.g. 2026-11-29T12:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"DateTime must be an ISO 8601 string, not {value!r}") from None
    if moment.tzinfo is None:
        raise GraphQLError("DateTime must name its time zone (e.g. end in Z)")
    return value


def _same(value: Any) -> Any:
    return value
